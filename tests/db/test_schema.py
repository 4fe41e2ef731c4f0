"""The Alembic migrations build exactly the schema the models describe, on both backends."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import text

from service.db import get_db
from service.migrations_runner import current_revision
from service.models import Base


def test_init_db_is_idempotent(app: Flask, runner: FlaskCliRunner) -> None:
    for _ in range(2):
        result = runner.invoke(args=["init-db"])
        assert result.exit_code == 0, result.output
    assert current_revision(get_db(app).engine) is not None


def test_migrations_match_models(app: Flask) -> None:
    with get_db(app).engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_healthz_answers_once_database_answers(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"  # and the release (tests/deploy/test_health.py)


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite compares bytewise (BINARY) whatever a column says
def test_identifier_columns_are_collated_bytewise(app: Flask) -> None:
    """compare_metadata does not compare collations: the catalogue must say what the models say
    (``identifier()`` columns ``COLLATE "C"`` on PostgreSQL, every other column the database's)."""
    engine = get_db(app).engine
    expected = {
        (table.name, column.name): getattr(column.type.dialect_impl(engine.dialect), "collation", None)
        for table in Base.metadata.tables.values()
        for column in table.columns
    }
    with engine.connect() as conn:
        found = {
            (table, column): collation
            for table, column, collation in conn.execute(
                text(
                    "SELECT table_name, column_name, collation_name FROM information_schema.columns "
                    "WHERE table_schema = current_schema()"
                )
            )
            if (table, column) in expected
        }
    assert found == expected
    assert found[("residents", "rrn_index")] == "C" and found[("residents", "name")] is None
