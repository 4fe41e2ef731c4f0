"""Shared fixtures: an app per database backend, a client, a CLI runner, factories.

Database tests run on SQLite and on the PostgreSQL server of the machine. Each backend's
database is created and migrated once per session; tables are emptied after every test.
When PostgreSQL is unreachable its tests are skipped with a loud reason, never silently.

No test depends on today's date: the service's clock (``service.clock``) is frozen at
``FROZEN_NOW`` for every test, and ``SEONBYEOL_FROZEN_NOW`` carries the same instant to any
server a test starts in a subprocess. A test about the clock itself uses ``clock.unfrozen()``.
"""

from __future__ import annotations

import base64
import os
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from service import clock, create_app
from service.db import get_db, make_engine
from service.migrations_runner import upgrade
from service.models import Base

PG_ADMIN_URL = os.environ.get("SEONBYEOL_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
TEST_DATA_KEY = base64.urlsafe_b64encode(b"k" * 32).decode()
FROZEN_NOW = "2026-11-25T10:00:00+09:00"
"""The test suite's "now": inside the fixtures' programs (2026-11-01..12-31), receipts' look-back windows."""
_pg_reason: str | None = None


def _pg_reachable() -> str | None:
    """None when PostgreSQL answers, else the reason it does not."""
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means unreachable
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return None


def pytest_configure(config: pytest.Config) -> None:
    global _pg_reason
    _pg_reason = _pg_reachable()
    # Inherited by every subprocess a test starts (gunicorn in test_concurrency passes it on explicitly too).
    os.environ[clock.FROZEN_NOW_VAR] = FROZEN_NOW
    clock.set_now(FROZEN_NOW)
    if "faketime" in os.environ.get("LD_PRELOAD", ""):
        _subprocesses_without_faketime()


def _subprocesses_without_faketime() -> None:
    """Under libfaketime (``faketime -f +730d pytest``, the check that no test depends on the date),
    start subprocesses without it; their service clock is frozen by SEONBYEOL_FROZEN_NOW anyway.

    libfaketime (0.9.10) shifts CLOCK_MONOTONIC too but not the deadline of a timed lock wait
    (``queue.get(timeout=1)``, the loop of gunicorn's arbiter), which then sleeps for the whole
    shift: a server started by a test would never stop. Its ``FAKETIME_DONT_FAKE_MONOTONIC`` breaks
    ``time.sleep`` instead. This process has loaded the library already and keeps the shifted clock.
    """
    kept = [lib for lib in os.environ["LD_PRELOAD"].replace(":", " ").split() if "faketime" not in lib]
    if kept:
        os.environ["LD_PRELOAD"] = " ".join(kept)
    else:
        del os.environ["LD_PRELOAD"]


@pytest.fixture(autouse=True)
def frozen_clock() -> Iterator[datetime]:
    """Every test runs at FROZEN_NOW (in KST), whatever the real date; undone after the test."""
    with clock.frozen(FROZEN_NOW) as instant:
        yield instant


@pytest.fixture(autouse=True)
def _no_parked_rate_limit_timers() -> Iterator[None]:
    """After each test, cancel the 10 ms expiry timers of in-memory rate-limit storages (``limits``;
    one per app, re-armed by the next limited request).

    They end by themselves within milliseconds, but not under libfaketime (see above: a timed wait
    sleeps for the whole shift): there every app's timer thread would stay behind, a test counting
    Timer threads would find them, and the interpreter would wait for them at exit.
    """
    yield
    for thread in threading.enumerate():
        if isinstance(thread, threading.Timer) and "MemoryStorage." in getattr(thread.function, "__qualname__", ""):
            thread.cancel()


def pytest_report_header(config: pytest.Config) -> list[str]:
    if _pg_reason is None:
        return [f"PostgreSQL: reachable at {make_url(PG_ADMIN_URL).host}, database tests run on both backends"]
    banner = "!" * 78
    return [
        banner,
        f"!!! PostgreSQL UNREACHABLE ({_pg_reason})",
        "!!! every PostgreSQL database test will be SKIPPED; only SQLite is tested",
        banner,
    ]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _pg_reason is not None:
        terminalreporter.write_sep("!", f"PostgreSQL tests SKIPPED: unreachable ({_pg_reason})", red=True)


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("db") / "test.db"
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    if _pg_reason is not None:
        pytest.skip(f"PostgreSQL UNREACHABLE ({_pg_reason}): PostgreSQL test skipped")
    name = f"seonbyeol_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{backend}_url"))


def _empty_tables(app: Flask) -> None:
    engine = get_db(app).engine
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    application = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "SECRET_KEY": "test-secret",
            "DATA_KEY": TEST_DATA_KEY,
            "IMPORT_BATCH_SIZE": 50,
        }
    )
    yield application
    _empty_tables(application)
    get_db(application).engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()
