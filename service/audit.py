"""The access log of personal data (접속기록): recording, search, export, review and retention.

The safety-measures standard asks that every access to data with resident registration
numbers be recorded (who, when, what, which subject), kept at least two years and reviewed
regularly. Entries are written in the same transaction as the read or change they describe,
so a change is never stored without its record.

The log is **append-only**. Nothing in the code updates an entry; the ORM refuses to
(service/models/security.py); on PostgreSQL a trigger refuses UPDATE and DELETE (migration
0005). The one deletion is :func:`purge`, of entries older than the retention
(``SEONBYEOL_AUDIT_RETENTION_DAYS``, at least 730 days), which records itself in the log.

An entry's ``subject_index`` is the blind index under the data key in use when it was written;
after a key rotation older entries are under the previous key, so a search by RRN is given the
index under every key of the ring (``RRNCipher.candidate_indexes``).
"""

from __future__ import annotations

import hashlib
import json
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, Select, Table, bindparam, delete, exists, func, insert, or_, select, text
from sqlalchemy.orm import Session

from . import access, clock, workdays
from .config import MIN_AUDIT_RETENTION_DAYS
from .db import connection, on_driver
from .errors import Invalid, NotFound
from .models import ApiToken, AuditEntry, AuditReport, utcnow
from .models.base import UTCDateTime
from .security import Principal, TokenRejected

CLI = Principal("cli", 0, "", "", "admin")
_AUDIT_TABLE: Table = AuditEntry.__table__  # type: ignore[assignment]
_AUDIT_INSERT = insert(_AUDIT_TABLE)
_AUDIT_COLUMNS = ("at", "actor", "institution_code", "role", "action", "subject_index", "subject_masked", "target",
                  "detail", "request_id")  # fmt: skip


def _one_entry_insert(guarded: bool, unflushed: bool) -> Any:
    """One entry's INSERT … SELECT of bound values, with what else the statement must do.

    ``guarded``: the row is written only while the token ``token_id`` is unrevoked and unexpired
    at ``now``, so one statement both checks the caller and records the access (see
    :class:`service.security.TokenCheck`). ``unflushed`` (PostgreSQL only): the statement turns
    ``synchronous_commit`` off for its own transaction (``set_config(…, true)``), so that
    transaction's commit does not wait for the disk flush; in autocommit that is the statement
    itself: one round trip, where ``SET LOCAL`` needs a transaction block (BEGIN, SET, INSERT,
    COMMIT). The setting ends with the transaction, never with the pooled connection."""
    entries, tokens = _AUDIT_TABLE.c, ApiToken.__table__.c
    conditions: list[Any] = []
    if guarded:
        conditions.append(
            exists().where(
                tokens.id == bindparam("token_id"),
                tokens.revoked_at.is_(None),
                or_(tokens.expires_at.is_(None), tokens.expires_at > bindparam("now", type_=tokens.expires_at.type)),
            )
        )
    if unflushed:
        conditions.append(text("set_config('synchronous_commit', 'off', true) IS NOT NULL"))
    values = select(*(bindparam(name, type_=entries[name].type) for name in _AUDIT_COLUMNS)).where(*conditions)
    # RETURNING: a compiled INSERT's rowcount is not kept on every driver (psycopg gives -1)
    entry = insert(_AUDIT_TABLE).from_select(list(_AUDIT_COLUMNS), values)
    return entry.returning(entries.id)


_ONE_ENTRY_INSERTS = {(g, u): _one_entry_insert(g, u) for g in (False, True) for u in (False, True)}
_Compiled = tuple[str, list[str] | None, dict[str, Any]]
_COMPILED: dict[tuple[Any, str], _Compiled] = {}


def _for_driver(key: Any, statement: Any, dialect: Any) -> _Compiled:
    """``statement`` compiled for ``dialect`` once (cached under ``key``), to run on the driver
    (:func:`db.on_driver`, ``exec_driver_sql``): its SQL, the positional parameter names (None:
    named), and each parameter's bind processor (None: the driver takes the value as it is), which
    convert the values as SQLAlchemy's execution would (the aware UTC time, the JSON detail)."""
    found = _COMPILED.get((key, dialect.name))
    if found is None:
        compiled = statement.compile(dialect=dialect)
        names = list(compiled.positiontup) if compiled.positional and compiled.positiontup else None
        convert = {name: bind.type._cached_bind_processor(dialect) for name, bind in compiled.binds.items()}
        found = _COMPILED[(key, dialect.name)] = (compiled.string, names, convert)
    return found


def _first_row(cursor: Any) -> Any:
    return cursor.fetchone()


def _refuse_unchecked(principal: Principal) -> None:
    if principal.token_check is not None and not principal.token_check.done:
        raise RuntimeError("bulk access records for a principal whose token is unchecked (recent_authentication)")


def record(
    session: Session,
    principal: Principal,
    action: str,
    subjects: Iterable[tuple[str | None, str | None]] = ((None, None),),
    target: str | None = None,
    detail: dict[str, Any] | None = None,
    request_id: str | None = None,
    wait_for_flush: bool = True,
) -> None:
    """Add one entry per subject ``(rrn_index, rrn_masked)``; bulk-inserted. The entry carries the
    request's id (service/logging_setup.py) unless one is given, so a log line and an entry meet.

    A principal with an unchecked :class:`~service.security.TokenCheck` (a recently
    authenticated token) gets its one entry only if the token is still valid, checked by the
    INSERT itself; otherwise nothing is written and TokenRejected is raised (the caller looks
    the token up to say why).

    ``wait_for_flush`` False (one entry, PostgreSQL; ``SEONBYEOL_EVALUATE_AUDIT_COMMIT=fast``):
    the transaction the entry is written in commits without waiting for the disk flush, set by
    the INSERT itself (see :func:`_one_entry_insert`). SQLite has nothing to turn off."""
    from .logging_setup import current_request_id

    now = utcnow()
    request_id = request_id or current_request_id()
    rows = [
        {
            "at": now,
            "actor": principal.actor,
            "institution_code": principal.institution_code or None,
            "role": principal.role,
            "action": action,
            "subject_index": index,
            "subject_masked": masked,
            "target": target,
            "detail": detail or {},
            "request_id": request_id,
        }
        for index, masked in subjects
    ]
    check = principal.token_check
    unchecked = check if check is not None and not check.done else None
    conn = connection(session)
    unflushed = not wait_for_flush and conn.dialect.name == "postgresql"
    if (unchecked is not None or unflushed) and len(rows) == 1:
        params = rows[0] if unchecked is None else {**rows[0], "token_id": unchecked.token_id, "now": now}
        one = (unchecked is not None, unflushed)
        sql, names, convert = _for_driver(one, _ONE_ENTRY_INSERTS[one], conn.dialect)
        values = {name: process(params[name]) if process else params[name] for name, process in convert.items()}
        written = on_driver(conn, sql, [values[n] for n in names] if names else values, _first_row)
        if written is None:  # only a guarded insert writes nothing: the token is no longer valid
            raise TokenRejected("unknown")
        if unchecked is not None:
            unchecked.done = True
    elif rows:  # Core, not the ORM's bulk path: one compiled INSERT, no mapper work per call
        conn.execute(_AUDIT_INSERT, rows)


def record_bulk(
    session: Session,
    principal: Principal,
    action: str,
    subjects: Iterable[tuple[str | None, str | None]],
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """The entries :func:`record` adds, for many subjects at once (a batch of 1,000): one
    ``executemany`` of the table's insert, compiled once per dialect, with the values every entry
    shares converted once by their column types (time, JSON detail) instead of once per row by
    the ORM's bulk insert (about 30 → 15 ms for 1,000 entries, most of it the database's own
    index work). Same columns, same values, same transaction."""
    _refuse_unchecked(principal)
    from .logging_setup import current_request_id

    conn = session.connection()
    sql, names, convert = _for_driver("bulk", _BULK_INSERT, conn.dialect)
    shared = {
        "at": utcnow(),
        "actor": principal.actor,
        "institution_code": principal.institution_code or None,
        "role": principal.role,
        "action": action,
        "target": target,
        "detail": detail or {},
        "request_id": current_request_id(),
    }
    fixed = {name: convert[name](value) if convert.get(name) else value for name, value in shared.items()}
    rows: list[Any]
    if names is None:  # named parameters
        rows = [{**fixed, "subject_index": index, "subject_masked": masked} for index, masked in subjects]
    else:  # positional: the compiled statement's order
        at = {name: n for n, name in enumerate(names)}
        template = [fixed.get(name) for name in names]
        i, m = at["subject_index"], at["subject_masked"]
        rows = []
        for index, masked in subjects:
            row = list(template)
            row[i], row[m] = index, masked
            rows.append(tuple(row))
    if rows:
        conn.exec_driver_sql(sql, rows)


_BULK_INSERT = _AUDIT_TABLE.insert().values({name: bindparam(name) for name in _AUDIT_COLUMNS})


_SEP = "\x1f"  # the unit separator: never in a blind index or a masked RRN
_MANY_PG = text(
    "INSERT INTO audit_entries (at, actor, institution_code, role, action, subject_index, subject_masked, target, "
    "detail, request_id) SELECT :at, :actor, :institution_code, :role, :action, s.i, s.m, :target, "
    "CAST(:detail AS jsonb), :request_id FROM unnest(string_to_array(:indexes, :sep), "
    "string_to_array(:masked, :sep)) WITH ORDINALITY AS s(i, m, k) ORDER BY s.k"
).bindparams(bindparam("at", type_=UTCDateTime()))


def record_many(
    session: Session,
    principal: Principal,
    action: str,
    indexes: Sequence[str | None],
    masked: Sequence[str | None],
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """What :func:`record` writes, one entry per subject ``(indexes[k], masked[k])``, for a batch
    of 1,000 or tens of thousands of subjects (a re-screening of a whole program). On PostgreSQL
    one ``INSERT … SELECT`` over the subjects sent as two text parameters (split on the server):
    no bind processing per row and no array to adapt value by value (1,000 entries: 14 ms, where
    :func:`record_bulk`'s executemany takes 29); elsewhere :func:`record_bulk`."""
    _refuse_unchecked(principal)
    from .logging_setup import current_request_id

    if len(indexes) != len(masked):
        raise ValueError("indexes and masked differ in length")
    if not indexes:
        return
    now = utcnow()
    common = {
        "at": now, "actor": principal.actor, "institution_code": principal.institution_code or None,
        "role": principal.role, "action": action, "target": target, "request_id": current_request_id(),
    }  # fmt: skip
    if session.get_bind().dialect.name == "postgresql":
        joined = [_SEP.join(v or "" for v in values) for values in (indexes, masked)]
        if all(j.count(_SEP) == len(indexes) - 1 for j in joined) and all(indexes) and all(masked):
            session.execute(
                _MANY_PG,
                {**common, "detail": json.dumps(detail or {}, ensure_ascii=False), "sep": _SEP,
                 "indexes": joined[0], "masked": joined[1]},
            )  # fmt: skip
            return
    record_bulk(session, principal, action, zip(indexes, masked, strict=True), target=target, detail=detail)


# --------------------------------------------------------------------------- search and export


def _kst(at: datetime | None) -> str | None:
    return at.astimezone(clock.SEOUL).isoformat() if at is not None else None


@dataclass(frozen=True)
class AuditFilters:
    actor: str | None = None
    action: str | None = None
    institution: str | None = None
    subject_index: str | Sequence[str] | None = None
    """One blind index, or the candidates under every key of the ring (any of them matches)."""
    date_from: date | None = None
    date_to: date | None = None
    limit: int = 100
    offset: int = 0


def _query(filters: AuditFilters) -> Select[tuple[AuditEntry]]:
    query = select(AuditEntry)
    if filters.actor:
        query = query.where(AuditEntry.actor == filters.actor)
    if filters.action:
        query = query.where(AuditEntry.action == filters.action)
    if filters.institution:
        query = query.where(AuditEntry.institution_code == filters.institution)
    if filters.subject_index is not None:
        wanted = [filters.subject_index] if isinstance(filters.subject_index, str) else list(filters.subject_index)
        query = query.where(AuditEntry.subject_index.in_(wanted))
    if filters.date_from:
        query = query.where(AuditEntry.at >= clock.start_of_day(filters.date_from))
    if filters.date_to:
        query = query.where(AuditEntry.at < clock.start_of_day(filters.date_to, plus_days=1))
    return query


def _described(filters: AuditFilters) -> dict[str, str]:
    """The filters as recorded (never the subject's index: the masked subjects are recorded instead)."""
    return {
        k: str(v) for k, v in vars(filters).items() if v is not None and k not in ("subject_index", "limit", "offset")
    } | ({"subject": "given"} if filters.subject_index is not None else {})


def _subjects(items: Iterable[AuditEntry]) -> list[tuple[str | None, str | None]]:
    return sorted({(e.subject_index, e.subject_masked) for e in items if e.subject_index}) or [(None, None)]


def search(session: Session, principal: Principal, filters: AuditFilters) -> tuple[list[AuditEntry], int]:
    """Entries of the access log, newest first; the search itself is recorded, with the people
    the shown entries name (an auditor's reading is personal-data access too). Commits."""
    access.require(principal, "audit.read")
    query = _query(filters)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = list(session.scalars(query.order_by(AuditEntry.id.desc()).limit(filters.limit).offset(filters.offset)))
    record(session, principal, "audit.read", _subjects(items), detail={"filters": _described(filters)})
    session.commit()
    return items, total


EXPORT_MAX = 100_000
EXPORT_HEADERS = [
    "번호 (id)", "일시 (at, KST)", "행위자 (actor)", "기관 (institution)", "역할 (role)", "행위 (action)",
    "정보주체 (subject, masked)", "대상 (target)", "세부 (detail)", "요청 (request id)",
]  # fmt: skip


def export(session: Session, principal: Principal, filters: AuditFilters, reason: str, fmt: str) -> list[list[Any]]:
    """Every entry the filters select (oldest first, at most ``EXPORT_MAX``) as table rows for
    a download; the download is recorded with its reason and every person it names. Commits."""
    access.require(principal, "audit.read")
    query = _query(filters)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    if total > EXPORT_MAX:
        raise Invalid(
            f"내려받을 기록이 {total}건으로 {EXPORT_MAX}건을 넘습니다. 기간(from, to)을 좁혀 주세요",
            f"{total} entries exceed the export limit of {EXPORT_MAX}; narrow the dates (from, to)",
            {"from": [f"{EXPORT_MAX}건 이하가 되도록 기간을 좁혀 주세요 (narrow the period)"]},
        )
    items = list(session.scalars(query.order_by(AuditEntry.id)))
    record(
        session, principal, "audit.export", _subjects(items),
        detail={"reason": reason, "format": fmt, "rows": len(items), "filters": _described(filters)},
    )  # fmt: skip
    session.commit()
    return [
        [
            e.id,
            _kst(e.at),
            e.actor,
            e.institution_code,
            e.role,
            e.action,
            e.subject_masked,
            e.target,
            json.dumps(e.detail, ensure_ascii=False, sort_keys=True) if e.detail else "",
            e.request_id,
        ]
        for e in items
    ]


# --------------------------------------------------------------------------- retention


class PurgeRefused(ValueError):
    """A purge that would delete entries still within the retention; nothing was deleted."""


@dataclass(frozen=True)
class PurgeResult:
    cutoff: datetime  # entries strictly before this instant were (or would be) deleted
    deleted: int
    dry_run: bool


def retention_cutoff(today: date, retention_days: int) -> datetime:
    """Midnight KST ``retention_days`` before ``today``: entries before it are past the retention."""
    return clock.start_of_day(today - timedelta(days=retention_days))


def purge(
    session: Session, principal: Principal, retention_days: int, before: date | None = None, dry_run: bool = False
) -> PurgeResult:
    """Delete the entries older than the retention — the only deletion of access records.

    ``before`` moves the cutoff earlier (never later: an entry younger than the retention is
    never deleted, even if asked). The purge is recorded in the log, in the same transaction.
    On PostgreSQL the append-only trigger lets this DELETE through only because the transaction
    declares the cutoff (``seonbyeol.audit_purge_before``), and only for entries before it.
    Commits."""
    if retention_days < MIN_AUDIT_RETENTION_DAYS:
        raise PurgeRefused(
            f"보관 기간 {retention_days}일은 최소 {MIN_AUDIT_RETENTION_DAYS}일보다 짧습니다 "
            f"(retention of {retention_days} days is below the minimum of {MIN_AUDIT_RETENTION_DAYS})"
        )
    cutoff = retention_cutoff(clock.today(), retention_days)
    if before is not None:
        asked = clock.start_of_day(before)
        if asked > cutoff:
            earliest = cutoff.date().isoformat()
            raise PurgeRefused(
                f"{before.isoformat()} 이전 기록은 아직 보관 기간({retention_days}일) 안에 있습니다; "
                f"--before는 {earliest} 이하여야 합니다 (entries before {before.isoformat()} are within the "
                f"retention of {retention_days} days; --before can be at most {earliest})"
            )
        cutoff = asked
    table: Table = AuditEntry.__table__  # type: ignore[assignment]
    count = int(session.scalar(select(func.count()).select_from(table).where(table.c.at < cutoff)) or 0)
    deleted = 0
    if count and not dry_run:
        postgres = session.get_bind().dialect.name == "postgresql"
        if postgres:
            session.execute(text("SELECT set_config('seonbyeol.audit_purge_before', :cutoff, true)"),
                            {"cutoff": cutoff.isoformat()})  # fmt: skip
        result: CursorResult[Any] = session.execute(delete(table).where(table.c.at < cutoff))  # type: ignore[assignment]
        deleted = result.rowcount
        if postgres:  # nothing later in this transaction may delete
            session.execute(text("SELECT set_config('seonbyeol.audit_purge_before', '', true)"))
    record(
        session, principal, "audit.purge", target=f"before:{cutoff.isoformat()}",
        detail={"retention_days": retention_days, "cutoff": cutoff.isoformat(), "deleted": deleted,
                "eligible": count, "dry_run": dry_run},
    )  # fmt: skip
    session.commit()
    return PurgeResult(cutoff, deleted if not dry_run else count, dry_run)


# --------------------------------------------------------------------------- monthly review

VOLUME_FACTOR = 3.0
"""An actor is flagged for volume when they accessed more than this many times the median number
of distinct people of the other actors with the same role in the month..."""
VOLUME_MIN_PEOPLE = 30
"""...and at least this many distinct people (so that small numbers are never flagged)."""
WORKDAY_START = workdays.WORKDAY_START
WORKDAY_END = workdays.WORKDAY_END
"""Personal-data access in KST before 08:00, from 20:00, on a Saturday or Sunday, on a Korean public
holiday or on one of the district's closed days (``SEONBYEOL_EXTRA_HOLIDAYS``) is out of hours."""
FLAGGED_IDS = 20
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The first instant of ``YYYY-MM`` and of the next month, in KST."""
    match = _MONTH.match(month or "")
    if not match:
        raise Invalid(
            "월은 YYYY-MM 형식이어야 합니다", "the month must be YYYY-MM", {"month": ["YYYY-MM (예: 2026-11)"]}
        )
    year, number = int(match.group(1)), int(match.group(2))
    start = date(year, number, 1)
    following = date(year + (number == 12), number % 12 + 1, 1)
    return clock.start_of_day(start), clock.start_of_day(following)


def out_of_hours(at: datetime, extra_holidays: Iterable[date] | None = None) -> bool:
    """Whether an instant is outside working hours in Korea: weekends, public holidays (설날,
    추석, 대체공휴일…), the district's closed days (default: the app's ``EXTRA_HOLIDAYS``),
    before 08:00 or from 20:00 KST."""
    return workdays.out_of_hours(at, extra_holidays)


@dataclass
class _Actor:
    role: str
    institutions: set[str] = field(default_factory=set)
    entries: int = 0
    people: set[str] = field(default_factory=set)
    late: list[tuple[int, datetime, str]] = field(default_factory=list)  # (entry id, at, subject)


def monthly_report(
    session: Session,
    month: str,
    factor: float = VOLUME_FACTOR,
    min_people: int = VOLUME_MIN_PEOPLE,
    extra_holidays: Iterable[date] | None = None,
) -> dict[str, Any]:
    """The month's personal-data access summarised by actor, institution and action, with the
    unusual access flagged (volume against peers of the same role; out of hours in KST, public
    holidays and the district's closed days counting as outside working hours).

    Reads the log only and stores nothing (the admin UI renders it; ``keep_report`` stores
    it). "People" are distinct subjects (blind indexes) of entries that name a person.
    """
    start, end = month_bounds(month)
    closed = frozenset(workdays.extra_closed_days() if extra_holidays is None else extra_holidays)
    actors: dict[str, _Actor] = {}
    institutions: dict[str, dict[str, Any]] = defaultdict(lambda: {"entries": 0, "people": set(), "actors": set()})
    actions: dict[str, dict[str, Any]] = defaultdict(lambda: {"entries": 0, "people": set()})
    everyone: set[str] = set()
    entries = with_subject = 0
    rows = session.execute(
        select(AuditEntry.id, AuditEntry.at, AuditEntry.actor, AuditEntry.role, AuditEntry.institution_code,
               AuditEntry.action, AuditEntry.subject_index)
        .where(AuditEntry.at >= start, AuditEntry.at < end)
        .order_by(AuditEntry.id)
        .execution_options(yield_per=5000)
    )  # fmt: skip
    for entry_id, at, actor, role, institution, action, subject in rows:
        entries += 1
        who = actors.setdefault(actor, _Actor(role or ""))
        who.entries += 1
        inst = institution or "-"
        who.institutions.add(inst)
        institutions[inst]["entries"] += 1
        institutions[inst]["actors"].add(actor)
        actions[action]["entries"] += 1
        if subject is None:
            continue
        with_subject += 1
        everyone.add(subject)
        who.people.add(subject)
        institutions[inst]["people"].add(subject)
        actions[action]["people"].add(subject)
        if out_of_hours(at, closed):
            who.late.append((entry_id, at, subject))
    by_role: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for name, who in actors.items():
        by_role[who.role].append((name, len(who.people)))
    by_actor: list[dict[str, Any]] = []
    flags: list[dict[str, Any]] = []
    for name, who in sorted(actors.items(), key=lambda item: (-len(item[1].people), item[0])):
        peers = [n for other, n in by_role[who.role] if other != name]
        peer_median = statistics.median(peers) if peers else None
        people = len(who.people)
        row_flags = []
        if peer_median is not None and people >= min_people and people > factor * peer_median:
            row_flags.append("volume")
            flags.append({
                "kind": "volume", "actor": name, "role": who.role, "institution": ", ".join(sorted(who.institutions)),
                "people": people, "peer_median": peer_median, "peers": len(peers),
                "reason_ko": f"같은 역할({who.role}) 다른 사용자 {len(peers)}명의 중앙값 {peer_median:g}명의 "
                             f"{factor:g}배를 넘는 {people}명의 개인정보에 접근",
                "reason_en": f"accessed {people} people, more than {factor:g}× the median ({peer_median:g}) of "
                             f"the {len(peers)} other {who.role} actors",
            })  # fmt: skip
        if who.late:
            row_flags.append("out_of_hours")
            flags.append({
                "kind": "out_of_hours", "actor": name, "role": who.role,
                "institution": ", ".join(sorted(who.institutions)), "entries": len(who.late),
                "people": len({subject for _i, _at, subject in who.late}),
                "first_at": _kst(who.late[0][1]), "last_at": _kst(who.late[-1][1]),
                "entry_ids": [i for i, _at, _a in who.late[:FLAGGED_IDS]],
                "reason_ko": f"근무시간(공휴일·구 휴무일을 뺀 평일 08:00–20:00) 외 개인정보 접근 {len(who.late)}건",
                "reason_en": f"{len(who.late)} personal-data accesses outside working hours (weekdays 08:00–20:00 "
                             f"KST; public holidays and the district's closed days count as outside)",
            })  # fmt: skip
        by_actor.append({
            "actor": name, "role": who.role, "institution": ", ".join(sorted(who.institutions)),
            "entries": who.entries, "people": people, "out_of_hours": len(who.late),
            "peer_median": peer_median, "flags": row_flags,
        })  # fmt: skip
    return {
        "month": month,
        "period": {"from": _kst(start), "to": _kst(end)},
        "generated_at": _kst(clock.utcnow()),
        "rules": {
            "volume": {"factor": factor, "min_people": min_people, "peers": "other actors of the same role"},
            "working_hours": {
                "from": WORKDAY_START.isoformat("minutes"),
                "to": WORKDAY_END.isoformat("minutes"),
                "days": "Monday–Friday except Korean public holidays and the district's closed days",
                "timezone": "Asia/Seoul",
                "closed_weekdays": workdays.closed_weekdays(start.date(), end.date(), closed),
            },
        },
        "totals": {
            "entries": entries,
            "with_subject": with_subject,
            "people": len(everyone),
            "actors": len(actors),
            "flags": len(flags),
            "out_of_hours": sum(len(a.late) for a in actors.values()),
        },
        "by_actor": by_actor,
        "by_institution": [
            {"institution": k, "entries": v["entries"], "people": len(v["people"]), "actors": len(v["actors"])}
            for k, v in sorted(institutions.items(), key=lambda item: (-item[1]["entries"], item[0]))
        ],
        "by_action": [
            {"action": k, "entries": v["entries"], "people": len(v["people"])}
            for k, v in sorted(actions.items(), key=lambda item: (-item[1]["entries"], item[0]))
        ],
        "flags": flags,
    }


def report_digest(body: dict[str, Any]) -> str:
    return hashlib.sha256(report_bytes(body)).hexdigest()


def keep_report(session: Session, principal: Principal, month: str, **rules: Any) -> AuditReport:
    """Produce the month's report, keep it (``audit_reports``, with its SHA-256) and record the
    review in the log. Commits."""
    access.require(principal, "audit.read")
    body = monthly_report(session, month, **rules)
    kept = AuditReport(month=month, created_by=principal.actor, body=body, sha256=report_digest(body))
    session.add(kept)
    session.flush()
    record(
        session, principal, "audit.report", target=f"audit_report:{kept.id}",
        detail={"month": month, "flags": body["totals"]["flags"], "sha256": kept.sha256},
    )  # fmt: skip
    session.commit()
    return kept


def previous_month(today: date) -> str:
    """The month before ``today``'s (``YYYY-MM``): what a monthly review looks at by default."""
    return (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


def kept_reports(session: Session, principal: Principal, month: str | None = None) -> list[AuditReport]:
    """The kept reviews (of ``month``, when given), newest first."""
    access.require(principal, "audit.read")
    query = select(AuditReport).order_by(AuditReport.id.desc())
    if month is not None:
        month_bounds(month)  # a bad month is a 422, not an empty list
        query = query.where(AuditReport.month == month)
    return list(session.scalars(query.limit(100)))


def kept_report(session: Session, principal: Principal, report_id: int) -> AuditReport:
    """One kept review, as it was kept (its body hashes to its ``sha256``)."""
    access.require(principal, "audit.read")
    kept = session.get(AuditReport, report_id)
    if kept is None:
        raise NotFound("보관된 점검 보고서를 찾을 수 없습니다", f"kept report {report_id} not found")
    return kept


def report_bytes(body: dict[str, Any]) -> bytes:
    """The exact bytes :func:`report_digest` hashes: a download whose SHA-256 is the kept one."""
    return json.dumps(body, ensure_ascii=False, sort_keys=True).encode("utf-8")
