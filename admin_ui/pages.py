"""What every admin page shares: the login and CSRF guards, security headers, error pages.

Every POST under ``/admin/`` must carry the session's CSRF token, whatever its view; every
page but the login form and the static files needs a logged-in user. The headers allow no
inline script and no resource from another origin, so a strict Content-Security-Policy is
already in force.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from typing import Any, Final, cast

from flask import current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug import Response
from werkzeug.exceptions import HTTPException

from service.errors import ServiceError

from . import bp, i18n
from .forms import LogoutForm

log = logging.getLogger("seonbyeol.admin_ui")
PUBLIC_ENDPOINTS: Final = frozenset({"admin_ui.login", "admin_ui.static"})

CONTENT_SECURITY_POLICY: Final = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)


@bp.before_request
def _guard() -> ResponseReturnValue | None:
    """CSRF on every POST, then the login check (the login form itself excepted)."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        current_app.extensions["csrf"].protect()
    if request.endpoint not in PUBLIC_ENDPOINTS and not current_user.is_authenticated:
        from .auth import login_manager

        return cast(Response, login_manager.unauthorized())
    return None


@bp.after_request
def _headers(response: Response) -> Response:
    """No inline script or foreign resource; pages with names on them are never cached."""
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint != "admin_ui.static":
        response.headers["Cache-Control"] = "no-store"
    response.vary.add("Cookie")
    return response


@bp.context_processor
def _page_context() -> dict[str, Any]:
    principal = getattr(current_user, "principal", None) if current_user.is_authenticated else None
    return {"principal": principal, "logout_form": LogoutForm(formdata=None) if principal else None, "htmx": _is_htmx()}


def _is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def error_page(status: int, title: str, detail: str) -> tuple[str, int]:
    """One error page for every refusal, in the page's language."""
    return render_template("errors/error.html", status=status, title=title, detail=detail), status


_TITLES: Final = {
    400: ("잘못된 요청입니다", "Bad request"),
    401: ("로그인이 필요합니다", "Login required"),
    403: ("권한이 없습니다", "Not allowed"),
    404: ("찾을 수 없습니다", "Not found"),
    405: ("허용되지 않는 요청입니다", "Method not allowed"),
    409: ("요청이 현재 상태와 충돌합니다", "Conflict"),
    413: ("요청이 너무 큽니다", "Request too large"),
    422: ("입력값이 올바르지 않습니다", "Invalid input"),
}


def _title(status: int) -> str:
    ko, en = _TITLES.get(status, (f"오류 {status}", f"Error {status}"))
    return i18n.pick(ko, en)


@bp.route("/<path:unknown>")
def not_found(unknown: str) -> ResponseReturnValue:
    """An unknown address under /admin/ answers the admin UI's 404 page, not the API's JSON
    (and a known one asked with the wrong method, such as GET /admin/logout, a 405)."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    others = sorted(set(adapter.allowed_methods()) - {"GET", "HEAD", "OPTIONS"})
    if others:
        body, status = error_page(405, _title(405), _title(405))
        return body, status, {"Allow": ", ".join(others)}
    return error_page(404, _title(404), _title(404))


@bp.errorhandler(ServiceError)
def _service_error(exc: ServiceError) -> ResponseReturnValue:
    return error_page(exc.status, _title(exc.status), i18n.pick(exc.ko, exc.en))


@bp.errorhandler(CSRFError)
def _csrf_error(exc: CSRFError) -> ResponseReturnValue:
    detail = _("보안 토큰이 없거나 만료되었습니다. 페이지를 새로 고친 뒤 다시 시도하세요.")
    return error_page(400, _title(400), detail)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> ResponseReturnValue:
    status = exc.code or 500
    return error_page(status, _title(status), _title(status))


@bp.errorhandler(Exception)
def _unexpected(exc: Exception) -> ResponseReturnValue:
    """A crash: log the type and a correlation id only (the message may hold personal data)."""
    correlation = uuid.uuid4().hex
    stack = "".join(traceback.format_tb(exc.__traceback__))
    log.error(
        "unhandled %s on %s %s [correlation %s]\n%s",
        type(exc).__name__,
        request.method,
        request.path,
        correlation,
        stack,
    )
    detail = _("문의하실 때 이 번호를 알려 주세요: %(id)s", id=correlation)
    return error_page(500, i18n.pick("서버 내부 오류입니다", "Internal server error"), detail)
