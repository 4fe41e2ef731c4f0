"""A plain-Python evaluator of resolved rule sets: the oracle for the durable adapter.

Deliberately naive and obviously correct; tests compare the engine with it and the
benchmark uses it as a baseline. The service never calls it.
"""

from __future__ import annotations

from collections.abc import Mapping

from rules.compile import check_ruleset
from rules.facts import validate_facts
from rules.model import AllOf, AnyOf, Condition, Leaf, ParamRef, RuleSet


def holds(cond: Condition, facts: Mapping[str, object], params: Mapping[str, int]) -> bool:
    """Tell whether a condition is true for the facts."""
    if isinstance(cond, AllOf):
        return all(holds(item, facts, params) for item in cond.items)
    if isinstance(cond, AnyOf):
        return any(holds(item, facts, params) for item in cond.items)
    return _leaf(cond, facts[cond.fact], params)


def _leaf(leaf: Leaf, actual: object, params: Mapping[str, int]) -> bool:
    value = leaf.value
    if isinstance(value, ParamRef):
        value = params[value.name]
    if leaf.op == "in":
        assert isinstance(value, tuple)
        return actual in value
    if leaf.op == "not_in":
        assert isinstance(value, tuple)
        return actual not in value
    if leaf.op == "eq":
        return actual == value
    if leaf.op == "ne":
        return actual != value
    assert isinstance(actual, int) and isinstance(value, int)
    if leaf.op == "lt":
        return actual < value
    if leaf.op == "lte":
        return actual <= value
    if leaf.op == "gt":
        return actual > value
    return actual >= value


def evaluate(ruleset: RuleSet, facts: Mapping[str, object]) -> frozenset[str]:
    """Return the ids of the rules whose condition holds (same contract as rules.engine).

    Refuses exactly what the engine refuses, with the same errors: facts outside the catalogue
    or its bounds (FactsError), rule sets durable cannot judge (RuleSetError).
    """
    values = validate_facts(facts)
    check_ruleset(ruleset)
    params = ruleset.parameter_values
    return frozenset(r.id for r in ruleset.rules if holds(r.when, values, params))
