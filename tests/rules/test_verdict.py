"""The verdict: the contract's shape, outcome precedence, filled bilingual messages."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from rules import build_verdict, evaluate, screen, with_example_defaults
from tests.rules.helpers import shipped

KST = timezone(timedelta(hours=9))
AT = datetime(2026, 11, 25, 10, 0, tzinfo=KST)


def test_contract_example_shape() -> None:
    ruleset = shipped().get("kimchi-winter").derive("kimchi-2026", {}, version=2)
    facts = with_example_defaults({"household.receipts_same_category": 2})
    verdict = screen(ruleset, facts, AT)
    assert verdict == {
        "outcome": "ineligible",
        "ruleset": {"name": "kimchi-2026", "version": 2, "sha256": ruleset.sha256},
        "reasons": [
            {
                "rule": "household_resource_limit",
                "severity": "block",
                "message": "최근 365일 동안 세대가 같은 품목을 2회 받아 세대당 한도(1회)에 이르렀습니다",
                "messages": {
                    "ko": "최근 365일 동안 세대가 같은 품목을 2회 받아 세대당 한도(1회)에 이르렀습니다",
                    "en": "The household received this kind of resource 2 times in the last "
                    "365 days, reaching the limit of 1",
                },
                "facts": {
                    "household.receipts_same_category": 2,
                    "household_limit": 1,
                    "lookback_days": 365,
                    "limit": 1,
                },
            }
        ],
        "evaluated_at": "2026-11-25T10:00:00+09:00",
    }


def test_block_wins_over_review_and_reasons_follow_rule_order() -> None:
    ruleset = shipped().get("base-screening")
    facts = with_example_defaults(
        {
            "household.receipts_same_category": 1,
            "nominee.name_matches": False,
            "household.earlier_open_nominations": 1,
        }
    )
    verdict = screen(ruleset, facts, AT)
    assert verdict["outcome"] == "ineligible"
    rules = [r["rule"] for r in verdict["reasons"]]
    assert rules == ["name_mismatch", "household_already_nominated", "household_resource_limit"]


@pytest.mark.parametrize(
    ("partial", "outcome"),
    [
        ({}, "eligible"),
        ({"household.earlier_open_nominations": 1}, "review"),
        ({"resident.status": "deceased"}, "ineligible"),
    ],
)
def test_outcome(partial: dict[str, bool | int | str], outcome: str) -> None:
    ruleset = shipped().get("base-screening")
    assert screen(ruleset, with_example_defaults(partial), AT)["outcome"] == outcome


def test_duplicate_names_the_first_institution() -> None:
    ruleset = shipped().get("base-screening")
    facts = with_example_defaults(
        {"person.earlier_open_nominations": 1, "person.first_institution_name": "행당1동주민센터"}
    )
    (reason,) = screen(ruleset, facts, AT)["reasons"]
    assert reason["rule"] == "duplicate_nomination"
    assert reason["message"] == "행당1동주민센터에서 이미 이 사업에 추천한 대상자입니다"
    assert reason["facts"] == {
        "person.earlier_open_nominations": 1,
        "person.first_institution_name": "행당1동주민센터",
    }


def test_condition_with_a_parameter_reports_it_as_limit() -> None:
    ruleset = shipped().get("kimchi-winter")
    facts = with_example_defaults({"resident.age": 60, "household.single_person": False})
    (reason,) = screen(ruleset, facts, AT)["reasons"]
    assert reason["facts"] == {
        "resident.found": True,
        "resident.age": 60,
        "household.single_person": False,
        "min_age": 65,
        "limit": 65,
    }
    assert reason["messages"]["en"].startswith("Aged 60, under the minimum age of 65")


def test_build_verdict_needs_an_aware_time_and_known_rule_ids() -> None:
    ruleset = shipped().get("base-screening")
    facts = with_example_defaults({})
    with pytest.raises(ValueError, match="timezone-aware"):
        build_verdict(ruleset, facts, evaluate(ruleset, facts), datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="not_a_rule"):
        build_verdict(ruleset, facts, {"not_a_rule"}, AT)


def test_out_of_district_shows_only_what_it_compared() -> None:
    """A (private) institution must not learn from the reason where the person lives now."""
    ruleset = shipped().get("base-screening")
    facts = with_example_defaults({"resident.in_district": False, "resident.dong_code": "1168064000"})
    (reason,) = screen(ruleset, facts, AT)["reasons"]
    assert reason["rule"] == "out_of_district"
    assert reason["facts"] == {"resident.found": True, "resident.in_district": False}
    assert all("1168064000" not in text for text in reason["messages"].values())


def test_nominated_elsewhere_names_the_other_program_and_asks_for_review() -> None:
    ruleset = shipped().get("kimchi-winter").derive("kimchi-2026", {}, version=1)
    facts = with_example_defaults(
        {
            "household.nominated_elsewhere": 1,
            "household.other_program": "kimchi-red-cross",
            "household.other_program_name": "적십자 김장 나눔",
        }
    )
    verdict = screen(ruleset, facts, AT)
    assert verdict["outcome"] == "review"
    (reason,) = verdict["reasons"]
    assert reason["rule"] == "household_nominated_elsewhere" and reason["severity"] == "review"
    assert "적십자 김장 나눔" in reason["messages"]["ko"] and "적십자 김장 나눔" in reason["messages"]["en"]
    assert reason["facts"] == {"household.nominated_elsewhere": 1, "household.other_program_name": "적십자 김장 나눔"}
