"""Working days of the district office: weekdays that are not a Korean public holiday or one of
the district's own closed days (``SEONBYEOL_EXTRA_HOLIDAYS``).

The public holidays come from the ``holidays`` library (``KR``): 설날 and 추석 with their lunar
dates, substitute holidays (대체공휴일), election days and the holidays a law adds, kept up to
date by its maintainers instead of by a table here. The monthly review of the access records
(``service.audit``) counts personal-data access on a closed day as out of hours.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from flask import current_app, has_app_context

from . import clock

WORKDAY_START = time(8, 0)
WORKDAY_END = time(20, 0)
"""Working hours in KST on a working day: from 08:00, before 20:00."""


DISTRICT_CLOSED = ("구 휴무일", "district closed day")


@functools.cache
def public_holidays(year: int, language: str = "ko") -> dict[date, str]:
    """Korea's public holidays of ``year`` with their names (대체 휴일 included), ``ko`` or ``en_US``.

    The library is imported here, on the first review: it takes a quarter of a second, which every
    process that imports ``service.audit`` (each CLI command, each worker) would pay otherwise."""
    import holidays

    return dict(holidays.country_holidays("KR", years=year, language=language))


def extra_closed_days() -> frozenset[date]:
    """The district's own closed days (``EXTRA_HOLIDAYS``, parsed at start-up), if an app is running."""
    if not has_app_context():
        return frozenset()
    return frozenset(current_app.config.get("EXTRA_HOLIDAYS") or ())


def closed_day(day: date, extra: Iterable[date] | None = None) -> str | None:
    """Why ``day`` is not a working day (토요일, 추석, 구 휴무일…), or None on a working day."""
    extra = extra_closed_days() if extra is None else extra
    if day in extra:
        return DISTRICT_CLOSED[0]
    name = public_holidays(day.year).get(day)
    if name:
        return name
    if day.weekday() >= 5:
        return "토요일" if day.weekday() == 5 else "일요일"
    return None


def out_of_hours(at: datetime, extra: Iterable[date] | None = None) -> bool:
    """Whether an instant is outside working hours in Korea: a weekend, a public holiday, a
    closed day of the district, or before 08:00 / from 20:00 KST."""
    local = at.astimezone(clock.SEOUL)
    if not (WORKDAY_START <= local.time() < WORKDAY_END):
        return True
    return closed_day(local.date(), extra) is not None


def closed_weekdays(first: date, until: date, extra: Iterable[date] | None = None) -> list[dict[str, str]]:
    """The weekdays from ``first`` (inclusive) to ``until`` (exclusive) that are holidays or
    closed days, with their names: what a report tells its reader it counted as out of hours."""
    extra = extra_closed_days() if extra is None else frozenset(extra)
    days = []
    day = first
    while day < until:
        name = closed_day(day, extra) if day.weekday() < 5 else None
        if name:
            english = DISTRICT_CLOSED[1] if day in extra else public_holidays(day.year, "en_US")[day]
            days.append({"date": day.isoformat(), "name_ko": name, "name_en": english})
        day += timedelta(days=1)
    return days
