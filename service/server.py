"""Run the app under gunicorn (``seonbyeol serve``).

The app is built inside each worker, after the fork: the rules engine's C state and the
database pool must not be shared between processes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gunicorn.app.base import BaseApplication


class _Server(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any], overrides: Mapping[str, Any]) -> None:
        self.options = options
        self.overrides = {k: overrides[k] for k in ("DATABASE_URL", "ENV") if overrides.get(k)}
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from . import create_app

        return create_app(self.overrides)


def run(bind: str, workers: int, config: Mapping[str, Any]) -> None:
    options = {
        "bind": bind,
        "workers": workers,
        "threads": 1,
        "worker_class": "sync",
        "timeout": 60,
        "accesslog": "-",
        # No query strings or bodies in the access log: they may carry personal data.
        "access_log_format": '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(L)ss',
        "preload_app": False,
    }
    _Server(options, config).run()
