"""Faults: the database going away and coming back, two re-screenings at once, SIGKILL mid-way."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url

from service import clock, create_app
from service.db import get_db, make_engine
from service.locks import RESCREEN_LOCK_CLASS
from service.models import Nomination, Notification, Program, Resident, VerdictRecord
from service.security import get_cipher
from tests.api.conftest import RRN
from tests.conftest import FROZEN_NOW, TEST_DATA_KEY
from tests.factories import import_counts, resident, write_csv

from .conftest import Api, problem
from .tcp_proxy import TcpProxy

EVALUATE = {"program": "kimchi-2026", "nominee": {"rrn": RRN["김순자"], "name": "김순자"}}


def _env(database_url: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url, "SEONBYEOL_DATA_KEY": TEST_DATA_KEY,
            "SEONBYEOL_SECRET_KEY": "test", "SEONBYEOL_ENV": "development",
            clock.FROZEN_NOW_VAR: FROZEN_NOW}  # fmt: skip


def _cli(database_url: str, workdir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """``seonbyeol ARGS`` in its own process (output in workdir/cli-*.log), for a test to kill."""
    with (workdir / f"cli-{args[0]}-{time.monotonic_ns()}.log").open("wb") as log:
        return subprocess.Popen([sys.executable, "-m", "service.cli", *args], env={**_env(database_url), **(env or {})},
                                cwd=workdir, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip


def _wait_for(condition: Any, what: str, process: subprocess.Popen[bytes] | None = None, limit: float = 120) -> Any:
    """Poll ``condition`` until it is truthy; fail if ``process`` ended first or after ``limit`` s."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if process is not None and process.poll() is not None:
            pytest.fail(f"the command ended (exit {process.returncode}) before {what}")
        time.sleep(0.02)
    pytest.fail(f"gave up waiting for {what}")


# ----------------------------------------------------------------------------- database down and back


@pytest.fixture
def proxied(app: Flask, postgresql_url: str) -> Iterator[tuple[TcpProxy, Flask]]:
    """A second app whose only way to PostgreSQL is a proxy the test can cut."""
    url = make_url(postgresql_url)
    with TcpProxy(url.port or 5432) as proxy:
        other = create_app(
            {
                "TESTING": True,
                "DATABASE_URL": url.set(port=proxy.port).render_as_string(False),
                "INSTANCE_PATH": app.instance_path,
                "SECRET_KEY": "x",
                "DATA_KEY": TEST_DATA_KEY,
            }
        )
        yield proxy, other  # fmt: skip
        get_db(other).engine.dispose()


@pytest.mark.parametrize("backend", ["postgresql"])
def test_database_down_is_a_503_and_recovers_without_restart(
    api: Api, program: dict[str, Any], proxied: tuple[TcpProxy, Flask]
) -> None:
    proxy, other = proxied
    through = Api(other.test_client(), api.tokens)
    assert through.call("GET", "/api/v1/programs/kimchi-2026", "haengdang").status_code == 200
    assert through.call("POST", "/api/v1/evaluate", "haengdang", EVALUATE).status_code == 200
    proxy.stop()
    for method, path, body in (("GET", "/api/v1/programs/kimchi-2026", None),
                               ("POST", "/api/v1/evaluate", EVALUATE),
                               ("POST", "/api/v1/programs/kimchi-2026/nominations",
                                {"nominee": EVALUATE["nominee"]})):  # fmt: skip
        answer = through.call(method, path, "haengdang", body)
        data = problem(answer, 503)
        assert data["title"] == "서비스를 사용할 수 없습니다" and "데이터베이스" in data["detail"]
        assert answer.headers["Retry-After"] == "5"
    english = problem(through.call("GET", "/api/v1/programs", "haengdang", headers={"Accept-Language": "en"}), 503)
    assert "database" in english["detail"]
    assert through.client.get("/healthz").status_code == 503
    assert through.client.get("/readyz").status_code == 503
    proxy.start()  # the database is back: the same app serves again, no restart
    assert through.client.get("/healthz").status_code == 200
    assert through.call("GET", "/api/v1/programs/kimchi-2026", "haengdang").status_code == 200
    assert through.call("POST", "/api/v1/evaluate", "haengdang", EVALUATE).status_code == 200
    assert through.nominate("haengdang", "김순자").status_code == 201


# ----------------------------------------------------------------------------- one re-screening at a time


@contextmanager
def _held_elsewhere(app: Flask, program_id: int) -> Iterator[Engine]:
    """Another connection (another process's, in effect) holding the program's re-screening lock
    in an open transaction; released (rolled back, closed) on leaving, whatever happened."""
    engine = make_engine(app.config["SQLALCHEMY_URL"])
    conn = engine.connect()
    try:
        conn.execute(text("SELECT pg_advisory_xact_lock(:c, :p)"), {"c": RESCREEN_LOCK_CLASS, "p": program_id})
        yield engine
    finally:
        conn.rollback()
        conn.close()
        engine.dispose()


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Never leave a command of ours running (it would hold locks the teardown waits for)."""
    if process.poll() is None:
        process.kill()
        process.wait(timeout=30)


def _program_id(app: Flask, code: str = "kimchi-2026") -> int:
    with get_db(app).session() as s:
        found = s.scalar(select(Program.id).where(Program.code == code))
        assert found is not None
        return found


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_second_rescreen_of_one_program_is_a_409(app: Flask, api: Api, program: dict[str, Any]) -> None:
    api.nominate("haengdang", "김순자")
    with _held_elsewhere(app, _program_id(app)):
        data = problem(api.call("POST", "/api/v1/programs/kimchi-2026/rescreen", "admin"), 409)
        assert "재심사가 이미 진행 중" in data["detail"]
        assert api.call("GET", "/api/v1/programs/kimchi-2026").status_code == 200  # readers are not held up
    answer = api.call("POST", "/api/v1/programs/kimchi-2026/rescreen", "admin")
    assert answer.status_code == 200 and answer.get_json()["screened"] == 1


@pytest.mark.parametrize("backend", ["postgresql"])
def test_the_rescreen_command_waits_for_the_running_one(
    app: Flask, api: Api, program: dict[str, Any], database_url: str, tmp_path: Path
) -> None:
    api.nominate("haengdang", "김순자")
    command: subprocess.Popen[bytes] | None = None
    try:
        with _held_elsewhere(app, _program_id(app)) as engine:
            command = _cli(database_url, tmp_path, "rescreen", "kimchi-2026")
            waiting = text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                " AND classid = CAST(:c AS oid)"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
            _wait_for(lambda: _scalar(engine, waiting, c=RESCREEN_LOCK_CLASS), "the command queued", command)
            assert command.poll() is None, "it waits rather than failing"
        assert command.wait(timeout=120) == 0  # the lock is free: it goes on and finishes
    finally:
        if command is not None:
            _stop(command)
    output = next(tmp_path.glob("cli-rescreen-*.log")).read_text()
    assert "waiting for the re-screening already running" in output and "kimchi-2026: 재심사 1건" in output


# ----------------------------------------------------------------------------- SIGKILL mid-way


def _residents(count: int) -> list[dict[str, str]]:
    """``count`` valid, distinct residents (synthetic numbers: birth date, sex digit, serial)."""
    rows = []
    for i in range(count):
        born = date(1930, 1, 1) + timedelta(days=i % 25000)
        sex = "1" if i % 2 else "2"
        number = f"{born:%y%m%d}-{sex}{i:06d}"
        rows.append(resident(number, f"주민{i}", f"K{i // 3}", "head" if i % 3 == 0 else "member"))
    return rows


def _scalar(engine: Engine, query: Any, **params: Any) -> Any:
    """One query in a transaction of its own (PostgreSQL keeps one pg_stat_activity snapshot per transaction)."""
    with engine.connect() as conn:
        return conn.execute(query, params).scalar()


def _count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar() or 0)


def test_an_import_killed_mid_way_completes_on_rerun(
    app: Flask, runner: FlaskCliRunner, database_url: str, tmp_path: Path
) -> None:
    total, batch = 30_000, 2000  # the command's chunk (SEONBYEOL_IMPORT_BATCH_SIZE): 15 chunks to kill it among
    app.config["IMPORT_BATCH_SIZE"] = batch  # the re-runs below too (the fixture's 50 would make them slow)
    rows = _residents(total)
    csv_path = write_csv(tmp_path / "big.csv", rows)
    engine = make_engine(app.config["SQLALCHEMY_URL"])
    try:
        command = _cli(
            database_url, tmp_path, "import-residents", str(csv_path), env={"SEONBYEOL_IMPORT_BATCH_SIZE": str(batch)}
        )
        try:
            loaded = _wait_for(lambda: _count(engine, Resident), "a first batch was committed", command)
            os.kill(command.pid, signal.SIGKILL)
            assert command.wait(timeout=30) == -signal.SIGKILL
        finally:
            _stop(command)
        before = _count(engine, Resident)
        assert 0 < loaded <= before < total, "killed mid-way"
        assert before % batch == 0, "only whole batches were committed"
    finally:
        engine.dispose()
    rerun = runner.invoke(args=["import-residents", str(csv_path)])
    assert rerun.exit_code == 0, rerun.output
    counts = import_counts(rerun.output)
    assert (counts["inserted"], counts["unchanged"], counts["rejected"]) == (total - before, before, 0)
    with get_db(app).session() as s:
        assert s.scalar(select(func.count(func.distinct(Resident.rrn_index)))) == total
        sample = s.scalars(select(Resident).order_by(Resident.id).limit(5)).all()
        cipher = get_cipher(app)
        assert {cipher.decrypt(r.rrn_enc) for r in sample} <= {r["rrn"].replace("-", "") for r in rows}
    again = import_counts(runner.invoke(args=["import-residents", str(csv_path)]).output)
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, total), "nothing doubled"


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_rescreen_killed_mid_way_leaves_nothing_and_reruns_once(
    app: Flask, api: Api, program: dict[str, Any], runner: FlaskCliRunner, database_url: str, tmp_path: Path
) -> None:
    for who, name in (("haengdang", "김순자"), ("eungbong", "이철수"), ("welfare_center", "윤지민")):
        assert api.nominate(who, name).status_code == 201
    with get_db(app).session() as s:  # the registry now says 이철수 died
        person = s.scalars(select(Resident).where(Resident.rrn_index == get_cipher(app).blind_index(
            RRN["이철수"].replace("-", "")))).one()  # fmt: skip
        person.status, person.status_date = "deceased", date(2026, 11, 1)
    engine = make_engine(app.config["SQLALCHEMY_URL"])
    verdicts_before = _count(engine, VerdictRecord)
    blocker = engine.connect()
    blocker.execute(text("LOCK TABLE verdicts IN SHARE MODE"))  # the re-screening stops at its verdict INSERT
    command = _cli(database_url, tmp_path, "rescreen", "kimchi-2026")
    try:
        stuck = text("SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                     "AND query LIKE 'INSERT INTO verdicts%' AND datname = current_database()")  # fmt: skip
        backend_pid = _wait_for(lambda: _scalar(engine, stuck), "the re-screening reached its writes", command)
        os.kill(command.pid, signal.SIGKILL)
        assert command.wait(timeout=30) == -signal.SIGKILL
        blocker.rollback()  # let the orphaned backend run into its closed connection and roll back
        gone = text("SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = :pid AND state <> 'idle'")
        _wait_for(lambda: _scalar(engine, gone, pid=backend_pid), "the killed transaction ended")
    finally:
        _stop(command)
        blocker.rollback()
        blocker.close()
    assert _count(engine, VerdictRecord) == verdicts_before
    assert _count(engine, Notification) == 0
    with engine.connect() as conn:
        outcomes = dict(conn.execute(select(Nomination.id, Nomination.current_outcome)).tuples().all())
    assert "ineligible" not in outcomes.values(), "the half-done re-screening stored nothing"
    engine.dispose()
    first = runner.invoke(args=["rescreen", "kimchi-2026"])
    assert first.exit_code == 0 and "판정 변경 1건" in first.output and "부적격 전환 1건" in first.output, first.output
    second = runner.invoke(args=["rescreen", "kimchi-2026"])
    assert second.exit_code == 0 and "판정 변경 0건" in second.output, second.output
    with get_db(app).session() as s:
        assert s.scalar(select(func.count()).select_from(VerdictRecord)) == verdicts_before + 1, "stored once"
        assert s.scalar(select(func.count()).select_from(Notification)) == 1
