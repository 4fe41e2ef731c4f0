"""Nominating: every base rule, duplicates across institutions, scoping, history."""

from typing import Any

import pytest

from tests.conftest import FROZEN_NOW

from .conftest import RRN, Api, reasons


def test_eligible_nomination_answers_201_with_contract_shape(api: Api, program: dict[str, Any]) -> None:
    response = api.nominate("haengdang", "김순자", note="혼자 사시는 어르신")
    assert response.status_code == 201
    data = response.get_json()
    assert set(data) >= {"id", "program", "institution", "nominee", "status", "replaces", "created_at", "verdict"}
    assert data["program"] == "kimchi-2026" and data["institution"] == "haengdang1-center"
    assert data["nominee"] == {"rrn": "450312-2******", "name": "김순자"}
    assert data["status"] == "open" and data["replaces"] is None
    verdict = data["verdict"]
    assert verdict["outcome"] == "eligible" and verdict["reasons"] == []
    assert verdict["ruleset"] == program["ruleset"]
    assert verdict["evaluated_at"] == data["created_at"] == FROZEN_NOW  # the service's clock, in KST


@pytest.mark.parametrize(
    ("name", "rule", "outcome"),
    [
        ("최말순", "deceased", "ineligible"),
        ("한옥자", "moved_out", "ineligible"),
        ("정대한", "out_of_district", "ineligible"),
        ("오복동", "household_resource_limit", "ineligible"),
    ],
)
def test_registry_and_receipt_rules(api: Api, program: dict[str, Any], name: str, rule: str, outcome: str) -> None:
    data = api.nominate("haengdang", name).get_json()
    assert data["verdict"]["outcome"] == outcome
    assert rule in reasons(data)
    reason = reasons(data)[rule]
    assert reason["severity"] == "block"
    assert reason["message"] and reason["messages"]["en"]


def test_household_limit_reason_names_facts_and_threshold(api: Api, program: dict[str, Any]) -> None:
    reason = reasons(api.nominate("haengdang", "오복동").get_json())["household_resource_limit"]
    assert reason["facts"]["household.receipts_same_category"] == 2
    assert reason["facts"]["household_limit"] == 1
    assert reason["facts"]["limit"] == 1


def test_old_receipts_outside_lookback_do_not_count(api: Api, program: dict[str, Any]) -> None:
    assert api.nominate("haengdang", "김순자").get_json()["verdict"]["outcome"] == "eligible"


def test_not_in_registry(api: Api, program: dict[str, Any]) -> None:
    data = api.nominate("haengdang", "유령", rrn="700707-1070707").get_json()
    assert data["verdict"]["outcome"] == "ineligible"
    assert set(reasons(data)) == {"not_in_registry"}
    assert data["nominee"]["rrn"] == "700707-1******"


def test_name_mismatch_is_review(api: Api, program: dict[str, Any]) -> None:
    data = api.nominate("haengdang", "김순지", rrn=RRN["김순자"]).get_json()
    assert data["verdict"]["outcome"] == "review"
    assert set(reasons(data)) == {"name_mismatch"}


def test_duplicate_across_institutions_is_stored_as_ineligible_naming_the_first(
    api: Api, program: dict[str, Any]
) -> None:
    first = api.nominate("haengdang", "김순자")
    second = api.nominate("welfare_center", "김순자")
    assert second.status_code == 201
    data = second.get_json()
    assert data["verdict"]["outcome"] == "ineligible"
    reason = reasons(data)["duplicate_nomination"]
    assert reason["facts"]["person.first_institution_name"] == "행당1동주민센터"
    assert "행당1동주민센터" in reason["message"]
    assert data["id"] != first.get_json()["id"]


def test_household_member_already_nominated_is_review(api: Api, program: dict[str, Any]) -> None:
    api.nominate("haengdang", "김순자")
    data = api.nominate("eungbong", "박영수").get_json()
    assert data["verdict"]["outcome"] == "review"
    assert set(reasons(data)) == {"household_already_nominated"}


def test_ineligible_earlier_nomination_does_not_block(api: Api, program: dict[str, Any]) -> None:
    api.nominate("haengdang", "김순지", rrn=RRN["오복동"])  # over-served: ineligible
    data = api.nominate("eungbong", "오복동").get_json()
    assert "duplicate_nomination" not in reasons(data)


def test_evaluate_is_a_dry_run(api: Api, program: dict[str, Any]) -> None:
    body = {"program": "kimchi-2026", "nominee": {"rrn": RRN["김순자"], "name": "김순자"}}
    for _ in range(2):
        response = api.call("POST", "/api/v1/evaluate", "system", body)
        assert response.status_code == 200
        data = response.get_json()
        assert data["program"] == "kimchi-2026"
        assert data["nominee"] == {"rrn": "450312-2******", "name": "김순자"}
        assert data["verdict"]["outcome"] == "eligible"  # the first call stored nothing
    counts = api.call("GET", "/api/v1/programs/kimchi-2026", "admin").get_json()["counts"]
    assert counts["nominations"] == 0
    audit = api.call("GET", "/api/v1/audit?action=evaluate", "auditor").get_json()
    assert audit["total"] == 2 and audit["items"][0]["subject"] == "450312-2******"


def test_nominator_sees_only_its_own_institutions_nominations(api: Api, program: dict[str, Any]) -> None:
    mine = api.nominate("haengdang", "김순자").get_json()
    theirs = api.nominate("eungbong", "이철수").get_json()
    listed = api.call("GET", "/api/v1/programs/kimchi-2026/nominations", "haengdang").get_json()
    assert [n["id"] for n in listed["items"]] == [mine["id"]] and listed["total"] == 1
    assert api.call("GET", f"/api/v1/nominations/{theirs['id']}", "haengdang").status_code == 404
    assert api.call("GET", f"/api/v1/nominations/{mine['id']}", "haengdang").status_code == 200
    everything = api.call("GET", "/api/v1/programs/kimchi-2026/nominations", "admin").get_json()
    assert everything["total"] == 2


def test_list_filters_and_paging(api: Api, program: dict[str, Any]) -> None:
    for name in ("김순자", "이철수", "최말순"):
        api.nominate("haengdang", name)
    page = api.call("GET", "/api/v1/programs/kimchi-2026/nominations?limit=2&offset=1", "admin").get_json()
    assert page["total"] == 3 and len(page["items"]) == 2
    ineligible = api.call("GET", "/api/v1/programs/kimchi-2026/nominations?outcome=ineligible", "admin").get_json()
    assert [n["nominee"]["name"] for n in ineligible["items"]] == ["최말순"]
    assert [(n["nominee"]["name"], n["verdict"]["outcome"]) for n in page["items"]] == [
        ("이철수", "eligible"), ("최말순", "ineligible"),
    ]  # fmt: skip


def test_nomination_read_has_history_oldest_first(api: Api, program: dict[str, Any]) -> None:
    nid = api.nominate("haengdang", "김순자").get_json()["id"]
    api.call("PUT", "/api/v1/programs/kimchi-2026/parameters", "department", {"parameters": {"household_limit": 2}})
    api.call("POST", "/api/v1/programs/kimchi-2026/rescreen", "department")
    data = api.call("GET", f"/api/v1/nominations/{nid}", "admin").get_json()
    assert [v["ruleset"]["version"] for v in data["history"]] == [1, 2]
    assert data["verdict"] == data["history"][-1]


def test_replacement_chain(api: Api, program: dict[str, Any]) -> None:
    dead = api.nominate("haengdang", "최말순").get_json()
    ok = api.nominate("haengdang", "김순자", replaces=dead["id"]).get_json()
    assert ok["replaces"] == dead["id"]
    shown = api.call("GET", f"/api/v1/nominations/{dead['id']}", "admin").get_json()
    assert shown["replaced_by"] == ok["id"]
    # only an ineligible (or cancelled) nomination can be replaced
    bad = api.nominate("haengdang", "이철수", replaces=ok["id"])
    assert bad.status_code == 422 and "replaces" in bad.get_json()["errors"]
    # another institution's nomination cannot be replaced by a nominator
    other = api.nominate("eungbong", "윤지민", replaces=dead["id"])
    assert other.status_code == 422


def test_english_messages_on_request(api: Api, program: dict[str, Any]) -> None:
    body = {"nominee": {"rrn": RRN["최말순"], "name": "최말순"}}
    response = api.call("POST", "/api/v1/programs/kimchi-2026/nominations", "haengdang", body,
                        headers={"Accept-Language": "en"})  # fmt: skip
    reason = reasons(response.get_json())["deceased"]
    assert reason["message"] == reason["messages"]["en"] != reason["messages"]["ko"]
