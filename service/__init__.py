"""seonbyeol (선별): welfare-recipient pre-screening for Korean local governments."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from . import config as _config
from .application import SeonbyeolFlask


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application: defaults → environment → ``config`` → extensions → blueprints.

    Nothing here touches the database; ``seonbyeol init-db`` migrates it. The policy library
    is loaded and validated here, so a broken policy file stops start-up with its file, line
    and field (the CLI defers it to the commands that need it).
    """
    app = SeonbyeolFlask(__name__, instance_relative_config=True)
    settings: dict[str, Any] = dict(_config.DEFAULTS)
    settings.update(_config.from_environment())
    if config:
        settings.update(config)
    if settings.get("INSTANCE_PATH"):
        app.instance_path = str(settings["INSTANCE_PATH"])
    instance = Path(app.instance_path)
    _config.resolve_secrets(settings, instance)
    settings["SQLALCHEMY_URL"] = _config.database_url(settings, instance)
    app.config.update(settings)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    from . import db, security

    db.init_app(app)
    security.init_app(app)

    from .api import init_app as init_api

    init_api(app)
    from . import headers, limits, logging_setup  # security and operations: SECURITY.md

    headers.init_app(app)
    limits.init_app(app)
    logging_setup.init_app(app)
    __import__("admin_ui").init_app(app)  # the admin UI blueprint at /admin/ (admin_ui/__init__.py)

    from .cli import register_commands

    register_commands(app)
    if app.config.get("LOAD_POLICIES_AT_START", True):
        from .policies import library

        library(app)  # a policy file that fails validation stops start-up (file, line, field)
    return app
