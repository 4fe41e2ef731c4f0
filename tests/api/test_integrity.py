"""Integrity: versions that build on each other, replacement chains, dated registry events,
re-screening of confirmed nominations, cross-program concentration, audit completeness."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from service.db import get_db
from service.models import AuditEntry, VerdictRecord

from .conftest import PROGRAM, RRN, Api, reasons

RICE = {**PROGRAM, "code": "rice-2026", "resource_category": "rice"}
KIMCHI_2 = {**PROGRAM, "code": "kimchi-church", "name": "교회 김장 나눔"}


def _audit(app: Flask, action: str) -> list[AuditEntry]:
    with get_db(app).session() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def _verdict_rows(app: Flask, nomination_id: int) -> int:
    with get_db(app).session() as s:
        return int(s.scalar(select(func.count()).where(VerdictRecord.nomination_id == nomination_id)) or 0)


# ----------------------------------------------------------------------------- parameters


def test_a_put_that_changes_nothing_publishes_nothing(api: Api, program: dict[str, Any]) -> None:
    same = api.call("PUT", "/api/v1/programs/kimchi-2026/parameters", "admin", {"parameters": {"household_limit": 1}})
    assert same.status_code == 200 and same.get_json()["ruleset"] == program["ruleset"]
    changed = api.call("PUT", "/api/v1/programs/kimchi-2026/parameters", "admin",
                       {"parameters": {"household_limit": 2}})  # fmt: skip
    assert changed.get_json()["ruleset"]["version"] == 2


def test_changes_build_on_each_other_and_a_stale_version_is_409(api: Api, program: dict[str, Any]) -> None:
    url = "/api/v1/programs/kimchi-2026/parameters"
    first = api.call("PUT", url, "department", {"parameters": {"lookback_days": 30}, "expected_version": 1})
    assert first.status_code == 200 and first.get_json()["ruleset"]["version"] == 2
    stale = api.call("PUT", url, "admin", {"parameters": {"household_limit": 3}, "expected_version": 1})
    assert stale.status_code == 409, stale.get_json()
    second = api.call("PUT", url, "admin", {"parameters": {"household_limit": 3}})
    assert second.get_json()["ruleset"]["version"] == 3
    # the second change kept the first one's value: no lost update
    assert second.get_json()["parameters"] == {"household_limit": 3, "lookback_days": 30}


def test_out_of_bounds_names_the_field_and_the_bound(api: Api, program: dict[str, Any]) -> None:
    response = api.call("PUT", "/api/v1/programs/kimchi-2026/parameters", "admin",
                        {"parameters": {"household_limit": 11}})  # fmt: skip
    assert response.status_code == 422
    assert "1–10" in response.get_json()["errors"]["parameters.household_limit"][0]


def test_a_program_code_may_not_be_a_library_rule_set_name(api: Api) -> None:
    response = api.call("POST", "/api/v1/programs", "admin", {**PROGRAM, "code": "rice-support"})
    assert response.status_code == 409, response.get_json()


def test_a_stranger_gets_403_before_the_body_is_judged(api: Api, program: dict[str, Any]) -> None:
    response = api.call("PUT", "/api/v1/programs/kimchi-2026/parameters", "other_department",
                        {"parameters": "not a mapping"})  # fmt: skip
    assert response.status_code == 403


def test_simulation_agrees_with_publishing_and_rescreening(api: Api, program: dict[str, Any]) -> None:
    ids = {name: api.nominate("haengdang", name).get_json()["id"] for name in ("김순자", "이철수", "오복동")}
    simulated = api.call("POST", "/api/v1/programs/kimchi-2026/parameters/simulate", "department",
                         {"parameters": {"household_limit": 3}})  # fmt: skip
    assert simulated.status_code == 200, simulated.get_json()
    sim = simulated.get_json()
    assert sim["from"]["version"] == 1 and sim["parameters"]["household_limit"] == 3
    assert sim["screened"] == 3
    # 오복동's household received kimchi twice: with a limit of 3 it is no longer blocked
    assert sim["changed"] == 1 and sim["transitions"] == {"ineligible->eligible": 1}
    assert [(i["nomination"], i["from"], i["to"]) for i in sim["items"]] == [(ids["오복동"], "ineligible", "eligible")]
    assert sim["items"][0]["nominee"]["rrn"].endswith("******")
    # nothing was stored
    assert api.call("GET", "/api/v1/programs/kimchi-2026", "admin").get_json()["ruleset"]["version"] == 1
    api.call("PUT", "/api/v1/programs/kimchi-2026/parameters", "department", {"parameters": {"household_limit": 3}})
    summary = api.call("POST", "/api/v1/programs/kimchi-2026/rescreen", "department").get_json()
    assert summary["screened"] == sim["screened"] and summary["changed"] == sim["changed"]
    after = api.call("GET", f"/api/v1/nominations/{ids['오복동']}", "admin").get_json()
    assert after["verdict"]["outcome"] == "eligible"


# ----------------------------------------------------------------------------- replacements


def test_a_nomination_is_replaced_at_most_once(api: Api, program: dict[str, Any]) -> None:
    old = api.nominate("haengdang", "최말순").get_json()  # deceased: ineligible
    assert old["verdict"]["outcome"] == "ineligible"
    first = api.nominate("haengdang", "김순자", replaces=old["id"])
    assert first.status_code == 201
    second = api.nominate("haengdang", "이철수", replaces=old["id"])
    assert second.status_code == 409, second.get_json()
    shown = api.call("GET", f"/api/v1/nominations/{old['id']}", "haengdang").get_json()
    assert shown["replaced_by"] == first.get_json()["id"]
    assert (
        api.call("GET", f"/api/v1/nominations/{first.get_json()['id']}", "haengdang").get_json()["replaced_by"] is None
    )


def test_another_institution_cannot_replace_a_nomination(api: Api, program: dict[str, Any]) -> None:
    old = api.nominate("haengdang", "최말순").get_json()
    response = api.nominate("eungbong", "김순자", replaces=old["id"])
    assert response.status_code == 422 and "replaces" in response.get_json()["errors"]


# ----------------------------------------------------------------------------- registry events


def test_death_is_final_and_older_events_change_nothing(api: Api, program: dict[str, Any]) -> None:
    nid = api.nominate("haengdang", "김순자").get_json()["id"]
    url = "/api/v1/registry/events"
    death = api.call("POST", url, "system", {"type": "death", "rrn": RRN["김순자"], "date": "2026-11-10"}).get_json()
    assert death["applied"] is True and death["rescreened"][0]["turned_ineligible"] == 1
    later_move = api.call("POST", url, "system", {"type": "move_out", "rrn": RRN["김순자"], "date": "2026-11-20"})
    assert later_move.status_code == 200 and later_move.get_json()["applied"] is False
    assert later_move.get_json()["rescreened"] == []
    # 한옥자 moved out on 2026-05-01; a move-out dated before that changes nothing
    older = api.call("POST", url, "system", {"type": "move_out", "rrn": RRN["한옥자"], "date": "2026-04-01"})
    assert older.get_json()["applied"] is False
    reasons_now = reasons(api.call("GET", f"/api/v1/nominations/{nid}", "admin").get_json())
    assert "deceased" in reasons_now and "moved_out" not in reasons_now


# ----------------------------------------------------------------------------- lifecycle


def test_a_confirmed_nominee_who_died_is_rescreened_and_never_delivered(api: Api, program: dict[str, Any]) -> None:
    nid = api.nominate("haengdang", "김순자").get_json()["id"]
    status = f"/api/v1/nominations/{nid}/status"
    assert api.call("POST", status, "department", {"status": "confirmed"}).status_code == 200
    event = api.call("POST", "/api/v1/registry/events", "system",
                     {"type": "death", "rrn": RRN["김순자"], "date": "2026-11-24"}).get_json()  # fmt: skip
    assert event["rescreened"][0]["turned_ineligible"] == 1
    refused = api.call("POST", status, "department", {"status": "delivered"})
    assert refused.status_code == 409, refused.get_json()
    shown = api.call("GET", f"/api/v1/nominations/{nid}", "department").get_json()
    assert shown["status"] == "confirmed" and shown["verdict"]["outcome"] == "ineligible"


def test_bulk_rescreen_covers_confirmed_nominations(api: Api, program: dict[str, Any]) -> None:
    nid = api.nominate("haengdang", "이철수").get_json()["id"]
    api.call("POST", f"/api/v1/nominations/{nid}/status", "admin", {"status": "confirmed"})
    summary = api.call("POST", "/api/v1/programs/kimchi-2026/rescreen", "admin").get_json()
    assert summary["screened"] == 1


def test_quota_is_enforced_on_confirmation(api: Api) -> None:
    assert api.call("POST", "/api/v1/programs", "admin", {**PROGRAM, "quota": 1}).status_code == 201
    a = api.nominate("haengdang", "김순자").get_json()["id"]
    b = api.nominate("eungbong", "이철수").get_json()["id"]
    assert api.call("POST", f"/api/v1/nominations/{a}/status", "admin", {"status": "confirmed"}).status_code == 200
    full = api.call("POST", f"/api/v1/nominations/{b}/status", "admin", {"status": "confirmed"})
    assert full.status_code == 409
    counts = api.call("GET", "/api/v1/programs/kimchi-2026", "admin").get_json()["counts"]
    assert (counts["quota"], counts["confirmed"], counts["delivered"], counts["remaining"]) == (1, 1, 0, 0)


def test_a_closed_program_refuses_nominations(api: Api, program: dict[str, Any]) -> None:
    closed = api.call("POST", "/api/v1/programs/kimchi-2026/status", "department", {"status": "closed"})
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed"
    assert api.nominate("haengdang", "김순자").status_code == 409
    assert api.call("GET", "/api/v1/programs?status=closed", "haengdang").get_json()["total"] == 1
    assert api.call("GET", "/api/v1/programs?status=open", "haengdang").get_json()["total"] == 0


# ----------------------------------------------------------------------------- concentration


def test_household_nominated_for_another_program_of_the_same_category_is_review(
    api: Api, program: dict[str, Any]
) -> None:
    assert api.call("POST", "/api/v1/programs", "admin", KIMCHI_2).status_code == 201
    assert api.call("POST", "/api/v1/programs", "admin", RICE).status_code == 201
    first = api.nominate("haengdang", "김순자")
    assert first.get_json()["verdict"]["outcome"] == "eligible"
    other = api.nominate("church", "박영수", program="kimchi-church").get_json()  # same household, other program
    assert other["verdict"]["outcome"] == "review"
    reason = reasons(other)["household_nominated_elsewhere"]
    assert reason["facts"]["household.nominated_elsewhere"] == 1
    assert "2026 김장김치 나눔" in reason["message"]
    rice = api.nominate("church", "김순자", program="rice-2026").get_json()  # another category: not concerned
    assert "household_nominated_elsewhere" not in reasons(rice)


# ----------------------------------------------------------------------------- audit completeness


def test_rescreen_stores_only_changed_verdicts_and_audits_every_person(
    app: Flask, api: Api, program: dict[str, Any]
) -> None:
    ids = [api.nominate("haengdang", name).get_json()["id"] for name in ("김순자", "이철수")]
    summary = api.call("POST", "/api/v1/programs/kimchi-2026/rescreen", "admin").get_json()
    assert summary["screened"] == 2 and summary["changed"] == 0
    assert [_verdict_rows(app, i) for i in ids] == [1, 1]  # nothing changed: no new rows
    subjects = {e.subject_masked for e in _audit(app, "program.rescreen")}
    assert subjects == {"450312-2******", "900101-1******"}
    api.call("PUT", "/api/v1/programs/kimchi-2026/parameters", "admin", {"parameters": {"household_limit": 2}})
    api.call("POST", "/api/v1/programs/kimchi-2026/rescreen", "admin")
    assert [_verdict_rows(app, i) for i in ids] == [2, 2]  # the rule-set version changed


def test_notification_and_audit_reads_record_their_subjects(app: Flask, api: Api, program: dict[str, Any]) -> None:
    api.nominate("haengdang", "김순자")
    api.call("POST", "/api/v1/registry/events", "system", {"type": "death", "rrn": RRN["김순자"], "date": "2026-11-20"})
    assert api.call("GET", "/api/v1/notifications", "haengdang").get_json()["total"] == 1
    assert [e.subject_masked for e in _audit(app, "notification.list")] == ["450312-2******"]
    api.call("GET", f"/api/v1/audit?subject={RRN['김순자']}", "auditor")
    assert {e.subject_masked for e in _audit(app, "audit.read")} == {"450312-2******"}


@pytest.mark.parametrize("action", ["token.create", "registry.import_residents", "registry.import_receipts"])
def test_operator_commands_leave_audit_entries(app: Flask, api: Api, action: str) -> None:
    assert _audit(app, action), action


# ----------------------------------------------------------------------------- replay


def test_every_verdict_replays_identically_after_two_threshold_changes(
    api: Api, program: dict[str, Any], runner: Any
) -> None:
    people = (("haengdang", "김순자"), ("eungbong", "박영수"), ("church", "오복동"), ("haengdang", "최말순"))
    ids = [api.nominate(who, name).get_json()["id"] for who, name in people]
    url = "/api/v1/programs/kimchi-2026"
    api.call("PUT", f"{url}/parameters", "admin", {"parameters": {"household_limit": 3}})
    api.call("POST", f"{url}/rescreen", "admin")
    api.call("PUT", f"{url}/parameters", "admin", {"parameters": {"lookback_days": 30}})
    api.call("POST", f"{url}/rescreen", "admin")
    for nid in ids:
        answer = api.call("GET", f"/api/v1/nominations/{nid}/replay", "admin").get_json()
        assert answer["identical"] is True and len(answer["items"]) == 3, answer
        assert [i["ruleset"]["version"] for i in answer["items"]] == [1, 2, 3]
    assert api.call("GET", f"/api/v1/nominations/{ids[0]}/replay", "eungbong").status_code == 404
    result = runner.invoke(args=["replay", "kimchi-2026"])
    assert result.exit_code == 0, result.output
    assert "판정 12건 재현, 동일 12건, 다름 0건" in result.output


def test_a_tampered_verdict_does_not_replay(app: Flask, api: Api, program: dict[str, Any], runner: Any) -> None:
    nid = api.nominate("haengdang", "김순자").get_json()["id"]
    with get_db(app).session() as s:
        record = s.scalar(select(VerdictRecord).where(VerdictRecord.nomination_id == nid))
        assert record is not None
        record.facts = {**record.facts, "resident.status": "deceased"}
    answer = api.call("GET", f"/api/v1/nominations/{nid}/replay", "admin").get_json()
    assert answer["identical"] is False and answer["items"][0]["replayed"]["outcome"] == "ineligible"
    result = runner.invoke(args=["replay", "kimchi-2026"])
    assert result.exit_code == 1 and f"nomination {nid}" in result.output
