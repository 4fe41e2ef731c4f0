"""The service's notion of "now": aware datetimes, dates in the district's time zone."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

SEOUL = ZoneInfo("Asia/Seoul")


def now() -> datetime:
    """Now in Korea Standard Time (verdicts show +09:00)."""
    return datetime.now(SEOUL)


def today() -> date:
    """Today in Korea: ages, look-back windows and event dates are Korean calendar days."""
    return now().date()


def start_of_day(day: date, plus_days: int = 0) -> datetime:
    """Midnight KST of ``day`` (+ ``plus_days``), for date filters given as Korean days."""
    from datetime import time, timedelta

    return datetime.combine(day + timedelta(days=plus_days), time(), tzinfo=SEOUL)
