"""Database engine and sessions (plain SQLAlchemy 2.0, one session per request or command)."""

from __future__ import annotations

import json
import re
import sqlite3
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from flask import Flask, current_app, g
from sqlalchemy import Connection, Engine, Table, create_engine, event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

_T = TypeVar("_T")


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        # hide_parameters: a database error's text never carries the values (names, indexes)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy issue BEGIN itself so that write transactions can be IMMEDIATE.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # A transaction takes the write lock up front unless it was begun by read_only(). In
            # WAL mode a transaction that started as a reader and then writes fails at once with
            # "database is locked" if another process committed in between, so a transaction that
            # may write waits for the lock first (busy_timeout) and writers queue; one that only
            # reads takes a snapshot and runs beside them, and may not write (_refuse_writes).
            raw = conn.connection.driver_connection
            options = conn.get_execution_options()
            if options.get(READ_ONLY):
                if not options.get(PER_STATEMENT):  # else each read is its own implicit transaction
                    raw.execute("BEGIN")
            else:
                begin_immediate(raw)

        @event.listens_for(engine, "before_cursor_execute")
        def _refuse_writes(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            # Not PRAGMA query_only: toggling it makes SQLite re-prepare every cached statement
            # (measured: the facts query went from 30 to 200 µs).
            if conn.get_execution_options().get(READ_ONLY) and not statement.lstrip()[:6].upper().startswith(_READS):
                raise RuntimeError("a write in a read_only() transaction: use begin_write() or write_after_read()")

        return engine
    engine = create_engine(url, pool_size=5, max_overflow=10, hide_parameters=True)
    _ping_after_idle(engine)
    return engine


PING_AFTER_IDLE_S = 2.0
"""A pooled connection idle longer than this is pinged before use (see :func:`_ping_after_idle`)."""


def _ping_after_idle(engine: Engine) -> None:
    """Ping a pooled connection before use only when it has sat idle for a while.

    ``pool_pre_ping`` pings on every checkout: a round trip per request that only matters after
    a quiet spell, when the server may have restarted or a firewall dropped the connection.
    Under load a connection comes back within milliseconds; after an idle spell the ping runs
    and a dead connection is replaced before the request sees it. (A connection broken within
    the last seconds gives its request a 503 and is replaced; SQLAlchemy also discards the
    whole pool on a disconnect error.)
    """

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_S:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # noqa: BLE001 - any failure of the ping means: a new connection
            raise DisconnectionError("the pooled connection did not answer its ping") from exc
        if not alive:
            raise DisconnectionError("the pooled connection did not answer its ping")


BUSY_TIMEOUT_S = 30.0
_FIRST_WAIT_S, _LONGEST_WAIT_S = 0.00005, 0.002


def begin_immediate(raw: sqlite3.Connection, timeout: float = BUSY_TIMEOUT_S) -> None:
    """``BEGIN IMMEDIATE``, waiting up to ``timeout`` for another process's write lock.

    SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25 … ms between tries; our write
    transactions hold the lock for well under a millisecond (an audit entry), so a waiter would
    mostly sleep long after the lock was free. Here the wait starts at 50 µs and doubles up to
    2 ms, with the connection's busy timeout off for the try (and restored after it).
    """
    raw.execute("PRAGMA busy_timeout=0")
    try:
        deadline = time.monotonic() + timeout
        wait = _FIRST_WAIT_S
        while True:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if time.monotonic() >= deadline:
                    raise
            time.sleep(wait)
            wait = min(wait * 2, _LONGEST_WAIT_S)
    finally:
        raw.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")


class Database:
    """The engine and session factory of one application."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session for a command or background job: commit on success, roll back on error."""
        with self.sessionmaker() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise


_READS = ("SELECT", "WITH", "PRAGMA")
READ_ONLY = "seonbyeol_read_only"
"""Execution option with which :func:`read_only` begins a transaction (checked by SQLite's begin)."""
PER_STATEMENT = "seonbyeol_per_statement"
"""Execution option of :func:`read_only` ``per_statement``: no transaction block around the reads."""


_CONNECTION = "seonbyeol.connection"


def connection(session: Session) -> Connection:
    """``session.connection()``, remembered for the session's current transaction.

    A request on the evaluate path asks for its connection seven times (the transaction's
    kind, the facts, the access record, ...), and the session resolves its bind and its
    transaction's connection every time; the transaction's connection is the same Connection
    until the transaction ends, and a new transaction is a new object, so the remembered one
    is used only while the transaction it was taken in is still the session's. The transaction
    is held weakly: it refers to the session, so a strong reference from ``session.info`` would
    make every request's session garbage for the cycle collector (measured: 6 % more work)."""
    transaction = session.get_transaction()
    if transaction is not None:
        known = session.info.get(_CONNECTION)
        if known is not None and known[0]() is transaction:
            return known[1]  # type: ignore[no-any-return]
    conn = session.connection()
    session.info[_CONNECTION] = (weakref.ref(session.get_transaction()), conn)
    return conn


def is_read_only(session: Session) -> bool:
    """Whether the session's current transaction was begun by :func:`read_only`."""
    if not session.in_transaction():
        return False
    return bool(connection(session).get_execution_options().get(READ_ONLY))


def read_only(session: Session, per_statement: bool = False) -> None:
    """Begin the session's transaction as a reader (a no-op when it already is one).

    On SQLite a plain deferred ``BEGIN``: it does not take the database-wide write lock, so
    reads of several worker processes (evaluate, /healthz) run at once; a write inside it is
    refused at once (RuntimeError) instead of upgrading the transaction, which fails with
    "database is locked" whenever another process committed in between. A write afterwards goes through
    :func:`write_after_read` or :func:`begin_write`. On PostgreSQL an ordinary transaction.

    ``per_statement``: every statement may see its own snapshot, for a caller whose reads are
    each complete in one statement (evaluate: the token, then the person's facts). They run
    without a transaction block: on PostgreSQL in autocommit, saving the ``BEGIN`` and
    ``COMMIT`` round trips; on SQLite as implicit one-statement transactions.
    """
    if session.in_transaction():
        if is_read_only(session):
            return
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("read_only called with unflushed changes pending")
        session.commit()
    options: dict[str, Any] = {READ_ONLY: True}
    if per_statement:
        options[PER_STATEMENT] = True
        if session.get_bind().dialect.name == "postgresql":
            options["isolation_level"] = "AUTOCOMMIT"
    session.connection(execution_options=options)


def write_after_read(session: Session) -> None:
    """Go on to write after a :func:`read_only` transaction, without ever upgrading it.

    SQLite: end the read transaction and begin a write one (``COMMIT; BEGIN IMMEDIATE``) on the
    same connection, so that the session's transaction goes on (no commit, pool check-in and
    check-out in between; it has nothing of its own to commit). PostgreSQL: keep the very same
    transaction (MVCC readers may write; nothing to upgrade). Anything else: :func:`begin_write`.

    After ``per_statement`` reads, SQLite begins the write transaction (there is no read
    transaction to end) and PostgreSQL stays in autocommit: one statement, committed by itself
    before it returns (one round trip for an access record). A caller that writes more than one
    statement, or needs ``SET LOCAL``, calls :func:`begin_write` instead (a transaction block).
    """
    if not is_read_only(session):
        begin_write(session)
        return
    conn = connection(session)
    per_statement = bool(conn.get_execution_options().get(PER_STATEMENT))
    if conn.dialect.name == "sqlite":
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("write_after_read called with unflushed changes pending")
        raw = conn.connection.driver_connection
        if not per_statement:
            raw.execute("COMMIT")
        begin_immediate(raw)  # in short steps, not SQLite's busy handler (1, 2, 5, 10 … ms sleeps)
    conn.execution_options(**{READ_ONLY: False})


def begin_write(session: Session) -> None:
    """Start the session's transaction as a writer, ending a read-only one first.

    On SQLite every transaction is ``BEGIN IMMEDIATE``: writers queue on the database lock
    *before* they read, so a read-check-write sequence (duplicate detection) is serialised
    across processes. On PostgreSQL it is an ordinary transaction; unique indexes arbitrate.
    """
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("begin_write called with unflushed changes pending")
        session.commit()  # end the read-only transaction (e.g. the token lookup)
    session.connection()


def init_app(app: Flask) -> None:
    app.extensions["seonbyeol.db"] = Database(app.config["SQLALCHEMY_URL"])
    app.teardown_appcontext(_close_session)


def get_db(app: Flask | None = None) -> Database:
    return (app or current_app).extensions["seonbyeol.db"]  # type: ignore[no-any-return]


def get_session() -> Session:
    """The request's (or app context's) session, created on first use."""
    found = g.get("db_session")
    if found is None:
        found = g.db_session = get_db().sessionmaker()
    return found  # type: ignore[no-any-return]


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


_LIST = re.compile(r"\{(text|int)_list:(\w+)\}")
# A list goes as one JSON text parameter on both databases, split by the server: json.dumps of
# 1,000 values is one C call, where psycopg adapts a Python list to an array value by value
# (profiled: 17 % of a 1,000-nominee batch on PostgreSQL; measured alternating, 7,900 → 9,600
# nominees/s there).
_LIST_SQL = {
    "sqlite": {"text": r"(SELECT value FROM json_each(:\2))", "int": r"(SELECT value FROM json_each(:\2))"},
    "postgresql": {
        "text": r"(SELECT json_array_elements_text(CAST(:\2 AS json)))",
        "int": r"(SELECT CAST(json_array_elements_text(CAST(:\2 AS json)) AS bigint))",
    },
}


class Statement:
    """A hand-written SQL statement (``:name`` parameters) for a hot path, run on the driver's
    cursor in the session's transaction (:func:`on_driver`): no SQL expression to build, no
    compiled-cache key to compute, no result object; the statement events (the read-only guard)
    and SQLAlchemy's error handling stay. Rows are plain tuples with the driver's types (SQLite
    gives dates as ISO strings: :func:`as_date`).

    ``{text_list:name}`` / ``{int_list:name}`` stand for a subquery over a list parameter, sent
    as one JSON array (SQLite ``json_each``, PostgreSQL ``json_array_elements_text``): ``x IN
    {text_list:ids}`` takes any number of values in one statement, with no bound-parameter limit
    to chunk around.
    """

    def __init__(self, sql: str) -> None:
        if "%" in sql:
            raise ValueError("a Statement may not contain '%' (psycopg's parameter marker)")
        self.sql = sql
        self.lists = {name: kind for kind, name in _LIST.findall(sql)}
        self._by_dialect: dict[str, str] = {}

    def _for(self, dialect: str) -> str:
        sql = self._by_dialect.get(dialect)
        if sql is None:
            forms = _LIST_SQL.get(dialect, _LIST_SQL["sqlite"])
            sql = _LIST.sub(lambda m: m.expand(forms[m.group(1)]), self.sql)
            if dialect != "sqlite":
                sql = re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql)
            self._by_dialect[dialect] = sql
        return sql

    def rows(self, session: Session, params: dict[str, Any]) -> list[Any]:
        """Execute in the session's transaction; all rows as tuples."""
        conn = connection(session)
        if self.lists:
            params = dict(params)
            for name in self.lists:
                values = list(params[name])
                params[name] = json.dumps(values)
        # the driver's own tuples: no SQLAlchemy Row per row (200,000 in a whole-program re-screening)
        return on_driver(conn, self._for(conn.dialect.name), params, _fetch_all)

    def execute(self, session: Session, params: dict[str, Any]) -> int:
        """Execute a write in the session's transaction; the number of rows it touched."""
        conn = connection(session)
        return on_driver(conn, self._for(conn.dialect.name), params, _row_count)


def _fetch_all(cursor: Any) -> list[Any]:
    return cursor.fetchall() if cursor.description is not None else []


def _row_count(cursor: Any) -> int:
    return int(cursor.rowcount)


def on_driver(conn: Connection, sql: str, params: Any, take: Callable[[Any], _T]) -> _T:
    """Run ``sql`` (the driver's own SQL and parameters) on a cursor of ``conn``'s driver
    connection, in its transaction, and return ``take(cursor)``: what ``exec_driver_sql`` does,
    less the execution context and the result object it builds around every statement,
    including the result's column metadata, built anew from the cursor's description each
    time (measured: 6 % of an evaluate request's instructions for its facts statement alone).

    What stays the same: the connection's ``before_cursor_execute`` and ``after_cursor_execute``
    listeners see the statement (the read-only guard, the tests' statement watchers), with no
    execution context (``None``); a driver error goes through SQLAlchemy's own handling of it
    (its exception class, hidden parameters, a disconnect invalidating the pool). ``conn`` must
    be in a transaction already (a session's connection is: :func:`connection`), as nothing here
    begins one."""
    dispatch = conn.dispatch
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    cursor = dbapi.cursor()
    try:
        for listener in dispatch.before_cursor_execute:
            sql, params = listener(conn, cursor, sql, params, None, False)
        cursor.execute(sql, params)
        for listener in dispatch.after_cursor_execute:
            listener(conn, cursor, sql, params, None, False)
        return take(cursor)
    except conn.dialect.loaded_dbapi.Error as exc:
        # SQLAlchemy's handling of a driver error (pinned version; tests/db/test_on_driver.py)
        conn._handle_dbapi_exception(exc, sql, params, cursor, None)
        raise  # not reached: it raises the wrapped exception
    finally:
        cursor.close()


COPY_FROM = 64
"""From this many rows on, :func:`append_rows` sends them to PostgreSQL by ``COPY``."""


def append_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (dicts by column name, as an INSERT's parameters, all with the same keys)
    in the connection's transaction. Many rows on PostgreSQL go by one ``COPY``, each value
    through its column type's own bind processing (JSON, aware UTC times) as the INSERT would
    (measured: 25,000 verdict rows 0.88 → 0.64 s); otherwise one Core INSERT. A ``COPY`` runs on
    the driver's cursor, so SQLAlchemy's statement events do not see it."""
    if not rows:
        return
    dialect = conn.dialect
    names = list(rows[0])
    # COPY applies no Python-side column default: a row that leaves one out takes the INSERT
    defaults_left_out = any(c.default is not None and c.name not in rows[0] for c in table.c)
    if dialect.name != "postgresql" or len(rows) < COPY_FROM or defaults_left_out:
        conn.execute(table.insert(), list(rows))
        return
    processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names]
    raw = conn.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[n] if p is None else p(row[n]) for n, p in zip(names, processors, strict=True)])


def as_date(value: date | str) -> date:
    """A DATE column's value from :class:`Statement` rows (SQLite stores ISO text)."""
    return value if isinstance(value, date) else date.fromisoformat(value)


def date_param(session: Session, value: date) -> date | str:
    """A date parameter for :class:`Statement` (SQLite compares ISO text)."""
    return value.isoformat() if session.get_bind().dialect.name == "sqlite" else value


def datetime_param(session: Session, value: datetime) -> datetime | str:
    """An aware UTC datetime parameter for :class:`Statement`, in the form the column stores
    (SQLite: naive UTC ISO text with a space, as ``models.base.UTCDateTime`` writes it)."""
    if session.get_bind().dialect.name != "sqlite":
        return value
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def refresh_statistics(database: Database, tables: tuple[str, ...] = ()) -> None:
    """Let PostgreSQL's planner see what a bulk load changed (``ANALYZE``): without it, right
    after an import, it plans the facts statement for empty tables (measured: 7 ms instead of
    0.8 ms per evaluate's facts), and autovacuum, which would do it later, may be off. SQLite
    is left alone: its statements are written for its planner without statistics (CROSS JOIN
    fixes their order), and statistics could change that."""
    if database.is_sqlite:
        return
    with database.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        if tables:
            for table in tables:
                conn.exec_driver_sql(f"ANALYZE {table}")
        else:
            conn.exec_driver_sql("ANALYZE")


def ping(session: Session) -> None:
    """Ask the database a trivial question; raises when it does not answer. A probe begins a
    read-only transaction, so on SQLite it never waits for (or holds) the write lock."""
    if not session.in_transaction():
        read_only(session)
    session.execute(text("SELECT 1"))
