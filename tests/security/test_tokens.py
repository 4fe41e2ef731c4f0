"""API tokens: expiry, prefix, list and revoke commands, last use, audit entries."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import event, select

from service import clock
from service.crypto import token_hash
from service.db import get_db
from service.models import ApiToken, AuditEntry
from tests.conftest import FROZEN_NOW

from .conftest import Api, problem

NOW = datetime.fromisoformat(FROZEN_NOW)


def _token_row(app: Flask, token: str) -> ApiToken:
    with get_db(app).session() as s:
        row = s.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(token)))
        assert row is not None
        return row


def _create(runner: FlaskCliRunner, *extra: str) -> str:
    result = runner.invoke(args=["create-token", "--institution", "haengdang1-center", "--role", "nominator", *extra])
    assert result.exit_code == 0, result.output
    return str(result.output.strip().splitlines()[-1])


def test_create_token_stores_prefix_and_a_year_of_validity(app: Flask, api: Api, runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["create-token", "--institution", "haengdang1-center", "--role", "nominator",
                                 "--name", "행당 연계"])  # fmt: skip
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert re.fullmatch(r"sb_[A-Za-z0-9_-]{43}", token), "the token alone on the last line"
    row = _token_row(app, token)
    assert row.prefix == token[:10] and row.prefix in result.output
    assert row.expires_at == NOW + timedelta(days=365)
    assert row.name == "행당 연계" and row.last_used_at is None and row.revoked_at is None
    with get_db(app).session() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "token.create").order_by(AuditEntry.id.desc()))
        audit = next(iter(entry))
        assert (audit.actor, audit.target) == ("cli", f"token:{row.prefix}")
        assert audit.detail["role"] == "nominator" and token not in str(audit.detail)


def test_expires_days_zero_never_expires_and_bounds_are_checked(app: Flask, api: Api, runner: FlaskCliRunner) -> None:
    assert _token_row(app, _create(runner, "--expires-days", "0")).expires_at is None
    assert _token_row(app, _create(runner, "--expires-days", "7")).expires_at == NOW + timedelta(days=7)
    refused = runner.invoke(args=["create-token", "--institution", "haengdang1-center", "--role", "nominator",
                                  "--expires-days", "-1"])  # fmt: skip
    assert refused.exit_code != 0 and "expires-days" in refused.output


def test_expired_token_is_a_401_at_once(app: Flask, api: Api, runner: FlaskCliRunner) -> None:
    token = _create(runner, "--expires-days", "1")
    headers = {"Authorization": f"Bearer {token}"}
    assert api.client.get("/api/v1/programs", headers=headers).status_code == 200
    with clock.frozen(NOW + timedelta(days=1, seconds=-1)):
        assert api.client.get("/api/v1/programs", headers=headers).status_code == 200
    with clock.frozen(NOW + timedelta(days=1)):
        data = problem(api.client.get("/api/v1/programs", headers=headers), 401)
        assert data["title"] == "인증이 필요합니다" and "만료" in data["detail"]
        english = problem(api.client.get("/api/v1/programs", headers={**headers, "Accept-Language": "en"}), 401)
        assert "expired" in english["detail"]


def test_list_tokens_shows_everything_but_the_secret(app: Flask, api: Api, runner: FlaskCliRunner) -> None:
    token = _create(runner, "--name", "목록 확인")
    api.client.get("/api/v1/programs", headers={"Authorization": f"Bearer {token}"})
    result = runner.invoke(args=["list-tokens"])
    assert result.exit_code == 0, result.output
    row = _token_row(app, token)
    line = next(ln for ln in result.output.splitlines() if ln.startswith(token[:10]))
    assert "haengdang1-center" in line and "nominator" in line and "목록 확인" in line
    assert line.count("2026-11-25 10:00") == 2 and "2027-11-25 10:00" in line and "active" in line  # created, used
    for secret in [*api.tokens.values(), token]:
        assert secret not in result.output and token_hash(secret) not in result.output
    assert row.token_hash not in result.output
    header = result.output.splitlines()[0]
    for column in ("prefix", "institution", "role", "name", "created", "last used", "expires", "status"):
        assert column in header


def test_revoke_token_refuses_at_once_and_is_audited(app: Flask, api: Api, runner: FlaskCliRunner) -> None:
    token = _create(runner)
    headers = {"Authorization": f"Bearer {token}"}
    assert api.client.get("/api/v1/programs", headers=headers).status_code == 200
    prefix = token[:10]
    result = runner.invoke(args=["revoke-token", prefix])
    assert result.exit_code == 0 and prefix in result.output, result.output
    data = problem(api.client.get("/api/v1/programs", headers=headers), 401)
    assert "폐기" in data["detail"]
    assert _token_row(app, token).revoked_at == NOW
    with get_db(app).session() as s:
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "token.revoke")).one()
        assert (audit.actor, audit.target, audit.detail["institution"]) == ("cli", f"token:{prefix}",
                                                                           "haengdang1-center")  # fmt: skip
    again = runner.invoke(args=["revoke-token", prefix])
    assert again.exit_code == 0 and "already revoked" in again.output
    other = api.tokens["haengdang"]
    assert api.client.get("/api/v1/programs", headers={"Authorization": f"Bearer {other}"}).status_code == 200


def test_revoke_token_unknown_or_ambiguous_prefix_is_an_error(app: Flask, api: Api, runner: FlaskCliRunner) -> None:
    unknown = runner.invoke(args=["revoke-token", "sb_zzzzzzz"])
    assert unknown.exit_code != 0 and "unknown prefix 'sb_zzzzzzz'" in unknown.output
    too_short = runner.invoke(args=["revoke-token", "sb_"])
    assert too_short.exit_code != 0 and "too short" in too_short.output
    # Two tokens whose prefixes share their first characters: "sb_X" names both of them.
    # Every other token gets a prefix of its own (random ones could start with "sb_Q" or "sb_q").
    first, second, *others = sorted(api.tokens.values())
    with get_db(app).session() as s:
        for i, token in enumerate((first, second, *others)):
            prefix = f"sb_Q{i}abcde" if i < 2 else f"sb_R{i}xxxxx"
            s.execute(ApiToken.__table__.update().where(ApiToken.token_hash == token_hash(token))
                      .values(prefix=prefix))  # fmt: skip
    lower = runner.invoke(args=["revoke-token", "sb_q"])  # tokens are case-sensitive
    assert lower.exit_code != 0 and "unknown prefix 'sb_q'" in lower.output
    ambiguous = runner.invoke(args=["revoke-token", "sb_Q"])
    assert ambiguous.exit_code != 0 and "ambiguous prefix 'sb_Q' matches 2 tokens" in ambiguous.output
    assert "sb_Q0abcde" in ambiguous.output and "sb_Q1abcde" in ambiguous.output
    for token in (first, second):  # nothing was revoked
        assert api.client.get("/api/v1/programs", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    whole = runner.invoke(args=["revoke-token", first])  # the whole token names it too
    assert whole.exit_code == 0 and "sb_Q0abcde" in whole.output
    assert api.client.get("/api/v1/programs", headers={"Authorization": f"Bearer {first}"}).status_code == 401


def test_last_used_is_written_at_most_once_a_minute(app: Flask, api: Api, runner: FlaskCliRunner) -> None:
    token = _create(runner)
    headers = {"Authorization": f"Bearer {token}"}
    token_updates: list[str] = []

    def watch(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE API_TOKENS"):
            token_updates.append(statement)

    engine = get_db(app).engine
    event.listen(engine, "before_cursor_execute", watch)
    try:
        assert api.client.get("/api/v1/programs", headers=headers).status_code == 200
        assert _token_row(app, token).last_used_at == NOW and len(token_updates) == 1
        for seconds in (1, 30, 59):  # a read within the minute stays a read
            with clock.frozen(NOW + timedelta(seconds=seconds)):
                assert api.client.get("/api/v1/programs", headers=headers).status_code == 200
        assert _token_row(app, token).last_used_at == NOW and len(token_updates) == 1
        later = NOW + timedelta(seconds=61)
        with clock.frozen(later):
            assert api.client.get("/api/v1/programs", headers=headers).status_code == 200
        assert _token_row(app, token).last_used_at == later and len(token_updates) == 2
        problem(api.client.get("/api/v1/programs", headers={"Authorization": "Bearer sb_nope"}), 401)
        assert len(token_updates) == 2  # a refused token writes nothing
    finally:
        event.remove(engine, "before_cursor_execute", watch)
