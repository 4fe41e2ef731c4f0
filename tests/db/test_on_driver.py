"""Statements run on the driver's cursor (db.on_driver) keep what exec_driver_sql gave: the
statement events, SQLAlchemy's exceptions with hidden parameters, a disconnect invalidating."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event
from sqlalchemy import exc as sa_exc

from service.db import Statement, get_db, read_only

SECRET = "900101-1234567"


def test_listeners_see_each_statement_once_before_and_after(app: Flask) -> None:
    engine = get_db(app).engine
    seen: list[tuple[str, str, Any]] = []

    def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, context: Any, _many: bool) -> None:
        seen.append(("before", statement, context))

    def after(_conn: Any, _cursor: Any, statement: str, parameters: Any, context: Any, _many: bool) -> None:
        seen.append(("after", statement, context))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        with get_db(app).sessionmaker() as session:
            rows = Statement("SELECT :a + 1, :b").rows(session, {"a": 41, "b": "둘"})
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    assert rows == [(42, "둘")]
    assert [(kind, context) for kind, _, context in seen] == [("before", None), ("after", None)]
    assert seen[0][1] == seen[1][1] and "SELECT" in seen[0][1]


def test_a_listener_may_rewrite_the_statement(app: Flask) -> None:
    engine = get_db(app).engine

    def rewrite(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> tuple[str, Any]:
        return statement.replace("1", "2"), parameters

    event.listen(engine, "before_cursor_execute", rewrite, retval=True)
    try:
        with get_db(app).sessionmaker() as session:
            assert Statement("SELECT 1").rows(session, {}) == [(2,)]
    finally:
        event.remove(engine, "before_cursor_execute", rewrite)


def test_the_read_only_guard_still_refuses_a_write(app: Flask) -> None:
    if get_db(app).engine.dialect.name != "sqlite":
        pytest.skip("the guard is SQLite's: a PostgreSQL reader may write (MVCC, nothing to upgrade)")
    with get_db(app).sessionmaker() as session:
        read_only(session)
        with pytest.raises(RuntimeError, match="read_only"):
            Statement("DELETE FROM audit_entries WHERE id = :id").execute(session, {"id": 1})


def test_a_driver_error_is_sqlalchemys_exception_without_the_parameters(app: Flask) -> None:
    with get_db(app).sessionmaker() as session:
        with pytest.raises(sa_exc.DBAPIError) as raised:
            Statement("SELECT no_such_column FROM residents WHERE rrn_index = :idx").rows(session, {"idx": SECRET})
        assert isinstance(raised.value, (sa_exc.OperationalError, sa_exc.ProgrammingError))
        assert SECRET not in str(raised.value)  # the engine hides parameters
        assert not raised.value.connection_invalidated
        session.rollback()
        assert Statement("SELECT 1").rows(session, {}) == [(1,)]  # the session goes on


def test_a_dropped_connection_is_invalidated_and_replaced(app: Flask) -> None:
    engine = get_db(app).engine
    if engine.dialect.name != "postgresql":
        pytest.skip("a server-side disconnect needs a server")
    with get_db(app).sessionmaker() as session:
        (pid,) = Statement("SELECT pg_backend_pid()").rows(session, {})[0]
        with engine.connect() as other:
            other.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
        with pytest.raises(sa_exc.DBAPIError) as raised:
            Statement("SELECT 1").rows(session, {})
        assert raised.value.connection_invalidated
        session.rollback()
        (new_pid,) = Statement("SELECT pg_backend_pid()").rows(session, {})[0]
        assert new_pid != pid
