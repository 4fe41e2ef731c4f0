"""The department workflow: registry events, notifications, status lifecycle, stats, audit."""

from typing import Any

import pytest

from tests.conftest import FROZEN_NOW

from .conftest import RRN, Api, reasons


def test_death_event_rescreens_at_once_and_notifies_the_institution(api: Api, program: dict[str, Any]) -> None:
    nid = api.nominate("haengdang", "김순자").get_json()["id"]
    member = api.nominate("eungbong", "박영수").get_json()
    assert member["verdict"]["outcome"] == "review"
    event = api.call("POST", "/api/v1/registry/events", "system",
                     {"type": "death", "rrn": RRN["김순자"], "date": "2026-11-20"})  # fmt: skip
    assert event.status_code == 200, event.get_json()
    data = event.get_json()
    assert data["resident_found"] is True and data["rrn"] == "450312-2******"
    assert data["rescreened"][0]["turned_ineligible"] == 1
    nomination = api.call("GET", f"/api/v1/nominations/{nid}", "haengdang").get_json()
    assert nomination["verdict"]["outcome"] == "ineligible" and "deceased" in reasons(nomination)
    assert [v["outcome"] for v in nomination["history"]] == ["eligible", "ineligible"]
    # the household member is no longer behind an accepted nomination
    again = api.call("GET", f"/api/v1/nominations/{member['id']}", "admin").get_json()
    assert again["verdict"]["outcome"] == "eligible"
    notes = api.call("GET", "/api/v1/notifications", "haengdang").get_json()
    assert notes["total"] == 1
    note = notes["items"][0]
    assert note["nomination"] == nid and note["kind"] == "nomination_ineligible"
    assert "450312-2******" in note["message"] and "재추천" in note["message"]
    assert api.call("GET", "/api/v1/notifications", "eungbong").get_json()["total"] == 0
    read = api.call("POST", f"/api/v1/notifications/{note['id']}/read", "haengdang")
    assert read.status_code == 200 and read.get_json()["read_at"] == FROZEN_NOW
    assert api.call("GET", "/api/v1/notifications?unread=true", "haengdang").get_json()["total"] == 0
    assert api.call("POST", f"/api/v1/notifications/{note['id']}/read", "eungbong").status_code == 404


def test_event_for_unknown_person_is_recorded(api: Api, program: dict[str, Any]) -> None:
    response = api.call("POST", "/api/v1/registry/events", "admin",
                        {"type": "move_out", "rrn": "700707-1070707", "date": "2026-11-01"})  # fmt: skip
    assert response.status_code == 200
    assert response.get_json()["resident_found"] is False and response.get_json()["rescreened"] == []


@pytest.mark.parametrize("day", ["2026-11-26", "2099-01-01"])  # tomorrow by the frozen clock, and far ahead
def test_future_event_is_422(api: Api, day: str) -> None:
    response = api.call("POST", "/api/v1/registry/events", "system",
                        {"type": "death", "rrn": RRN["김순자"], "date": day})  # fmt: skip
    assert response.status_code == 422 and "date" in response.get_json()["errors"]


def test_event_dated_today_is_accepted(api: Api) -> None:
    response = api.call("POST", "/api/v1/registry/events", "system",
                        {"type": "death", "rrn": RRN["김순자"], "date": FROZEN_NOW[:10]})  # fmt: skip
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["resident_found"] is True


def test_status_lifecycle_and_delivery_records_a_receipt(api: Api, program: dict[str, Any]) -> None:
    nid = api.nominate("haengdang", "이철수").get_json()["id"]
    path = f"/api/v1/nominations/{nid}/status"
    assert api.call("POST", path, "department", {"status": "delivered"}).status_code == 409
    assert api.call("POST", path, "other_department", {"status": "confirmed"}).status_code == 404
    assert api.call("POST", path, "haengdang", {"status": "confirmed"}).status_code == 403
    confirmed = api.call("POST", path, "department", {"status": "confirmed", "note": "확인 완료"})
    assert confirmed.status_code == 200 and confirmed.get_json()["status"] == "confirmed"
    delivered = api.call("POST", path, "department", {"status": "delivered"})
    assert delivered.get_json()["status"] == "delivered"
    assert api.call("POST", path, "department", {"status": "cancelled"}).status_code == 409
    # the delivery is a receipt: a second program of the same category now sees it
    api.call("POST", "/api/v1/programs", "admin", {**_second_program(), "code": "kimchi-extra"})
    again = api.nominate("eungbong", "이철수", program="kimchi-extra").get_json()
    assert reasons(again)["household_resource_limit"]["facts"]["household.receipts_same_category"] == 1


def _second_program() -> dict[str, Any]:
    from .conftest import PROGRAM

    return dict(PROGRAM)


def test_ineligible_nomination_cannot_be_confirmed(api: Api, program: dict[str, Any]) -> None:
    nid = api.nominate("haengdang", "최말순").get_json()["id"]
    response = api.call("POST", f"/api/v1/nominations/{nid}/status", "admin", {"status": "confirmed"})
    assert response.status_code == 409


def test_cancelling_frees_the_person_for_another_nomination(api: Api, program: dict[str, Any]) -> None:
    nid = api.nominate("haengdang", "이철수").get_json()["id"]
    api.call("POST", f"/api/v1/nominations/{nid}/status", "department", {"status": "cancelled"})
    again = api.nominate("eungbong", "이철수").get_json()
    assert again["verdict"]["outcome"] == "eligible"


def test_stats_by_every_grouping(api: Api, program: dict[str, Any]) -> None:
    api.nominate("haengdang", "김순자")
    api.nominate("welfare_center", "김순자")
    api.nominate("eungbong", "이철수")
    api.nominate("eungbong", "최말순")
    by_inst = api.call("GET", "/api/v1/stats?by=institution", "admin").get_json()
    rows = {r["key"]: r for r in by_inst["rows"]}
    assert rows["eungbong-center"]["nominations"] == 2 and rows["eungbong-center"]["ineligible"] == 1
    assert rows["seongdong-welfare"]["ineligible"] == 1 and rows["haengdang1-center"]["eligible"] == 1
    assert by_inst["totals"]["nominations"] == 4 and by_inst["totals"]["people"] == 3
    by_dong = {r["key"]: r for r in api.call("GET", "/api/v1/stats?by=dong", "auditor").get_json()["rows"]}
    assert by_dong["1120056000"]["nominations"] == 3 and by_dong["1120056000"]["label"] == "행당1동"
    assert by_dong["1120056000"]["people"] == 2
    for by in ("sponsor", "category", "program"):
        data = api.call("GET", f"/api/v1/stats?by={by}", "department").get_json()
        assert data["rows"][0]["nominations"] == 4
    csv_response = api.call("GET", "/api/v1/stats?by=institution&format=csv", "admin")
    assert csv_response.headers["Content-Type"] == "text/csv; charset=utf-8"  # one charset, not two
    lines = csv_response.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0].startswith("institution,label,nominations") and len(lines) == 4
    assert api.call("GET", "/api/v1/stats?by=institution", "other_department").get_json()["rows"] == []
    assert api.call("GET", "/api/v1/stats?by=colour", "admin").status_code == 422


def test_audit_records_reads_with_actor_institution_and_role(api: Api, program: dict[str, Any]) -> None:
    nid = api.nominate("haengdang", "김순자").get_json()["id"]
    api.call("GET", f"/api/v1/nominations/{nid}", "eungbong")  # 404: not theirs, no read
    api.call("GET", f"/api/v1/nominations/{nid}", "admin")
    log = api.call("GET", f"/api/v1/audit?subject={RRN['김순자']}", "auditor").get_json()
    actions = [(e["action"], e["institution"], e["role"]) for e in log["items"]]
    assert ("nomination.read", "welfare-policy", "admin") in actions
    assert ("nomination.create", "haengdang1-center", "nominator") in actions
    assert all(e["subject"] == "450312-2******" for e in log["items"])
    by_actor = api.call("GET", "/api/v1/audit?actor=token:haengdang", "auditor").get_json()
    assert [(e["actor"], e["action"]) for e in by_actor["items"]] == [("token:haengdang", "nomination.create")]
    assert {e["at"] for e in log["items"]} == {FROZEN_NOW}
    # date filters are Korean calendar days: the entry made "today" (by the frozen clock) is found on that day only
    created = "/api/v1/audit?action=nomination.create"
    assert api.call("GET", created, "auditor").get_json()["total"] == 1
    today = FROZEN_NOW[:10]
    for span in (f"from={today}&to={today}", f"from={today}", f"to={today}", "from=2026-11-24&to=2026-11-26"):
        assert api.call("GET", f"{created}&{span}", "auditor").get_json()["total"] == 1, span
    for span in ("from=2000-01-01&to=2000-01-02", "from=2026-11-24&to=2026-11-24", "from=2026-11-26"):
        assert api.call("GET", f"{created}&{span}", "auditor").get_json()["total"] == 0, span
    assert api.call("GET", "/api/v1/audit?from=2026-01-02&to=2026-01-01", "auditor").status_code == 422


def test_progress_monitor_shows_owed_replacements(api: Api, program: dict[str, Any]) -> None:
    nid = api.nominate("haengdang", "김순자").get_json()["id"]
    api.nominate("eungbong", "이철수")
    api.call("POST", "/api/v1/registry/events", "system", {"type": "death", "rrn": RRN["김순자"], "date": "2026-11-20"})
    progress = api.call("GET", "/api/v1/programs/kimchi-2026/progress", "department")
    assert progress.status_code == 200, progress.get_json()
    data = progress.get_json()
    rows = {r["institution"]: r for r in data["by_institution"]}
    assert rows["haengdang1-center"]["ineligible"] == 1 and rows["haengdang1-center"]["owed_replacements"] == 1
    assert rows["eungbong-center"]["eligible"] == 1 and rows["eungbong-center"]["owed_replacements"] == 0
    assert [o["nomination"] for o in data["owed"]] == [nid]
    assert data["owed"][0]["days_waiting"] == 0 and data["owed"][0]["nominee"]["rrn"] == "450312-2******"
    api.nominate("haengdang", "윤지민", replaces=nid)
    assert api.call("GET", "/api/v1/programs/kimchi-2026/progress", "auditor").get_json()["owed"] == []
    assert api.call("GET", "/api/v1/programs/kimchi-2026/progress", "other_department").status_code == 403
    assert api.call("GET", "/api/v1/programs/kimchi-2026/progress", "haengdang").status_code == 403
