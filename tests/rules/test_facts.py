"""The fact catalogue is the contract with the service: exact keys, exact types."""

from __future__ import annotations

import pytest

import rules
from rules import EXAMPLE_DEFAULTS, FACTS, FactsError, validate_facts, with_example_defaults
from rules.facts import MAX_INT, MAX_STR_BYTES


def test_catalogue_has_the_nineteen_facts_with_labels() -> None:
    assert len(FACTS) == 19
    for name, spec in FACTS.items():
        assert spec.name == name
        assert spec.label_ko and spec.description_en
        assert spec.type in (bool, int, str)


def test_example_defaults_are_a_complete_eligible_resident() -> None:
    facts = validate_facts(EXAMPLE_DEFAULTS)
    assert facts["resident.found"] is True
    assert facts["resident.age"] == 70
    assert facts["person.earlier_open_nominations"] == 0
    assert (
        facts["household.nominated_elsewhere"],
        facts["household.other_program"],
        facts["household.other_program_name"],
    ) == (0, "", "")
    assert FACTS["household.nominated_elsewhere"].type is int
    assert FACTS["household.other_program"].type is FACTS["household.other_program_name"].type is str


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


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("resident.status", "x" * (MAX_STR_BYTES + 1), "longer than 1,024 UTF-8 bytes"),
        ("resident.status", "가" * 342, "1,026 UTF-8 bytes is longer than 1,024"),
        ("person.first_institution_name", "deceased" + "x" * 65_536, "longer than 1,024"),
        ("household.other_program", "\ud800", "lone surrogate U+D800"),
        ("resident.sex", "F\x00", "NUL"),
        ("resident.age", MAX_INT + 1, "outside the range"),
        ("household.size", -MAX_INT - 1, "outside the range"),
        ("household.nominated_elsewhere", 2**63, "outside the range"),
        ("household.receipts_same_category", 10**5000, "outside the range"),
    ],
    ids=["1025 bytes", "korean", "64 KiB", "surrogate", "NUL", "2**53", "-2**53", "2**63", "huge"],
)
def test_values_durable_cannot_judge_are_refused_naming_the_fact(name: str, value: object, fragment: str) -> None:
    with pytest.raises(FactsError) as caught:
        validate_facts({**EXAMPLE_DEFAULTS, name: value})
    message = str(caught.value)
    assert f"fact {name}: " in message and fragment in message
    assert len(message) < 300  # the value itself is never copied into the message whole


def test_values_at_the_bounds_are_accepted() -> None:
    at_bound = {
        "resident.status": "x" * MAX_STR_BYTES,
        "resident.dong_code": "가" * (MAX_STR_BYTES // 3),
        "resident.age": MAX_INT,
        "household.size": -MAX_INT,
        "household.other_program_name": "",
    }
    assert validate_facts({**EXAMPLE_DEFAULTS, **at_bound}) == {**EXAMPLE_DEFAULTS, **at_bound}


def test_with_example_defaults_fills_only_what_is_left_out() -> None:
    facts = with_example_defaults({"resident.age": 40})
    assert facts == {**EXAMPLE_DEFAULTS, "resident.age": 40}
    assert not hasattr(rules, "complete_facts")  # renamed: the service has its own complete_facts


class _Int(int):
    pass


def _checked_variants() -> list[object]:
    base = dict(with_example_defaults({}))
    reordered = dict(reversed(list(base.items())))
    out: list[object] = [base, reordered, {**base, "household.other_program_name": "사랑의 김장김치"}]
    for value in (True, 1, -1, 0, MAX_INT, MAX_INT + 1, -MAX_INT, -MAX_INT - 1, 2**70, _Int(3), 1.0, None, "",
                  "x" * 256, "x" * 257, "x" * MAX_STR_BYTES, "x" * (MAX_STR_BYTES + 1), "가" * 341, "가" * 342,
                  "a\x00b", "\ud800", "\ud800\udc00", "😀" * 256, "😀" * 257):  # fmt: skip
        for name in ("resident.found", "resident.age", "resident.status", "household.other_program_name"):
            out.append({**base, name: value})
    missing = dict(base)
    del missing["resident.age"]
    out += [missing, {**base, "extra": 1}, {**missing, "extra": 1}, rules.EXAMPLE_DEFAULTS]
    return out


@pytest.mark.parametrize("facts", _checked_variants(), ids=lambda f: repr(f)[-50:])
def test_checked_facts_accepts_and_refuses_exactly_what_validate_facts_does(facts: dict[str, object]) -> None:
    from rules.facts import checked_facts

    try:
        expected: object = validate_facts(facts)
    except FactsError as exc:
        expected = ("error", str(exc))
    try:
        got: object = dict(checked_facts(facts))
    except FactsError as exc:
        got = ("error", str(exc))
    assert got == expected
