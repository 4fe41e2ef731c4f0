"""The monthly review of the access records: summaries, unusual volume, out-of-hours access, kept."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select

from service import audit, clock
from service.db import get_db
from service.models import AuditEntry, AuditReport
from service.security import Principal

WEEKDAY = "2026-11-18T{}:00+09:00"  # a Wednesday (KST)


def _person(n: int) -> tuple[str, str]:
    return (f"{n:064x}", "450312-2******")


def _actor(name: str, role: str = "nominator", institution: str = "haengdang1-center") -> Principal:
    return Principal(f"token:{name}", 1, institution, institution, role)


def _record(app: Flask, principal: Principal, people: range, at: str = WEEKDAY.format("10:00"),
            action: str = "nomination.read") -> None:  # fmt: skip
    with get_db(app).sessionmaker() as session, clock.frozen(at):
        audit.record(session, principal, action, [_person(n) for n in people], target="t")
        session.commit()


@pytest.fixture
def month(app: Flask) -> None:
    """Four nominators read 5, 4, 6 and 100 people; one reads at night and on a Saturday."""
    _record(app, _actor("a"), range(0, 5))
    _record(app, _actor("b", institution="eungbong-center"), range(5, 9))
    _record(app, _actor("c", institution="eungbong-center"), range(9, 15))
    _record(app, _actor("d", institution="hope-church"), range(100, 200), action="nomination.list")
    _record(app, _actor("night"), range(0, 1), at=WEEKDAY.format("20:00"))  # 20:00 is after hours
    _record(app, _actor("night"), range(1, 2), at=WEEKDAY.format("07:59"))
    _record(app, _actor("night"), range(2, 3), at="2026-11-21T10:00:00+09:00")  # Saturday
    _record(app, _actor("night"), range(3, 4), at=WEEKDAY.format("08:00"))  # in hours
    _record(app, _actor("night"), range(4, 5), at=WEEKDAY.format("19:59"))  # in hours
    _record(app, _actor("auditor", role="auditor", institution="welfare-policy"), range(0, 60), action="audit.read")
    _record(app, _actor("a"), range(300, 400), at="2026-10-31T23:59:00+09:00")  # October (KST), not counted
    _record(app, _actor("a"), range(400, 500), at="2026-12-01T00:00:00+09:00")  # December
    with get_db(app).sessionmaker() as session, clock.frozen(WEEKDAY.format("23:00")):
        audit.record(session, audit.CLI, "registry.import_residents", target="file:r.csv")  # no subject: not access
        session.commit()


def _by_actor(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["actor"]: row for row in report["by_actor"]}


def test_volume_is_flagged_against_peers_of_the_same_role(app: Flask, month: None) -> None:
    with get_db(app).sessionmaker() as session:
        report = audit.monthly_report(session, "2026-11")
    actors = _by_actor(report)
    assert actors["token:d"]["people"] == 100 and actors["token:d"]["flags"] == ["volume"]
    assert actors["token:d"]["peer_median"] == 5  # a, b, c, night: 5, 4, 6, 5
    assert actors["token:a"]["flags"] == [] and actors["token:a"]["people"] == 5  # October and December left out
    # the only auditor has no peers: never flagged for volume, whatever the number
    assert actors["token:auditor"]["peer_median"] is None and actors["token:auditor"]["flags"] == []
    volume = [f for f in report["flags"] if f["kind"] == "volume"]
    assert [f["actor"] for f in volume] == ["token:d"]
    assert "중앙값" in volume[0]["reason_ko"] and "median" in volume[0]["reason_en"]


def test_the_volume_threshold_needs_enough_people(app: Flask, month: None) -> None:
    with get_db(app).sessionmaker() as session:
        report = audit.monthly_report(session, "2026-11", min_people=101)
    assert not [f for f in report["flags"] if f["kind"] == "volume"]


def test_out_of_hours_access_in_kst_is_flagged(app: Flask, month: None) -> None:
    with get_db(app).sessionmaker() as session:
        report = audit.monthly_report(session, "2026-11")
    night = _by_actor(report)["token:night"]
    assert night["out_of_hours"] == 3 and night["flags"] == ["out_of_hours"]
    flag = next(f for f in report["flags"] if f["kind"] == "out_of_hours")
    assert flag["actor"] == "token:night" and flag["entries"] == 3 and flag["people"] == 3
    assert flag["first_at"] == "2026-11-18T20:00:00+09:00" and flag["last_at"] == "2026-11-21T10:00:00+09:00"
    assert len(flag["entry_ids"]) == 3
    assert _by_actor(report)["cli"]["out_of_hours"] == 0  # an import at 23:00 names nobody


def test_summaries_by_institution_and_action(app: Flask, month: None) -> None:
    with get_db(app).sessionmaker() as session:
        report = audit.monthly_report(session, "2026-11")
    institutions = {row["institution"]: row for row in report["by_institution"]}
    assert institutions["eungbong-center"] == {"institution": "eungbong-center", "entries": 10, "people": 10,
                                               "actors": 2}  # fmt: skip
    actions = {row["action"]: row for row in report["by_action"]}
    assert actions["nomination.list"]["people"] == 100 and actions["audit.read"]["entries"] == 60
    assert report["totals"]["people"] == 60 + 100 and report["totals"]["entries"] == 5 + 4 + 6 + 100 + 5 + 60 + 1
    assert report["period"] == {"from": "2026-11-01T00:00:00+09:00", "to": "2026-12-01T00:00:00+09:00"}


def test_audit_report_prints_tables_and_keeps_the_report(app: Flask, runner: FlaskCliRunner, month: None) -> None:
    result = runner.invoke(args=["audit-report", "--month", "2026-11"])
    assert result.exit_code == 0, result.output
    for text in ("사용자별 (by actor)", "token:d", "[volume] token:d", "[out_of_hours] token:night", "기관별", "행위별",
                 "보고서 #1"):  # fmt: skip
        assert text in result.output, text
    with get_db(app).sessionmaker() as session:
        kept = session.scalars(select(AuditReport)).one()
        recorded = session.scalars(select(AuditEntry).where(AuditEntry.action == "audit.report")).one()
    assert kept.month == "2026-11" and kept.created_by == "cli"
    assert kept.sha256 == audit.report_digest(kept.body) and kept.body["totals"]["flags"] == 2
    assert recorded.target == f"audit_report:{kept.id}" and recorded.detail["sha256"] == kept.sha256
    again = runner.invoke(args=["audit-report", "--month", "2026-11", "--json"])
    assert again.exit_code == 0 and '"month": "2026-11"' in again.output
    with get_db(app).sessionmaker() as session:
        assert len(session.scalars(select(AuditReport)).all()) == 2  # each review is kept


def test_audit_report_defaults_to_last_month_and_refuses_a_bad_month(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["audit-report"])
    assert result.exit_code == 0 and "2026-10" in result.output, result.output  # today is 2026-11-25
    bad = runner.invoke(args=["audit-report", "--month", "2026-13"])
    assert bad.exit_code != 0 and "YYYY-MM" in bad.output
