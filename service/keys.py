"""Key rotation: move every stored RRN to a new data key while the service keeps serving.

The key ring (service/crypto.py) is ``SEONBYEOL_DATA_KEY`` (current) plus
``SEONBYEOL_OLD_DATA_KEYS`` (previous). Four tables hold an RRN as ciphertext and blind index —
residents, nominations, receipts, registry_events — and each row says in ``key_id`` which data
key it is under. The design rests on one rule:

**A person's rows are always moved together, in one transaction, across all four tables.**

So at every committed moment all rows of one person share one key, and the joins between
tables by ``rrn_index`` (facts, statistics, household concentration, the unique index of
accepted nominations) keep working mid-rotation. Two things move people:

* :func:`person_indexes` — every lookup by RRN (evaluate, nominate, batch, registry events,
  imports) calls it first. While the ring has previous keys and rows under them remain, it
  moves the looked-up people to the current key (in the caller's transaction) and returns
  their current-key indexes; writers then store everything under the current key only. With
  one key, or once no old rows are left, it only computes the HMACs.
* :func:`rotate` — ``seonbyeol rotate-key`` walks each table in id order, in batches of one
  transaction each, and moves the people of every row not yet under the current key. A
  SIGKILL loses at most the batch in flight (rolled back: those rows stay under their old
  key, still readable and found); a re-run continues with what is left. It is done when no
  row is under an old key.

The access log cannot be re-indexed (it is append-only): an entry keeps the blind index under
the key in use when it was written, and a search by RRN tries the index under every key of the
ring (service/audit.py). An old key therefore stays in ``SEONBYEOL_OLD_DATA_KEYS`` for subject
search of older entries until the retention purge has removed them (``rotate-key --status`` says
until when); it is no longer needed for any resident, nomination, receipt or event.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidTag
from sqlalchemy import ColumnElement, Table, bindparam, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from . import audit, db
from .crypto import RRNCipher, UnknownKey
from .models import AuditEntry, Nomination, Receipt, RegistryEvent, Resident

log = logging.getLogger(__name__)

PERSON_TABLES: tuple[Any, ...] = (Resident, Nomination, Receipt, RegistryEvent)
"""Every model holding an RRN index, in the order rows are locked (the same everywhere, so two
movers queue instead of deadlocking)."""
RECHECK_SECONDS = 30.0
"""How long a process trusts "rows under old keys remain" before asking the database again."""
_CHUNK = 400
_LOCK_TIMEOUT = "500ms"  # PostgreSQL: a rotation batch gives way (and retries) rather than hold up requests
_ATTEMPTS = 20


class RotationError(RuntimeError):
    """The rotation cannot go on (a row under a key that is not in the ring); the message says how to fix it."""


def _table(model: Any) -> Table:
    return model.__table__  # type: ignore[no-any-return]


def not_current(model: Any, key_id: str) -> ColumnElement[bool]:
    """Rows not under ``key_id`` (NULL: written before key ids). Two ranges, so an index serves it."""
    column = _table(model).c.key_id
    return or_(column.is_(None), column < key_id, column > key_id)


def _chunks(items: Sequence[str], size: int = _CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --------------------------------------------------------------------------- moving people


def _candidates(cipher: RRNCipher, digits: Iterable[str]) -> dict[str, str]:
    """Each person's index under every key of the ring → the person's digits."""
    by_index: dict[str, str] = {}
    for number in sorted(set(digits)):
        for index in cipher.candidate_indexes(number):
            by_index[index] = number
    return by_index


def _old_rows(session: Session, cipher: RRNCipher, by_index: dict[str, str]) -> list[tuple[Any, list[tuple[int, str]]]]:
    """(model, [(id, index)]) of these people's rows not under the current key, in lock order."""
    wanted = sorted(by_index)
    found: list[tuple[Any, list[tuple[int, str]]]] = []
    for model in PERSON_TABLES:
        table = _table(model)
        rows: list[tuple[int, str]] = []
        for chunk in _chunks(wanted):
            query = select(table.c.id, table.c.rrn_index).where(
                table.c.rrn_index.in_(chunk), not_current(model, cipher.key_id)
            )
            rows.extend((r.id, r.rrn_index) for r in session.execute(query))
        if rows:
            found.append((model, sorted(rows)))
    return found


def move_people(session: Session, cipher: RRNCipher, digits: Iterable[str]) -> dict[str, int]:
    """Move every row of these people that is not under the current key to it, in all four
    tables, in the caller's transaction: fresh ciphertext, current-key index and key id.
    Returns the rows moved per table. In a read-only transaction (service/db.py) that has rows
    to move, the session goes on as a writer first (``write_after_read``)."""
    current = cipher.current
    by_index = _candidates(cipher, digits)
    if not by_index:
        return {}
    found = _old_rows(session, cipher, by_index)
    if found and db.is_read_only(session):
        db.write_after_read(session)
    moved: dict[str, int] = {}
    for model, rows in found:
        table = _table(model)
        session.execute(
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values(rrn_index=bindparam("new_index"), rrn_enc=bindparam("new_enc"), key_id=bindparam("new_key")),
            [
                {
                    "row_id": row_id,
                    "new_index": current.blind_index(by_index[index]),
                    "new_enc": current.encrypt(by_index[index]),
                    "new_key": current.key_id,
                }
                for row_id, index in rows
            ],
        )
        moved[table.name] = len(rows)
    return moved


def old_rows_remain(session: Session, cipher: RRNCipher) -> bool:
    """Whether any row is not under the current key; remembered per process (``RECHECK_SECONDS``),
    and for good once none remain: every writer writes under the current key, so none come back."""
    memo = cipher.memo
    url = str(session.get_bind().engine.url)
    state = memo.get(url)
    if state == "settled":
        return False
    now = time.monotonic()
    if isinstance(state, float) and now < state:
        return True
    remain = any(
        session.execute(select(_table(m).c.id).where(not_current(m, cipher.key_id)).limit(1)).first() is not None
        for m in PERSON_TABLES
    )
    memo[url] = now + RECHECK_SECONDS if remain else "settled"
    return remain


def person_indexes(session: Session, cipher: RRNCipher, digits: Sequence[str]) -> list[str]:
    """The blind index of each person under the current key, after moving any of their rows
    still under an old key (in the caller's transaction). Every lookup by RRN calls this, so
    that a person is found whichever key their rows were under when the lookup began. A
    read-only transaction (service/db.py) goes on as a writer only when there is a row to move."""
    if cipher.previous and digits and old_rows_remain(session, cipher):
        if db.is_read_only(session):
            if not _old_rows(session, cipher, _candidates(cipher, digits)):
                return [cipher.blind_index(d) for d in digits]
            db.write_after_read(session)  # before the savepoint: on SQLite it ends the read transaction
        try:
            with session.begin_nested():
                move_people(session, cipher, digits)
        except IntegrityError:  # rows of one person under two keys that collide (see rotate)
            log.warning("key rotation: could not move a looked-up person's rows; rotate-key will report them")
    return [cipher.blind_index(d) for d in digits]


def person_index(session: Session, cipher: RRNCipher, digits: str) -> str:
    """:func:`person_indexes` for one person."""
    return person_indexes(session, cipher, [digits])[0]


# --------------------------------------------------------------------------- the rotation


@dataclass
class RotationReport:
    """What a run of ``rotate-key`` did and what is left."""

    key_id: str
    moved: dict[str, int] = field(default_factory=dict)
    batches: int = 0
    conflicts: int = 0
    remaining: dict[str, int] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not any(self.remaining.values())

    def add(self, moved: dict[str, int]) -> None:
        for table, count in moved.items():
            self.moved[table] = self.moved.get(table, 0) + count


Progress = Callable[[str, int, RotationReport], None]


def _begin_batch(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL lock_timeout = '{_LOCK_TIMEOUT}'"))


def _digits_of(cipher: RRNCipher, table: str, rows: Sequence[Any]) -> list[str]:
    out = []
    for row in rows:
        if row.rrn_enc is None:
            continue  # an index without ciphertext (stored before 0005): moved with its person, if any
        try:
            out.append(cipher.decrypt(row.rrn_enc))
        except UnknownKey as exc:
            raise RotationError(f"{table} {row.id}: {exc}") from None
        except InvalidTag:
            raise RotationError(
                f"{table} {row.id}: 어느 키로도 복호화되지 않습니다 (no key of the ring decrypts it); "
                "add the key it was written with to SEONBYEOL_OLD_DATA_KEYS"
            ) from None
    return out


def _move_batch(session: Session, cipher: RRNCipher, digits: list[str], report: RotationReport) -> None:
    """Move a batch's people; when two rows of one person collide under the new key (a writer
    that ran with an outdated key ring), move the others one by one and count the conflict."""
    try:
        with session.begin_nested():
            report.add(move_people(session, cipher, digits))
        return
    except IntegrityError:
        pass
    for number in digits:
        try:
            with session.begin_nested():
                report.add(move_people(session, cipher, [number]))
        except IntegrityError:
            report.conflicts += 1


def _one_batch(
    sessions: sessionmaker[Session], cipher: RRNCipher, model: Any, after: int, size: int, report: RotationReport
) -> int | None:
    """Move the people of the next ``size`` rows of ``model`` after id ``after`` that are not under
    the current key, in one transaction; the last id looked at, or None when there are none."""
    table = _table(model)
    for attempt in range(_ATTEMPTS):
        try:
            with sessions.begin() as session:
                _begin_batch(session)
                rows = session.execute(
                    select(table.c.id, table.c.rrn_enc)
                    .where(not_current(model, cipher.key_id), table.c.id > after)
                    .order_by(table.c.id)
                    .limit(size)
                ).all()
                if not rows:
                    return None
                _move_batch(session, cipher, _digits_of(cipher, table.name, rows), report)
                return int(rows[-1].id)
        except OperationalError:  # PostgreSQL lock timeout or deadlock: give way to requests, then retry
            if attempt == _ATTEMPTS - 1:
                raise
            time.sleep(0.1 * (attempt + 1))
    return None  # pragma: no cover - the loop returns or raises


def remaining(session: Session, cipher: RRNCipher) -> dict[str, int]:
    """Rows per table not under the current key."""
    return {
        _table(m).name: int(
            session.scalar(select(func.count()).select_from(_table(m)).where(not_current(m, cipher.key_id))) or 0
        )
        for m in PERSON_TABLES
    }


def rotate(
    sessions: sessionmaker[Session],
    cipher: RRNCipher,
    batch_size: int = 500,
    progress: Progress | None = None,
    pause: float = 0.0,
) -> RotationReport:
    """Move every row to the current key, batch by batch (each batch one transaction), and
    record the run in the access log. Safe to stop at any moment and to run again."""
    report = RotationReport(cipher.key_id)
    for _sweep in range(3):  # a second sweep takes rows an outdated writer stored meanwhile
        before = report.batches
        for model in PERSON_TABLES:
            after = 0
            while (last := _one_batch(sessions, cipher, model, after, batch_size, report)) is not None:
                after = last
                report.batches += 1
                if progress is not None:
                    progress(_table(model).name, last, report)
                if pause:
                    time.sleep(pause)
        with sessions() as session:
            report.remaining = remaining(session, cipher)
        if report.complete or report.batches == before:
            break
    with sessions.begin() as session:
        detail = {
            "to": cipher.key_id, "from": [k.key_id for k in cipher.previous], "moved": report.moved,
            "remaining": report.remaining, "conflicts": report.conflicts, "complete": report.complete,
        }  # fmt: skip
        audit.record(session, audit.CLI, "key.rotate", target=f"key:{cipher.key_id}", detail=detail)
        if report.complete:
            audit.record(session, audit.CLI, ROTATION_COMPLETE, target=f"key:{cipher.key_id}", detail=detail)
    return report


ROTATION_COMPLETE = "key.rotation_complete"


# --------------------------------------------------------------------------- status


@dataclass
class KeyStatus:
    """Where every key of the ring is still needed."""

    current: str
    previous: list[str]
    rows: dict[str, dict[str, int]]  # table → key id ("" for rows written before key ids) → rows
    completed_at: datetime | None  # when the last rotation to the current key finished
    audit_entries_before: int  # entries with a subject written before that (indexed under older keys)
    audit_needs_old_keys_until: datetime | None  # when the retention purge will have removed them

    @property
    def old_rows(self) -> int:
        return sum(n for by_key in self.rows.values() for k, n in by_key.items() if k != self.current)


def status(session: Session, cipher: RRNCipher, retention_days: int) -> KeyStatus:
    """Rows per table and key id, and how long the audit log still needs the previous keys."""
    rows: dict[str, dict[str, int]] = {}
    for model in PERSON_TABLES:
        table = _table(model)
        counts = session.execute(select(table.c.key_id, func.count()).group_by(table.c.key_id)).all()
        rows[table.name] = {(k or ""): int(n) for k, n in counts}
    completion = session.execute(
        select(AuditEntry.id, AuditEntry.at)
        .where(AuditEntry.action == ROTATION_COMPLETE, AuditEntry.target == f"key:{cipher.key_id}")
        .order_by(AuditEntry.id.desc())
        .limit(1)
    ).first()
    subjects = select(func.count()).where(AuditEntry.subject_index.is_not(None))
    completed: datetime | None = None
    if completion is None:  # no rotation to this key has finished: any entry may be under an older key
        count = int(session.scalar(subjects) or 0) if cipher.previous else 0
        until = None
    else:  # entries written before the completion (by id: several share an instant) may be under older keys
        completed = completion.at
        count = int(session.scalar(subjects.where(AuditEntry.id < completion.id)) or 0)
        until = completion.at + timedelta(days=retention_days) if count else None
    return KeyStatus(cipher.key_id, [k.key_id for k in cipher.previous], rows, completed, count, until)
