"""The fact catalogue is the contract with the service: exact keys, exact types."""

from __future__ import annotations

import pytest

from rules import EXAMPLE_DEFAULTS, FACTS, FactsError, validate_facts


def test_catalogue_has_the_sixteen_facts_with_labels() -> None:
    assert len(FACTS) == 16
    for name, spec in FACTS.items():
        assert spec.name == name
        assert spec.label_ko and spec.description_en
        assert spec.type in (bool, int, str)


def test_example_defaults_are_a_complete_eligible_resident() -> None:
    facts = validate_facts(EXAMPLE_DEFAULTS)
    assert facts["resident.found"] is True
    assert facts["resident.age"] == 70
    assert facts["person.earlier_open_nominations"] == 0


def test_missing_unknown_and_mistyped_keys_are_all_named() -> None:
    facts: dict[str, object] = dict(EXAMPLE_DEFAULTS)
    del facts["resident.age"]
    facts["resident.colour"] = "blue"
    facts["household.size"] = True  # a bool is not an int here
    facts["resident.found"] = 1  # and an int is not a bool
    with pytest.raises(FactsError) as caught:
        validate_facts(facts)
    message = str(caught.value)
    for name in ("resident.age", "resident.colour", "household.size", "resident.found"):
        assert name in message
