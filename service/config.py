"""Configuration: defaults, then the environment, then test overrides.

Secrets (Flask's ``SECRET_KEY`` and the RRN data key) come from the environment. In
development they are generated once into ``instance/`` with mode 0600 and reused, so a
restart can still decrypt what was stored; in production a missing secret is a start-up
error rather than a silently generated key that would make stored data unreadable.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULTS: dict[str, Any] = {
    "ENV": "development",
    "DATABASE_URL": None,  # None → sqlite:///<instance>/seonbyeol.db
    "MAX_CONTENT_LENGTH": 1024 * 1024,  # 413 above 1 MB
    "TIMEZONE": "Asia/Seoul",
    "POLICIES_DIR": str(PROJECT_ROOT / "policies"),
    "IMPORT_BATCH_SIZE": 2000,
    "JSON_AS_ASCII": False,
    # Admin UI (admin_ui/): the session cookie is HttpOnly and SameSite=Lax; Secure is decided
    # by admin_ui.init_app while this is None (on outside development and testing).
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": None,
    # CSRF is checked by admin_ui on its own POSTs; the bearer-token API needs none.
    "WTF_CSRF_CHECK_DEFAULT": False,
    "WTF_CSRF_TIME_LIMIT": 8 * 3600,  # a form stays valid for a working day
}

_ENV_KEYS = {
    "DATABASE_URL": "DATABASE_URL",
    "SECRET_KEY": "SEONBYEOL_SECRET_KEY",
    "DATA_KEY": "SEONBYEOL_DATA_KEY",
    "ENV": "SEONBYEOL_ENV",
    "POLICIES_DIR": "SEONBYEOL_POLICIES_DIR",
    "INSTANCE_PATH": "SEONBYEOL_INSTANCE_PATH",  # development secrets and the default SQLite file
}


class ConfigError(RuntimeError):
    """A configuration problem that must stop start-up, with a message saying how to fix it."""


def from_environment(environ: dict[str, str] | None = None) -> dict[str, Any]:
    env = os.environ if environ is None else environ
    return {key: env[var] for key, var in _ENV_KEYS.items() if env.get(var)}


def _read_or_create(path: Path, make: str) -> str:
    """Read a development secret, creating it (mode 0600) on first use."""
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(make)
    return make


def resolve_secrets(config: dict[str, Any], instance_path: Path) -> None:
    """Fill SECRET_KEY and DATA_KEY (decoded to bytes as DATA_KEY_BYTES)."""
    production = config.get("ENV") == "production"
    for key, filename in (("SECRET_KEY", "secret_key"), ("DATA_KEY", "data_key")):
        if config.get(key):
            continue
        if production:
            raise ConfigError(
                f"{_ENV_KEYS[key]} is not set. In production every secret comes from the "
                f'environment; generate one with: python -c "import secrets,base64;'
                f'print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())"'
            )
        fresh = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")
        config[key] = _read_or_create(instance_path / filename, fresh)
    try:
        data_key = base64.urlsafe_b64decode(config["DATA_KEY"])
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{_ENV_KEYS['DATA_KEY']} is not valid url-safe base64") from exc
    if len(data_key) < 32:
        raise ConfigError(f"{_ENV_KEYS['DATA_KEY']} must decode to at least 32 bytes")
    config["DATA_KEY_BYTES"] = data_key


def database_url(config: dict[str, Any], instance_path: Path) -> str:
    url = config.get("DATABASE_URL")
    if url:
        if url.startswith("postgres://"):  # Heroku-style alias
            url = "postgresql+psycopg://" + url[len("postgres://") :]
        elif url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        return str(url)
    instance_path.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{instance_path / 'seonbyeol.db'}"
