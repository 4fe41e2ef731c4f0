"""After a bulk load PostgreSQL's planner sees the new rows (``ANALYZE``), whether or not
autovacuum runs: the facts statement is planned for the real tables, not for empty ones."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import text

from service.db import get_db
from tests.factories import resident, write_csv, write_district


def _analyzed(app: Flask) -> dict[str, datetime | None]:
    with get_db(app).engine.connect() as conn:
        rows = conn.execute(text("SELECT relname, last_analyze FROM pg_stat_user_tables")).all()
    return {name: at for name, at in rows}


def test_an_import_refreshes_the_planner_statistics(app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    assert runner.invoke(args=["load-district", str(write_district(tmp_path / "d.yaml"))]).exit_code == 0
    database = get_db(app)
    if database.is_sqlite:  # nothing to refresh: SQLite's statements are written for its planner as is
        with database.engine.connect() as conn:
            before = conn.execute(text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")).scalar()
        rows = [resident("450312-2345678", "김순자", "H1", "head")]
        assert runner.invoke(args=["import-residents", str(write_csv(tmp_path / "r.csv", rows))]).exit_code == 0
        with database.engine.connect() as conn:
            after = conn.execute(text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")).scalar()
        assert before == after == 0
        return
    before = _analyzed(app)["residents"]  # None, or the time an earlier test's import analysed it
    rows = [resident("450312-2345678", "김순자", "H1", "head"), resident("430102-1345671", "박영수", "H2", "head")]
    assert runner.invoke(args=["import-residents", str(write_csv(tmp_path / "r.csv", rows))]).exit_code == 0
    first = _analyzed(app)["residents"]
    assert first is not None and (before is None or first > before)
    # the same file again changes nothing, so there is nothing to re-analyse
    assert runner.invoke(args=["import-residents", str(write_csv(tmp_path / "r.csv", rows))]).exit_code == 0
    assert _analyzed(app)["residents"] == first
