"""Per-token rate limits on the screening calls (Flask-Limiter).

One budget per bearer token covers ``POST /api/v1/evaluate``, ``POST /api/v1/evaluate/batch``
and ``POST /api/v1/programs/{code}/nominations`` (each request costs one, a batch too):
``SEONBYEOL_RATE_LIMIT`` (default ``600/minute``, any ``limits`` string such as
``100/minute;2000/hour``; ``off`` disables it). The key is a digest of the token, never the
client's address: offices share one outgoing address, and a caller without a token is not
counted (it gets its 401). A moving window, so that no burst of twice the limit fits across a
window's edge.

The counters live in memory by default, so each worker process counts for itself; with
``SEONBYEOL_RATE_LIMIT_STORAGE=redis://host:6379/0`` every worker on every host shares them.
Should Redis stop answering, each worker falls back to counting in memory (logged) rather than
refusing or crashing requests, and returns to Redis when it is back.

Over the limit: 429 problem+json, Korean first, with ``Retry-After`` in seconds.
"""

from __future__ import annotations

import functools
import hashlib
import math
import time
from collections.abc import Callable
from typing import Any, Final

from flask import Flask, Response, current_app
from flask_limiter import Limiter, RateLimitExceeded
from limits import parse_many

from .config import ConfigError

LIMITED_ENDPOINTS: Final = ("nominations.Evaluate", "nominations.EvaluateBatch", "nominations.ProgramNominations")
"""Flask endpoints of the screening calls; only their POST is limited (listing is not)."""
SCOPE: Final = "screening"
OFF: Final = frozenset({"off", "none", "0", "false", "disabled"})
EXTENSION: Final = "seonbyeol.limiter"


def parse_setting(value: Any) -> str | None:
    """The limit string, or None when limiting is off; a string ``limits`` cannot read is a
    start-up error naming the variable."""
    return _parse(str(value or "").strip())


@functools.lru_cache(maxsize=32)
def _parse(text: str) -> str | None:
    if text.lower() in OFF:
        return None
    try:
        if not parse_many(text):
            raise ValueError(text)
    except ValueError:
        raise ConfigError(
            f"SEONBYEOL_RATE_LIMIT={text!r}: '600/minute' 같은 형식이어야 합니다 "
            "(a limit such as '600/minute' or '100/minute;2000/hour', or 'off')"
        ) from None
    return text


def token_key() -> str:
    """The bucket of the request's bearer token: a digest unrelated to the stored hash (so a
    log line naming the bucket leads to no database row); empty without a token."""
    from .api.auth import bearer_token

    token = bearer_token()
    if token is None:
        return ""  # Flask-Limiter skips a limit whose key is empty: the view answers 401
    return "token:" + hashlib.sha256(b"seonbyeol-rate-limit:" + token.encode("utf-8", "replace")).hexdigest()[:32]


def _current_setting() -> str:
    return parse_setting(current_app.config.get("RATE_LIMIT")) or "1000000/second"


def _is_off() -> bool:
    return parse_setting(current_app.config.get("RATE_LIMIT")) is None


def _too_many(exc: RateLimitExceeded) -> Response:
    from .api.problems import problem_response

    limiter: Limiter = current_app.extensions[EXTENSION]
    current = limiter.current_limit
    retry = max(1, math.ceil(current.window.reset_time - time.time())) if current is not None else 60
    limit = str(exc.limit.limit)  # e.g. "600 per 1 minute"
    response = problem_response(
        429,
        (
            f"토큰별 요청 한도({limit})를 넘었습니다; {retry}초 뒤에 다시 시도하세요",
            f"the per-token rate limit ({limit}) is exceeded; retry in {retry} s",
        ),
        limit=limit,
        retry_after=retry,
    )
    response.headers["Retry-After"] = str(retry)
    return response


def _unless_off(view: Callable[..., Any], decorate: Callable[[Callable[..., Any]], Callable[..., Any]]) -> Any:
    """The view limited, or the bare view while the setting is ``off`` (read per request, so a
    changed setting applies at once; off, a request pays no limiter work at all)."""
    limited = decorate(view)

    @functools.wraps(view)
    def dispatch(*args: Any, **kwargs: Any) -> Any:
        if _is_off():
            return view(*args, **kwargs)
        return limited(*args, **kwargs)

    return dispatch


def init_app(app: Flask) -> None:
    """Limit the screening views (call after the API blueprints are registered)."""
    parse_setting(app.config.get("RATE_LIMIT"))  # refuse a bad setting at start-up
    storage = str(app.config.get("RATE_LIMIT_STORAGE") or "memory://")
    limiter = Limiter(
        token_key,
        app=app,
        storage_uri=storage,
        strategy="moving-window",
        key_prefix=str(app.config.get("RATE_LIMIT_KEY_PREFIX") or "seonbyeol"),
        headers_enabled=False,  # Retry-After is set on the 429 only (below)
        in_memory_fallback_enabled=not storage.startswith("memory"),
        swallow_errors=True,  # a storage failure is logged, never a 500
    )
    app.extensions[EXTENSION] = limiter
    decorate: Callable[[Callable[..., Any]], Callable[..., Any]] = limiter.shared_limit(
        _current_setting, scope=SCOPE, methods=["POST"], exempt_when=_is_off
    )
    for endpoint in LIMITED_ENDPOINTS:
        if endpoint not in app.view_functions:
            raise RuntimeError(f"rate-limited endpoint {endpoint} is not registered")
        app.view_functions[endpoint] = _unless_off(app.view_functions[endpoint], decorate)
    # Every limit is a decorated one (above), so the extension's check before every request (for
    # default and application-wide limits, of which there are none) would only cost time.
    app.before_request_funcs[None].remove(limiter._check_request_limit)
    app.register_error_handler(RateLimitExceeded, _too_many)
