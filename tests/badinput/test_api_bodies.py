"""Bad request bodies: every one is a 4xx problem+json naming the field, and nothing is stored."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.conftest import RRN
from tests.badinput.conftest import World, assert_problem

NOMINEE = {"rrn": RRN["이철수"], "name": "이철수"}
EVALUATE = "/api/v1/evaluate"
NOMINATE = "/api/v1/programs/kimchi-2026/nominations"
PROGRAMS = "/api/v1/programs"
PARAMETERS = "/api/v1/programs/kimchi-2026/parameters"
EVENTS = "/api/v1/registry/events"
PROGRAM = {"code": "rice-2026", "name": "2026 쌀 나눔", "department": "senior-welfare", "resource_category": "rice",
           "quota": 10, "ruleset": "base-screening", "parameters": {}}  # fmt: skip


def evaluate(**change: Any) -> dict[str, Any]:
    return {"program": "kimchi-2026", "nominee": NOMINEE, **change}


def program(**change: Any) -> dict[str, Any]:
    return {**PROGRAM, **change}


# (case id, method, path, role, JSON body or raw bytes, status, field named in errors or None)
CASES: list[tuple[str, str, str, str, Any, int, str | None]] = [
    # evaluate
    ("malformed JSON", "POST", EVALUATE, "haengdang", b'{"program": ', 400, None),
    ("JSON array instead of an object", "POST", EVALUATE, "haengdang", b"[1, 2]", 422, None),
    ("empty object", "POST", EVALUATE, "haengdang", {}, 422, "program"),
    ("nominee missing", "POST", EVALUATE, "haengdang", {"program": "kimchi-2026"}, 422, "nominee"),
    ("rrn with an impossible date", "POST", EVALUATE, "haengdang",
     evaluate(nominee={"rrn": "451332-2345678", "name": "김순자"}), 422, "nominee.rrn"),
    ("rrn of letters", "POST", EVALUATE, "haengdang", evaluate(nominee={"rrn": "abcdef-ghijklm", "name": "x"}), 422,
     "nominee.rrn"),
    ("rrn too short", "POST", EVALUATE, "haengdang", evaluate(nominee={"rrn": "450312-234", "name": "x"}), 422,
     "nominee.rrn"),
    ("rrn as a number", "POST", EVALUATE, "haengdang", evaluate(nominee={"rrn": 4503122345678, "name": "x"}), 422,
     "nominee.rrn"),
    ("empty name", "POST", EVALUATE, "haengdang", evaluate(nominee={"rrn": RRN["이철수"], "name": ""}), 422,
     "nominee.name"),
    ("name of 101 characters", "POST", EVALUATE, "haengdang",
     evaluate(nominee={"rrn": RRN["이철수"], "name": "가" * 101}), 422, "nominee.name"),
    ("NUL in the name", "POST", EVALUATE, "haengdang", evaluate(nominee={"rrn": RRN["이철수"], "name": "이\x00철수"}),
     422, "nominee.name"),
    ("note of 1,001 characters", "POST", EVALUATE, "haengdang", evaluate(note="가" * 1001), 422, "note"),
    ("unknown field", "POST", EVALUATE, "haengdang", evaluate(priority="high"), 422, "priority"),
    ("unknown nominee field", "POST", EVALUATE, "haengdang",
     evaluate(nominee={**NOMINEE, "phone": "010-0000-0000"}), 422, "nominee.phone"),
    ("unknown program", "POST", EVALUATE, "haengdang", evaluate(program="no-such-program"), 422, "program"),
    ("program code of 65 characters", "POST", EVALUATE, "haengdang", evaluate(program="a" * 65), 422, "program"),
    ("program as a list", "POST", EVALUATE, "haengdang", evaluate(program=["kimchi-2026"]), 422, "program"),
    # batch evaluation
    ("batch without nominees", "POST", "/api/v1/evaluate/batch", "system", {"program": "kimchi-2026", "nominees": []},
     422, "nominees"),
    ("batch of 1,001", "POST", "/api/v1/evaluate/batch", "system",
     {"program": "kimchi-2026", "nominees": [NOMINEE] * 1001}, 422, "nominees"),
    ("batch with a bad fourth rrn", "POST", "/api/v1/evaluate/batch", "system",
     {"program": "kimchi-2026", "nominees": [NOMINEE] * 3 + [{"rrn": "000000-0000000", "name": "x"}]}, 422,
     "nominees.3.rrn"),
    # nominate
    ("nominate without a nominee", "POST", NOMINATE, "haengdang", {"note": "x"}, 422, "nominee"),
    ("replaces as a string", "POST", NOMINATE, "haengdang", {"nominee": NOMINEE, "replaces": "1"}, 422, "replaces"),
    ("replaces beyond 2^31", "POST", NOMINATE, "haengdang", {"nominee": NOMINEE, "replaces": 2**40}, 422, "replaces"),
    ("replaces an unknown nomination", "POST", NOMINATE, "haengdang", {"nominee": NOMINEE, "replaces": 999_999}, 422,
     "replaces"),
    ("nominate into an unknown program", "POST", "/api/v1/programs/no-such/nominations", "haengdang",
     {"nominee": NOMINEE}, 404, None),
    # programs
    ("program code with spaces", "POST", PROGRAMS, "admin", program(code="Rice 2026"), 422, "code"),
    ("negative quota", "POST", PROGRAMS, "admin", program(quota=-1), 422, "quota"),
    ("quota as a string", "POST", PROGRAMS, "admin", program(quota="10"), 422, "quota"),
    ("start date of month 13", "POST", PROGRAMS, "admin", program(starts_on="2026-13-01"), 422, "starts_on"),
    ("parameter out of bounds", "POST", PROGRAMS, "admin", program(parameters={"household_limit": 11}), 422,
     "parameters.household_limit"),
    ("parameter as a string", "POST", PROGRAMS, "admin", program(parameters={"household_limit": "2"}), 422,
     "parameters.household_limit.value"),
    ("unknown rule set", "POST", PROGRAMS, "admin", program(ruleset="no-such-rules"), 422, "ruleset"),
    ("unknown resource category", "POST", PROGRAMS, "admin", program(resource_category="gold"), 422,
     "resource_category"),
    ("existing program code", "POST", PROGRAMS, "admin", program(code="kimchi-2026"), 409, None),
    # parameters
    ("no parameters", "PUT", PARAMETERS, "department", {"parameters": {}}, 422, "parameters"),
    ("look-back of zero days", "PUT", PARAMETERS, "department", {"parameters": {"lookback_days": 0}}, 422,
     "parameters.lookback_days"),
    ("unknown parameter", "PUT", PARAMETERS, "department", {"parameters": {"income_limit": 100}}, 422,
     "parameters.income_limit"),
    ("reason of 1,001 characters", "PUT", PARAMETERS, "department",
     {"parameters": {"household_limit": 2}, "reason": "가" * 1001}, 422, "reason"),
    # registry events
    ("unknown event type", "POST", EVENTS, "system", {"type": "birth", "rrn": RRN["이철수"], "date": "2026-11-01"}, 422,
     "type"),
    ("event on 30 February", "POST", EVENTS, "system", {"type": "death", "rrn": RRN["이철수"], "date": "2026-02-30"},
     422, "date"),
    ("event in the future", "POST", EVENTS, "system", {"type": "death", "rrn": RRN["이철수"], "date": "2027-01-01"},
     422, "date"),
    ("event before the birth", "POST", EVENTS, "system",
     {"type": "move_out", "rrn": RRN["이철수"], "date": "1980-01-01"}, 422, "date"),
    ("event with a bad rrn", "POST", EVENTS, "system", {"type": "death", "rrn": "12", "date": "2026-11-01"}, 422,
     "rrn"),
    # nomination status
    ("unknown status", "POST", "/api/v1/nominations/{nomination}/status", "department", {"status": "done"}, 422,
     "status"),
    ("status note of 1,001 characters", "POST", "/api/v1/nominations/{nomination}/status", "department",
     {"status": "confirmed", "note": "가" * 1001}, 422, "note"),
    ("status of an absurd nomination id", "POST", "/api/v1/nominations/99999999999999/status", "department",
     {"status": "confirmed"}, 404, None),
    # pools
    ("pool of zero", "POST", "/api/v1/pools", "admin",
     {"code": "winter", "name": "겨울", "resource_category": "kimchi", "quantity": 0}, 422, "quantity"),
    ("allocation as a string", "POST", "/api/v1/pools/no-such-pool/allocations", "admin",
     {"program": "kimchi-2026", "quantity": "5"}, 422, "quantity"),
    # free text holding an RRN (service.rrn.contains_rrn): refused naming the field, the number never echoed
    ("RRN in the evaluate note", "POST", EVALUATE, "haengdang", evaluate(note=f"본인 {RRN['김순자']} 확인"), 422,
     "note"),
    ("RRN in the nominate note", "POST", NOMINATE, "haengdang", {"nominee": NOMINEE, "note": f"모친 {RRN['김순자']}"},
     422, "note"),
    ("RRN without its hyphen in the nominate note", "POST", NOMINATE, "haengdang",
     {"nominee": NOMINEE, "note": RRN["김순자"].replace("-", "")}, 422, "note"),
    ("RRN with a space in the nominate note", "POST", NOMINATE, "haengdang",
     {"nominee": NOMINEE, "note": RRN["김순자"].replace("-", " ")}, 422, "note"),
    ("RRN in full-width digits in the nominate note", "POST", NOMINATE, "haengdang",
     {"nominee": NOMINEE, "note": "".join(chr(ord(c) + 0xFEE0) for c in RRN["김순자"])}, 422, "note"),
    ("RRN in the nominee's name", "POST", NOMINATE, "haengdang",
     {"nominee": {**NOMINEE, "name": f"이철수 {RRN['김순자']}"}}, 422, "nominee.name"),
    ("RRN in the status note", "POST", "/api/v1/nominations/{nomination}/status", "department",
     {"status": "confirmed", "note": f"확인 {RRN['김순자']}"}, 422, "note"),
    ("RRN in the parameter change reason", "PUT", PARAMETERS, "department",
     {"parameters": {"household_limit": 2}, "reason": f"{RRN['김순자']} 민원"}, 422, "reason"),
    ("RRN in a program name", "POST", PROGRAMS, "admin", program(name=f"쌀 {RRN['김순자']}"), 422, "name"),
    ("RRN in a pool name", "POST", "/api/v1/pools", "admin",
     {"code": "winter", "name": RRN["김순자"], "resource_category": "kimchi", "quantity": 5}, 422, "name"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "who", "body", "status", "field"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_bad_body(world: World, method: str, path: str, who: str, body: Any, status: int, field: str | None) -> None:
    path = path.format(nomination=world.nomination)
    with world.unchanged():
        if isinstance(body, bytes):
            response = world.call(method, path, who, raw=body)
        else:
            response = world.call(method, path, who, body)
        assert_problem(response, status, field)


def test_a_body_over_one_megabyte_is_refused_before_parsing(world: World) -> None:
    raw = json.dumps(evaluate(note="가" * 400_000)).encode()
    assert len(raw) > 1024 * 1024
    with world.unchanged():
        assert_problem(world.call("POST", EVALUATE, "haengdang", raw=raw), 413)


def test_english_messages_on_request(world: World) -> None:
    with world.unchanged():
        response = world.call("POST", EVALUATE, "haengdang", {}, headers={"Accept-Language": "en"})
        body = assert_problem(response, 422, "program")
        assert body["title"].isascii()
