"""The service's clock: KST dates, freezing for tests, the environment switch for subprocess servers."""

import logging
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import pytest

from service import clock
from service.config import PROJECT_ROOT
from service.models import utcnow
from tests.conftest import FROZEN_NOW


def test_every_test_runs_on_the_frozen_clock(frozen_clock: datetime) -> None:
    assert clock.is_frozen()
    assert clock.now().isoformat() == frozen_clock.isoformat() == FROZEN_NOW
    assert clock.today() == date(2026, 11, 25)
    assert utcnow() == datetime(2026, 11, 25, 1, 0, tzinfo=UTC)  # created_at and audit timestamps follow it


def test_unfrozen_clock_is_the_system_clock() -> None:
    with clock.unfrozen():
        assert not clock.is_frozen()
        before = datetime.now(UTC)
        now, stamp = clock.now(), utcnow()
        after = datetime.now(UTC)
        assert before <= now <= after and before <= stamp <= after
        assert now.utcoffset() == timedelta(hours=9) and stamp.utcoffset() == timedelta(0)
        assert clock.today() in {before.astimezone(clock.SEOUL).date(), after.astimezone(clock.SEOUL).date()}
    assert clock.now().isoformat() == FROZEN_NOW  # restored


def test_today_is_the_korean_calendar_day() -> None:
    with clock.frozen("2026-11-25T23:30:00+00:00") as instant:  # 08:30 on the 26th in Seoul
        assert instant.isoformat() == "2026-11-26T08:30:00+09:00"
        assert clock.today() == date(2026, 11, 26)
        assert clock.utcnow() == datetime(2026, 11, 25, 23, 30, tzinfo=UTC)
        assert clock.start_of_day(clock.today()) == datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
        assert clock.start_of_day(clock.today(), plus_days=1).isoformat() == "2026-11-27T00:00:00+09:00"


def test_frozen_nests_and_restores_even_after_an_error() -> None:
    with clock.frozen(datetime(2030, 1, 1, tzinfo=UTC)):
        with pytest.raises(RuntimeError), clock.frozen("2031-06-01T12:00:00+09:00"):
            assert clock.today() == date(2031, 6, 1)
            raise RuntimeError("inside")
        assert clock.now() == datetime(2030, 1, 1, tzinfo=UTC)
    assert clock.now().isoformat() == FROZEN_NOW


def test_set_now_and_set_source_return_what_they_replace() -> None:
    previous = clock.set_now("2027-03-01T00:00:00+09:00")
    try:
        assert clock.today() == date(2027, 3, 1)
        assert clock.set_now(None) is not clock.system_now and not clock.is_frozen()
        ticks = iter([datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 1, 2, tzinfo=UTC)])
        clock.set_source(lambda: next(ticks))
        assert [clock.today(), clock.today()] == [date(2027, 1, 1), date(2027, 1, 2)]
    finally:
        clock.set_source(previous)
    assert clock.now().isoformat() == FROZEN_NOW


@pytest.mark.parametrize("value", ["2026-11-25T10:00:00", "2026-11-25", datetime(2026, 11, 25, 10)])
def test_an_instant_without_offset_is_refused(value: str | datetime) -> None:
    with pytest.raises(ValueError, match="offset"):
        clock.set_now(value)
    assert clock.now().isoformat() == FROZEN_NOW


def test_environment_setting_outside_production() -> None:
    assert clock.from_environment({}) is None
    assert clock.from_environment({"SEONBYEOL_FROZEN_NOW": ""}) is None
    instant = clock.from_environment({"SEONBYEOL_FROZEN_NOW": FROZEN_NOW, "SEONBYEOL_ENV": "development"})
    assert instant is not None and instant.isoformat() == FROZEN_NOW
    assert clock.from_environment({"SEONBYEOL_FROZEN_NOW": "2030-01-01T00:00:00Z"}) == datetime(2030, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="SEONBYEOL_FROZEN_NOW"):
        clock.from_environment({"SEONBYEOL_FROZEN_NOW": "next tuesday"})
    with pytest.raises(ValueError, match="SEONBYEOL_FROZEN_NOW"):
        clock.from_environment({"SEONBYEOL_FROZEN_NOW": "2030-01-01T00:00:00"})


def test_environment_setting_is_ignored_in_production(caplog: pytest.LogCaptureFixture) -> None:
    env = {"SEONBYEOL_FROZEN_NOW": FROZEN_NOW, "SEONBYEOL_ENV": "production"}
    with caplog.at_level(logging.WARNING, logger="service.clock"):
        assert clock.from_environment(env) is None
        with clock.unfrozen():
            clock.install_from_environment(env)
            assert not clock.is_frozen()
    assert "SEONBYEOL_FROZEN_NOW is ignored in production" in caplog.text


def _clocks_in_subprocess(env: dict[str, str]) -> tuple[datetime, datetime]:
    """The service's clock and the system clock, as read by a fresh ``python`` with ``env``."""
    code = "import datetime as d; from service import clock; print(clock.now(), d.datetime.now(d.UTC), sep='|')"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=True
    )
    service_now, system_now = done.stdout.strip().split("|")
    return datetime.fromisoformat(service_now), datetime.fromisoformat(system_now)


def test_a_subprocess_reads_the_frozen_clock_from_its_environment() -> None:
    """What `seonbyeol serve` started by a test relies on; production keeps the real clock."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("SEONBYEOL_")}
    frozen, _ = _clocks_in_subprocess({**base, "SEONBYEOL_FROZEN_NOW": "2030-05-05T12:00:00+09:00"})
    assert frozen.isoformat() == "2030-05-05T12:00:00+09:00"
    real, system = _clocks_in_subprocess({**base, "SEONBYEOL_FROZEN_NOW": FROZEN_NOW, "SEONBYEOL_ENV": "production"})
    assert real.utcoffset() == timedelta(hours=9) and abs(system - real) < timedelta(seconds=5)
