"""Every evaluate's access record is committed before its answer is sent: checked from outside,
through a live gunicorn server (2 workers, on each backend), by another connection the moment
each answer arrives."""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import create_engine, event, text
from sqlalchemy.pool import NullPool

from service.config import ConfigError, evaluate_audit_commit
from service.db import get_db
from service.security import get_cipher
from tests.factories import DISTRICT, resident, write_csv, write_district

from .conftest import PROGRAM, RRN, Api
from .live_server import request, serve

PEOPLE = 24


def _rows() -> list[dict[str, str]]:
    """Twelve two-person households (valid RRNs), one evaluation each."""
    rows = []
    for h in range(PEOPLE // 2):
        rows.append(resident(f"4103{h + 10:02d}-2{h:06d}", f"세대주{h}", f"A{h}", "head"))
        rows.append(resident(f"4305{h + 10:02d}-1{h:06d}", f"세대원{h}", f"A{h}", "member"))
    return rows


def _token(runner: FlaskCliRunner, institution: str, role: str) -> str:
    out = runner.invoke(args=["create-token", "--institution", institution, "--role", role])
    assert out.exit_code == 0, out.output
    return str(out.output.strip().splitlines()[-1])


@pytest.mark.parametrize("commit", ["durable", "fast"])
def test_the_access_record_is_committed_before_the_answer(
    app: Flask, runner: FlaskCliRunner, database_url: str, tmp_path: Path, commit: str
) -> None:
    """Either setting of SEONBYEOL_EVALUATE_AUDIT_COMMIT: ``fast`` skips only the disk flush."""
    district = copy.deepcopy(DISTRICT)
    district["institutions"].append(
        {"code": "center-a", "name": "테스트센터", "kind": "community_center", "dong": "1120056000"}
    )
    assert runner.invoke(args=["load-district", str(write_district(tmp_path / "d.yaml", district))]).exit_code == 0
    rows = _rows()
    assert runner.invoke(args=["import-residents", str(write_csv(tmp_path / "r.csv", rows))]).exit_code == 0
    nominator = _token(runner, "center-a", "nominator")
    admin = _token(runner, "welfare-policy", "admin")
    cipher = get_cipher(app)
    watcher = create_engine(database_url, poolclass=NullPool)  # a fresh connection for every look
    count = text("SELECT count(*) FROM audit_entries WHERE action = 'evaluate' AND subject_index = :idx")

    with serve(database_url, tmp_path, workers=2, env_extra={"SEONBYEOL_EVALUATE_AUDIT_COMMIT": commit}) as (
        base,
        log,
    ):
        assert request(f"{base}/api/v1/programs", admin, PROGRAM)[0] == 201

        def evaluate(row: dict[str, str]) -> tuple[int, int]:
            body = {"program": "kimchi-2026", "nominee": {"rrn": row["rrn"], "name": row["name"]}}
            status, _answer = request(f"{base}/api/v1/evaluate", nominator, body)
            with watcher.connect() as conn:  # the moment the answer is in
                seen = conn.execute(count, {"idx": cipher.blind_index(row["rrn"].replace("-", ""))}).scalar_one()
            return status, int(seen)

        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(evaluate, rows))
    watcher.dispose()
    assert [status for status, _ in results] == [200] * PEOPLE, log.read_text()[-3000:]
    assert [seen for _, seen in results] == [1] * PEOPLE


def test_fast_skips_the_flush_of_the_evaluate_record_only(app: Flask, api: Api, program: dict[str, Any]) -> None:
    """``fast`` turns PostgreSQL's synchronous_commit off for the evaluate's own write
    transaction, from inside the access record's INSERT (``set_config(…, true)``: it ends with
    the transaction), so it costs no statement and no transaction block of its own: both settings
    send the same statements, the same number of them; ``durable`` never touches it; a
    nomination's transaction keeps it on either way; SQLite has nothing to turn off."""
    seen: list[str] = []
    engine = get_db(app).engine
    postgres = engine.dialect.name == "postgresql"

    def watch(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    body = {"program": "kimchi-2026", "nominee": {"rrn": RRN["김순자"], "name": "김순자"}}
    event.listen(engine, "before_cursor_execute", watch)
    sent: dict[str, list[str]] = {}
    try:
        for setting, expected in (("durable", 0), ("fast", 1 if postgres else 0), ("durable", 0)):
            app.config["EVALUATE_AUDIT_COMMIT"] = setting
            seen.clear()
            assert api.call("POST", "/api/v1/evaluate", "haengdang", body).status_code == 200
            assert sum("synchronous_commit" in s for s in seen) == expected, (setting, seen)
            assert not any(s.lstrip().upper().startswith(("SET", "BEGIN")) for s in seen), seen
            sent[setting] = [s.split(" ", 1)[0] for s in seen]
            if postgres and setting == "fast":
                assert any("set_config" in s and s.startswith("INSERT INTO audit_entries") for s in seen), seen
        assert sent["fast"] == sent["durable"]
        seen.clear()
        assert api.nominate("haengdang", "김순자").status_code == 201
        assert not any("synchronous_commit" in s for s in seen)
    finally:
        event.remove(engine, "before_cursor_execute", watch)
        app.config["EVALUATE_AUDIT_COMMIT"] = "durable"
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:  # the pooled connection did not keep the setting
            assert conn.execute(text("SHOW synchronous_commit")).scalar_one() == "on"


@pytest.mark.parametrize("value", ["sometimes", "DURABLE!", "0"])
def test_a_bad_commit_setting_stops_start_up(value: str) -> None:
    with pytest.raises(ConfigError, match="SEONBYEOL_EVALUATE_AUDIT_COMMIT"):
        evaluate_audit_commit(value)
    assert evaluate_audit_commit(" Fast ") == "fast" and evaluate_audit_commit(None) == "durable"
