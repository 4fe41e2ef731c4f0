"""Rule sets are immutable and content-addressed; stored versions load back identically."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from rules import RuleSet, RuleSetError, UnknownRuleSetError, evaluate, load_text, with_example_defaults
from tests.rules.helpers import POLICIES, shipped

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["base-screening", "kimchi-winter", "rice-support", "heating-coal"])
def test_to_yaml_round_trip_keeps_sha_and_version(name: str) -> None:
    ruleset = shipped().get(name).derive(f"{name}-prog", {}, version=4)
    text = ruleset.to_yaml()
    assert "extends" not in text
    again = load_text(text, source="<db>")
    assert again.sha256 == ruleset.sha256
    assert again.version == 4
    assert again.rules == ruleset.rules
    assert dict(again.parameters) == dict(ruleset.parameters)
    assert load_text(again.to_yaml()).sha256 == ruleset.sha256


def test_to_yaml_can_carry_the_examples() -> None:
    ruleset = shipped().get("kimchi-winter")
    again = load_text(ruleset.to_yaml(examples=True))
    assert [e.name for e in again.examples] == [e.name for e in ruleset.examples]
    assert again.sha256 == ruleset.sha256


def test_sha_ignores_version_examples_and_source() -> None:
    ruleset = shipped().get("kimchi-winter")
    other = dataclasses.replace(ruleset, version=9, examples=(), source="elsewhere")
    assert other.sha256 == ruleset.sha256


def test_sha_is_stable_across_processes() -> None:
    code = f"from rules import Library; print(Library.from_directory({str(POLICIES)!r}).get('heating-coal').sha256)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == shipped().get("heating-coal").sha256


def test_derive_changes_values_and_sha_and_keeps_the_rest() -> None:
    base = shipped().get("kimchi-winter")
    program = base.derive("kimchi-2026", {"min_age": 70}, version=1)
    assert program.name == "kimchi-2026" and program.version == 1
    assert program.parameter_values == {**base.parameter_values, "min_age": 70}
    assert program.sha256 != base.sha256
    assert program.rules == base.rules
    assert base.parameters["min_age"].value == 65  # the original is untouched
    same = base.derive("kimchi-2026", {}, version=1)
    assert same.parameter_values == base.parameter_values


@pytest.mark.parametrize(
    ("values", "field", "fragment"),
    [
        ({"min_age": 121}, "parameters.min_age", "outside the bounds 0–120"),
        ({"household_limit": 0}, "parameters.household_limit", "outside the bounds 1–10"),
        ({"max_income": 3}, "parameters.max_income", "unknown parameter"),
        ({"min_age": True}, "parameters.min_age", "must be an integer"),
        ({"min_age": "70"}, "parameters.min_age", "must be an integer"),
    ],
)
def test_derive_checks_names_and_bounds(values: dict[str, int], field: str, fragment: str) -> None:
    with pytest.raises(RuleSetError) as caught:
        shipped().get("kimchi-winter").derive("kimchi-2026", values, version=2)
    (problem,) = caught.value.problems
    assert problem.field == field and fragment in problem.message


def test_rule_sets_are_immutable() -> None:
    ruleset = shipped().get("base-screening")
    with pytest.raises(dataclasses.FrozenInstanceError):
        ruleset.version = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        ruleset.parameters["household_limit"] = ruleset.parameters["lookback_days"]  # type: ignore[index]


def test_fact_keys_are_the_facts_any_rule_reads() -> None:
    ruleset = shipped().get("base-screening")
    assert "resident.age" not in ruleset.fact_keys
    assert "household.receipts_same_category" in ruleset.fact_keys
    assert "resident.age" in shipped().get("kimchi-winter").fact_keys


def test_equality_and_hash_follow_content_and_version() -> None:
    ruleset: RuleSet = shipped().get("base-screening")
    assert ruleset == load_text(ruleset.to_yaml())
    assert ruleset != dataclasses.replace(ruleset, version=2)
    assert len({ruleset, load_text(ruleset.to_yaml())}) == 1


def test_unknown_rule_set_name() -> None:
    with pytest.raises(UnknownRuleSetError, match="no-such-program"):
        shipped().get("no-such-program")


def test_load_text_resolves_extends_from_a_library() -> None:
    text = (
        "ruleset: kimchi-2027\nextends: kimchi-winter\ntitle: {ko: 2027 김장, en: Kimchi 2027}\n"
        "parameters:\n  min_age: {value: 70}\n"
    )
    ruleset = load_text(text, source="<db>", library=shipped())
    assert ruleset.parameters["min_age"].value == 70
    assert ruleset.rule_ids == shipped().get("kimchi-winter").rule_ids
    with pytest.raises(RuleSetError, match="unknown base rule set 'kimchi-winter'"):
        load_text(text)


def test_a_rule_set_without_rules_is_always_eligible() -> None:
    ruleset = load_text("ruleset: empty\ntitle: {ko: 빈, en: Empty}\n")
    assert evaluate(ruleset, with_example_defaults({"resident.found": False})) == frozenset()
