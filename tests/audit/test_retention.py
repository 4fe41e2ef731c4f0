"""Retention of the access log: the purge is the only deletion, never of entries within the
retention, and it is recorded; the table refuses UPDATE (both backends) and DELETE (PostgreSQL)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from service import audit, clock
from service.db import get_db
from service.models import AuditEntry

PROJECT = Path(__file__).resolve().parents[2]
# today is 2026-11-25 (KST); 1095 days earlier is 2023-11-26: entries before its midnight KST are past the retention
MOMENTS = {
    "old": "2019-06-01T12:00:00+09:00",
    "just_past": "2023-11-25T23:59:59+09:00",
    "just_kept": "2023-11-26T00:00:00+09:00",
    "recent": "2026-11-01T09:00:00+09:00",
}


@pytest.fixture
def entries(app: Flask) -> dict[str, int]:
    """One entry at each moment; their ids by name."""
    ids = {}
    with get_db(app).sessionmaker() as session:
        for name, moment in MOMENTS.items():
            with clock.frozen(moment):
                audit.record(session, audit.CLI, "nomination.read", [("a" * 64, "450312-2******")], target=name)
            session.flush()
            ids[name] = session.scalar(select(func.max(AuditEntry.id)))
        session.commit()
    return ids


def _targets(app: Flask) -> list[str | None]:
    with get_db(app).sessionmaker() as session:
        return list(session.scalars(select(AuditEntry.target).order_by(AuditEntry.id)))


def test_purge_deletes_only_entries_past_the_retention_and_records_itself(
    app: Flask, runner: FlaskCliRunner, entries: dict[str, int]
) -> None:
    result = runner.invoke(args=["purge-audit"])
    assert result.exit_code == 0, result.output
    assert "보관 기간 1095일: 2023-11-26 이전 접속기록 2건 삭제" in result.output
    targets = _targets(app)
    assert targets[:2] == ["just_kept", "recent"]
    with get_db(app).sessionmaker() as session:
        purge = session.scalars(select(AuditEntry).where(AuditEntry.action == "audit.purge")).one()
    assert purge.detail["deleted"] == 2 and purge.detail["retention_days"] == 1095
    assert purge.detail["cutoff"] == "2023-11-26T00:00:00+09:00"
    assert runner.invoke(args=["purge-audit"]).exit_code == 0  # again: nothing left to delete
    assert _targets(app)[:2] == ["just_kept", "recent"]


def test_a_cutoff_within_the_retention_is_refused_even_if_asked(
    app: Flask, runner: FlaskCliRunner, entries: dict[str, int]
) -> None:
    result = runner.invoke(args=["purge-audit", "--before", "2026-01-01"])
    assert result.exit_code != 0
    assert "보관 기간" in result.output and "2023-11-26" in result.output
    assert _targets(app) == list(MOMENTS)  # nothing deleted, nothing recorded


def test_an_earlier_cutoff_deletes_less(app: Flask, runner: FlaskCliRunner, entries: dict[str, int]) -> None:
    result = runner.invoke(args=["purge-audit", "--before", "2020-01-01"])
    assert result.exit_code == 0, result.output
    assert _targets(app)[:3] == ["just_past", "just_kept", "recent"]


def test_a_dry_run_deletes_nothing(app: Flask, runner: FlaskCliRunner, entries: dict[str, int]) -> None:
    result = runner.invoke(args=["purge-audit", "--dry-run"])
    assert result.exit_code == 0 and "2건 삭제 대상" in result.output, result.output
    assert _targets(app)[:4] == list(MOMENTS)


def test_the_retention_setting_moves_the_cutoff(app: Flask, entries: dict[str, int]) -> None:
    with get_db(app).sessionmaker() as session:
        result = audit.purge(session, audit.CLI, 730)
    assert result.cutoff.isoformat() == "2024-11-25T00:00:00+09:00" and result.deleted == 3
    with get_db(app).sessionmaker() as session, pytest.raises(audit.PurgeRefused):
        audit.purge(session, audit.CLI, 729)  # below two years, even when called directly


def test_the_orm_refuses_to_change_or_delete_an_entry(app: Flask, entries: dict[str, int]) -> None:
    with get_db(app).sessionmaker() as session:
        entry = session.get_one(AuditEntry, entries["recent"])
        entry.action = "nothing.happened"
        with pytest.raises(PermissionError):
            session.flush()
        session.rollback()
        session.delete(session.get_one(AuditEntry, entries["recent"]))
        with pytest.raises(PermissionError):
            session.flush()
    assert _targets(app) == list(MOMENTS)


def test_the_database_refuses_update(app: Flask, entries: dict[str, int]) -> None:
    with get_db(app).engine.begin() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text("UPDATE audit_entries SET actor = 'someone else' WHERE id = :id"), {"id": entries["old"]})


def test_postgresql_refuses_delete_except_the_purge_of_old_entries(
    app: Flask, backend: str, entries: dict[str, int]
) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite has no transaction-local setting for the trigger to check; the code path is tested")
    engine = get_db(app).engine
    with engine.begin() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text("DELETE FROM audit_entries WHERE id = :id"), {"id": entries["old"]})
    # a declared cutoff lets through the deletion of older rows only
    with engine.begin() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text("SELECT set_config('seonbyeol.audit_purge_before', '2020-01-01T00:00:00+09:00', true)"))
        conn.execute(text("DELETE FROM audit_entries WHERE id = :id"), {"id": entries["recent"]})
    with engine.begin() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text("UPDATE audit_entries SET detail = '{}' WHERE id = :id"), {"id": entries["old"]})
    assert _targets(app) == list(MOMENTS)


def test_no_code_path_updates_or_deletes_access_records_but_the_purge() -> None:
    """A scan of the service, the admin UI and the rules library for writes to the audit table."""
    writes = re.compile(
        r"\b(update|delete)\(\s*(AuditEntry|audit_entries)\b|\b(UPDATE|DELETE\s+FROM)\s+audit_entries\b", re.I
    )
    found = []
    for folder in ("service", "admin_ui", "rules"):
        for path in sorted((PROJECT / folder).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if writes.search(line):
                    found.append(f"{path.relative_to(PROJECT)}:{number}: {line.strip()}")
    assert not found, found
    # the one deletion: service.audit.purge, on the audit table, bounded by the cutoff
    source = (PROJECT / "service" / "audit.py").read_text(encoding="utf-8")
    assert source.count("delete(") == 1 and "delete(table).where(table.c.at < cutoff)" in source
    assert "table: Table = AuditEntry.__table__" in source
