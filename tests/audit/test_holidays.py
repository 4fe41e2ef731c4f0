"""Korean public holidays and the district's closed days count as outside working hours.

The dates are those of the ``holidays`` library (KR) pinned in pyproject.toml, checked against
the 2026 calendar: 추석 2026-09-24..26 (a Thursday to a Saturday), 삼일절 2026-03-01 a Sunday and
its substitute holiday Monday 2026-03-02, 어린이날 Tuesday 2026-05-05.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from flask import Flask

from service import audit, clock, create_app, workdays
from service.config import ConfigError, extra_holidays
from service.db import get_db
from service.security import Principal
from tests.conftest import TEST_DATA_KEY


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.parametrize(
    ("instant", "outside", "why"),
    [
        ("2026-09-24T10:00:00+09:00", True, "추석 전날"),  # Thursday
        ("2026-09-25T10:00:00+09:00", True, "추석"),  # Friday
        ("2026-09-23T10:00:00+09:00", False, None),  # the Wednesday before: a working day
        ("2026-03-02T11:00:00+09:00", True, "삼일절 대체 휴일"),  # Monday, substitute for Sunday 03-01
        ("2026-03-03T11:00:00+09:00", False, None),
        ("2026-02-17T09:00:00+09:00", True, "설날"),  # Tuesday
        ("2026-05-05T14:00:00+09:00", True, "어린이날"),  # Tuesday
        ("2026-10-05T14:00:00+09:00", True, "개천절 대체 휴일"),  # Monday, substitute for Saturday 10-03
        ("2026-11-18T10:00:00+09:00", False, None),  # an ordinary Wednesday
    ],
)
def test_public_holidays_are_outside_working_hours(instant: str, outside: bool, why: str | None) -> None:
    at = _at(instant)
    assert audit.out_of_hours(at, ()) is outside
    assert workdays.closed_day(at.astimezone(clock.SEOUL).date(), ()) == why


def test_the_holiday_is_a_korean_day_not_a_utc_one() -> None:
    # 2026-09-23T15:30Z is 00:30 on 추석 전날 in Seoul (out of hours twice over); 2026-09-27T00:30Z is
    # 09:30 on Sunday in Seoul; 2026-09-27T23:30Z is 08:30 on Monday 09-28, a working day
    assert workdays.closed_day(date(2026, 9, 28), ()) is None
    assert audit.out_of_hours(_at("2026-09-27T23:30:00+00:00"), ()) is False
    assert audit.out_of_hours(_at("2026-09-23T23:30:00+00:00"), ()) is True  # 08:30 KST on 09-24


def test_the_districts_closed_days_count_too() -> None:
    year_end = _at("2026-12-31T10:00:00+09:00")  # a Thursday, not a public holiday
    assert audit.out_of_hours(year_end, ()) is False
    assert audit.out_of_hours(year_end, {date(2026, 12, 31)}) is True
    assert workdays.closed_day(date(2026, 12, 31), {date(2026, 12, 31)}) == "구 휴무일"


def test_extra_holidays_setting_is_parsed_and_a_bad_value_stops_start_up(tmp_path: Path) -> None:
    assert extra_holidays(" 2026-12-31, 2026-12-30,,2026-12-31") == (date(2026, 12, 30), date(2026, 12, 31))
    assert extra_holidays("") == () and extra_holidays(None) == ()
    for bad, shown in (("2026-12-31,2026-13-01", "2026-13-01"), ("12/31/2026", "12/31/2026"),
                       ("2026-W53-4", "2026-W53-4"), ("20261231", "20261231")):  # fmt: skip
        with pytest.raises(ConfigError, match=f"SEONBYEOL_EXTRA_HOLIDAYS.*'{shown}'.*YYYY-MM-DD"):
            extra_holidays(bad)
    with pytest.raises(ConfigError, match="SEONBYEOL_EXTRA_HOLIDAYS"):
        create_app({"SECRET_KEY": "s", "DATA_KEY": TEST_DATA_KEY, "INSTANCE_PATH": str(tmp_path),
                    "EXTRA_HOLIDAYS": "2026-02-30", "LOAD_POLICIES_AT_START": False})  # fmt: skip


def _read(app: Flask, at: str, person: int, actor: str = "token:x") -> None:
    with get_db(app).sessionmaker() as session, clock.frozen(at):
        audit.record(session, Principal(actor, 1, "c", "c", "nominator"), "nomination.read",
                     [(f"{person:064x}", "450312-2******")])  # fmt: skip
        session.commit()


def test_the_report_counts_holidays_and_says_so(app: Flask) -> None:
    _read(app, "2026-09-25T10:00:00+09:00", 1)  # 추석
    _read(app, "2026-09-30T10:00:00+09:00", 2)  # an ordinary Wednesday
    _read(app, "2026-09-29T10:00:00+09:00", 3)  # a Tuesday the district closes (below)
    with get_db(app).sessionmaker() as session:
        plain = audit.monthly_report(session, "2026-09", extra_holidays=())
        closed = audit.monthly_report(session, "2026-09", extra_holidays=[date(2026, 9, 29)])
    assert plain["by_actor"][0]["out_of_hours"] == 1 and closed["by_actor"][0]["out_of_hours"] == 2
    flag = plain["flags"][0]
    assert flag["kind"] == "out_of_hours" and flag["first_at"] == "2026-09-25T10:00:00+09:00"
    assert "공휴일" in flag["reason_ko"] and "public holidays" in flag["reason_en"]
    listed = plain["rules"]["working_hours"]["closed_weekdays"]
    assert [(d["date"], d["name_ko"]) for d in listed] == [("2026-09-24", "추석 전날"), ("2026-09-25", "추석")]
    assert listed[1]["name_en"] == "Chuseok"
    assert {"date": "2026-09-29", "name_ko": "구 휴무일", "name_en": "district closed day"} in (
        closed["rules"]["working_hours"]["closed_weekdays"]
    )


def test_the_report_reads_the_apps_closed_days(app: Flask) -> None:
    _read(app, "2026-11-27T10:00:00+09:00", 1)  # a Friday
    app.config["EXTRA_HOLIDAYS"] = (date(2026, 11, 27),)
    with app.app_context(), get_db(app).sessionmaker() as session:
        report = audit.monthly_report(session, "2026-11")
    assert report["totals"]["out_of_hours"] == 1
