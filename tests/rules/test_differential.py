"""The durable adapter agrees with the plain-Python reference, up to and at the edges of its bounds.

durable-rules works only inside a narrow envelope (see docs/durable-rules-notes.md): strings wrap
at 64 KiB, integers saturate at int64, its evaluation stack holds 64 nodes. The bounds of
rules.facts keep every rule set and fact inside it, so this test compares the engine with the
reference on thousands of random (rule set, facts) cases drawn from pools that include the
bounds themselves, and checks that whatever lies beyond them is refused by both paths with the
same error, before durable sees it. The generator is a seeded `random.Random` (not hypothesis):
it keeps the run to a few seconds and a failure message carries the YAML and the facts.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest

from rules import (
    FACTS,
    FactsError,
    RuleSet,
    RuleSetError,
    Text,
    engine,
    load_text,
    reference,
    with_example_defaults,
    yamlsrc,
)
from rules.compile import DURABLE_STACK, dnf, dnf_size, durable_rules, limit_problems, stack_height
from rules.facts import MAX_CONDITION_DEPTH, MAX_INT, MAX_STR_BYTES
from rules.model import AllOf, AnyOf, Condition, Constant, Leaf, Parameter, ParamRef, Rule, iter_leaves

SEED = 20261125
RULE_SETS = 360
FACTS_PER_RULE_SET = 16
ROUND_TRIP_EVERY = 12
"""Every twelfth rule set also goes through its canonical YAML and back (PyYAML is slow)."""

AT_BOUND = "a" * (MAX_STR_BYTES - 1) + "x"
"""The longest string allowed; the next one differs from it only in its last byte."""
AT_BOUND_OTHER = "a" * (MAX_STR_BYTES - 1) + "y"
KOREAN_AT_BOUND = "가" * (MAX_STR_BYTES // 3) + "a"  # 3 bytes per syllable: exactly MAX_STR_BYTES
INTS = (-MAX_INT, -MAX_INT + 1, -5, -1, 0, 1, 2, 3, 64, 65, 66, 120, 2**31 + 7, 2**40, MAX_INT - 1, MAX_INT)
STRS = ("", "active", "deceased", "moved_out", "M", "F", "1120058000", "1120055000", "응봉동",
        "행당1동주민센터", "행당1동주민센터 ", "a b", "y", "n", "yes", "010", "1:30",
        AT_BOUND, AT_BOUND_OTHER, KOREAN_AT_BOUND)  # fmt: skip
BOOLS = (True, False)
POOLS: dict[type, tuple[Any, ...]] = {int: INTS, str: STRS, bool: BOOLS}
PARAMS = {"p_low": 1, "p_mid": 65, "p_big": 2**31 + 7, "p_max": MAX_INT}

BEYOND: dict[type, tuple[Any, ...]] = {
    int: (MAX_INT + 1, -MAX_INT - 1, 2**63 - 1, 2**63, -(2**63), 10**20),
    str: (
        AT_BOUND + "z",  # one byte over
        "가" * (MAX_STR_BYTES // 3 + 1),  # 1,026 bytes in 342 characters
        "deceased" + "x" * 65_536,  # durable compared this equal to "deceased"
        "\ud800",  # a lone surrogate: durable's C layer raised "error code 314"
        "a\udfffb",
        "nul\x00",
    ),
}
"""Fact values outside the bounds: both paths must refuse them, and with the same message."""


def _leaf(rng: random.Random) -> Leaf:
    fact = rng.choice(sorted(FACTS))
    kind = FACTS[fact].type
    pool = POOLS[kind]
    ops = ["eq", "ne", "in", "not_in"] + (["lt", "lte", "gt", "gte"] if kind is int else [])
    op = rng.choice(ops)
    if op in ("in", "not_in"):
        return Leaf(fact, op, tuple(rng.choice(pool) for _ in range(rng.randint(1, 3))))
    if kind is int and rng.random() < 0.4:
        return Leaf(fact, op, ParamRef(rng.choice(sorted(PARAMS))))
    return Leaf(fact, op, rng.choice(pool))


def _condition(rng: random.Random, depth: int = 0) -> Condition:
    if depth >= 3 or rng.random() < 0.45:
        return _leaf(rng)
    items = tuple(_condition(rng, depth + 1) for _ in range(rng.randint(1, 3)))
    return AllOf(items) if rng.random() < 0.5 else AnyOf(items)


def random_ruleset(rng: random.Random, index: int) -> RuleSet:
    """1–10 rules of nested conditions, or (one in six) 45–85 small rules around durable's stack bound."""
    wide = rng.random() < 1 / 6
    count = rng.randint(45, 85) if wide else rng.randint(1, 10)
    rules = tuple(
        Rule(f"r{i}", rng.choice(("block", "review")), _leaf(rng) if wide else _condition(rng), Text("가", "a"))
        for i in range(count)
    )
    params = {n: Parameter(v, -10, MAX_INT, "", Text(n, n)) for n, v in PARAMS.items()}
    return RuleSet(name=f"random-{index}", title=Text("무작위", "random"), parameters=params, rules=rules)


def _constants(ruleset: RuleSet) -> dict[str, list[Constant]]:
    """Map each fact to the constants (and parameter values) the rules compare it with."""
    found: dict[str, list[Constant]] = {}
    for rule in ruleset.rules:
        for leaf in iter_leaves(rule.when):
            value = leaf.value
            if isinstance(value, ParamRef):
                values: tuple[Constant, ...] = (PARAMS[value.name],)
            elif isinstance(value, tuple):
                values = value
            else:
                values = (value,)
            found.setdefault(leaf.fact, []).extend(values)
    return found


def random_facts(rng: random.Random, constants: dict[str, list[Constant]]) -> dict[str, object]:
    """Facts from the pools, half the time reusing the rules' own constants (or one step off) to hit edges."""
    facts: dict[str, object] = {}
    for name, spec in FACTS.items():
        if name in constants and rng.random() < 0.5:
            value = rng.choice(constants[name])
            if spec.type is int and rng.random() < 0.5:
                value = max(-MAX_INT, min(MAX_INT, value + rng.choice((-1, 1))))
            facts[name] = value
        else:
            facts[name] = rng.choice(POOLS[spec.type])
    return facts


def _outcome(evaluate: Callable[[RuleSet, dict[str, object]], frozenset[str]], ruleset: RuleSet, facts: Any) -> object:
    """What a path answers: the fired rules, or the type and text of the error it refused with."""
    try:
        return evaluate(ruleset, facts)
    except (FactsError, RuleSetError) as exc:
        return (type(exc).__name__, str(exc))


def test_engine_matches_reference_on_random_rule_sets() -> None:
    """Thousands of cases, firing, silent and refused ones, with zero disagreements."""
    rng = random.Random(SEED)
    counted = {"cases": 0, "fired": 0, "silent": 0, "refused facts": 0, "refused rule sets": 0, "near stack": 0}
    for index in range(RULE_SETS):
        ruleset = random_ruleset(rng, index)
        if limit_problems(ruleset):  # too complex for durable: both paths refuse it alike
            facts = with_example_defaults({})
            refused = _outcome(engine.evaluate, ruleset, facts)
            assert refused == _outcome(reference.evaluate, ruleset, facts), ruleset.to_yaml()
            assert isinstance(refused, tuple) and refused[0] == "RuleSetError"
            counted["refused rule sets"] += 1
            continue
        if stack_height(durable_rules(ruleset)) > DURABLE_STACK - 8:  # allowed, and close to durable's limit
            counted["near stack"] += 1
        if index % ROUND_TRIP_EVERY == 0:
            assert load_text(ruleset.to_yaml()).sha256 == ruleset.sha256  # canonical YAML round-trips
        constants = _constants(ruleset)
        for _ in range(FACTS_PER_RULE_SET):
            facts = random_facts(rng, constants)
            beyond = rng.random() < 0.1
            if beyond:
                name = rng.choice([n for n, s in FACTS.items() if s.type is not bool])
                facts[name] = rng.choice(BEYOND[FACTS[name].type])
            expected = _outcome(reference.evaluate, ruleset, facts)
            got = _outcome(engine.evaluate, ruleset, facts)
            assert got == expected, (ruleset.to_yaml(), {k: str(v)[:80] for k, v in facts.items()})
            counted["cases"] += 1
            if beyond:
                assert isinstance(got, tuple) and got[0] == "FactsError" and name in got[1]
                counted["refused facts"] += 1
            else:
                counted["fired" if expected else "silent"] += 1
    print(counted)
    assert counted["cases"] >= 5_000
    assert counted["fired"] > 1_000 and counted["silent"] > 300 and counted["refused facts"] > 300
    assert counted["refused rule sets"] >= 1 and counted["near stack"] >= 1


# -- the edges, one by one ---------------------------------------------------------------------------


def _ruleset(*conditions: Condition, params: dict[str, int] | None = None) -> RuleSet:
    rules = tuple(Rule(f"r{i}", "block", c, Text("가", "a")) for i, c in enumerate(conditions))
    parameters = {n: Parameter(v, -MAX_INT, MAX_INT) for n, v in (params or {}).items()}
    return RuleSet(name="edge", title=Text("경계", "edge"), parameters=parameters, rules=rules)


def _both(ruleset: RuleSet, facts: dict[str, Any]) -> object:
    expected = _outcome(reference.evaluate, ruleset, facts)
    assert _outcome(engine.evaluate, ruleset, facts) == expected
    return expected


def test_strings_at_the_byte_bound_compare_by_every_byte() -> None:
    assert len(AT_BOUND.encode()) == len(KOREAN_AT_BOUND.encode()) == MAX_STR_BYTES
    ruleset = _ruleset(
        Leaf("resident.status", "eq", AT_BOUND),
        Leaf("resident.status", "ne", AT_BOUND),
        Leaf("resident.status", "in", (AT_BOUND_OTHER, KOREAN_AT_BOUND)),
        Leaf("resident.status", "not_in", (AT_BOUND,)),
    )
    for value, fired in [
        (AT_BOUND, {"r0"}),
        (AT_BOUND_OTHER, {"r1", "r2", "r3"}),
        (KOREAN_AT_BOUND, {"r1", "r2", "r3"}),
        (AT_BOUND[:-1], {"r1", "r3"}),
    ]:
        assert _both(ruleset, with_example_defaults({"resident.status": value})) == fired


@pytest.mark.parametrize("value", BEYOND[str], ids=["1025 bytes", "1026 bytes korean", "64 KiB wrap", "surrogate",
                                                     "inner surrogate", "NUL"])  # fmt: skip
def test_strings_beyond_the_bounds_never_reach_the_engine(value: str) -> None:
    """`"deceased" + 65,536 × "x"` used to fire the deceased rule; now both paths refuse the fact."""
    ruleset = _ruleset(Leaf("resident.status", "eq", "deceased"), Leaf("resident.status", "ne", "deceased"))
    refused = _both(ruleset, with_example_defaults({"resident.status": value}))
    assert isinstance(refused, tuple) and refused[0] == "FactsError"
    assert "fact resident.status:" in refused[1] and len(refused[1]) < 300


def test_string_constants_beyond_the_bounds_are_refused_naming_the_field() -> None:
    for value in BEYOND[str]:
        with pytest.raises(RuleSetError) as caught:
            _ruleset(Leaf("resident.found", "eq", True), Leaf("resident.status", "in", ("active", value)))
        (problem,) = caught.value.problems
        assert problem.field == "rules[1].when.in[1]"


def test_integers_at_the_bounds_compare_exactly_and_beyond_are_refused() -> None:
    edges = (-MAX_INT, -MAX_INT + 1, MAX_INT - 1, MAX_INT)
    ruleset = _ruleset(
        *(Leaf("resident.age", op, v) for op in ("eq", "ne", "lt", "lte", "gt", "gte") for v in edges),
        Leaf("household.size", "gte", ParamRef("top")),
        params={"top": MAX_INT},
    )
    for age in edges:
        facts = with_example_defaults({"resident.age": age, "household.size": age})
        fired = _both(ruleset, facts)
        assert isinstance(fired, frozenset) and ("r24" in fired) == (age == MAX_INT)
        assert {f"r{edges.index(age)}", f"r{20 + edges.index(age)}"} <= fired  # eq and gte itself
    for beyond in BEYOND[int]:
        refused = _both(ruleset, with_example_defaults({"resident.age": beyond}))
        assert isinstance(refused, tuple) and refused[0] == "FactsError" and "resident.age" in refused[1]
        with pytest.raises(RuleSetError, match=r"rules\[0\]\.when\.eq"):
            _ruleset(Leaf("resident.age", "eq", beyond))
        with pytest.raises(RuleSetError, match=r"parameters\.top\.max"):
            RuleSet("edge", Text("a", "b"), {"top": Parameter(0, 0, beyond)}, ())


def _nested(depth: int) -> Condition:
    cond: Condition = Leaf("resident.age", "gte", 65)
    for level in range(depth):
        cond = AllOf((cond,)) if level % 2 else AnyOf((cond, Leaf("resident.found", "eq", False)))
    return cond


def test_nesting_at_the_depth_bound_agrees_and_deeper_is_refused() -> None:
    ruleset = _ruleset(_nested(MAX_CONDITION_DEPTH))
    for age in (64, 65):
        assert _both(ruleset, with_example_defaults({"resident.age": age})) == ({"r0"} if age == 65 else set())
    for depth in (MAX_CONDITION_DEPTH + 1, 5_000):  # 5,000 is far beyond Python's recursion limit
        with pytest.raises(RuleSetError, match=f"nested more than {MAX_CONDITION_DEPTH} levels"):
            _ruleset(_nested(depth))


def test_a_condition_nested_beyond_the_bound_in_yaml_names_its_line() -> None:
    when = "{all: [" * (MAX_CONDITION_DEPTH + 1) + "{fact: resident.age, eq: 1}" + "]}" * (MAX_CONDITION_DEPTH + 1)
    text = f"ruleset: deep\ntitle: {{ko: 가, en: a}}\nrules:\n  - id: r\n    severity: block\n    when: {when}\n"
    with pytest.raises(RuleSetError) as caught:
        load_text(text + "    message: {ko: a, en: b}\n", source="deep.yaml")
    (problem,) = caught.value.problems
    assert (problem.file, problem.line) == ("deep.yaml", 6)
    assert problem.field == "rules[0].when" + ".all[0]" * MAX_CONDITION_DEPTH


ALIASED = """\
ruleset: aliased
title: {ko: 별칭, en: Aliased}
rules:
  - id: old
    severity: block
    when: &old {fact: resident.age, gte: 65}
    message: {ko: 가, en: a}
  - id: also_old
    severity: review
    when: *old
    message: {ko: 가, en: a}
"""


def test_an_alias_is_refused_and_the_same_rules_written_out_agree() -> None:
    with pytest.raises(RuleSetError) as caught:
        load_text(ALIASED, source="aliased.yaml")
    (problem,) = caught.value.problems
    assert (problem.file, problem.line) == ("aliased.yaml", 6) and "anchors (&old)" in problem.message
    written_out = load_text(ALIASED.replace("&old ", "").replace("*old", "{fact: resident.age, gte: 65}"))
    for age in (64, 65):
        assert _both(written_out, with_example_defaults({"resident.age": age})) == (
            {"old", "also_old"} if age >= 65 else set()
        )


def test_the_stack_bound_is_exactly_where_durable_fails() -> None:
    """63 comparisons true at once plus the sentinel fill durable's 64-node stack; one more is refused."""
    fits = _ruleset(*(Leaf("resident.age", "gte", i) for i in range(DURABLE_STACK - 1)))
    facts = with_example_defaults({"resident.age": 100})
    assert _both(fits, facts) == {f"r{i}" for i in range(DURABLE_STACK - 1)}
    over = _ruleset(*(Leaf("resident.age", "gte", i) for i in range(DURABLE_STACK)))
    refused = _both(over, facts)
    assert isinstance(refused, tuple) and refused[0] == "RuleSetError" and "evaluation stack" in refused[1]


def test_yaml_surprises_round_trip_quoted() -> None:
    """Strings that YAML 1.1 reads otherwise are written quoted, so stored versions load back."""
    ruleset = _ruleset(Leaf("resident.sex", "in", ("y", "n", "Y", "N", "yes", "off", "010", "1:30", "0x1F")))
    text = ruleset.to_yaml()
    assert "- 'y'" in text and "- '1:30'" in text
    assert load_text(text).sha256 == ruleset.sha256


def test_dnf_size_counts_exactly_what_dnf_expands() -> None:
    """The bounds are checked by arithmetic; it must agree with the expansion the compiler does."""
    rng = random.Random(SEED + 1)
    for _ in range(2_000):
        cond = _condition(rng)
        expanded = dnf(cond, PARAMS)
        assert dnf_size(cond) == (len(expanded), sum(len(alternative) for alternative in expanded))


def test_dumped_yaml_never_uses_anchors() -> None:
    """The loader refuses anchors, so the writer of stored versions must never emit one."""
    shared = {"ko": "가", "en": "a"}
    text = yamlsrc.dump({"title": shared, "again": shared})
    assert "&" not in text and "*" not in text
    doc, problems = yamlsrc.parse(text, "dumped")
    assert problems == [] and doc is not None and doc.data == {"title": shared, "again": shared}
