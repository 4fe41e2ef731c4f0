"""The resolved, immutable rule set: what the loader produces and the engine evaluates.

A RuleSet is content-addressed: `sha256` covers its name, title, parameters (with bounds) and
rules, never its version number or examples, so a verdict can always name the exact content
it was computed with and two databases publishing the same name and version with different
content never collide.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Final, Literal

from rules.errors import Problem, RuleSetError
from rules.facts import FACTS, MAX_CONDITION_DEPTH, MAX_LIST_ITEMS, MAX_RULES, FactValue, text_problem, value_problem
from rules.yamlsrc import dump

Severity = Literal["block", "review"]
SEVERITIES: Final = ("block", "review")
OUTCOMES: Final = ("eligible", "review", "ineligible")
COMPARISONS: Final = ("eq", "ne", "lt", "lte", "gt", "gte")
MEMBERSHIPS: Final = ("in", "not_in")
OPERATORS: Final = COMPARISONS + MEMBERSHIPS

NAME_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
"""Rule-set names: program codes such as `kimchi-2026` are rule-set names too."""
ID_RE: Final = re.compile(r"[a-z][a-z0-9_]{0,63}")
"""Rule ids and parameter names: no dots, so they never clash with fact names."""
PLACEHOLDER_RE: Final = re.compile(r"\{([^{}]*)\}")


@dataclass(frozen=True)
class Text:
    """A bilingual text: Korean first, English for the switchable UI."""

    ko: str
    en: str

    def as_dict(self) -> dict[str, str]:
        return {"ko": self.ko, "en": self.en}


@dataclass(frozen=True)
class ParamRef:
    """A comparison against a rule-set parameter instead of a constant."""

    name: str


Constant = bool | int | str
Operand = Constant | ParamRef | tuple[Constant, ...]


@dataclass(frozen=True)
class Leaf:
    """Compare one fact with a constant, a parameter, or a list of constants (in/not_in)."""

    fact: str
    op: str
    value: Operand


@dataclass(frozen=True)
class AllOf:
    """True when every item is true."""

    items: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    """True when at least one item is true."""

    items: tuple[Condition, ...]


Condition = Leaf | AllOf | AnyOf


def iter_leaves(cond: Condition) -> Iterator[Leaf]:
    """Yield the leaves of a condition, left to right."""
    if isinstance(cond, Leaf):
        yield cond
    else:
        for item in cond.items:
            yield from iter_leaves(item)


def condition_facts(cond: Condition) -> tuple[str, ...]:
    """Return the facts a condition reads, in order of first appearance."""
    return tuple(dict.fromkeys(leaf.fact for leaf in iter_leaves(cond)))


def condition_params(cond: Condition) -> tuple[str, ...]:
    """Return the parameters a condition compares with, in order of first appearance."""
    names = (leaf.value.name for leaf in iter_leaves(cond) if isinstance(leaf.value, ParamRef))
    return tuple(dict.fromkeys(names))


def condition_data(cond: Condition) -> dict[str, object]:
    """Return the YAML/JSON form of a condition (the format the loader reads)."""
    if isinstance(cond, AllOf):
        return {"all": [condition_data(c) for c in cond.items]}
    if isinstance(cond, AnyOf):
        return {"any": [condition_data(c) for c in cond.items]}
    value: object
    if isinstance(cond.value, ParamRef):
        value = {"param": cond.value.name}
    elif isinstance(cond.value, tuple):
        value = list(cond.value)
    else:
        value = cond.value
    return {"fact": cond.fact, cond.op: value}


def walk(cond: Condition, path: str) -> Iterator[tuple[Condition, str, int]]:
    """Yield (condition, field path, depth) for every node, without recursion.

    Depth counts the all/any groups above a node (a bare fact condition has depth 0). Nodes
    below MAX_CONDITION_DEPTH + 1 are not visited: deeper is refused anyway, and a condition
    built in Python may be nested far beyond the interpreter's recursion limit.
    """
    stack: list[tuple[Condition, str, int]] = [(cond, path, 0)]
    while stack:
        node, where, depth = stack.pop()
        yield node, where, depth
        if not isinstance(node, Leaf) and depth <= MAX_CONDITION_DEPTH:
            kind = "all" if isinstance(node, AllOf) else "any"
            items = [(item, f"{where}.{kind}[{i}]", depth + 1) for i, item in enumerate(node.items)]
            stack.extend(reversed(items))


def condition_problems(cond: Condition, path: str) -> list[tuple[str, str]]:
    """Return (field, message) for every part of a condition outside the bounds of rules.facts."""
    problems: list[tuple[str, str]] = []
    for node, where, depth in walk(cond, path):
        if depth > MAX_CONDITION_DEPTH:
            problems.append((where, f"conditions nested more than {MAX_CONDITION_DEPTH} levels deep"))
            continue
        if not isinstance(node, Leaf) or isinstance(node.value, ParamRef):
            continue
        at = f"{where}.{node.op}"
        if isinstance(node.value, tuple):
            if len(node.value) > MAX_LIST_ITEMS:
                problems.append((at, f"`{node.op}` lists {len(node.value)} values (at most {MAX_LIST_ITEMS})"))
            for index, item in enumerate(node.value):
                if (problem := value_problem(item)) is not None:
                    problems.append((f"{at}[{index}]", problem))
        elif (problem := value_problem(node.value)) is not None:
            problems.append((at, problem))
    return problems


def placeholders(text: str) -> tuple[str, ...]:
    """Return the `{name}` placeholders of a message, in order."""
    return tuple(PLACEHOLDER_RE.findall(text))


@dataclass(frozen=True)
class Parameter:
    """A tunable integer threshold with the bounds policy staff may move it within."""

    value: int
    min: int
    max: int
    unit: str = ""
    label: Text = Text("", "")
    reference: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "value": self.value,
            "min": self.min,
            "max": self.max,
            "unit": self.unit,
            "label": self.label.as_dict(),
            "reference": self.reference,
        }


@dataclass(frozen=True)
class Rule:
    """A reason to refuse (block) or to have a person look again (review)."""

    id: str
    severity: Severity
    when: Condition
    message: Text

    @cached_property
    def facts(self) -> tuple[str, ...]:
        """Facts the condition reads."""
        return condition_facts(self.when)

    @cached_property
    def params(self) -> tuple[str, ...]:
        """Parameters the condition compares with, then those only the message names."""
        names = list(condition_params(self.when))
        for text in (self.message.ko, self.message.en):
            names.extend(p for p in placeholders(text) if p not in FACTS)
        return tuple(dict.fromkeys(names))

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "severity": self.severity,
            "when": condition_data(self.when),
            "message": self.message.as_dict(),
        }


@dataclass(frozen=True)
class Example:
    """A YAML test case: partial facts and the expected outcome and/or fired rules."""

    name: str
    facts: Mapping[str, FactValue]
    outcome: str | None
    rules: frozenset[str] | None
    source: str = "<memory>"
    line: int = 0
    index: int = 0

    def as_dict(self) -> dict[str, object]:
        expect: dict[str, object] = {}
        if self.outcome is not None:
            expect["outcome"] = self.outcome
        if self.rules is not None:
            expect["rules"] = sorted(self.rules)
        return {"name": self.name, "facts": dict(self.facts), "expect": expect}


@dataclass(frozen=True, eq=False)
class RuleSet:
    """A fully resolved rule set (extends applied): immutable and content-addressed."""

    name: str
    title: Text
    parameters: Mapping[str, Parameter]
    rules: tuple[Rule, ...]
    examples: tuple[Example, ...] = ()
    version: int = 1
    source: str = "<memory>"
    extends: str | None = field(default=None)

    def __post_init__(self) -> None:
        if not isinstance(self.parameters, MappingProxyType):
            object.__setattr__(self, "parameters", MappingProxyType(dict(self.parameters)))
        problems = self._bound_problems()
        if problems:
            raise RuleSetError(Problem(self.source, 0, where, message) for where, message in problems)

    def _bound_problems(self) -> list[tuple[str, str]]:
        """Values and nesting outside rules.facts' bounds: such a rule set cannot even be hashed safely.

        The DNF sizes and durable's network are checked by rules.compile (check_ruleset).
        """
        problems: list[tuple[str, str]] = []
        if len(self.rules) > MAX_RULES:
            problems.append(("rules", f"{len(self.rules)} rules (at most {MAX_RULES})"))
        texts = [("title.ko", self.title.ko), ("title.en", self.title.en)]
        for name, param in self.parameters.items():
            where = f"parameters.{name}"
            for key in ("value", "min", "max"):
                number = getattr(param, key)
                if (problem := value_problem(number)) is not None:
                    problems.append((f"{where}.{key}", problem))
            texts += [(f"{where}.unit", param.unit), (f"{where}.reference", param.reference)]
            texts += [(f"{where}.label.ko", param.label.ko), (f"{where}.label.en", param.label.en)]
        for index, rule in enumerate(self.rules):
            problems.extend(condition_problems(rule.when, f"rules[{index}].when"))
            texts += [(f"rules[{index}].message.ko", rule.message.ko), (f"rules[{index}].message.en", rule.message.en)]
        problems.extend((where, problem) for where, text in texts if (problem := text_problem(text)) is not None)
        return problems

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RuleSet):
            return NotImplemented
        return (self.sha256, self.version) == (other.sha256, other.version)

    def __hash__(self) -> int:
        return hash((self.sha256, self.version))

    def __repr__(self) -> str:
        return f"RuleSet({self.name!r}, version={self.version}, sha256={self.sha256[:12]}…)"

    def canonical(self) -> dict[str, object]:
        """Return the content the sha256 covers, as plain JSON-ready data."""
        return {
            "name": self.name,
            "title": self.title.as_dict(),
            "parameters": {n: p.as_dict() for n, p in self.parameters.items()},
            "rules": [r.as_dict() for r in self.rules],
        }

    @cached_property
    def sha256(self) -> str:
        """Hex sha256 of the canonical JSON; stable across processes and Python versions."""
        text = json.dumps(self.canonical(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    @cached_property
    def fact_keys(self) -> tuple[str, ...]:
        """Facts read by any rule, in catalogue order."""
        used = {f for rule in self.rules for f in rule.facts}
        return tuple(name for name in FACTS if name in used)

    @property
    def parameter_values(self) -> dict[str, int]:
        """Return parameter name → current value."""
        return {n: p.value for n, p in self.parameters.items()}

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.rules)

    def rule(self, rule_id: str) -> Rule:
        """Return the rule with that id (KeyError when absent)."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def to_yaml(self, *, examples: bool = False) -> str:
        """Return a self-contained canonical YAML text: no extends, everything resolved.

        Loading it back (`rules.load_text`) gives the same sha256 and version; this is the
        text the service stores as an immutable rule-set version.
        """
        doc: dict[str, object] = {"ruleset": self.name, "version": self.version}
        doc.update(self.canonical())
        del doc["name"]
        if examples and self.examples:
            doc["examples"] = [e.as_dict() for e in self.examples]
        return dump(doc)

    def derive(self, name: str, values: Mapping[str, int], version: int) -> RuleSet:
        """Return a new rule set named `name` with some parameter values changed.

        Used for a program's own rule set: values not given keep their current values.
        Raises RuleSetError (field `parameters.<name>`) for an unknown parameter or a value
        outside its bounds. Examples are dropped: they were written for the old values.
        """
        problems: list[Problem] = []
        src = f"<derive {self.name}>"
        if not isinstance(name, str) or not NAME_RE.fullmatch(name):
            problems.append(Problem(src, 0, "name", f"invalid rule-set name {name!r}"))
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            problems.append(Problem(src, 0, "version", "version must be an integer >= 1"))
        params = dict(self.parameters)
        for pname, value in values.items():
            where = f"parameters.{pname}"
            param = self.parameters.get(pname)
            if param is None:
                known = ", ".join(self.parameters) or "none"
                problems.append(Problem(src, 0, where, f"unknown parameter (known: {known})"))
            elif isinstance(value, bool) or not isinstance(value, int):
                problems.append(Problem(src, 0, where, f"must be an integer, got {value!r}"))
            elif not param.min <= value <= param.max:
                msg = f"{value} is outside the bounds {param.min}–{param.max}"
                problems.append(Problem(src, 0, where, msg))
            else:
                params[pname] = dataclasses.replace(param, value=value)
        if problems:
            raise RuleSetError(problems)
        derived = RuleSet(
            name=name,
            title=self.title,
            parameters=params,
            rules=self.rules,
            examples=(),
            version=version,
            source=f"<derived from {self.name}@{self.version}>",
            extends=self.name,
        )
        # Imported here because rules.compile imports this module. New values can un-share
        # comparisons in durable's network, so the derived set is checked as a whole again.
        from rules.compile import limit_problems

        limits = limit_problems(derived)
        if limits:
            raise RuleSetError(Problem(src, 0, "parameters", f"with these values: {message}") for _, message in limits)
        return derived
