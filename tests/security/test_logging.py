"""Structured logs with a correlation id, and no RRN, name or token in any log line."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from service import clock
from service.db import get_db
from service.logging_setup import GunicornLogger, JsonFormatter, TextFormatter, accepted_request_id, redact
from service.models import AuditEntry
from tests.api.conftest import RESIDENTS, RRN

from .conftest import Api, problem

NAMES = [r["name"] for r in RESIDENTS]


@dataclass
class Captured:
    """Every record logged anywhere, with the lines our formatters make of it when it is logged."""

    records: list[tuple[logging.LogRecord, str, str]] = field(default_factory=list)

    def secrets_in(self, secrets: list[str]) -> list[str]:
        found = []
        for record, json_line, text_line in self.records:
            for text in (record.getMessage(), json_line, text_line):
                found += [f"{record.name}: {secret!r} in {text[:200]!r}" for secret in secrets if secret in text]
        return found


class _Capture(logging.Handler):
    def __init__(self, into: Captured) -> None:
        super().__init__(logging.DEBUG)
        self.into = into
        self.json, self.text = JsonFormatter(), TextFormatter()

    def emit(self, record: logging.LogRecord) -> None:  # formatted now: the request context is still there
        self.into.records.append((record, self.json.format(record), self.text.format(record)))


@pytest.fixture
def captured() -> Iterator[Captured]:
    into = Captured()
    handler = _Capture(into)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)  # everything, even what production would not log
    try:
        yield into
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _secrets(api: Api) -> list[str]:
    numbers = list(RRN.values())
    return [*numbers, *[n.replace("-", "") for n in numbers], *NAMES, *api.tokens.values()]


def test_a_whole_api_session_logs_no_rrn_name_or_token(
    app: Flask, api: Api, program: dict[str, Any], captured: Captured, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = api
    kim, park, lee = RRN["김순자"], RRN["박영수"], RRN["이철수"]
    evaluate = {"program": "kimchi-2026", "nominee": {"rrn": kim, "name": "김순자"}}
    assert a.call("POST", "/api/v1/evaluate", "haengdang", evaluate).status_code == 200
    assert a.call("POST", "/api/v1/evaluate/batch", "haengdang", {"program": "kimchi-2026", "nominees": [
        {"rrn": park, "name": "박영수"}, {"rrn": lee, "name": "이철수"}]}).status_code == 200  # fmt: skip
    first = a.nominate("haengdang", "김순자", note="연락처 확인: 김순자 어르신")
    assert first.status_code == 201
    nomination = first.get_json()["id"]
    others = (("eungbong", "김순자"), ("welfare_center", "박영수"), ("church", "최말순"), ("haengdang", "정대한"))
    for who, name in others:
        assert a.nominate(who, name).status_code == 201
    assert a.call("GET", "/api/v1/programs/kimchi-2026/nominations", "department").status_code == 200
    assert a.call("GET", f"/api/v1/nominations/{nomination}", "haengdang").status_code == 200
    assert a.call("GET", f"/api/v1/nominations/{nomination}/replay", "admin").status_code == 200
    assert a.call("POST", f"/api/v1/nominations/{nomination}/status", "department",
                  {"status": "confirmed", "note": "김순자 확인"}).status_code == 200  # fmt: skip
    assert a.call("POST", "/api/v1/registry/events", "system",
                  {"type": "death", "rrn": park, "date": "2026-11-20"}).status_code == 200  # fmt: skip
    assert a.call("GET", "/api/v1/notifications", "welfare_center").status_code == 200
    assert a.call("GET", "/api/v1/stats?by=institution&format=csv", "admin").status_code == 200
    assert a.call("GET", f"/api/v1/audit?subject={kim}", "auditor").status_code == 200
    assert a.call("POST", "/api/v1/programs/kimchi-2026/rescreen", "admin").status_code == 200
    xlsx = a.client.get("/api/v1/programs/kimchi-2026/nominations?format=xlsx&reason=점검",
                        headers={"Authorization": f"Bearer {a.tokens['admin']}"})  # fmt: skip
    assert xlsx.status_code == 200 and xlsx.data.startswith(b"PK")
    # errors of every kind, each with personal data in the request
    assert (
        a.call(
            "POST",
            "/api/v1/evaluate",
            "haengdang",
            {"program": "kimchi-2026", "nominee": {"rrn": kim[:-1] + "x", "name": "김순자"}},
        ).status_code
        == 422
    )
    assert a.call("POST", "/api/v1/evaluate", "haengdang", {**evaluate, "program": "nope"}).status_code == 422
    assert a.call("POST", "/api/v1/evaluate", "haengdang",
                  raw=f'{{"nominee": {{"rrn": "{kim}", "name": "김순자"'.encode()).status_code == 400  # fmt: skip
    assert a.call("POST", "/api/v1/evaluate", None, evaluate,
                  headers={"Authorization": f"Bearer {a.tokens['admin']}x"}).status_code == 401  # fmt: skip
    assert a.call("GET", f"/api/v1/audit?subject={kim}", "haengdang").status_code == 403
    assert a.call("GET", "/api/v1/nominations/999999", "admin").status_code == 404
    assert a.call("POST", "/api/v1/programs", "admin", {**program_body(), "name": "김순자"}).status_code == 409
    big = ('{"program": "kimchi-2026", "note": "' + kim * 80000 + '"}').encode()
    assert a.call("POST", "/api/v1/evaluate", "admin", raw=big).status_code == 413
    assert a.call("POST", "/api/v1/evaluate", "haengdang", {**evaluate, "note": "a\x00b"}).status_code == 422
    assert a.call("POST", "/api/v1/evaluate", "haengdang", evaluate,
                  headers={"X-Request-ID": kim}).status_code == 200  # fmt: skip
    app.config["RATE_LIMIT"] = "1/minute"
    assert a.call("POST", "/api/v1/evaluate", "eungbong", evaluate).status_code == 200
    assert a.call("POST", "/api/v1/evaluate", "eungbong", evaluate).status_code == 429
    app.config["RATE_LIMIT"] = "off"
    from service import nominating

    secret = "secret " + "·".join([kim, "김순자", a.tokens["admin"]])  # built here: the stack shows source lines

    def crash(*_: Any, **__: Any) -> Any:
        raise RuntimeError(secret)

    def down(*_: Any, **__: Any) -> Any:
        raise OperationalError(secret, {}, ConnectionRefusedError(secret))

    monkeypatch.setattr(nominating, "screen_candidate", crash)
    assert a.call("POST", "/api/v1/programs/kimchi-2026/nominations", "haengdang",
                  {"nominee": {"rrn": lee, "name": "이철수"}}).status_code == 500  # fmt: skip
    monkeypatch.setattr(nominating, "screen_candidate", down)
    problem(a.call("POST", "/api/v1/evaluate", "haengdang", evaluate), 503)
    with clock.frozen(clock.now() + timedelta(days=400)):  # every token has expired
        assert a.call("POST", "/api/v1/evaluate", "haengdang", evaluate).status_code == 401

    assert len(a.seen) >= 30
    logged = [json.loads(line) for _record, line, _text in captured.records]
    assert any(entry["level"] == "ERROR" and entry.get("exc_type") is None and "RuntimeError" in entry["message"]
               for entry in logged), "the 500 was logged"  # fmt: skip
    assert any("database unavailable" in entry["message"] for entry in logged), "the 503 was logged"
    assert any("ratelimit" in entry["message"] for entry in logged), "the 429 was logged"
    assert all("request_id" in entry for entry in logged if entry["logger"].startswith(("seonbyeol", "flask")))
    assert captured.secrets_in(_secrets(a)) == []


def test_a_refused_rrn_in_free_text_is_neither_logged_nor_echoed(
    api: Api, program: dict[str, Any], captured: Captured
) -> None:
    hidden = RRN["박영수"]
    nominee = {"rrn": RRN["이철수"], "name": "이철수"}
    answers = [
        api.call("POST", "/api/v1/programs/kimchi-2026/nominations", "haengdang",
                 {"nominee": nominee, "note": f"모친 {hidden}"}),
        api.call("POST", "/api/v1/programs/kimchi-2026/nominations", "haengdang",
                 {"nominee": nominee, "note": hidden.replace("-", "")}),
        api.call("GET", f"/api/v1/audit?format=csv&reason={hidden}", "auditor"),
    ]  # fmt: skip
    for answer in answers:
        body = problem(answer, 422)
        assert set(body["errors"]) <= {"note", "reason"} and body["errors"]
        assert hidden not in answer.get_data(as_text=True) and hidden[7:] not in answer.get_data(as_text=True)
    assert captured.secrets_in([hidden, hidden.replace("-", ""), hidden[7:]]) == []


def program_body() -> dict[str, Any]:
    from tests.api.conftest import PROGRAM

    return dict(PROGRAM)


def test_request_ids_are_echoed_generated_or_refused(api: Api) -> None:
    generated = api.call("GET", "/api/v1/programs")
    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["X-Request-ID"])
    given = api.call("GET", "/api/v1/programs", headers={"X-Request-ID": "office-7.batch_42:3"})
    assert given.headers["X-Request-ID"] == "office-7.batch_42:3"
    for bad in ("has space", "x" * 65, "<script>", RRN["김순자"], RRN["김순자"].replace("-", ""),
                f"id-{api.tokens['admin']}", ""):  # fmt: skip
        answer = api.call("GET", "/api/v1/programs", headers={"X-Request-ID": bad})
        assert answer.headers["X-Request-ID"] != bad and re.fullmatch(r"[0-9a-f]{32}", answer.headers["X-Request-ID"])
    assert api.client.get("/healthz").headers["X-Request-ID"]  # every answer, not only the API's


def test_audit_entries_carry_the_request_id(app: Flask, api: Api, program: dict[str, Any]) -> None:
    response = api.call("POST", "/api/v1/programs/kimchi-2026/nominations", "haengdang",
                        {"nominee": {"rrn": RRN["김순자"], "name": "김순자"}},
                        headers={"X-Request-ID": "req-nominate-1"})  # fmt: skip
    assert response.status_code == 201
    evaluated = api.call("POST", "/api/v1/evaluate", "haengdang",
                         {"program": "kimchi-2026", "nominee": {"rrn": RRN["박영수"], "name": "박영수"}})  # fmt: skip
    with get_db(app).session() as s:
        entries = s.scalars(select(AuditEntry).where(AuditEntry.request_id == "req-nominate-1")).all()
        assert [(e.action, e.subject_masked) for e in entries] == [("nomination.create", "450312-2******")]
        generated = evaluated.headers["X-Request-ID"]
        assert s.scalars(select(AuditEntry).where(AuditEntry.request_id == generated)).all()
        cli = s.scalars(select(AuditEntry).where(AuditEntry.actor == "cli")).all()
        assert cli and all(e.request_id is None for e in cli)  # commands have no request


def test_500_quotes_the_request_id(api: Api, program: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from service import nominating

    def crash(*_: Any, **__: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(nominating, "screen_candidate", crash)
    response = api.call(
        "POST",
        "/api/v1/programs/kimchi-2026/nominations",
        "haengdang",
        {"nominee": {"rrn": RRN["김순자"], "name": "김순자"}},
        headers={"X-Request-ID": "trace-500"},
    )
    data = problem(response, 500)  # fmt: skip
    assert data["correlation_id"] == "trace-500" == response.headers["X-Request-ID"] and "trace-500" in data["detail"]


def test_json_lines_name_the_exception_type_but_not_its_message() -> None:
    logger = logging.getLogger("seonbyeol.test")
    message = " ".join(["bad value", RRN[NAMES[0]], "for", NAMES[0]])  # not on the raise line: the stack shows it
    try:
        raise ValueError(message)
    except ValueError:
        record = logger.makeRecord(logger.name, logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "failed" and line["exc_type"] == "ValueError" and "Traceback" not in line["stack"]
    dumped = json.dumps(line, ensure_ascii=False)
    assert RRN[NAMES[0]] not in dumped and NAMES[0] not in dumped
    assert RRN["김순자"] not in TextFormatter().format(record)


def test_redaction_is_a_last_defence() -> None:
    token = "sb_" + "A" * 43
    text = redact(f"rrn {RRN['김순자']} or {RRN['김순자'].replace('-', '')}; Authorization: Bearer {token} {token}")
    assert RRN["김순자"] not in text and "4503122345678" not in text and token not in text
    assert redact("order 12345 at 2026-11-25 10:00") == "order 12345 at 2026-11-25 10:00"
    assert accepted_request_id("abc") == "abc" and accepted_request_id("4503122345678") is None


def _redact_in_full(text: str) -> str:
    """redact() without its gate: the three substitutions on every text."""
    from service.logging_setup import _BEARER, _RRN_LIKE, _TOKEN_LIKE

    text = _RRN_LIKE.sub("[redacted-rrn]", text)
    text = _TOKEN_LIKE.sub("[redacted-token]", text)
    return _BEARER.sub(r"\1[redacted]", text)


def test_redaction_gate_changes_no_answer() -> None:
    """redact() returns a text untouched when one search finds none of the shapes: on texts
    built from the pieces of those shapes, it answers exactly what the three substitutions do."""
    import random

    pieces = ["9", "0101", "-", "1234567", "12", "sb_", "abcDEF12", "_-x", "Bearer", "bearer", "BEARER", " ",
              "\t", "\n", "a", "/api/v1/", "451231-2345678", "x9"]  # fmt: skip
    rng = random.Random(20261204)
    changed = 0
    for _ in range(5000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        expected = _redact_in_full(text)
        assert redact(text) == expected, text
        changed += expected != text
    assert 500 < changed < 4500  # both kinds of text were met


class _Resp:
    status = "200 OK"
    sent = 1234
    headers = [("Content-Type", "application/json"), ("X-Request-ID", "rid-1")]


def test_gunicorn_access_lines_are_json_without_query_or_token(capsys: pytest.CaptureFixture[str]) -> None:
    from gunicorn.config import Config

    cfg = Config()
    cfg.set("accesslog", "-")
    logger = GunicornLogger(cfg)
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": "/api/v1/audit", "QUERY_STRING": f"subject={RRN['김순자']}",
        "RAW_URI": f"/api/v1/audit?subject={RRN['김순자']}", "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_AUTHORIZATION": "Bearer sb_secret_token_value_1234567890", "seonbyeol.request_id": "rid-1",
        "seonbyeol.actor": {"institution": "welfare-policy", "role": "auditor", "token_prefix": "sb_abcdefg"},
    }  # fmt: skip
    logger.access(_Resp(), None, environ, timedelta(milliseconds=12))
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    line = json.loads(out[0])
    assert (line["event"], line["method"], line["path"], line["status"]) == ("access", "GET", "/api/v1/audit", 200)
    assert (line["request_id"], line["institution"], line["role"]) == ("rid-1", "welfare-policy", "auditor")
    assert line["token_prefix"] == "sb_abcdefg" and line["duration_ms"] == 12.0 and line["bytes"] == 1234
    assert RRN["김순자"] not in out[0] and "secret_token" not in out[0] and "subject=" not in out[0]
