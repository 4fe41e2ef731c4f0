"""The Alembic migrations build exactly the schema the models describe, on both backends."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from flask import Flask
from flask.testing import FlaskCliRunner

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
