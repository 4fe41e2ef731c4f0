"""The bad-input catalogue's fixtures: one populated world per module and backend, and a snapshot
of the whole database (row counts and a hash of every table's content) to show nothing changed.

A case feeds one bad input to one surface and checks its documented refusal (status and
problem+json ``errors`` naming the field, or the command's message naming line, file or field);
``unchanged`` then compares the snapshot taken before with the one after. The world is built
once per module (a bad input changes nothing, so cases can share it), which keeps the catalogue fast.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from service import create_app
from service.db import get_db
from service.models import AuditEntry, Base
from tests.api.conftest import PROGRAM, RECEIPTS, RESIDENTS, ROLES, RRN
from tests.conftest import TEST_DATA_KEY, _empty_tables
from tests.factories import RECEIPT_COLUMNS, write_csv, write_district

Snapshot = dict[str, tuple[int, str]]


def snapshot(app: Flask) -> Snapshot:
    """Rows and a SHA-256 of the content of every table, in primary-key order."""
    out: Snapshot = {}
    with get_db(app).engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            out[table.name] = (len(rows), hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest())
    return out


def new_audit_actions(app: Flask, after_id: int) -> list[str]:
    with get_db(app).sessionmaker() as session:
        return list(session.scalars(select(AuditEntry.action).where(AuditEntry.id > after_id).order_by(AuditEntry.id)))


def last_audit_id(app: Flask) -> int:
    with get_db(app).sessionmaker() as session:
        return int(session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1)) or 0)


@dataclass
class World:
    app: Flask
    client: FlaskClient
    tokens: dict[str, str]
    nomination: int
    tmp: Path

    def call(self, method: str, path: str, who: str | None = "admin", body: Any = None, raw: bytes | None = None,
             headers: dict[str, str] | None = None, content_type: str | None = None) -> TestResponse:  # fmt: skip
        hdrs = dict(headers or {})
        if who is not None:
            hdrs.setdefault("Authorization", f"Bearer {self.tokens[who]}")
        kwargs: dict[str, Any] = {"headers": hdrs}
        if raw is not None:
            kwargs.update(data=raw, content_type=content_type or "application/json")
        elif body is not None:
            kwargs["json"] = body
        response = self.client.open(path, method=method, **kwargs)
        text = response.get_data(as_text=True)
        for number in RRN.values():
            assert number not in text and number.replace("-", "") not in text, f"whole RRN in the answer to {path}"
        return response

    @contextmanager
    def unchanged(self, allow_actions: tuple[str, ...] = ()) -> Iterator[None]:
        """Nothing in the database changes inside the block, but for access-log entries of
        ``allow_actions`` (an attempted import is recorded even when every row is refused)."""
        before, last = snapshot(self.app), last_audit_id(self.app)
        yield
        after = snapshot(self.app)
        added = new_audit_actions(self.app, last)
        assert sorted(set(added)) == sorted(set(added) & set(allow_actions)), f"unexpected audit entries {added}"
        if added:
            before.pop("audit_entries"), after.pop("audit_entries")
        changed = {t for t in before if before[t] != after.get(t)}
        assert not changed, f"tables changed by a refused input: {sorted(changed)}"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The district, residents, receipts, a token per role, the program and one nomination."""
    url = request.getfixturevalue(f"{request.param}_url")
    tmp = tmp_path_factory.mktemp(f"bad-{request.param}")
    app = create_app({"TESTING": True, "DATABASE_URL": url, "INSTANCE_PATH": str(tmp / "instance"),
                      "SECRET_KEY": "test-secret", "DATA_KEY": TEST_DATA_KEY, "IMPORT_BATCH_SIZE": 50})  # fmt: skip
    runner = app.test_cli_runner()
    try:
        for args in (["load-district", str(write_district(tmp / "d.yaml"))],
                     ["import-residents", str(write_csv(tmp / "r.csv", RESIDENTS))],
                     ["import-receipts", str(write_csv(tmp / "c.csv", RECEIPTS, RECEIPT_COLUMNS))]):  # fmt: skip
            result = runner.invoke(args=args)
            assert result.exit_code == 0, result.output
        tokens = {}
        for key, (institution, role) in ROLES.items():
            out = runner.invoke(args=["create-token", "--institution", institution, "--role", role, "--name", key])
            assert out.exit_code == 0, out.output
            tokens[key] = out.output.strip().splitlines()[-1]
        client = app.test_client()
        world = World(app, client, tokens, 0, tmp)
        assert world.call("POST", "/api/v1/programs", "admin", PROGRAM).status_code == 201
        nominated = world.call("POST", "/api/v1/programs/kimchi-2026/nominations", "haengdang",
                               {"nominee": {"rrn": RRN["김순자"], "name": "김순자"}})  # fmt: skip
        assert nominated.status_code == 201
        world.nomination = nominated.get_json()["id"]
        for who in tokens:  # every token's first use is recorded (last_used_at) before any case runs
            assert world.call("GET", "/api/v1/programs", who).status_code == 200
        yield world
    finally:
        _empty_tables(app)
        get_db(app).engine.dispose()


def assert_problem(response: TestResponse, status: int, field: str | None = None) -> dict[str, Any]:
    """A problem+json of ``status`` whose ``errors`` name ``field`` (when given)."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == "application/problem+json", response.mimetype
    body: dict[str, Any] = response.get_json()
    assert body["status"] == status and body["title"] and "detail" in body
    if field is not None:
        assert field in (body.get("errors") or {}), body
    return body
