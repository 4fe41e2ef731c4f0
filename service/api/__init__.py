"""The HTTP API (``/api/v1``) and the health check."""

from __future__ import annotations

from flask import Blueprint, Flask, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from ..db import get_session
from . import problems

health = Blueprint("health", __name__)


@health.get("/healthz")
def healthz() -> ResponseReturnValue:
    """``{"status": "ok"}`` once the database answers a query."""
    try:
        get_session().execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any database failure means "not ready"
        return problems.problem_response(
            503, ("데이터베이스가 응답하지 않습니다", "database unavailable")
        )
    return jsonify(status="ok")


def init_app(app: Flask) -> None:
    problems.init_app(app)
    app.register_blueprint(health)
