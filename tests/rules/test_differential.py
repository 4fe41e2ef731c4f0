"""The durable adapter agrees with the plain-Python reference on random rule sets and facts.

durable-rules works only inside a narrow subset (see docs/durable-rules-notes.md); this test
is what makes the adapter trustworthy: thousands of random (rule set, facts) cases, zero
disagreements.
"""

from __future__ import annotations

import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules import FACTS, RuleSet, Text, engine, load_text, reference
from rules.model import AllOf, AnyOf, Condition, Leaf, Parameter, ParamRef, Rule, iter_leaves
from rules.schema import MAX_ALTERNATIVES, count_alternatives

RULE_SETS = 600
FACTS_PER_RULE_SET = 20
INTS = (-5, -1, 0, 1, 2, 3, 64, 65, 66, 120, 2**31 + 7, 2**40)
STRS = ("", "active", "deceased", "moved_out", "M", "F", "1120058000", "1120055000",
        "응봉동", "행당1동주민센터", "행당1동주민센터 ", "a b")  # fmt: skip
BOOLS = (True, False)
PARAMS = {"p_low": 1, "p_mid": 65, "p_big": 2**31 + 7}
POOLS: dict[type, tuple[Any, ...]] = {int: INTS, str: STRS, bool: BOOLS}
INT_FACTS = [n for n, s in FACTS.items() if s.type is int]


@st.composite
def leaves(draw: st.DrawFn) -> Leaf:
    fact = draw(st.sampled_from(sorted(FACTS)))
    kind = FACTS[fact].type
    pool = POOLS[kind]
    ops = ["eq", "ne", "in", "not_in"] + (["lt", "lte", "gt", "gte"] if kind is int else [])
    op = draw(st.sampled_from(ops))
    if op in ("in", "not_in"):
        values = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3))
        return Leaf(fact, op, tuple(values))
    if kind is int and draw(st.booleans()):
        return Leaf(fact, op, ParamRef(draw(st.sampled_from(sorted(PARAMS)))))
    return Leaf(fact, op, draw(st.sampled_from(pool)))


def _group(children: st.SearchStrategy[Condition]) -> st.SearchStrategy[Condition]:
    items = st.lists(children, min_size=1, max_size=3).map(tuple)
    return st.one_of(items.map(AllOf), items.map(AnyOf))


conditions = st.recursive(leaves(), _group, max_leaves=8).filter(lambda c: count_alternatives(c) <= MAX_ALTERNATIVES)


@st.composite
def rulesets(draw: st.DrawFn) -> RuleSet:
    conds = draw(st.lists(conditions, min_size=1, max_size=10))
    rules = tuple(
        Rule(f"r{i}", draw(st.sampled_from(("block", "review"))), cond, Text("가", "a")) for i, cond in enumerate(conds)
    )
    params = {n: Parameter(v, -10, 2**41, "", Text(n, n)) for n, v in PARAMS.items()}
    return RuleSet(name="random", title=Text("무작위", "random"), parameters=params, rules=rules)


def _constants(ruleset: RuleSet) -> dict[str, list[object]]:
    """Map each fact to the constants (and parameter values) the rules compare it with."""
    found: dict[str, list[object]] = {}
    for rule in ruleset.rules:
        for leaf in iter_leaves(rule.when):
            value = leaf.value
            if isinstance(value, ParamRef):
                values: tuple[object, ...] = (PARAMS[value.name],)
            elif isinstance(value, tuple):
                values = value
            else:
                values = (value,)
            found.setdefault(leaf.fact, []).extend(values)
    return found


def random_facts(rng: random.Random, constants: dict[str, list[object]]) -> dict[str, object]:
    """Facts from the pools, half the time reusing the rules' own constants to hit edges."""
    facts: dict[str, object] = {}
    for name, spec in FACTS.items():
        if name in constants and rng.random() < 0.5:
            facts[name] = rng.choice(constants[name])
        else:
            facts[name] = rng.choice(POOLS[spec.type])
    return facts


@settings(
    max_examples=RULE_SETS,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(ruleset=rulesets(), rng=st.randoms(use_true_random=False))
def _compare(counted: dict[str, int], ruleset: RuleSet, rng: random.Random) -> None:
    assert load_text(ruleset.to_yaml()).sha256 == ruleset.sha256  # canonical YAML round-trips
    constants = _constants(ruleset)
    for _ in range(FACTS_PER_RULE_SET):
        facts = random_facts(rng, constants)
        expected = reference.evaluate(ruleset, facts)
        assert engine.evaluate(ruleset, facts) == expected, (ruleset.to_yaml(), facts)
        counted["cases"] += 1
        counted["fired" if expected else "silent"] += 1


def test_engine_matches_reference_on_random_rule_sets() -> None:
    """At least 10,000 (rule set, facts) cases, both firing and silent ones, zero mismatches."""
    counted = {"cases": 0, "fired": 0, "silent": 0}
    _compare(counted)
    assert counted["cases"] >= 10_000
    assert counted["fired"] > 1_000 and counted["silent"] > 1_000
