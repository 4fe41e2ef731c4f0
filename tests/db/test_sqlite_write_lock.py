"""SQLite writers wait for each other in short steps (service.db.begin_immediate)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from service.db import BUSY_TIMEOUT_S, begin_immediate


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    return conn


def test_a_writer_waits_for_the_lock_and_then_writes(tmp_path: Path) -> None:
    path = tmp_path / "lock.db"
    first, second = _connect(path), _connect(path)
    first.execute("CREATE TABLE t (v INTEGER)")
    begin_immediate(first)
    first.execute("INSERT INTO t VALUES (1)")
    started, done = threading.Event(), threading.Event()

    def write() -> None:
        started.set()
        begin_immediate(second)  # blocks until the first commits
        second.execute("INSERT INTO t VALUES (2)")
        second.execute("COMMIT")
        done.set()

    thread = threading.Thread(target=write)
    thread.start()
    started.wait()
    assert not done.wait(0.2)  # still waiting while the first holds the lock
    first.execute("COMMIT")
    thread.join(10)
    assert done.is_set()
    assert [v for (v,) in first.execute("SELECT v FROM t ORDER BY v")] == [1, 2]
    # the busy timeout of the connection is back for its other statements
    assert second.execute("PRAGMA busy_timeout").fetchone()[0] == int(BUSY_TIMEOUT_S * 1000)


def test_a_writer_gives_up_after_its_timeout_with_sqlites_error(tmp_path: Path) -> None:
    path = tmp_path / "lock.db"
    first, second = _connect(path), _connect(path)
    first.execute("CREATE TABLE t (v INTEGER)")
    begin_immediate(first)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        begin_immediate(second, timeout=0.05)
    assert not second.in_transaction
    first.execute("COMMIT")
    begin_immediate(second, timeout=0.05)  # free now: at once
    assert second.in_transaction
    second.execute("ROLLBACK")
