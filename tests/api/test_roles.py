"""Who sees and may change what: a content matrix over every endpoint, for each role of each
institution. The expectations come from the contract's scope rules, written here as an
independent oracle (``visible``), not from the service's own access module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from .conftest import PROGRAM, ROLES, RRN, Api

RICE = {**PROGRAM, "code": "rice-2026", "name": "2026 쌀 나눔", "department": "welfare-policy",
        "resource_category": "rice"}  # fmt: skip
WHO = tuple(ROLES)
SEES_ALL = {"admin", "auditor"}


@dataclass
class World:
    """Two programs owned by different departments, nominations from five institutions."""

    ids: dict[str, int]
    made_by: dict[str, str]  # nomination key → institution code
    program_of: dict[str, str]  # nomination key → program code
    owner: dict[str, str]  # program code → department code
    notified: dict[str, str]  # notification id (str) → institution code


def _institution(who: str) -> str:
    return ROLES[who][0]


def visible(scene: World, who: str, key: str) -> bool:
    """The contract: admin/auditor see all; a department its programs' and its own; others their own."""
    role, inst = ROLES[who][1], _institution(who)
    if role in SEES_ALL:
        return True
    if role == "department" and scene.owner[scene.program_of[key]] == inst:
        return True
    return scene.made_by[key] == inst


def manages(scene: World, who: str, program: str) -> bool:
    role = ROLES[who][1]
    return role == "admin" or (role == "department" and scene.owner[program] == _institution(who))


@pytest.fixture
def scene(api: Api, program: dict[str, Any]) -> World:
    assert api.call("POST", "/api/v1/programs", "admin", RICE).status_code == 201
    plan = {  # key: (who, program, person)
        "n1": ("haengdang", "kimchi-2026", "김순자"),
        "n2": ("eungbong", "kimchi-2026", "이철수"),
        "n3": ("department", "rice-2026", "윤지민"),
        "n4": ("welfare_center", "rice-2026", "오복동"),
        "n5": ("other_department", "kimchi-2026", "정대한"),
    }
    ids = {}
    for key, (who, code, name) in plan.items():
        response = api.nominate(who, name, program=code)
        assert response.status_code == 201, response.get_json()
        ids[key] = response.get_json()["id"]
    for name in ("김순자", "오복동"):
        event = {"type": "death", "rrn": RRN[name], "date": "2026-11-20"}
        assert api.call("POST", "/api/v1/registry/events", "system", event).status_code == 200
    notes = {}
    for who in ("haengdang", "welfare_center"):
        for item in api.call("GET", "/api/v1/notifications", who).get_json()["items"]:
            notes[str(item["id"])] = _institution(who)
    return World(
        ids=ids,
        made_by={k: _institution(w) for k, (w, _c, _n) in plan.items()},
        program_of={k: c for k, (_w, c, _n) in plan.items()},
        owner={"kimchi-2026": "senior-welfare", "rice-2026": "welfare-policy"},
        notified=notes,
    )


@pytest.mark.parametrize("who", WHO)
def test_program_lists_show_exactly_the_visible_nominations(api: Api, scene: World, who: str) -> None:
    role = ROLES[who][1]
    for code in ("kimchi-2026", "rice-2026"):
        response = api.call("GET", f"/api/v1/programs/{code}/nominations", who)
        if role == "department" and scene.owner[code] != _institution(who):
            assert response.status_code == 404, (who, code)  # another department's program
            continue
        assert response.status_code == 200, (who, code, response.get_json())
        got = {item["id"] for item in response.get_json()["items"]}
        want = {scene.ids[k] for k in scene.ids if scene.program_of[k] == code and visible(scene, who, k)}
        assert got == want, (who, code)
        assert response.get_json()["total"] == len(want)


@pytest.mark.parametrize("who", WHO)
def test_single_reads_follow_the_same_policy(api: Api, scene: World, who: str) -> None:
    for key, nid in scene.ids.items():
        response = api.call("GET", f"/api/v1/nominations/{nid}", who)
        assert response.status_code == (200 if visible(scene, who, key) else 404), (who, key)
        if response.status_code == 200:
            assert response.get_json()["id"] == nid


@pytest.mark.parametrize("who", WHO)
def test_status_changes_need_the_program_manager(api: Api, scene: World, who: str) -> None:
    for key, nid in scene.ids.items():
        response = api.call("POST", f"/api/v1/nominations/{nid}/status", who, {"status": "cancelled"})
        program = scene.program_of[key]
        if ROLES[who][1] not in ("admin", "department"):
            expected = 403
        elif not visible(scene, who, key):
            expected = 404
        else:
            expected = 200 if manages(scene, who, program) else 403
        assert response.status_code == expected, (who, key, response.get_json())


@pytest.mark.parametrize("who", WHO)
def test_statistics_count_only_the_principal_s_programs(api: Api, scene: World, who: str) -> None:
    response = api.call("GET", "/api/v1/stats?by=program", who)
    role = ROLES[who][1]
    if role not in ("admin", "department", "auditor"):
        assert response.status_code == 403
        return
    assert response.status_code == 200
    rows = {r["key"]: r["nominations"] for r in response.get_json()["rows"]}
    want: dict[str, int] = {}
    for code in scene.program_of.values():
        if role in SEES_ALL or scene.owner[code] == _institution(who):
            want[code] = want.get(code, 0) + 1
    assert rows == want


@pytest.mark.parametrize("who", WHO)
def test_notifications_are_the_institution_s_own(api: Api, scene: World, who: str) -> None:
    response = api.call("GET", "/api/v1/notifications", who)
    assert response.status_code == 200
    got = {str(item["id"]) for item in response.get_json()["items"]}
    assert got == {n for n, inst in scene.notified.items() if inst == _institution(who)}
    for note, inst in scene.notified.items():
        read = api.call("POST", f"/api/v1/notifications/{note}/read", who)
        assert read.status_code == (200 if inst == _institution(who) else 404)


@pytest.mark.parametrize("who", WHO)
def test_program_management_is_the_owner_s(api: Api, scene: World, who: str) -> None:
    calls = [
        ("PUT", "/api/v1/programs/{code}/parameters", {"parameters": {"household_limit": 2}}),
        ("POST", "/api/v1/programs/{code}/parameters/simulate", {"parameters": {"household_limit": 3}}),
        ("POST", "/api/v1/programs/{code}/rescreen", None),
        ("POST", "/api/v1/programs/{code}/status", {"status": "open"}),
    ]
    for code in ("kimchi-2026", "rice-2026"):
        for method, path, body in calls:
            response = api.call(method, path.format(code=code), who, body)
            assert response.status_code == (200 if manages(scene, who, code) else 403), (who, method, path, code)


@pytest.mark.parametrize("who", WHO)
def test_reads_every_role_may_make(api: Api, scene: World, who: str) -> None:
    listed = api.call("GET", "/api/v1/programs", who)
    assert listed.status_code == 200
    assert {p["code"] for p in listed.get_json()["items"]} == {"kimchi-2026", "rice-2026"}
    assert api.call("GET", "/api/v1/programs/rice-2026", who).status_code == 200
    role = ROLES[who][1]
    evaluate = api.call("POST", "/api/v1/evaluate", who,
                        {"program": "kimchi-2026", "nominee": {"rrn": RRN["이철수"], "name": "이철수"}})  # fmt: skip
    assert evaluate.status_code == (403 if role == "auditor" else 200), who
    audit = api.call("GET", "/api/v1/audit", who)
    assert audit.status_code == (200 if role in ("admin", "auditor") else 403)
    event = api.call("POST", "/api/v1/registry/events", who,
                     {"type": "move_out", "rrn": RRN["윤지민"], "date": "2026-11-01"})  # fmt: skip
    assert event.status_code == (200 if role in ("admin", "system") else 403)


@pytest.mark.parametrize("who", WHO)
def test_nominating_needs_a_nominating_role(api: Api, scene: World, who: str) -> None:
    response = api.nominate(who, "한옥자")
    role = ROLES[who][1]
    assert response.status_code == (201 if role in ("nominator", "department", "admin") else 403), who


def test_department_program_creation_is_scoped(api: Api) -> None:
    assert api.call("POST", "/api/v1/programs", "other_department", {**PROGRAM, "code": "p1"}).status_code == 403
    assert api.call("POST", "/api/v1/programs", "haengdang", {**PROGRAM, "code": "p2"}).status_code == 403
    assert api.call("POST", "/api/v1/programs", "auditor", {**PROGRAM, "code": "p3"}).status_code == 403
    assert api.call("POST", "/api/v1/programs", "department", {**PROGRAM, "code": "p4"}).status_code == 201


def test_out_of_district_reason_does_not_say_where_the_person_lives(api: Api, program: dict[str, Any]) -> None:
    response = api.call("POST", "/api/v1/evaluate", "church",
                        {"program": "kimchi-2026", "nominee": {"rrn": RRN["정대한"], "name": "정대한"}})  # fmt: skip
    reason = next(r for r in response.get_json()["verdict"]["reasons"] if r["rule"] == "out_of_district")
    assert reason["facts"]["resident.in_district"] is False
    assert "resident.dong_code" not in reason["facts"]
    assert "1121500000" not in response.get_data(as_text=True)
