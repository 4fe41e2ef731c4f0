"""Translate a resolved RuleSet into the narrow durable-rules subset that is known to work.

Measured limits (see docs/durable-rules-notes.md) shape everything here: facts are flat with
safe keys (no dots reach durable, where a dot means a nested path), parameters become
constants, `in`/`not_in` become equalities, and every condition is flattened to disjunctive
normal form (an `$or` of `$and`s of comparisons), because durable refuses an `$or` nested
inside an `$and` inside an `$or` ("error code: 202").

It is also where a rule set's shape is checked against what durable can register and evaluate
(the bounds documented in rules.facts): sizes of the DNF expansion, counted without expanding,
and the height of durable's evaluation stack, computed on the exact network durable will build.
A rule set outside them raises RuleSetError before durable ever sees it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final

from rules.errors import Problem, RuleSetError
from rules.facts import MAX_ALTERNATIVES, MAX_BRANCHES, MAX_COMPARISONS, MAX_DEFINITION_BYTES
from rules.model import AllOf, AnyOf, Condition, Constant, Leaf, ParamRef, RuleSet

PROBE_KEY: Final = "_probe"
SENTINEL_RULE: Final = "_seen"
"""A rule every asserted fact matches: without it durable segfaults on delete_state."""

OR_CHUNK: Final = 8
"""Alternatives per durable `$or`: durable refuses more than 14 `$and` branches in one."""
DURABLE_STACK: Final = 64
"""durable walks matching alpha nodes with a fixed stack of 64 (MAX_STACK_SIZE in events.c); one
more pending node and assert_fact fails with "error code: 303", so no rule set may reach it."""

_DURABLE_OPS: Final = {"ne": "$neq", "lt": "$lt", "lte": "$lte", "gt": "$gt", "gte": "$gte"}

Atom = dict[str, object]


def safe_key(fact: str) -> str:
    """Return the durable field name of a fact: `resident.found` → `resident__found`."""
    return fact.replace(".", "__")


@dataclass(frozen=True)
class Compiled:
    """A rule set ready for durable: its engine name, definition and fact key mapping."""

    engine_name: str
    definition_json: str
    keys: tuple[tuple[str, str], ...]
    """(catalogue name, safe key) of every fact the rules read."""
    actions: Mapping[str, str] = field(compare=False)
    """durable rule name (``c0``, ``c1``, …, the sentinel's) → the rule id its action reports."""

    def definition(self) -> dict[str, object]:
        """Return a fresh copy (durable mutates the dict it is given)."""
        result: dict[str, object] = json.loads(self.definition_json)
        return result


def engine_name(ruleset: RuleSet) -> str:
    """Name the engine rule set after the content, so equal content shares one compilation."""
    return f"rs_{ruleset.sha256}"


def _atom(leaf: Leaf, value: Constant, op: str) -> Atom:
    key = safe_key(leaf.fact)
    if op == "eq":
        return {key: value}
    return {_DURABLE_OPS[op]: {key: value}}


def dnf(cond: Condition, params: Mapping[str, int]) -> list[list[Atom]]:
    """Return the condition as a list of alternatives, each a list of comparisons to AND."""
    if isinstance(cond, Leaf):
        value = cond.value
        if isinstance(value, ParamRef):
            return [[_atom(cond, params[value.name], cond.op)]]
        if isinstance(value, tuple):
            if cond.op == "in":
                return [[_atom(cond, v, "eq")] for v in value]
            return [[_atom(cond, v, "ne") for v in value]]
        return [[_atom(cond, value, cond.op)]]
    parts = [dnf(item, params) for item in cond.items]
    if isinstance(cond, AnyOf):
        return [alt for part in parts for alt in part]
    assert isinstance(cond, AllOf)
    result: list[list[Atom]] = [[]]
    for part in parts:
        result = [left + right for left in result for right in part]
    return result


def _key(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def durable_conditions(cond: Condition, params: Mapping[str, int]) -> list[Atom]:
    """Return the durable `m` expressions whose union is the condition.

    Each is an `$or` of at most OR_CHUNK alternatives (durable refuses an `$or` of more than
    14 `$and`s with "error code: 113"), each alternative an `$and` of comparisons.
    """
    alternatives: dict[str, Atom] = {}
    for alternative in dnf(cond, params):
        atoms = list({_key(a): a for a in alternative}.values())
        branch: Atom = atoms[0] if len(atoms) == 1 else {"$and": atoms}
        alternatives.setdefault(_key(branch), branch)
    branches = list(alternatives.values())
    chunks = [branches[i : i + OR_CHUNK] for i in range(0, len(branches), OR_CHUNK)]
    return [chunk[0] if len(chunk) == 1 else {"$or": chunk} for chunk in chunks]


def count_alternatives(cond: Condition) -> int:
    """Count the and-branches of the condition's disjunctive normal form (without expanding it)."""
    return dnf_size(cond)[0]


def dnf_size(cond: Condition) -> tuple[int, int]:
    """Return (and-branches, comparisons) of `dnf(cond)` by arithmetic, without expanding it.

    Counts are before duplicates are merged, so they never depend on parameter values.
    """
    if isinstance(cond, Leaf):
        if isinstance(cond.value, tuple):
            items = len(cond.value)
            return (items, items) if cond.op == "in" else (1, items)
        return 1, 1
    sizes = [dnf_size(item) for item in cond.items]
    if isinstance(cond, AnyOf):
        return sum(a for a, _ in sizes), sum(c for _, c in sizes)
    branches, comparisons = 1, 0
    for alternatives, count in sizes:  # (B, C) × (a, c): every branch meets every alternative
        branches, comparisons = branches * alternatives, comparisons * alternatives + count * branches
    return branches, comparisons


def size_problems(ruleset: RuleSet) -> list[tuple[str, str]]:
    """Return (field, message) for every DNF size bound the rule set exceeds."""
    problems: list[tuple[str, str]] = []
    branches = comparisons = 0
    for index, rule in enumerate(ruleset.rules):
        alternatives, count = dnf_size(rule.when)
        if alternatives > MAX_ALTERNATIVES:
            problems.append(
                (
                    f"rules[{index}].when",
                    f"condition too complex: {alternatives} alternatives when expanded (at most {MAX_ALTERNATIVES})",
                )
            )
        branches += alternatives
        comparisons += count
    if branches > MAX_BRANCHES:
        problems.append(("rules", f"too many alternatives for the engine: {branches} (at most {MAX_BRANCHES})"))
    if comparisons > MAX_COMPARISONS:
        message = f"too many comparisons for the engine: {comparisons:,} (at most {MAX_COMPARISONS:,})"
        problems.append(("rules", message))
    return problems


@dataclass
class _Node:
    """One alpha node of the network durable builds: children by comparison, `$or` forward links."""

    children: dict[str, _Node] = field(default_factory=dict)
    eq_keys: set[str] = field(default_factory=set)
    """Fact keys some child compares for equality: of those children at most one per key matches."""
    others: int = 0
    """Children comparing otherwise ($neq, $lt, ...): any number of them may match at once."""
    forwards: int = 0


def _branches(expression: Atom) -> tuple[list[Atom], bool]:
    """Split one `m` expression into its branches; True when they hang off an `$or`."""
    if "$or" in expression:
        return list(expression["$or"]), True  # type: ignore[call-overload]
    return [expression], False


def _atoms(branch: Atom) -> list[Atom]:
    return list(branch["$and"]) if "$and" in branch else [branch]  # type: ignore[call-overload]


def stack_height(definition: Mapping[str, Mapping[str, object]]) -> int:
    """Return the most alpha nodes durable's evaluation stack can hold for one fact (an upper bound).

    durable (events.c, handleAlpha) pops a node, then pushes every `$or` forward node it links
    to and every child whose comparison matches; a child is shared by all branches that begin
    with the same comparisons. At most one child comparing one key for equality can match, all
    other children may. Popping in the worst order, a node needs pushes - 1 + the tallest child.
    Checked against durable: the bound is reached or exceeded by one (pop order), never passed.
    """
    root = _Node()
    for rule in definition.values():
        expression: Atom = rule["all"][0]["m"]  # type: ignore[index]
        branches, via_or = _branches(expression)
        for branch in branches:
            node = root
            for atom in _atoms(branch):
                text = _key(atom)
                child = node.children.get(text)
                if child is None:
                    child = node.children[text] = _Node()
                    (key,) = atom
                    if key.startswith("$"):
                        node.others += 1
                    else:
                        node.eq_keys.add(key)
                node = child
            node.forwards += via_or
    height: dict[int, int] = {}
    for node in _post_order(root):
        pushes = node.forwards + len(node.eq_keys) + node.others
        tallest = max((height[id(c)] for c in node.children.values()), default=0)
        height[id(node)] = 0 if pushes == 0 else max(pushes, pushes - 1 + tallest)
    return height[id(root)]


def _post_order(root: _Node) -> Iterator[_Node]:
    """Yield every node after its children, without recursion (chains can be thousands long)."""
    stack: list[tuple[_Node, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            yield node
        else:
            stack.append((node, True))
            stack.extend((child, False) for child in node.children.values())


def durable_rules(ruleset: RuleSet) -> dict[str, dict[str, object]]:
    """Return the durable rules of a rule set, the sentinel last (no bound is checked here)."""
    params = ruleset.parameter_values
    rules: dict[str, dict[str, object]] = {}
    for rule in ruleset.rules:
        for expression in durable_conditions(rule.when, params):
            rules[f"c{len(rules)}"] = {"all": [{"m": expression}], "run": rule.id}
    rules[SENTINEL_RULE] = {"all": [{"m": {PROBE_KEY: 1}}], "run": SENTINEL_RULE}
    return rules


def limit_problems(ruleset: RuleSet) -> list[tuple[str, str]]:
    """Return (field, message) for every engine bound the rule set exceeds; [] when durable can judge it.

    Sizes are checked first, so the network is only built for rule sets of bounded size.
    """
    return size_problems(ruleset) or network_problems(durable_rules(ruleset))


def network_problems(rules: Mapping[str, Mapping[str, object]]) -> list[tuple[str, str]]:
    """Return (field, message) for compiled durable rules that are too large or too tall for durable."""
    problems: list[tuple[str, str]] = []
    size = len(json.dumps(rules, ensure_ascii=False).encode("utf-8"))
    if size > MAX_DEFINITION_BYTES:
        problems.append(
            (
                "rules",
                f"the rules compile to {size:,} bytes of engine definition (at most {MAX_DEFINITION_BYTES:,}): "
                "use shorter values or fewer alternatives",
            )
        )
    height = stack_height(rules)
    if height > DURABLE_STACK:
        problems.append(
            (
                "rules",
                f"too many comparisons can hold at once: durable-rules would need {height} places on its "
                f"evaluation stack (it has {DURABLE_STACK}); use fewer rules or start them with shared "
                "equality conditions",
            )
        )
    return problems


def _raise(ruleset: RuleSet, problems: Iterable[tuple[str, str]]) -> None:
    found = [Problem(ruleset.source, 0, where, message) for where, message in problems]
    if found:
        raise RuleSetError(found)


def check_ruleset(ruleset: RuleSet) -> None:
    """Raise RuleSetError (file = the rule set's source, line 0) when durable cannot judge it."""
    _raise(ruleset, _cached_limit_problems(ruleset))


@lru_cache(maxsize=256)
def _cached_limit_problems(ruleset: RuleSet) -> tuple[tuple[str, str], ...]:
    """RuleSet hashes by content and version: the reference evaluator checks once per rule set."""
    return tuple(limit_problems(ruleset))


def compile_ruleset(ruleset: RuleSet) -> Compiled:
    """Compile a rule set, adding the sentinel rule every evaluation relies on.

    A rule may become several durable rules (chunks of its alternatives); all of them run
    the action named after the rule id, so firing is reported per rule id. Raises RuleSetError
    when the rule set is outside the bounds durable can judge (see rules.facts).
    """
    _raise(ruleset, size_problems(ruleset))
    rules = durable_rules(ruleset)
    _raise(ruleset, network_problems(rules))
    name = engine_name(ruleset)
    return Compiled(
        engine_name=name,
        definition_json=json.dumps({name: rules}, ensure_ascii=False),
        keys=tuple((fact, safe_key(fact)) for fact in ruleset.fact_keys),
        actions={durable_name: str(rule["run"]) for durable_name, rule in rules.items()},
    )
