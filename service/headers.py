"""Response headers that keep personal data out of caches, frames and other origins.

* every answer: ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY`` and a
  ``Referrer-Policy`` (``no-referrer``; the admin UI keeps ``same-origin``, which Flask-WTF's
  CSRF check needs over HTTPS);
* ``Strict-Transport-Security`` when the request came over TLS (``request.is_secure``; behind
  a reverse proxy set ``SEONBYEOL_TRUSTED_PROXIES`` to the number of proxies so that their
  ``X-Forwarded-Proto``/``-For``/``-Host`` are believed, and only theirs);
* ``Cache-Control: no-store`` on every answer that may carry personal data: all of ``/api/v1``
  but the OpenAPI document and its docs page, and every ``/admin/`` page (not its static files);
* a strict ``Content-Security-Policy`` on ``/admin/`` (no inline script or style, nothing from
  another origin, no framing) and a closed one on the API's JSON answers.
"""

from __future__ import annotations

from typing import Final

from flask import Flask, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import ConfigError

ADMIN_CSP: Final = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
    ]
)
API_CSP: Final = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
"""JSON answers load nothing; a browser that renders one anyway runs nothing from it."""
DOCS_CSP: Final = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"
"""The plain API docs page has one inline style block and no script."""
HSTS: Final = "max-age=31536000; includeSubDomains"
PUBLIC_API_PATHS: Final = frozenset({"/api/v1/openapi.json", "/api/v1/docs"})
MAX_PROXIES: Final = 5


def carries_personal_data(path: str, endpoint: str | None) -> bool:
    """Answers that must never be stored by a browser or a proxy."""
    if path.startswith("/api/v1/") or path == "/api/v1":
        return path not in PUBLIC_API_PATHS
    if path.startswith("/admin"):
        return endpoint != "admin_ui.static"
    return False


_Plan = tuple[tuple[str, str, str, bool], ...]
_PLANS: dict[tuple[str, bool, bool], _Plan] = {}


def _plan(path: str, secure: bool, personal: bool) -> _Plan:
    """The headers an answer to ``path`` gets: (name, its lower case, value, whether it replaces
    one the view set); the same for every answer of a kind, so built once per kind."""
    if path.startswith("/admin"):
        kind = "admin"
    elif path == "/api/v1/docs":
        kind = "docs"
    elif path.startswith("/api/"):
        kind = "api"
    else:
        kind = "other"
    plan = _PLANS.get((kind, secure, personal))
    if plan is None:
        wanted: list[tuple[str, str, bool]] = [("X-Content-Type-Options", "nosniff", False),
                                               ("X-Frame-Options", "DENY", False)]  # fmt: skip
        if kind == "admin":
            wanted += [("Content-Security-Policy", ADMIN_CSP, True), ("Referrer-Policy", "same-origin", False)]
        else:
            wanted.append(("Referrer-Policy", "no-referrer", False))
            if kind == "docs":
                wanted.append(("Content-Security-Policy", DOCS_CSP, True))
            elif kind == "api":
                wanted.append(("Content-Security-Policy", API_CSP, False))
        if secure:
            wanted.append(("Strict-Transport-Security", HSTS, True))
        if personal:
            wanted += [("Cache-Control", "no-store", True), ("Pragma", "no-cache", True)]  # Pragma: HTTP/1.0 caches
        plan = _PLANS[(kind, secure, personal)] = tuple((n, n.lower(), v, r) for n, v, r in wanted)
    return plan


def _set_headers(response: Response) -> Response:
    """Add the plan's headers in one pass over those the view set (a header the view set is
    kept unless the plan replaces it)."""
    req = request._get_current_object()  # type: ignore[attr-defined]
    path = req.path
    headers = response.headers
    present = {name.lower() for name, _ in headers.items()}
    for name, lower, value, replaces in _plan(path, req.is_secure, carries_personal_data(path, req.endpoint)):
        if lower not in present:
            headers.add(name, value)
        elif replaces:
            headers.set(name, value)
    return response


def trusted_proxies(app: Flask) -> int:
    raw = app.config.get("TRUSTED_PROXIES", 0)
    try:
        count = int(raw)
    except (TypeError, ValueError):
        count = -1
    if not 0 <= count <= MAX_PROXIES:
        raise ConfigError(
            f"SEONBYEOL_TRUSTED_PROXIES={raw!r}: 0–{MAX_PROXIES}의 정수여야 합니다 "
            f"(the number of reverse proxies in front of the service, 0 to {MAX_PROXIES})"
        )
    return count


def init_app(app: Flask) -> None:
    count = trusted_proxies(app)
    if count:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count, x_port=count)  # type: ignore[method-assign]
    app.after_request(_set_headers)
