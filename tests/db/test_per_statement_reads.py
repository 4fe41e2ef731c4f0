"""``read_only(per_statement=True)`` (evaluate's reads) and the write after it: on PostgreSQL
the reads run without a transaction block and a single write commits by itself (seen at once
from another connection, before the session commits); a caller that needs a transaction block
asks for one. On SQLite the write after it is an ordinary ``BEGIN IMMEDIATE`` transaction."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import text

from service.db import READ_ONLY, begin_write, get_db, is_read_only, read_only, write_after_read

_MARK = "9999999999"


def _seen_elsewhere(app: Flask) -> int:
    with get_db(app).engine.connect() as conn:
        other = conn.execution_options(**{READ_ONLY: True})  # a reader: on SQLite it waits for no lock
        sql = text("SELECT count(*) FROM districts WHERE code = :code")
        return int(other.execute(sql, {"code": _MARK}).scalar() or 0)


def _insert(session: object) -> None:
    session.execute(  # type: ignore[attr-defined]
        text("INSERT INTO districts (code, name) VALUES (:code, '확인용')"), {"code": _MARK}
    )


def _cleanup(app: Flask) -> None:
    with get_db(app).engine.begin() as conn:
        conn.execute(text("DELETE FROM districts WHERE code = :code"), {"code": _MARK})


def test_a_write_after_per_statement_reads(app: Flask) -> None:
    database = get_db(app)
    try:
        with database.sessionmaker() as session:
            read_only(session, per_statement=True)
            assert is_read_only(session)
            assert session.execute(text("SELECT count(*) FROM districts")).scalar() is not None
            write_after_read(session)
            _insert(session)
            if database.is_sqlite:
                assert _seen_elsewhere(app) == 0, "SQLite: the write is a transaction of its own"
            else:
                assert _seen_elsewhere(app) == 1, "PostgreSQL: the one write commits by itself"
            session.commit()
        assert _seen_elsewhere(app) == 1
    finally:
        _cleanup(app)


def test_begin_write_after_per_statement_reads_is_a_transaction_block(app: Flask) -> None:
    try:
        with get_db(app).sessionmaker() as session:
            read_only(session, per_statement=True)
            session.execute(text("SELECT 1"))
            begin_write(session)
            _insert(session)
            assert _seen_elsewhere(app) == 0, "the write waits for the commit"
            session.rollback()
        assert _seen_elsewhere(app) == 0, "rolled back: nothing kept"
    finally:
        _cleanup(app)
