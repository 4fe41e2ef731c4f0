"""Translate a resolved RuleSet into the narrow durable-rules subset that is known to work.

Measured limits (see docs/durable-rules-notes.md) shape everything here: facts are flat with
safe keys (no dots reach durable, where a dot means a nested path), parameters become
constants, `in`/`not_in` become equalities, and every condition is flattened to disjunctive
normal form (an `$or` of `$and`s of comparisons), because durable refuses an `$or` nested
inside an `$and` inside an `$or` ("error code: 202").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from rules.model import AllOf, AnyOf, Condition, Constant, Leaf, ParamRef, RuleSet

PROBE_KEY: Final = "_probe"
SENTINEL_RULE: Final = "_seen"
"""A rule every asserted fact matches: without it durable segfaults on delete_state."""

OR_CHUNK: Final = 8
"""Alternatives per durable `$or`: durable refuses more than 14 `$and` branches in one."""
MAX_ENGINE_RULES: Final = 500
"""durable hangs registering a rule set of more than 512 rules (measured)."""

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


def engine_rule_count(cond: Condition, params: Mapping[str, int]) -> int:
    """Return how many durable rules a condition compiles to."""
    return len(durable_conditions(cond, params))


def compile_ruleset(ruleset: RuleSet) -> Compiled:
    """Compile a rule set, adding the sentinel rule every evaluation relies on.

    A rule may become several durable rules (chunks of its alternatives); all of them run
    the action named after the rule id, so firing is reported per rule id.
    """
    params = ruleset.parameter_values
    rules: dict[str, object] = {}
    for rule in ruleset.rules:
        for expression in durable_conditions(rule.when, params):
            rules[f"c{len(rules)}"] = {"all": [{"m": expression}], "run": rule.id}
    rules[SENTINEL_RULE] = {"all": [{"m": {PROBE_KEY: 1}}], "run": SENTINEL_RULE}
    name = engine_name(ruleset)
    return Compiled(
        engine_name=name,
        definition_json=json.dumps({name: rules}, ensure_ascii=False),
        keys=tuple((fact, safe_key(fact)) for fact in ruleset.fact_keys),
    )
