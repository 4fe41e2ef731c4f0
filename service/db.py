"""Database engine and sessions (plain SQLAlchemy 2.0, one session per request or command)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy issue BEGIN itself so that write transactions can be IMMEDIATE.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # Every transaction takes the write lock up front. Nearly every request writes (an
            # audit entry at least), and in WAL mode a transaction that started as a reader and
            # then writes fails at once with "database is locked" if another process committed
            # in between; waiting for the lock first (busy_timeout) serialises them instead.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


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
    if "db_session" not in g:
        g.db_session = get_db().sessionmaker()
    return g.db_session  # type: ignore[no-any-return]


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def ping(session: Session) -> None:
    """Ask the database a trivial question; raises when it does not answer."""
    session.execute(text("SELECT 1"))
