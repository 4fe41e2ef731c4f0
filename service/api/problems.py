"""RFC 9457 problem details for every error the HTTP layer answers.

Titles are Korean by default and English with ``Accept-Language: en``. A 500 logs a
correlation id (never the body: it may carry an RRN) and returns the same id to the caller.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from typing import Any

from flask import Flask, Response, json, request
from werkzeug.exceptions import HTTPException

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
    500: ("서버 내부 오류입니다", "Internal server error"),
    503: ("서비스를 사용할 수 없습니다", "Service unavailable"),
}


def wants_english() -> bool:
    best = request.accept_languages.best_match(["ko", "en"], default="ko") if request else "ko"
    return best == "en"


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
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/problem+json")
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

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        correlation = uuid.uuid4().hex
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
