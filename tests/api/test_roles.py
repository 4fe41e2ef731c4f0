"""Who may do what: a role × endpoint matrix, including cross-institution reads."""

from typing import Any

import pytest

from .conftest import PROGRAM, RRN, Api

WHO = ("admin", "department", "other_department", "haengdang", "eungbong", "auditor", "system")
NOMINEE = {"rrn": RRN["이철수"], "name": "이철수"}


def _expect(allowed: set[str], default: int = 403, **special: int) -> dict[str, int]:
    return {who: special.get(who, 200 if who in allowed else default) for who in WHO}


CASES: list[tuple[str, str, Any, dict[str, int]]] = [
    ("POST", "/api/v1/evaluate", {"program": "kimchi-2026", "nominee": NOMINEE}, _expect(set(WHO))),
    ("GET", "/api/v1/programs/kimchi-2026", None, _expect(set(WHO))),
    ("PUT", "/api/v1/programs/kimchi-2026/parameters", {"parameters": {"household_limit": 2}},
     _expect({"admin", "department"})),
    ("POST", "/api/v1/programs/kimchi-2026/nominations", {"nominee": NOMINEE},
     _expect(set(), admin=201, department=201, other_department=201, haengdang=201, eungbong=201)),
    ("GET", "/api/v1/programs/kimchi-2026/nominations", None, _expect(set(WHO))),
    ("GET", "/api/v1/nominations/{nid}", None,
     _expect({"admin", "department", "haengdang", "auditor", "system"}, default=404)),
    ("POST", "/api/v1/nominations/{nid}/status", {"status": "cancelled"},
     _expect({"admin", "department"}, other_department=404)),
    ("POST", "/api/v1/programs/kimchi-2026/rescreen", None, _expect({"admin", "department"})),
    ("POST", "/api/v1/registry/events", {"type": "move_out", "rrn": RRN["윤지민"], "date": "2026-11-01"},
     _expect({"admin", "system"})),
    ("GET", "/api/v1/notifications", None, _expect(set(WHO))),
    ("GET", "/api/v1/stats?by=program", None, _expect({"admin", "department", "other_department", "auditor"})),
    ("GET", "/api/v1/audit", None, _expect({"admin", "auditor"})),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body", "expected"), CASES, ids=[f"{c[0]} {c[1]}" for c in CASES])
def test_role_matrix(api: Api, program: dict[str, Any], method: str, path: str, body: Any,
                     expected: dict[str, int]) -> None:  # fmt: skip
    nid = api.nominate("haengdang", "김순자").get_json()["id"]
    got = {}
    for who in WHO:
        response = api.call(method, path.format(nid=nid), who, body)
        got[who] = response.status_code
        if response.status_code == 201 and "nominations" in path:
            # undo so that the next caller's nomination is judged the same way
            api.call("POST", f"/api/v1/nominations/{response.get_json()['id']}/status", "admin",
                     {"status": "cancelled"})  # fmt: skip
        if method == "POST" and path.endswith("/status") and response.status_code == 200:
            nid = api.nominate("haengdang", "김순자").get_json()["id"]
    assert got == expected


def test_department_program_creation_is_scoped(api: Api) -> None:
    assert api.call("POST", "/api/v1/programs", "other_department", {**PROGRAM, "code": "p1"}).status_code == 403
    assert api.call("POST", "/api/v1/programs", "haengdang", {**PROGRAM, "code": "p2"}).status_code == 403
    assert api.call("POST", "/api/v1/programs", "auditor", {**PROGRAM, "code": "p3"}).status_code == 403
