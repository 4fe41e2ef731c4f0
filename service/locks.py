"""Locks that keep racing writers apart across processes and hosts.

Nominations of one household (for any program of one resource category) queue on a one-key
advisory lock, so the second sees the first (``household_already_nominated``,
``duplicate_nomination``, ``household_nominated_elsewhere``).

A re-screening reads every open nomination, plans, and writes new verdicts; two at once on one
program would each plan against the other's half-written state. On PostgreSQL the re-screening
holds a transaction-scoped advisory lock on the program (released at commit or rollback, also
when the process is killed: the server ends the session). The two-key form is used, whose key
space is apart from the one-key household locks of :func:`lock_households`. On SQLite
every write transaction is ``BEGIN IMMEDIATE`` and already holds the database-wide write lock,
so a second re-screening waits for the first (up to the busy timeout).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Final

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from .errors import Conflict
from .models import Program, Resident

RESCREEN_LOCK_CLASS: Final = 0x5342_5253  # "SBRS": seonbyeol re-screening


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def lock_households(session: Session, program: Program, rrn_indexes: Sequence[str]) -> None:
    """Queue behind any other transaction nominating these people's households for this resource
    category (a person not in the registry stands for a household of one).

    PostgreSQL only (transaction-scoped, taken in one order so two batches cannot deadlock);
    SQLite's write transactions already hold the database-wide lock from their first statement.
    """
    if not _is_postgresql(session):
        return
    households = dict(
        session.execute(
            select(Resident.rrn_index, Resident.household_key).where(Resident.rrn_index.in_(list(rrn_indexes)))
        )
        .tuples()
        .all()
    )
    keys = sorted(
        int.from_bytes(hashlib.sha256(f"{program.category_id}:{key}".encode()).digest()[:8], "big", signed=True)
        for key in {households.get(i) or i for i in rrn_indexes}
    )
    for key in keys:
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


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
