"""Configuration: defaults, then the environment, then test overrides.

Secrets (Flask's ``SECRET_KEY`` and the RRN data key) come from the environment. In
development they are generated once into ``instance/`` with mode 0600 and reused, so a
restart can still decrypt what was stored; in production a missing secret is a start-up
error rather than a silently generated key that would make stored data unreadable.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
from datetime import date
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULTS: dict[str, Any] = {
    "ENV": "development",
    "DATABASE_URL": None,  # None → sqlite:///<instance>/seonbyeol.db
    "MAX_CONTENT_LENGTH": 1024 * 1024,  # 413 above 1 MB
    "TIMEZONE": "Asia/Seoul",
    "POLICIES_DIR": str(PROJECT_ROOT / "policies"),
    # Rows per committed chunk of a registry import (service/registry_import.py); a crash keeps the
    # chunks committed before it, and the rows of one chunk are held in memory while it is staged.
    "IMPORT_BATCH_SIZE": 50_000,
    "JSON_AS_ASCII": False,
    # Admin UI (admin_ui/): the session cookie is HttpOnly and SameSite=Lax; Secure is decided
    # by admin_ui.init_app while this is None (on outside development and testing).
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": None,
    # CSRF is checked by admin_ui on its own POSTs; the bearer-token API needs none.
    "WTF_CSRF_CHECK_DEFAULT": False,
    "WTF_CSRF_TIME_LIMIT": 8 * 3600,  # a form stays valid for a working day
    # Security and operations (service/limits.py, headers.py, logging_setup.py, security.py).
    "RATE_LIMIT": "600/minute",  # per token on evaluate, batch and nominate; "off" disables
    "RATE_LIMIT_STORAGE": "memory://",  # per process; redis://host:6379/0 shares it between workers and hosts
    "RATE_LIMIT_KEY_PREFIX": "seonbyeol",  # keys in a shared Redis
    "TRUSTED_PROXIES": 0,  # reverse proxies in front (X-Forwarded-For/-Proto/-Host trusted from that many hops)
    "LOG_FORMAT": "json",  # json | text (application logs on standard error)
    "LOG_LEVEL": "INFO",
    # Access records (service/audit.py): kept at least two years (the safety-measures standard);
    # below MIN_AUDIT_RETENTION_DAYS start-up refuses.
    "AUDIT_RETENTION_DAYS": 1095,
    # The access record of a dry-run evaluate is committed before the answer either way; "durable"
    # waits for the database's disk flush (PostgreSQL synchronous_commit), "fast" does not: on
    # PostgreSQL a database-server crash may then lose the last fraction of a second of evaluate
    # records (SQLite's WAL with synchronous=NORMAL gives that guarantee already). Nominations,
    # status changes and every other write stay durable.
    "EVALUATE_AUDIT_COMMIT": "durable",
    # The district's own closed days (service/workdays.py), beside Korea's public holidays.
    "EXTRA_HOLIDAYS": (),
}
MIN_AUDIT_RETENTION_DAYS = 730
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")

_ENV_KEYS = {
    "DATABASE_URL": "DATABASE_URL",
    "SECRET_KEY": "SEONBYEOL_SECRET_KEY",
    "DATA_KEY": "SEONBYEOL_DATA_KEY",
    "ENV": "SEONBYEOL_ENV",
    "POLICIES_DIR": "SEONBYEOL_POLICIES_DIR",
    "INSTANCE_PATH": "SEONBYEOL_INSTANCE_PATH",  # development secrets and the default SQLite file
    "RATE_LIMIT": "SEONBYEOL_RATE_LIMIT",
    "RATE_LIMIT_STORAGE": "SEONBYEOL_RATE_LIMIT_STORAGE",
    "TRUSTED_PROXIES": "SEONBYEOL_TRUSTED_PROXIES",
    "LOG_FORMAT": "SEONBYEOL_LOG_FORMAT",
    "LOG_LEVEL": "SEONBYEOL_LOG_LEVEL",
    # Key rotation (service/keys.py): previous data keys, comma-separated, newest first.
    "OLD_DATA_KEYS": "SEONBYEOL_OLD_DATA_KEYS",
    "AUDIT_RETENTION_DAYS": "SEONBYEOL_AUDIT_RETENTION_DAYS",
    "EVALUATE_AUDIT_COMMIT": "SEONBYEOL_EVALUATE_AUDIT_COMMIT",
    "IMPORT_BATCH_SIZE": "SEONBYEOL_IMPORT_BATCH_SIZE",
    "EXTRA_HOLIDAYS": "SEONBYEOL_EXTRA_HOLIDAYS",
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
    """Fill SECRET_KEY and DATA_KEY (decoded to bytes as DATA_KEY_BYTES, the previous keys of a
    rotation as OLD_DATA_KEYS_BYTES) and check the audit settings (retention, the district's
    closed days): settings whose mistake would lose or expose personal data stop start-up here."""
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
    config["OLD_DATA_KEYS_BYTES"] = _old_data_keys(config.get("OLD_DATA_KEYS"), data_key)
    config["AUDIT_RETENTION_DAYS"] = audit_retention_days(config.get("AUDIT_RETENTION_DAYS"))
    config["EVALUATE_AUDIT_COMMIT"] = evaluate_audit_commit(config.get("EVALUATE_AUDIT_COMMIT"))
    config["IMPORT_BATCH_SIZE"] = import_batch_size(config.get("IMPORT_BATCH_SIZE"))
    config["EXTRA_HOLIDAYS"] = extra_holidays(config.get("EXTRA_HOLIDAYS"))


def _old_data_keys(value: Any, current: bytes) -> tuple[bytes, ...]:
    """The previous data keys of a key rotation (SEONBYEOL_OLD_DATA_KEYS), newest first."""
    if not value:
        return ()
    items = [v.strip() for v in value.split(",")] if isinstance(value, str) else [str(v) for v in value]
    keys: list[bytes] = []
    for position, item in enumerate(i for i in items if i):
        try:
            key = base64.urlsafe_b64decode(item)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{_ENV_KEYS['OLD_DATA_KEYS']}: key {position + 1} is not valid url-safe base64") from exc
        if len(key) < 32:
            raise ConfigError(f"{_ENV_KEYS['OLD_DATA_KEYS']}: key {position + 1} must decode to at least 32 bytes")
        if key == current or key in keys:
            raise ConfigError(f"{_ENV_KEYS['OLD_DATA_KEYS']}: key {position + 1} is repeated or is the current key")
        keys.append(key)
    return tuple(keys)


def _whole_number(value: Any, key: str) -> int | None:
    """A whole-number setting: its default when unset, None when it is not a whole number."""
    if value is None or value == "":
        return int(DEFAULTS[key])
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def audit_retention_days(value: Any) -> int:
    """SEONBYEOL_AUDIT_RETENTION_DAYS as a number of days; refuses fewer than two years."""
    name = _ENV_KEYS["AUDIT_RETENTION_DAYS"]
    days = _whole_number(value, "AUDIT_RETENTION_DAYS")
    if days is None:
        raise ConfigError(f"{name}는 일수(정수)여야 합니다 ({name} must be a whole number of days)")
    if days < MIN_AUDIT_RETENTION_DAYS:
        raise ConfigError(
            f"{name}={days}: 접속기록은 {MIN_AUDIT_RETENTION_DAYS}일(2년) 이상 보관해야 합니다 "
            f"(access records are kept at least {MIN_AUDIT_RETENTION_DAYS} days)"
        )
    return days


EVALUATE_AUDIT_COMMITS = ("durable", "fast")


def evaluate_audit_commit(value: Any) -> str:
    """SEONBYEOL_EVALUATE_AUDIT_COMMIT: ``durable`` (the default) or ``fast``."""
    text = str(value or DEFAULTS["EVALUATE_AUDIT_COMMIT"]).strip().lower()
    if text not in EVALUATE_AUDIT_COMMITS:
        name = _ENV_KEYS["EVALUATE_AUDIT_COMMIT"]
        raise ConfigError(f"{name}={value!r}: durable 또는 fast여야 합니다 (must be durable or fast)")
    return text


def import_batch_size(value: Any) -> int:
    """SEONBYEOL_IMPORT_BATCH_SIZE as a positive number of rows."""
    name = _ENV_KEYS["IMPORT_BATCH_SIZE"]
    rows = _whole_number(value, "IMPORT_BATCH_SIZE")
    if rows is None or rows < 1:
        raise ConfigError(f"{name}는 1 이상의 정수여야 합니다 ({name} must be a positive whole number of rows)")
    return rows


def extra_holidays(value: Any) -> tuple[date, ...]:
    """SEONBYEOL_EXTRA_HOLIDAYS (``2026-12-31,2027-01-02``) as sorted dates; a value that is not a
    date stops start-up, naming it (a silently dropped day would make access on it look normal)."""
    name = _ENV_KEYS["EXTRA_HOLIDAYS"]
    if not value:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    days: set[date] = set()
    for position, item in enumerate(items, start=1):
        if isinstance(item, date):
            days.add(item)
            continue
        text = str(item).strip()
        if not text:
            continue
        try:
            if not _ISO_DAY.fullmatch(text):
                raise ValueError(text)
            days.add(date.fromisoformat(text))
        except ValueError:
            shown = text[:20]
            raise ConfigError(
                f"{name}: {position}번째 값 '{shown}'은 YYYY-MM-DD 날짜가 아닙니다 "
                f"(item {position}, '{shown}', is not a YYYY-MM-DD date; separate days with commas)"
            ) from None
    return tuple(sorted(days))


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
