"""Run the app under gunicorn (``seonbyeol serve``), configured from the environment.

The app is built inside each worker, after the fork: the rules engine's C state and the
database pool must not be shared between processes.

Shutdown is graceful: on SIGTERM (``docker stop``, systemd, compose) gunicorn stops accepting
connections and gives the requests in flight up to ``SEONBYEOL_GRACEFUL_TIMEOUT`` seconds to
finish before the workers are killed, so a nomination being screened is answered, not cut off.
SIGINT and SIGQUIT still stop at once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from gunicorn.app.base import BaseApplication

DEFAULT_BIND = "127.0.0.1:8000"
DEFAULT_WORKERS = 2

# environment variable → (gunicorn setting, default, what it is for); bind and workers are the
# serve command's --bind/--workers, whose defaults come from SEONBYEOL_BIND and SEONBYEOL_WORKERS.
TUNABLES: dict[str, tuple[str, int]] = {
    "SEONBYEOL_TIMEOUT": ("timeout", 60),  # a worker silent this long is killed and replaced
    "SEONBYEOL_GRACEFUL_TIMEOUT": ("graceful_timeout", 30),  # SIGTERM: time left to finish requests
    "SEONBYEOL_KEEPALIVE": ("keepalive", 5),  # seconds an idle keep-alive connection stays open
}
WORKER_TMP_DIR = "SEONBYEOL_WORKER_TMP_DIR"  # heartbeat files; /dev/shm in a container (no disk stalls)


class ServerConfigError(ValueError):
    """A server setting in the environment is not usable; the message names the variable."""


def _positive_int(name: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ServerConfigError(f"{name}={raw!r}: 1 이상의 정수여야 합니다 (must be a whole number of at least 1)")
    return value


def gunicorn_options(bind: str, workers: int, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Gunicorn's settings for ``bind`` and ``workers``, the others from ``environ`` (default: os.environ)."""
    env = os.environ if environ is None else environ
    options: dict[str, Any] = {
        "bind": bind,
        "workers": workers,
        "threads": 1,
        "worker_class": "sync",
        "accesslog": "-",
        "errorlog": "-",
        # No query strings or bodies in the access log: they may carry personal data.
        "access_log_format": '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(L)ss',
        "logger_class": "service.logging_setup.GunicornLogger",  # JSON lines, request id, no query string
        "secure_scheme_headers": {},  # https is decided by ProxyFix alone (SEONBYEOL_TRUSTED_PROXIES, headers.py)
        "preload_app": False,
        # gunicorn's control socket (gunicornc: change workers, reload, stop) is not used: one fixed
        # path per user would be shared by every server on the host, and it is one more way in.
        "control_socket_disable": True,
    }
    for name, (setting, default) in TUNABLES.items():
        raw = env.get(name, "").strip()
        options[setting] = _positive_int(name, raw) if raw else default
    if tmp_dir := env.get(WORKER_TMP_DIR, "").strip():
        if not os.path.isdir(tmp_dir):
            raise ServerConfigError(f"{WORKER_TMP_DIR}={tmp_dir!r}: 디렉터리가 없습니다 (no such directory)")
        options["worker_tmp_dir"] = tmp_dir
    return options


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
    """Serve until SIGTERM (graceful) or SIGINT; returns when the arbiter has stopped."""
    _Server(gunicorn_options(bind, workers), config).run()
