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


def _set_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    path = request.path
    if path.startswith("/admin"):
        headers["Content-Security-Policy"] = ADMIN_CSP
        headers.setdefault("Referrer-Policy", "same-origin")
    else:
        headers.setdefault("Referrer-Policy", "no-referrer")
        if path == "/api/v1/docs":
            headers["Content-Security-Policy"] = DOCS_CSP
        elif path.startswith("/api/"):
            headers.setdefault("Content-Security-Policy", API_CSP)
    if request.is_secure:
        headers["Strict-Transport-Security"] = HSTS
    if carries_personal_data(path, request.endpoint):
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"  # HTTP/1.0 caches
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
