"""RFC 9457 problem details for every error the HTTP layer answers, and their OpenAPI truth.

Titles are Korean by default and English with ``Accept-Language: en``. A 500 logs the
request's correlation id (never the body: it may carry an RRN) and returns the same id to
the caller. A database that does not answer is a 503 with ``Retry-After``, never a 500, and
the next request after it returns is served as usual (the pool pre-pings its connections).

:class:`ProblemApi` documents all of it in the served OpenAPI document: every error response
is ``application/problem+json`` with the problem schema, and every string the API refuses
NUL characters in says so with a ``pattern``.
"""

from __future__ import annotations

import http
import logging
import traceback
import uuid
from typing import Any

from apispec import BasePlugin
from flask import Flask, Response, current_app, json, request
from flask.typing import ResponseReturnValue
from flask_smorest import Api
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException, ServiceUnavailable

log = logging.getLogger("seonbyeol.errors")

TITLES: dict[int, tuple[str, str]] = {
    400: ("잘못된 요청입니다", "Bad request"),
    401: ("인증이 필요합니다", "Authentication required"),
    403: ("권한이 없습니다", "Forbidden"),
    404: ("찾을 수 없습니다", "Not found"),
    405: ("허용되지 않는 메서드입니다", "Method not allowed"),
    409: ("요청이 현재 상태와 충돌합니다", "Conflict"),
    413: ("요청 본문이 너무 큽니다", "Request body too large"),
    415: ("지원하지 않는 형식입니다", "Unsupported media type"),
    422: ("입력값이 올바르지 않습니다", "Invalid input"),
    429: ("요청이 너무 많습니다", "Too many requests"),
    500: ("서버 내부 오류입니다", "Internal server error"),
    503: ("서비스를 사용할 수 없습니다", "Service unavailable"),
}


PROBLEM_JSON = "application/problem+json"
DB_UNAVAILABLE = (
    "데이터베이스에 연결할 수 없습니다; 잠시 뒤 다시 시도하세요",
    "the database is unavailable; try again shortly",
)
DB_RETRY_AFTER = 5
"""Seconds a client should wait after a 503 for an unreachable database."""
DATABASE_DOWN_ERRORS: tuple[type[Exception], ...] = (
    sa_exc.OperationalError,  # refused, reset, timed out, server shut down; SQLite: locked, unreadable
    sa_exc.InterfaceError,  # the driver's connection is unusable
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,  # no pooled connection came free in time
)


def wants_english() -> bool:
    """Whether the caller prefers English to Korean (``Accept-Language``; Korean without one)."""
    if not request or not request.environ.get("HTTP_ACCEPT_LANGUAGE"):
        return False
    return bool(request.accept_languages.best_match(["ko", "en"], default="ko") == "en")


class Problem(Exception):
    """Raise to answer a problem+json; ``detail`` is (Korean, English)."""

    def __init__(
        self,
        status: int,
        detail: tuple[str, str] | str | None = None,
        errors: dict[str, Any] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(status)
        self.status = status
        self.detail = detail
        self.errors = errors
        self.extra = extra


def problem_response(
    status: int,
    detail: tuple[str, str] | str | None = None,
    errors: dict[str, Any] | None = None,
    **extra: Any,
) -> Response:
    en = wants_english()
    ko_title, en_title = TITLES.get(status, (f"오류 {status}", f"Error {status}"))
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": en_title if en else ko_title,
        "status": status,
    }
    if isinstance(detail, tuple):
        body["detail"] = detail[1] if en else detail[0]
    elif detail:
        body["detail"] = detail
    else:
        body["detail"] = body["title"]
    if errors:
        body["errors"] = errors
    body.update(extra)
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_JSON)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="seonbyeol"'
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(Problem)
    def _problem(exc: Problem) -> Response:
        return problem_response(exc.status, exc.detail, exc.errors, **exc.extra)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        status = exc.code or 500
        errors = None
        data = getattr(exc, "data", None)  # flask-smorest / webargs validation details
        if status == 422 and isinstance(data, dict) and "messages" in data:
            errors = flatten_errors(_strip_locations(data["messages"]))
        detail: tuple[str, str] | None = None
        if status == 400 and isinstance(data, dict) and "messages" in data:
            detail = ("요청 본문이 올바른 JSON이 아닙니다", "the request body is not valid JSON")
        elif status == 413:
            detail = ("요청 본문은 1MB를 넘을 수 없습니다", "the request body may not exceed 1 MB")
        response = problem_response(status, detail, errors)
        if status == 405 and exc.get_response().headers.get("Allow"):
            response.headers["Allow"] = exc.get_response().headers["Allow"]
        return response

    def _database_down(exc: Exception) -> ResponseReturnValue:
        # The type of the driver's error only: its message names hosts and, for SQLite, files.
        original = getattr(exc, "orig", None) or exc
        log.warning("database unavailable (%s) on %s %s", type(original).__name__, request.method, request.path)
        if request.blueprint == "admin_ui":  # the admin UI answers with its own error page
            return current_app.handle_http_exception(ServiceUnavailable())
        response = problem_response(503, DB_UNAVAILABLE)
        response.headers["Retry-After"] = str(DB_RETRY_AFTER)
        return response

    for error in DATABASE_DOWN_ERRORS:
        app.register_error_handler(error, _database_down)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        from ..logging_setup import current_request_id

        correlation = current_request_id() or uuid.uuid4().hex
        # Only the type and the correlation id: the body or the message may carry an RRN.
        # The stack (files and lines) helps operators; the message is left out.
        stack = "".join(traceback.format_tb(exc.__traceback__))
        log.error("unhandled %s on %s %s [correlation %s]\n%s", type(exc).__name__, request.method,
                  request.path, correlation, stack)  # fmt: skip
        return problem_response(
            500,
            (
                f"문의 시 이 번호를 알려 주세요: {correlation}",
                f"Quote this id when reporting: {correlation}",
            ),
            correlation_id=correlation,
        )


def _strip_locations(messages: Any) -> Any:
    """webargs nests messages by location (``json``, ``query``); callers want field names."""
    locations = {"json", "query", "form", "headers", "files", "view_args", "json_or_form", "querystring"}
    if isinstance(messages, dict) and messages and set(messages) <= locations:
        out: dict[str, Any] = {}
        for value in messages.values():
            if isinstance(value, dict):
                out.update(value)
            else:
                out.setdefault("_schema", []).extend(value if isinstance(value, list) else [value])
        return out
    return messages


# marshmallow's messages are English; officers read Korean first. Known ones get a Korean lead.
_KOREAN = (
    ("Missing data for required field", "필수 항목입니다"),
    ("Unknown field", "알 수 없는 항목입니다"),
    ("Field may not be null", "비워 둘 수 없습니다"),
    ("Not a valid integer", "정수가 아닙니다"),
    ("Not a valid string", "문자열이 아닙니다"),
    ("Not a valid date", "날짜(YYYY-MM-DD)가 아닙니다"),
    ("Not a valid boolean", "참/거짓 값이 아닙니다"),
    ("Not a valid mapping type", "객체(JSON object)가 아닙니다"),
    ("Invalid input type", "입력 형식이 올바르지 않습니다"),
    ("Must be one of", "허용된 값이 아닙니다"),
    ("Length must be", "길이가 허용 범위를 벗어났습니다"),
    ("Shorter than minimum length", "너무 짧습니다"),
    ("Longer than maximum length", "너무 깁니다"),
    ("Must be greater than or equal to", "허용 범위보다 작습니다"),
    ("Must be less than or equal to", "허용 범위보다 큽니다"),
    ("Invalid JSON body", "JSON 형식이 올바르지 않습니다"),
)


def _korean_first(message: str) -> str:
    for english, korean in _KOREAN:
        if message.startswith(english):
            return f"{korean} ({message})"
    return message


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """``{"nominee": {"rrn": [...]}}`` → ``{"nominee.rrn": [...]}``: one key per field."""
    if isinstance(messages, dict):
        out: dict[str, list[str]] = {}
        for key, value in messages.items():
            name = str(key) if not prefix else f"{prefix}.{key}"
            if key == "_schema" and prefix:
                name = prefix
            out.update(flatten_errors(value, name))
        return out
    if isinstance(messages, list):
        if all(isinstance(m, str) for m in messages):
            return {prefix or "_schema": [_korean_first(m) for m in messages]}
        out = {}
        for i, m in enumerate(messages):
            out.update(flatten_errors(m, f"{prefix}[{i}]"))
        return out
    return {prefix or "_schema": [str(messages)]}


# ----------------------------------------------------------------------------- the OpenAPI document

NO_NUL_PATTERN = "^[^\\x00]*$"
"""Every string of a request refuses NUL characters (PostgreSQL cannot store them)."""

_PROBLEM_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "Bearer realm", "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "seconds until the limit lets a request through", "required": True,
                          "schema": {"type": "integer", "minimum": 1}}},
    503: {"Retry-After": {"description": "seconds to wait before trying again", "required": True,
                          "schema": {"type": "integer", "minimum": 1}}},
}  # fmt: skip


DOWNLOADS = {
    "csv": ("text/csv", {"type": "string"}),
    "xlsx": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        {"type": "string", "format": "binary"},
    ),
}
"""What ``?format=csv|xlsx`` answers instead of JSON (service/exports.py)."""
RRN_PATTERN = r"^[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])-?[0-9]{7}$"
RRN_DESCRIPTION = (
    "주민등록번호 YYMMDD-NNNNNNN 또는 13자리 숫자; 실제 날짜여야 합니다 "
    "(a resident registration number, YYMMDD-NNNNNNN or 13 digits; the birth date must be a real date)"
)


class _ProblemResponses(BasePlugin):
    """Declares on every operation what it really answers: the errors it can give, each a
    problem+json response; the downloads ``format`` selects; whether its body may be left out."""

    def __init__(self, limited: set[tuple[str, str]]) -> None:
        self.limited = limited
        self.spec: Any = None

    def init_spec(self, spec: Any) -> None:
        self.spec = spec

    def _schema_of(self, ref: Any) -> dict[str, Any]:
        name = ref.get("$ref", "").rsplit("/", 1)[-1] if isinstance(ref, dict) else str(ref)
        found = self.spec.components.schemas.get(name) if self.spec is not None else None
        return found if isinstance(found, dict) else {}

    def operation_helper(self, path: str | None = None, operations: dict[str, Any] | None = None,
                         **_: Any) -> None:  # fmt: skip
        for method, operation in (operations or {}).items():
            if not isinstance(operation, dict) or method.upper() not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                continue
            responses = operation.setdefault("responses", {})
            statuses = [401, 403, 503]
            if "{" in (path or ""):
                statuses.append(404)
            body = operation.get("requestBody")
            if body:
                statuses += [400, 413, 422]
                schema = body.get("content", {}).get("application/json", {}).get("schema")
                if schema is not None and not self._schema_of(schema).get("required"):
                    body["required"] = False  # every field optional: no body at all is accepted too
            parameters = [p for p in operation.get("parameters", []) if isinstance(p, dict)]
            if parameters:
                statuses.append(422)
            if (method.upper(), path) in self.limited:
                statuses.append(429)
            declared = {str(code) for code in responses}
            for status in statuses:
                if str(status) not in declared:
                    responses[str(status)] = http.HTTPStatus(status).name
            formats: list[str] = next(
                (p.get("schema", {}).get("enum", []) for p in parameters if p.get("name") == "format"), []
            )
            ok = responses.get(200, responses.get("200"))
            if isinstance(ok, dict) and "content" in ok:
                for fmt in formats:
                    if fmt in DOWNLOADS:
                        media, schema = DOWNLOADS[fmt]
                        ok["content"].setdefault(media, {"schema": schema})


def _request_truths(self: Any, field: Any, ret: dict[str, Any] | None = None, **_: Any) -> dict[str, Any]:
    """An apispec attribute function: what request fields refuse, said in the document.

    Strings refuse NUL characters (``pattern``); an RRN has its form (``pattern``); a mapping's
    length bounds are ``minProperties``/``maxProperties``.
    """
    from marshmallow import fields, validate

    from .schemas import BaseSchema, RRNField

    ret = ret if ret is not None else {}
    out: dict[str, Any] = {}
    if isinstance(field, fields.Dict):
        ret.pop("minLength", None)  # apispec writes a mapping's Length as a string's; it is a count of keys
        ret.pop("maxLength", None)
        for validator in field.validators:
            if isinstance(validator, validate.Length):
                if validator.min is not None:
                    out["minProperties"] = validator.min
                if validator.max is not None:
                    out["maxProperties"] = validator.max
    if not isinstance(field.root, BaseSchema):
        return out
    if isinstance(field, RRNField):
        out.update(pattern=RRN_PATTERN, description=ret.get("description") or RRN_DESCRIPTION)
    elif isinstance(field, fields.String) and not ret.get("pattern") and not ret.get("enum"):
        out["pattern"] = NO_NUL_PATTERN
    elif isinstance(field, fields.Dict):
        note = "NUL 문자는 쓸 수 없습니다 (keys and values may not contain NUL characters)"
        described = ret.get("description")
        out["description"] = f"{described} — {note}" if described else note
    return out


class ProblemApi(Api):  # type: ignore[misc]
    """flask-smorest's ``Api`` whose documented errors are what the service answers."""

    LIMITED: set[tuple[str, str]] = {
        ("POST", "/api/v1/evaluate"),
        ("POST", "/api/v1/evaluate/batch"),
        ("POST", "/api/v1/programs/{code}/nominations"),
    }
    """Operations under the per-token rate limit (service/limits.py), documented with a 429."""

    def __init__(self, app: Flask | None = None, *, spec_kwargs: dict[str, Any] | None = None) -> None:
        from .schemas import ProblemOut

        self.ERROR_SCHEMA = ProblemOut
        spec_kwargs = dict(spec_kwargs or {})
        spec_kwargs["extra_plugins"] = [*spec_kwargs.get("extra_plugins", ()), _ProblemResponses(self.LIMITED)]
        super().__init__(app, spec_kwargs=spec_kwargs)

    def _init_spec(self, **kwargs: Any) -> None:
        super()._init_spec(**kwargs)
        self.ma_plugin.converter.add_attribute_function(_request_truths)

    def _register_responses(self) -> None:
        """flask-smorest's default responses, as ``application/problem+json`` with the problem schema."""
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["content"] = {PROBLEM_JSON: {"schema": self.ERROR_SCHEMA}}
                if status in _PROBLEM_HEADERS:
                    response["headers"] = _PROBLEM_HEADERS[status]
            self.spec.components.response(status.name, response, lazy=True)
        self.spec.components.response(
            self.DEFAULT_ERROR_RESPONSE_NAME,
            {"description": "Default error response", "content": {PROBLEM_JSON: {"schema": self.ERROR_SCHEMA}}},
            lazy=True,
        )
