"""Logging in and out of the admin UI (Flask-Login sessions over ``service.accounts``).

The session cookie holds only the user's id; every request reloads the user, so a
deactivated account or a changed role takes effect at the next click.
"""

from __future__ import annotations

from typing import cast
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from service import accounts
from service.db import get_session
from service.security import Principal

from . import bp, i18n
from .forms import LoginForm

login_manager = LoginManager()
login_manager.login_view = "admin_ui.login"
login_manager.login_message = cast(str, _l("로그인이 필요합니다."))
login_manager.login_message_category = "info"
login_manager.localize_callback = str  # the lazy Korean/English message, resolved for this request
login_manager.session_protection = "strong"


class AdminUser(UserMixin):
    """The logged-in officer: the user row's id and the Principal the service is given."""

    def __init__(self, user_id: int, principal: Principal) -> None:
        self.id = user_id
        self.principal = principal

    def get_id(self) -> str:
        return str(self.id)


@login_manager.user_loader
def _load_user(user_id: str) -> AdminUser | None:
    if not user_id.isdigit():
        return None
    principal = accounts.load_principal(get_session(), int(user_id))
    return AdminUser(int(user_id), principal) if principal is not None else None


def current_principal() -> Principal:
    """The Principal of the logged-in user (views are behind the login check)."""
    return cast(AdminUser, current_user).principal


def _safe_next(target: str | None) -> str | None:
    """Only a path inside the admin UI: ``?next=`` must not send anyone to another site."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/admin/") or "\\" in target:
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """The login form; on success the session starts afresh (no fixation) and goes on to ``next``."""
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("admin_ui.programs"))
    form = LoginForm()
    refusal: accounts.LoginRefused | None = None
    if form.validate_on_submit():
        key = str(current_app.secret_key or "").encode("utf-8")
        try:
            user_id, principal = accounts.authenticate(get_session(), form.username.data, form.password.data, key)
        except accounts.LoginRefused as exc:
            refusal = exc
        else:
            language = session.get("lang")
            session.clear()
            if language:
                session["lang"] = language
            login_user(AdminUser(user_id, principal))
            flash(_("%(name)s님, 환영합니다.", name=principal.actor.removeprefix("user:")), "success")
            return redirect(_safe_next(request.args.get("next")) or url_for("admin_ui.programs"))
    message = i18n.pick(refusal.ko, refusal.en) if refusal is not None else None
    locked = bool(refusal is not None and refusal.locked)
    lockout = {"failures": accounts.MAX_FAILURES, "minutes": int(accounts.LOCKOUT.total_seconds() // 60)}
    return render_template("auth/login.html", form=form, refusal=message, locked=locked, lockout=lockout)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """End the session: a POST whose CSRF token the blueprint's guard checked (see ``pages``)."""
    language = session.get("lang")
    logout_user()
    session.clear()
    if language:
        session["lang"] = language
    flash(_("로그아웃했습니다."), "success")
    return redirect(url_for("admin_ui.login"))
