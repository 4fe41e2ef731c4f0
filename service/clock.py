"""The service's notion of "now": aware datetimes, dates in the district's time zone.

Every question the service asks about the time goes through this module: ``now()`` (KST),
``utcnow()`` (stored timestamps) and ``today()`` (ages, look-back windows, event dates). They
all read one module-level source, the system clock unless it was replaced:

- tests freeze it with ``with frozen("2026-11-25T10:00:00+09:00"): ...`` or ``set_now(...)``
  (``set_now(None)`` goes back to the system clock);
- a server started by a test in a subprocess is frozen through the environment:
  ``SEONBYEOL_FROZEN_NOW=2026-11-25T10:00:00+09:00`` (ISO 8601 with an offset), read when this
  module is first imported. It is ignored, with a warning, when ``SEONBYEOL_ENV=production``:
  a production server always runs on the real clock.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SEOUL = ZoneInfo("Asia/Seoul")
FROZEN_NOW_VAR = "SEONBYEOL_FROZEN_NOW"
"""Environment variable that freezes the clock of a non-production process (tests' subprocess servers)."""

Source = Callable[[], datetime]
log = logging.getLogger(__name__)


def system_now() -> datetime:
    """The real time (aware, UTC)."""
    return datetime.now(UTC)


_source: Source = system_now


def now() -> datetime:
    """Now in Korea Standard Time (verdicts show +09:00)."""
    return _source().astimezone(SEOUL)


def utcnow() -> datetime:
    """Now in UTC, for stored timestamps (created_at, audit entries)."""
    return _source().astimezone(UTC)


def today() -> date:
    """Today in Korea: ages, look-back windows and event dates are Korean calendar days."""
    return now().date()


def start_of_day(day: date, plus_days: int = 0) -> datetime:
    """Midnight KST of ``day`` (+ ``plus_days``), for date filters given as Korean days."""
    return datetime.combine(day + timedelta(days=plus_days), time(), tzinfo=SEOUL)


# --------------------------------------------------------------------------- replacing the source


def parse_instant(value: str | datetime) -> datetime:
    """An aware datetime from an ISO 8601 string (or datetime); a value without an offset is refused."""
    instant = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(instant, datetime):
        raise TypeError(f"a datetime or an ISO 8601 string is needed, not {type(value).__name__}")
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{value!s} has no UTC offset; write e.g. 2026-11-25T10:00:00+09:00")
    return instant


def set_source(source: Source | None) -> Source:
    """Read the time from ``source`` (None: the system clock); returns the source it replaces."""
    global _source
    previous, _source = _source, (source or system_now)
    return previous


def set_now(at: str | datetime | None) -> Source:
    """Freeze the clock at ``at`` (None: back to the system clock); returns the replaced source."""
    if at is None:
        return set_source(None)
    instant = parse_instant(at)
    return set_source(lambda: instant)


def is_frozen() -> bool:
    return _source is not system_now


@contextmanager
def frozen(at: str | datetime) -> Iterator[datetime]:
    """Freeze the clock at ``at`` inside the block (yields the instant in KST); restores the previous source."""
    previous = set_now(at)
    try:
        yield now()
    finally:
        set_source(previous)


@contextmanager
def unfrozen() -> Iterator[None]:
    """The system clock inside the block, whatever froze it; restores the previous source."""
    previous = set_source(None)
    try:
        yield
    finally:
        set_source(previous)


def from_environment(environ: Mapping[str, str] | None = None) -> datetime | None:
    """The instant ``SEONBYEOL_FROZEN_NOW`` asks for, or None (unset, or a production process)."""
    env = os.environ if environ is None else environ
    value = env.get(FROZEN_NOW_VAR, "").strip()
    if not value:
        return None
    if env.get("SEONBYEOL_ENV", "").strip() == "production":
        log.warning("%s is ignored in production: the real clock is used", FROZEN_NOW_VAR)
        return None
    try:
        return parse_instant(value)
    except ValueError as exc:
        raise ValueError(f"{FROZEN_NOW_VAR}={value!r} is not an ISO 8601 datetime with an offset: {exc}") from None


def install_from_environment(environ: Mapping[str, str] | None = None) -> None:
    """Freeze the clock if the environment asks for it (see ``from_environment``)."""
    instant = from_environment(environ)
    if instant is not None:
        set_now(instant)
        log.warning("the clock is frozen at %s by %s (never in production)", instant.isoformat(), FROZEN_NOW_VAR)


install_from_environment()
