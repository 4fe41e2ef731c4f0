"""Evaluate trusts a token this process authenticated within the minute only as far as its
access record checks it: a revocation or an expiry still refuses the very next request, on
every worker, and a refused request writes no access record (service/security.py
``recent_authentication``, service/audit.py ``record``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import event, func, select, update

from service import clock
from service.crypto import token_hash
from service.db import get_db
from service.models import ApiToken, AuditEntry
from tests.api.conftest import RRN
from tests.conftest import FROZEN_NOW

from .conftest import Api, problem

NOW = datetime.fromisoformat(FROZEN_NOW)
BODY = {"program": "kimchi-2026", "nominee": {"rrn": RRN["이철수"], "name": "이철수"}}


def _create(runner: FlaskCliRunner, *extra: str) -> str:
    result = runner.invoke(args=["create-token", "--institution", "haengdang1-center", "--role", "nominator", *extra])
    assert result.exit_code == 0, result.output
    return str(result.output.strip().splitlines()[-1])


def _evaluate(api: Api, token: str, body: Any = BODY) -> Any:
    return api.client.post("/api/v1/evaluate", json=body, headers={"Authorization": f"Bearer {token}"})


def _evaluate_entries(app: Flask) -> int:
    with get_db(app).session() as s:
        return int(s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "evaluate")) or 0)


@contextmanager
def _token_lookups(app: Flask) -> Iterator[list[str]]:
    """The token lookups (by hash) run meanwhile."""
    seen: list[str] = []

    def watch(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "FROM api_tokens t JOIN institutions" in statement:
            seen.append(statement)

    engine = get_db(app).engine
    event.listen(engine, "before_cursor_execute", watch)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", watch)


def _revoke_elsewhere(app: Flask, token: str) -> None:
    """What another worker (or host) revoking the token does: this process is not told."""
    with get_db(app).session() as s:
        s.execute(update(ApiToken).where(ApiToken.token_hash == token_hash(token)).values(revoked_at=NOW))


def test_a_recent_token_is_not_looked_up_again_but_its_access_is_recorded(
    app: Flask, api: Api, program: dict[str, Any], runner: FlaskCliRunner
) -> None:
    token = _create(runner)
    with _token_lookups(app) as lookups:
        assert _evaluate(api, token).status_code == 200
        assert len(lookups) == 1
        before = _evaluate_entries(app)
        second = _evaluate(api, token)
        assert second.status_code == 200 and second.get_json()["verdict"]["outcome"]
        assert len(lookups) == 1, "the second evaluate within the minute looks the token up again"
    assert _evaluate_entries(app) == before + 1
    with get_db(app).session() as s:
        newest = select(AuditEntry).where(AuditEntry.action == "evaluate").order_by(AuditEntry.id.desc())
        entry = s.scalars(newest).first()
        assert entry is not None
        assert (entry.actor, entry.institution_code, entry.role) == ("token:haengdang1-center:nominator",
                                                                     "haengdang1-center", "nominator")  # fmt: skip
        assert entry.subject_masked == RRN["이철수"][:8] + "******"
    with _token_lookups(app) as lookups, clock.frozen(NOW + timedelta(seconds=61)):
        assert _evaluate(api, token).status_code == 200
        assert len(lookups) == 1, "after a minute the token is looked up (and its use recorded) again"
    with _token_lookups(app) as lookups, clock.frozen(NOW + timedelta(seconds=30)):
        assert _evaluate(api, token).status_code == 200
        assert len(lookups) == 1, "a clock that went back does not extend what is remembered"


def test_a_revocation_elsewhere_refuses_the_next_evaluate_and_records_nothing(
    app: Flask, api: Api, program: dict[str, Any], runner: FlaskCliRunner
) -> None:
    token = _create(runner)
    assert _evaluate(api, token).status_code == 200
    before = _evaluate_entries(app)
    _revoke_elsewhere(app, token)
    data = problem(_evaluate(api, token), 401)
    assert "폐기" in data["detail"]
    assert _evaluate_entries(app) == before, "a refused token's evaluate left an access record"
    assert problem(_evaluate(api, token), 401)["detail"] == data["detail"]  # and stays refused


def test_a_revoked_recent_token_gets_401_before_any_other_error(
    app: Flask, api: Api, program: dict[str, Any], runner: FlaskCliRunner
) -> None:
    token = _create(runner)
    assert _evaluate(api, token).status_code == 200
    _revoke_elsewhere(app, token)
    for body in ({"program": "kimchi-2026"}, {"program": "no-such-program", "nominee": BODY["nominee"]}):
        assert "폐기" in problem(_evaluate(api, token, body), 401)["detail"], body


def test_an_expiry_within_the_minute_refuses_a_recent_token(
    app: Flask, api: Api, program: dict[str, Any], runner: FlaskCliRunner
) -> None:
    token = _create(runner, "--expires-days", "1")
    with clock.frozen(NOW + timedelta(days=1, seconds=-10)):
        assert _evaluate(api, token).status_code == 200
    before = _evaluate_entries(app)
    with clock.frozen(NOW + timedelta(days=1)):
        assert "만료" in problem(_evaluate(api, token), 401)["detail"]
    assert _evaluate_entries(app) == before


def test_a_valid_recent_token_still_gets_its_other_errors(
    app: Flask, api: Api, program: dict[str, Any], runner: FlaskCliRunner
) -> None:
    token = _create(runner)
    assert _evaluate(api, token).status_code == 200
    assert problem(_evaluate(api, token, {"program": "kimchi-2026"}), 422)
    assert problem(_evaluate(api, token, {"program": "no-such-program", "nominee": BODY["nominee"]}), 422)
    assert _evaluate(api, token).status_code == 200


def test_a_revoked_recent_token_of_a_role_that_may_not_evaluate_gets_401_not_403(
    app: Flask, api: Api, program: dict[str, Any]
) -> None:
    token = api.tokens["auditor"]  # may not evaluate: 403 while valid
    assert api.client.get("/api/v1/programs", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    problem(_evaluate(api, token), 403)
    _revoke_elsewhere(app, token)
    assert "폐기" in problem(_evaluate(api, token), 401)["detail"]


def test_the_checked_access_record_stores_what_the_plain_one_does(
    app: Flask, api: Api, program: dict[str, Any], runner: FlaskCliRunner
) -> None:
    """The first evaluate looks the token up and records its access by the plain INSERT; the
    second, within the minute, by the INSERT that checks the token, run on the driver with its
    values converted by their column types: both rows read back alike (time, JSON, ids)."""
    token = _create(runner)
    for rid in ("rid-plain", "rid-checked"):
        answer = api.client.post("/api/v1/evaluate", json=BODY,
                                 headers={"Authorization": f"Bearer {token}", "X-Request-ID": rid})  # fmt: skip
        assert answer.status_code == 200
    with get_db(app).session() as s:
        plain, checked = s.scalars(select(AuditEntry).where(AuditEntry.action == "evaluate").order_by(AuditEntry.id))
        columns = [c.key for c in AuditEntry.__table__.columns if c.key not in ("id", "request_id")]
        assert {c: getattr(checked, c) for c in columns} == {c: getattr(plain, c) for c in columns}
        assert (plain.request_id, checked.request_id) == ("rid-plain", "rid-checked")
        assert checked.at == NOW and checked.at.tzinfo is not None
        assert checked.detail == {"outcome": answer.get_json()["verdict"]["outcome"]}
        assert checked.target == "program:kimchi-2026" and len(checked.subject_index or "") == 64
