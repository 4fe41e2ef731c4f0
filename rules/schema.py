"""Validate one parsed rule-set document against the YAML schema, field by field.

Every problem is recorded with its field path and line, and checking goes on after a problem
so that one run reports everything wrong with a file. A document is turned into a RuleSet only
when nothing at all was wrong with it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import cast

from rules.compile import count_alternatives, limit_problems
from rules.errors import Problem, RuleSetError
from rules.facts import (
    FACTS,
    MAX_ALTERNATIVES,
    MAX_CONDITION_DEPTH,
    MAX_LIST_ITEMS,
    MAX_RULES,
    FactValue,
    type_matches,
    value_problem,
)
from rules.model import (
    COMPARISONS,
    ID_RE,
    MEMBERSHIPS,
    NAME_RE,
    OPERATORS,
    OUTCOMES,
    SEVERITIES,
    AllOf,
    AnyOf,
    Condition,
    Constant,
    Example,
    Leaf,
    Operand,
    Parameter,
    ParamRef,
    Rule,
    RuleSet,
    Text,
    placeholders,
)
from rules.yamlsrc import Located, join

_TOP_KEYS = ("ruleset", "extends", "title", "version", "parameters", "rules", "examples")
_NEW_PARAM_KEYS = ("value", "min", "max", "unit", "label", "reference")
_RULE_KEYS = ("id", "severity", "when", "message")
_EXAMPLE_KEYS = ("name", "facts", "expect")


@dataclass
class Header:
    """A parsed file whose header (name, extends) is known but whose body is unchecked."""

    name: str
    extends: str | None
    doc: Located
    header_ok: bool = True


class _Checker:
    """Validate one document, appending problems located by field path."""

    def __init__(self, doc: Located, problems: list[Problem]) -> None:
        self.doc = doc
        self.problems = problems
        self.failed = False
        self.declared_ids: set[str] = set()
        """Rule ids declared here, valid or not: examples naming them are not reported too."""

    def error(self, path: str, message: str) -> None:
        self.failed = True
        self.problems.append(Problem(self.doc.source, self.doc.line(path), path, message))

    # -- shapes -----------------------------------------------------------------------------

    def mapping(self, path: str, value: object) -> dict[str, object] | None:
        if isinstance(value, dict):
            return cast(dict[str, object], value)
        self.error(path, f"must be a mapping, got {_show(value)}")
        return None

    def sequence(self, path: str, value: object) -> list[object] | None:
        if isinstance(value, list):
            return cast(list[object], value)
        self.error(path, f"must be a list, got {_show(value)}")
        return None

    def keys(self, path: str, data: Mapping[str, object], allowed: Iterable[str], required: Iterable[str]) -> bool:
        ok = True
        allowed = tuple(allowed)
        for key in data:
            if key not in allowed:
                self.error(join(path, key), f"unknown key {key!r} (allowed: {', '.join(allowed)})")
                ok = False
        for key in required:
            if key not in data:
                self.error(path or key, f"missing required key {key!r}")
                ok = False
        return ok

    def string(self, path: str, value: object) -> str | None:
        if isinstance(value, str) and value.strip():
            return value
        self.error(path, f"must be a non-empty string, got {_show(value)}")
        return None

    def integer(self, path: str, value: object) -> int | None:
        if isinstance(value, int) and not isinstance(value, bool):
            if (problem := value_problem(value)) is not None:
                self.error(path, problem)
                return None
            return value
        self.error(path, f"must be an integer, got {_show(value)}")
        return None

    def bounded(self, path: str, value: FactValue) -> bool:
        """Check a constant against the bounds durable can judge (rules.facts)."""
        problem = value_problem(value)
        if problem is not None:
            self.error(path, problem)
        return problem is None

    def text(self, path: str, value: object) -> Text | None:
        data = self.mapping(path, value)
        if data is None or not self.keys(path, data, ("ko", "en"), ("ko", "en")):
            return None
        ko = self.string(join(path, "ko"), data["ko"])
        en = self.string(join(path, "en"), data["en"])
        return Text(ko, en) if ko is not None and en is not None else None

    # -- parameters -------------------------------------------------------------------------

    def parameters(self, value: object, base: RuleSet | None) -> dict[str, Parameter]:
        params = dict(base.parameters) if base else {}
        data = self.mapping("parameters", value)
        if data is None:
            return params
        for name, spec in data.items():
            path = join("parameters", name)
            if not ID_RE.fullmatch(name):
                self.error(path, f"invalid parameter name {name!r} (use lower_snake_case)")
                continue
            inherited = params.get(name) if base and name in base.parameters else None
            param = self.override(path, spec, inherited, base) if inherited and base else self.new_parameter(path, spec)
            if param is not None:
                params[name] = param
        return params

    def override(self, path: str, value: object, inherited: Parameter, base: RuleSet) -> Parameter | None:
        data = self.mapping(path, value)
        if data is None:
            return None
        extra = [k for k in data if k != "value"]
        for key in extra:
            self.error(
                join(path, key),
                f"parameter {path.split('.', 1)[1]!r} is inherited from {base.name!r}: "
                f"only its value may be overridden, not {key!r}",
            )
        if "value" not in data:
            self.error(path, "missing required key 'value'")
            return None
        number = self.integer(join(path, "value"), data["value"])
        if extra or number is None:
            return None
        if not inherited.min <= number <= inherited.max:
            self.error(
                join(path, "value"),
                f"value {number} is outside the bounds {inherited.min}–{inherited.max} set by {base.name!r}",
            )
            return None
        return dataclasses.replace(inherited, value=number)

    def new_parameter(self, path: str, value: object) -> Parameter | None:
        data = self.mapping(path, value)
        if data is None or not self.keys(path, data, _NEW_PARAM_KEYS, ("value", "min", "max")):
            return None
        number = self.integer(join(path, "value"), data["value"])
        low = self.integer(join(path, "min"), data["min"])
        high = self.integer(join(path, "max"), data["max"])
        unit = self.optional_str(join(path, "unit"), data.get("unit", ""))
        reference = self.optional_str(join(path, "reference"), data.get("reference", ""))
        label = self.text(join(path, "label"), data["label"]) if "label" in data else None
        if number is None or low is None or high is None or unit is None or reference is None:
            return None
        if "label" in data and label is None:
            return None
        if low > high:
            self.error(join(path, "min"), f"min {low} is greater than max {high}")
            return None
        if not low <= number <= high:
            self.error(join(path, "value"), f"value {number} is outside the bounds {low}–{high}")
            return None
        name = path.split(".", 1)[1]
        return Parameter(number, low, high, unit, label or Text(name, name), reference)

    def optional_str(self, path: str, value: object) -> str | None:
        if isinstance(value, str):
            return value
        self.error(path, f"must be a string, got {_show(value)}")
        return None

    # -- rules ------------------------------------------------------------------------------

    def rules(self, value: object, base: RuleSet | None, params: Mapping[str, Parameter]) -> list[Rule]:
        rules = list(base.rules) if base else []
        seen: dict[str, str] = {r.id: f"base rule set {base.name!r}" for r in rules} if base else {}
        items = self.sequence("rules", value)
        for index, item in enumerate(items or ()):
            path = join("rules", index)
            rule = self.rule(path, item, params, seen)
            if rule is not None:
                rules.append(rule)
        return rules

    def rule(self, path: str, value: object, params: Mapping[str, Parameter], seen: dict[str, str]) -> Rule | None:
        data = self.mapping(path, value)
        if data is None or not self.keys(path, data, _RULE_KEYS, _RULE_KEYS):
            return None
        rule_id = data["id"]
        id_path = join(path, "id")
        if not isinstance(rule_id, str) or not ID_RE.fullmatch(rule_id):
            self.error(id_path, f"invalid rule id {_show(rule_id)} (use lower_snake_case)")
            rule_id = None
        elif rule_id in seen:
            self.error(id_path, f"duplicate rule id {rule_id!r} (already defined in {seen[rule_id]})")
            rule_id = None
        else:
            seen[rule_id] = f"line {self.doc.line(id_path)}"
            self.declared_ids.add(rule_id)
        severity = data["severity"]
        if severity not in SEVERITIES:
            self.error(join(path, "severity"), f"severity must be block or review, got {_show(severity)}")
        when = self.condition(join(path, "when"), data["when"], params, 0)
        if when is not None and (size := count_alternatives(when)) > MAX_ALTERNATIVES:
            self.error(
                join(path, "when"),
                f"condition too complex: {size} alternatives when expanded (at most {MAX_ALTERNATIVES})",
            )
            when = None
        message = self.text(join(path, "message"), data["message"])
        if message is not None and not self.placeholders(join(path, "message"), message, params):
            message = None
        if rule_id is None or severity not in SEVERITIES or when is None or message is None:
            return None
        return Rule(rule_id, severity, when, message)

    def placeholders(self, path: str, message: Text, params: Mapping[str, Parameter]) -> bool:
        ok = True
        for lang, text in (("ko", message.ko), ("en", message.en)):
            for name in placeholders(text):
                if name not in FACTS and name not in params:
                    msg = f"unknown placeholder {{{name}}}: not a fact or a parameter"
                    self.error(join(path, lang), msg)
                    ok = False
        return ok

    def condition(self, path: str, value: object, params: Mapping[str, Parameter], depth: int) -> Condition | None:
        data = self.mapping(path, value)
        if data is None:
            return None
        groups = [k for k in ("all", "any") if k in data]
        if groups:
            if len(data) != 1:
                self.error(path, "a condition is either `all`, `any`, or `fact` with one operator")
                return None
            if depth >= MAX_CONDITION_DEPTH:
                self.error(path, f"conditions nested more than {MAX_CONDITION_DEPTH} levels deep")
                return None
            kind = groups[0]
            items = self.sequence(join(path, kind), data[kind])
            if items is None:
                return None
            if not items:
                self.error(join(path, kind), f"`{kind}` needs at least one condition")
                return None
            parts = [self.condition(join(join(path, kind), i), item, params, depth + 1) for i, item in enumerate(items)]
            if any(p is None for p in parts):
                return None
            done = tuple(cast(list[Condition], parts))
            return AllOf(done) if kind == "all" else AnyOf(done)
        if "fact" not in data:
            self.error(path, "a condition needs `all`, `any`, or `fact` with one operator")
            return None
        return self.leaf(path, data, params)

    def leaf(self, path: str, data: Mapping[str, object], params: Mapping[str, Parameter]) -> Leaf | None:
        if not self.keys(path, data, ("fact", *OPERATORS), ("fact",)):
            return None
        ops = [k for k in data if k in OPERATORS]
        if len(ops) != 1:
            self.error(path, f"a fact condition needs exactly one operator of {', '.join(OPERATORS)}")
            return None
        op = ops[0]
        fact = data["fact"]
        if not isinstance(fact, str) or fact not in FACTS:
            self.error(join(path, "fact"), f"unknown fact {_name(fact)}")
            return None
        spec = FACTS[fact]
        op_path = join(path, op)
        raw = data[op]
        operand: Operand
        if op in MEMBERSHIPS:
            items = self.sequence(op_path, raw)
            if items is None:
                return None
            if not items:
                self.error(op_path, f"`{op}` needs at least one value")
                return None
            if len(items) > MAX_LIST_ITEMS:
                self.error(op_path, f"`{op}` lists {len(items)} values (at most {MAX_LIST_ITEMS})")
                return None
            for index, item in enumerate(items):
                if not type_matches(spec, item):
                    self.error(
                        join(op_path, index),
                        f"{fact} is a {spec.type_name} fact; got {_show(item)}",
                    )
                    return None
                if not self.bounded(join(op_path, index), cast(Constant, item)):
                    return None
            operand = tuple(cast(list[Constant], items))
        elif isinstance(raw, dict):
            ref = self.param_ref(op_path, cast(dict[str, object], raw), params)
            if ref is None:
                return None
            if spec.type is not int:
                self.error(
                    op_path,
                    f"{fact} is a {spec.type_name} fact; it cannot be compared with a parameter",
                )
                return None
            operand = ref
        elif op in COMPARISONS[2:] and spec.type is not int:
            self.error(op_path, f"`{op}` compares numbers; {fact} is a {spec.type_name} fact")
            return None
        elif not type_matches(spec, raw):
            self.error(op_path, f"{fact} is a {spec.type_name} fact; got {_show(raw)}")
            return None
        elif not self.bounded(op_path, cast(Constant, raw)):
            return None
        else:
            operand = cast(Constant, raw)
        return Leaf(fact, op, operand)

    def param_ref(self, path: str, data: Mapping[str, object], params: Mapping[str, Parameter]) -> ParamRef | None:
        if not self.keys(path, data, ("param",), ("param",)):
            return None
        name = data["param"]
        if not isinstance(name, str) or name not in params:
            known = ", ".join(params) or "none"
            self.error(join(path, "param"), f"unknown parameter {_name(name)} (known: {known})")
            return None
        return ParamRef(name)

    # -- examples ---------------------------------------------------------------------------

    def examples(self, value: object, rule_ids: Iterable[str]) -> list[Example]:
        ids = set(rule_ids)
        result: list[Example] = []
        items = self.sequence("examples", value)
        for index, item in enumerate(items or ()):
            example = self.example(join("examples", index), index, item, ids)
            if example is not None:
                result.append(example)
        return result

    def example(self, path: str, index: int, value: object, ids: set[str]) -> Example | None:
        data = self.mapping(path, value)
        if data is None or not self.keys(path, data, _EXAMPLE_KEYS, ("name", "expect")):
            return None
        name = self.string(join(path, "name"), data["name"])
        facts = self.example_facts(join(path, "facts"), data.get("facts", {}))
        expect_path = join(path, "expect")
        expect = self.mapping(expect_path, data["expect"])
        if expect is None or not self.keys(expect_path, expect, ("outcome", "rules"), ()):
            return None
        if not expect:
            self.error(expect_path, "`expect` needs `outcome`, `rules` or both")
            return None
        outcome = expect.get("outcome")
        if outcome is not None and outcome not in OUTCOMES:
            self.error(
                join(expect_path, "outcome"),
                f"outcome must be one of {', '.join(OUTCOMES)}, got {_show(outcome)}",
            )
            return None
        fired = self.expected_rules(join(expect_path, "rules"), expect, ids)
        if name is None or facts is None or ("rules" in expect and fired is None):
            return None
        return Example(
            name,
            facts,
            outcome,
            fired,
            self.doc.source,
            self.doc.line(path),
            index,
        )

    def example_facts(self, path: str, value: object) -> dict[str, FactValue] | None:
        data = self.mapping(path, value)
        if data is None:
            return None
        ok = True
        for key, item in data.items():
            spec = FACTS.get(key)
            if spec is None:
                self.error(join(path, key), f"unknown fact {key!r}")
                ok = False
            elif not type_matches(spec, item):
                self.error(join(path, key), f"{key} is a {spec.type_name} fact; got {_show(item)}")
                ok = False
            elif not self.bounded(join(path, key), cast(FactValue, item)):
                ok = False
        return cast(dict[str, FactValue], data) if ok else None

    def expected_rules(self, path: str, expect: Mapping[str, object], ids: set[str]) -> frozenset[str] | None:
        if "rules" not in expect:
            return None
        items = self.sequence(path, expect["rules"])
        if items is None:
            return None
        ok = True
        for index, item in enumerate(items):
            if not isinstance(item, str) or item not in ids:
                self.error(join(path, index), f"unknown rule id {_name(item)}")
                ok = False
        return frozenset(cast(list[str], items)) if ok else None


def _show(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict | list):
        return f"a {type(value).__name__}"
    return f"{type(value).__name__} {value!r}"


def _name(value: object) -> str:
    return repr(value) if isinstance(value, str) else _show(value)


# -- documents and headers --------------------------------------------------------------------


def read_header(doc: Located, problems: list[Problem]) -> Header | None:
    """Check the top-level shape and return the name and base, or None if unusable."""
    checker = _Checker(doc, problems)
    data = checker.mapping("", doc.data)
    if data is None:
        return None
    shape_ok = checker.keys("", data, _TOP_KEYS, ("ruleset", "title"))
    checker.failed = False  # unknown keys or a missing title: the body is still checked
    name = data.get("ruleset")
    if "ruleset" in data and (not isinstance(name, str) or not NAME_RE.fullmatch(name)):
        checker.error("ruleset", f"invalid rule-set name {_show(name)}")
    extends = data.get("extends")
    if extends is not None and not isinstance(extends, str):
        checker.error("extends", f"must be a rule-set name, got {_show(extends)}")
    if checker.failed or "ruleset" not in data:
        return None
    return Header(cast(str, name), cast(str | None, extends), doc, header_ok=shape_ok)


def check_body(raw: Header, base: RuleSet | None, problems: list[Problem]) -> RuleSet | None:
    """Check the document against its resolved base; return a RuleSet only if flawless."""
    checker = _Checker(raw.doc, problems)
    data = cast(dict[str, object], raw.doc.data)
    title = checker.text("title", data["title"]) if "title" in data else None
    version = checker.integer("version", data.get("version", 1))
    if version is not None and version < 1:
        checker.error("version", f"version must be at least 1, got {version}")
    params = checker.parameters(data.get("parameters", {}), base)
    rules = checker.rules(data.get("rules", []), base, params)
    known_ids = {r.id for r in rules} | checker.declared_ids
    examples = checker.examples(data.get("examples", []), known_ids)
    if len(rules) > MAX_RULES:
        checker.error("rules", f"too many rules: {len(rules)} with those of the base (at most {MAX_RULES})")
    if checker.failed or not raw.header_ok or title is None or version is None:
        return None
    try:
        ruleset = RuleSet(
            name=raw.name,
            title=title,
            parameters=params,
            rules=tuple(rules),
            examples=tuple(examples),
            version=version,
            source=raw.doc.source,
            extends=raw.extends,
        )
    except RuleSetError as exc:  # the checks above should have caught everything; never hide it
        for problem in exc.problems:
            checker.error(_in_file(problem.field, base), problem.message)
        return None
    for where, message in limit_problems(ruleset):
        checker.error(_in_file(where, base), message)
    return None if checker.failed else ruleset


def _in_file(field: str, base: RuleSet | None) -> str:
    """Map a field of the resolved rule set (base rules first) to a field of this file."""
    if base is None or not field.startswith("rules["):
        return field
    index, rest = field[len("rules[") :].split("]", 1)
    own = int(index) - len(base.rules)
    return f"rules[{own}]{rest}" if own >= 0 else "extends"
