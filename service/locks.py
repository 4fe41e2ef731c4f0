"""Locks that keep two long operations on one program from interleaving.

A re-screening reads every open nomination, plans, and writes new verdicts; two at once on one
program would each plan against the other's half-written state. On PostgreSQL the re-screening
holds a transaction-scoped advisory lock on the program (released at commit or rollback, also
when the process is killed: the server ends the session). The two-key form is used, whose key
space is apart from the one-key household locks of ``nominating.lock_household``. On SQLite
every write transaction is ``BEGIN IMMEDIATE`` and already holds the database-wide write lock,
so a second re-screening waits for the first (up to the busy timeout).
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import text
from sqlalchemy.orm import Session

from .errors import Conflict

RESCREEN_LOCK_CLASS: Final = 0x5342_5253  # "SBRS": seonbyeol re-screening


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def lock_program_for_rescreen(session: Session, program_id: int, wait: bool = False) -> bool:
    """Take the program's re-screening lock in the session's transaction.

    ``wait=False`` (the API): a re-screening already running is a 409, answered at once rather
    than holding a worker for minutes. ``wait=True`` (the CLI): queue behind it. Returns True
    when the lock was free at once (always on SQLite).
    """
    if not _is_postgresql(session):
        return True
    params = {"cls": RESCREEN_LOCK_CLASS, "id": program_id}
    if session.scalar(text("SELECT pg_try_advisory_xact_lock(:cls, :id)"), params):
        return True
    if not wait:
        raise Conflict(
            "이 사업의 재심사가 이미 진행 중입니다; 끝난 뒤 다시 요청하세요",
            "a re-screening of this program is already running; ask again when it has finished",
        )
    session.execute(text("SELECT pg_advisory_xact_lock(:cls, :id)"), params)
    return False


def rescreen_running(session: Session, program_id: int) -> bool:
    """Whether another session holds the program's re-screening lock (PostgreSQL; False on SQLite)."""
    if not _is_postgresql(session):
        return False
    held = session.scalar(
        text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid = CAST(:cls AS oid) AND objid = CAST(:id AS oid) AND objsubid = 2 "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND pid <> pg_backend_pid()"
        ),
        {"cls": RESCREEN_LOCK_CLASS, "id": program_id},
    )
    return bool(held)
