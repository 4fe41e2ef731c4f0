"""The verdict: the contract's shape, outcome precedence, filled bilingual messages."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from rules import build_verdict, complete_facts, evaluate, screen
from tests.rules.helpers import shipped

KST = timezone(timedelta(hours=9))
AT = datetime(2026, 11, 25, 10, 0, tzinfo=KST)


def test_contract_example_shape() -> None:
    ruleset = shipped().get("kimchi-winter").derive("kimchi-2026", {}, version=2)
    facts = complete_facts({"household.receipts_same_category": 2})
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
    facts = complete_facts(
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
    assert screen(ruleset, complete_facts(partial), AT)["outcome"] == outcome


def test_duplicate_names_the_first_institution() -> None:
    ruleset = shipped().get("base-screening")
    facts = complete_facts({"person.earlier_open_nominations": 1, "person.first_institution_name": "행당1동주민센터"})
    (reason,) = screen(ruleset, facts, AT)["reasons"]
    assert reason["rule"] == "duplicate_nomination"
    assert reason["message"] == "행당1동주민센터에서 이미 이 사업에 추천한 대상자입니다"
    assert reason["facts"] == {
        "person.earlier_open_nominations": 1,
        "person.first_institution_name": "행당1동주민센터",
    }


def test_condition_with_a_parameter_reports_it_as_limit() -> None:
    ruleset = shipped().get("kimchi-winter")
    facts = complete_facts({"resident.age": 60, "household.single_person": False})
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
    facts = complete_facts({})
    with pytest.raises(ValueError, match="timezone-aware"):
        build_verdict(ruleset, facts, evaluate(ruleset, facts), datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="not_a_rule"):
        build_verdict(ruleset, facts, {"not_a_rule"}, AT)
