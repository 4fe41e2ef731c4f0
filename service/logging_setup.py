"""Structured logs: JSON lines with a correlation id per request, and no personal data.

Why it is shaped like this:

* every request gets an id (``X-Request-ID`` when the caller sent a well-formed one, else a
  fresh one), returned in the response header, carried by every log line written during the
  request, stored in the audit entries it writes (``audit.record``) and quoted in a 500's
  problem body, so one id leads from a complaint to the logs and to the access records;
* application logs and gunicorn's access and error logs are one JSON object per line
  (``SEONBYEOL_LOG_FORMAT=text`` for people reading a terminal);
* nothing that identifies a resident reaches a log line: messages never carry bodies or query
  strings, exceptions are logged with their type and stack but without their message (which
  may quote an input), SQLAlchemy's statement logging is held at WARNING (its parameters hold
  names), and as a last line of defence every formatted line is scrubbed of anything shaped
  like a resident registration number or a bearer token.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import traceback
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, has_request_context, request
from gunicorn.glogging import Logger as GunicornBaseLogger

REQUEST_ID_HEADER = "X-Request-ID"
_WELL_FORMED_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")  # fits audit_entries.request_id (64)
_RRN_LIKE = re.compile(r"(?<!\d)\d{6}-?\d{7}(?!\d)")
_TOKEN_LIKE = re.compile(r"sb_[A-Za-z0-9_-]{8,}")
_BEARER = re.compile(r"(?i)(bearer\s+)\S+")
_ANY_SECRET_LIKE = re.compile(rf"{_RRN_LIKE.pattern}|{_TOKEN_LIKE.pattern}|(?i:bearer\s+)\S+")
"""Matches where any of the three above would: the gate of :func:`redact`."""
_QUIET_LOGGERS = ("sqlalchemy", "sqlalchemy.engine", "sqlalchemy.pool", "sqlalchemy.orm")
_EXTRA_FIELDS = (
    "event", "method", "path", "status", "bytes", "duration_ms", "remote", "user_agent",
    "institution", "role", "token_prefix", "pid",
)  # fmt: skip
_HANDLER_MARK = "_seonbyeol_handler"


# --------------------------------------------------------------------------- the request's id


def current_request_id() -> str | None:
    """The id of the request being served (None outside a request, e.g. in a CLI command)."""
    if has_request_context():
        return g.get("request_id")  # type: ignore[no-any-return]
    return None


def accepted_request_id(value: str | None) -> str | None:
    """A caller's ``X-Request-ID`` when it is safe to log and store; None otherwise.

    Well-formed means 1–64 characters of letters, digits and ``._:-``; a value shaped like a
    resident registration number or one of our tokens is never taken, so that a careless
    caller cannot put personal data or a secret into every log line.
    """
    if not value or not _WELL_FORMED_ID.match(value):
        return None
    if _RRN_LIKE.search(value) or _TOKEN_LIKE.search(value):
        return None
    return value


def _assign_request_id() -> None:
    environ = request.environ  # the header read from the environ: a missing one raises nothing
    rid = accepted_request_id(environ.get("HTTP_" + REQUEST_ID_HEADER.upper().replace("-", "_"))) or uuid.uuid4().hex
    g.request_id = environ["seonbyeol.request_id"] = rid


def _return_request_id(response: Response) -> Response:
    rid = g.get("request_id")
    if rid:
        response.headers[REQUEST_ID_HEADER] = rid
    return response


# --------------------------------------------------------------------------- formatting


def redact(text: str) -> str:
    """Mask anything shaped like an RRN or a bearer token (a last defence, not the first).

    One search for any of the three shapes first: most values (a method, a path, a role) hold
    none, and then the text is returned as it is (an access line has a dozen values)."""
    if _ANY_SECRET_LIKE.search(text) is None:
        return text
    text = _RRN_LIKE.sub("[redacted-rrn]", text)
    text = _TOKEN_LIKE.sub("[redacted-token]", text)
    return _BEARER.sub(r"\1[redacted]", text)


def _stack(record: logging.LogRecord) -> dict[str, str]:
    """An exception's type and stack, never its message (it may quote an input)."""
    if not record.exc_info or record.exc_info[0] is None:
        return {}
    exc_type, _exc, tb = record.exc_info
    return {"exc_type": exc_type.__name__, "stack": "".join(traceback.format_tb(tb))}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and known extras."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        rid = getattr(record, "request_id", None) or current_request_id()
        if rid:
            payload["request_id"] = rid
        for key in _EXTRA_FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                payload[key] = redact(value) if isinstance(value, str) else value
        payload.update(_stack(record))
        return json.dumps(payload, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``SEONBYEOL_LOG_FORMAT=text``: the same facts on one readable line (redacted too)."""

    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", None) or current_request_id()
        line = f"{self.formatTime(record)} {record.levelname} {record.name} [{rid or '-'}] {record.getMessage()}"
        stack = _stack(record)
        if stack:
            line += f" ({stack['exc_type']})\n{stack['stack']}"
        return redact(line)


def formatter(kind: str) -> logging.Formatter:
    return TextFormatter() if kind == "text" else JsonFormatter()


def _install_root_handler(kind: str, level: str) -> None:
    root = logging.getLogger()
    for handler in root.handlers:
        if getattr(handler, _HANDLER_MARK, False):
            handler.setFormatter(formatter(kind))
            break
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(formatter(kind))
        setattr(handler, _HANDLER_MARK, True)
        root.addHandler(handler)
    root.setLevel(level)


def init_app(app: Flask) -> None:
    """Give every request its id and, outside tests, send the application's logs to standard
    error as JSON lines (``LOG_FORMAT``, ``LOG_LEVEL``)."""
    kind = str(app.config.get("LOG_FORMAT", "json")).lower()
    if kind not in ("json", "text"):
        from .config import ConfigError

        raise ConfigError(f"SEONBYEOL_LOG_FORMAT={kind!r}: json 또는 text여야 합니다 (must be json or text)")
    level = str(app.config.get("LOG_LEVEL", "INFO")).upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        from .config import ConfigError

        raise ConfigError(f"SEONBYEOL_LOG_LEVEL={level!r}: DEBUG, INFO, WARNING, ERROR 또는 CRITICAL")
    for name in _QUIET_LOGGERS:  # statement logging would print parameters: names, blind indexes
        logging.getLogger(name).setLevel(logging.WARNING)
    if not app.testing:  # tests capture records themselves (caplog, tests/security)
        _install_root_handler(kind, level)
    app.before_request_funcs.setdefault(None, []).insert(0, _assign_request_id)  # first: every log has it
    app.after_request(_return_request_id)


# --------------------------------------------------------------------------- gunicorn


class GunicornLogger(GunicornBaseLogger):  # type: ignore[misc]
    """gunicorn's logger with JSON lines: its error log, and an access log that names the
    request id and the caller (institution, role, token prefix) but never the query string,
    the body or the token. Used as ``logger_class`` (service/server.py)."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(JsonFormatter())

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.access_log_enabled:
            return
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        actor = environ.get("seonbyeol.actor") or {}
        duration = request_time.seconds * 1000 + request_time.microseconds / 1000
        extra = {
            "event": "access",
            "request_id": environ.get("seonbyeol.request_id") or _answered_request_id(resp),
            "remote": environ.get("REMOTE_ADDR"),
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),  # without the query string: it may carry an RRN
            "status": int(status) if str(status).isdigit() else status,
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(duration, 1),
            "user_agent": (environ.get("HTTP_USER_AGENT") or "")[:200] or None,
            "pid": os.getpid(),
            **{k: actor.get(k) for k in ("institution", "role", "token_prefix")},
        }
        try:
            self.access_log.info("%s %s %s", extra["method"], extra["path"], extra["status"], extra=extra)
        except Exception:  # noqa: BLE001 - a log line must never fail a request
            self.error("access log line failed: " + traceback.format_exc().splitlines()[-1])


def _answered_request_id(resp: Any) -> str | None:
    """The ``X-Request-ID`` of an answer the application did not see (gunicorn's own errors)."""
    headers = resp.headers.items() if hasattr(resp.headers, "items") else resp.headers
    return next((v for k, v in headers if k.lower() == REQUEST_ID_HEADER.lower()), None)


def gunicorn_options() -> dict[str, Any]:
    """What service/server.py passes to gunicorn for JSON logs."""
    return {"logger_class": f"{__name__}.GunicornLogger"}
