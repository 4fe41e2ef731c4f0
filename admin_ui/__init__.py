"""The admin UI (``/admin/``): welfare officers read programs and tune their thresholds.

Server-rendered Jinja pages on KRDS markup, Korean first with an English switch (Flask-Babel),
forms through Flask-WTF with CSRF on every POST, logins through Flask-Login. Views only parse a
form, call a ``service`` function and render: the rules, the scope and the roles live in
``service`` (``service.access`` decides who may do what).
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask

HERE = Path(__file__).resolve().parent
TRANSLATIONS = HERE / "translations"
TRANSLATIONS_DESK = HERE / "translations_desk"  # the department desk's own catalog (admin_ui/desk)

bp = Blueprint(
    "admin_ui",
    __name__,
    url_prefix="/admin",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)


def init_app(app: Flask) -> None:
    """Register the blueprint and the extensions it needs (login, CSRF, translations)."""
    from flask_babel import Babel
    from flask_wtf.csrf import CSRFProtect

    # The modules register their views on bp: the policy desk (programs), the department desk
    # (desk/), the nomination desk (nominate, upload, my_nominations, inbox, browse, explain) and
    # the auditor's desk (audit).
    from . import audit, auth, browse, desk, explain, i18n, inbox, my_nominations, nominate, pages, programs, upload  # noqa: F401

    if app.config.get("SESSION_COOKIE_SECURE") is None:
        # Browsers send a Secure cookie only over HTTPS: on in production, off for the
        # development server and the tests, which speak plain HTTP on 127.0.0.1.
        app.config["SESSION_COOKIE_SECURE"] = app.config.get("ENV") != "development" and not app.testing
    CSRFProtect(app)
    Babel(
        app,
        default_locale=i18n.DEFAULT_LOCALE,
        default_timezone="Asia/Seoul",
        default_translation_directories=f"{TRANSLATIONS};{TRANSLATIONS_DESK}",
        locale_selector=i18n.select_locale,
    )
    auth.login_manager.init_app(app)
    app.register_blueprint(bp)
    # Flask-Login refreshes its remember-me cookie after every request of the app; only the
    # admin UI logs anybody in, so only its answers need that (an API answer then neither reads
    # the cookie session nor says "Vary: Cookie").
    remember = auth.login_manager._update_remember_cookie
    app.after_request_funcs[None].remove(remember)
    app.after_request_funcs.setdefault(bp.name, []).append(remember)
