"""The HTTP API (``/api/v1``), its OpenAPI document, and the health check."""

from __future__ import annotations

import html
from typing import Any

from flask import Blueprint, Flask, Response, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import DataError
from werkzeug.routing import IntegerConverter

from ..db import get_session, ping
from ..errors import ServiceError
from ..readiness import head_revision, schema_revision
from ..version import __version__
from . import problems
from .schemas import MAX_ID

health = Blueprint("health", __name__)


class IdConverter(IntegerConverter):
    """A row id in a URL: 1 to 2^31-1, so an absurd id is a 404 rather than a database error."""

    def __init__(self, url_map: Any) -> None:
        super().__init__(url_map, min=1, max=MAX_ID)


_DB_DOWN = ("데이터베이스가 응답하지 않습니다", "database unavailable")


@health.get("/healthz")
def healthz() -> ResponseReturnValue:
    """``{"status": "ok", "version": ...}`` once the database answers a query, 503 while it does not.

    Nothing is cached: each probe opens (or pre-pings) a pooled connection, so the answer turns
    back to 200 by itself when the database returns, without restarting the server.
    """
    try:
        ping(get_session())
    except Exception:  # noqa: BLE001 - any database failure means "not ready"
        return problems.problem_response(503, _DB_DOWN)
    return jsonify(status="ok", version=__version__)


@health.get("/readyz")
def readyz() -> ResponseReturnValue:
    """``{"status": "ready"}`` when the database answers and its schema is at the newest migration.

    A load balancer (or compose's healthcheck) sends traffic only then: a server started before
    ``seonbyeol init-db`` finished, or one of an older release on a newer schema, answers 503.
    """
    try:
        current = schema_revision(get_session())
    except Exception:  # noqa: BLE001 - any database failure means "not ready"
        return problems.problem_response(503, _DB_DOWN)
    head = head_revision()
    if current != head:
        return problems.problem_response(
            503,
            (
                f"데이터베이스 스키마가 최신이 아닙니다 (현재 {current or '없음'}, 필요 {head}): "
                "seonbyeol init-db를 실행하세요",
                f"database schema is not current (at {current or 'none'}, needs {head}): run seonbyeol init-db",
            ),
            revision=current,
            head=head,
        )
    return jsonify(status="ready")


def _docs_page(spec: dict[str, Any]) -> str:
    """A self-contained HTML page listing the API (no CDN: offices may have no internet)."""
    rows = []
    for path, ops in sorted(spec.get("paths", {}).items()):
        for method, op in ops.items():
            if method not in ("get", "post", "put", "delete", "patch"):
                continue
            summary = html.escape(op.get("summary", "") or op.get("description", "").split("\n")[0])
            rows.append(f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}</code></td>"
                        f"<td>{summary}</td></tr>")  # fmt: skip
    return (
        "<!doctype html><html lang='ko'><meta charset='utf-8'><title>선별 API v1</title>"
        "<style>body{font-family:sans-serif;margin:2em}td{padding:.3em .8em;border-bottom:1px solid #ddd}</style>"
        "<h1>선별 (seonbyeol) API v1</h1><p>OpenAPI: <a href='/api/v1/openapi.json'>/api/v1/openapi.json</a>. "
        "인증: <code>Authorization: Bearer TOKEN</code>.</p><table>" + "".join(rows) + "</table></html>"
    )


def init_app(app: Flask) -> None:
    app.config.setdefault("API_TITLE", "seonbyeol (선별)")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.url_map.converters["id"] = IdConverter
    api = problems.ProblemApi(app, spec_kwargs={"servers": [{"url": "/"}]})
    api.register_converter(IdConverter, lambda _c: {"type": "integer", "minimum": 1, "maximum": MAX_ID})
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.spec.options["security"] = [{"bearerAuth": []}]

    from . import nominations, operations, pools, programs

    for module in (programs, nominations, pools, operations):
        api.register_blueprint(module.blp)
    app.register_blueprint(health)

    @app.get("/api/v1/docs")
    def api_docs() -> Response:
        return Response(_docs_page(api.spec.to_dict()), mimetype="text/html")

    # After flask-smorest's own handlers, so that every error is problem+json.
    problems.init_app(app)

    @app.errorhandler(DataError)
    def _data_error(exc: DataError) -> Response:
        # A value the database refuses (out of range, bad encoding) is bad input, not a crash.
        problems.log.warning("database refused a value: %s", type(exc.orig).__name__)
        return problems.problem_response(422, ("데이터베이스가 받을 수 없는 값입니다", "a value is out of range"))

    @app.errorhandler(ServiceError)
    def _service_error(exc: ServiceError) -> Response:
        return problems.problem_response(exc.status, (exc.ko, exc.en), exc.errors)
