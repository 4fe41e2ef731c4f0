"""Many rows at once (re-screening's verdicts and notifications, batch nominations) are stored
exactly as one row at a time would be: on PostgreSQL from ``service.db.COPY_FROM`` rows on they go
by ``COPY`` (service.db.append_rows)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select

from service import verdicts
from service.db import COPY_FROM, append_rows, get_db
from service.models import Institution, Nomination, Notification, VerdictRecord


def _rows(app: Flask, count: int, trigger: str) -> list[dict[str, object]]:
    with get_db(app).session() as s:
        nominations = s.execute(select(Nomination.id, Nomination.program_id).limit(5)).all()
        stored = s.scalars(select(VerdictRecord).limit(1)).one()
        body, facts, version = stored.body, stored.facts, stored.ruleset_version_id
    at = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
    shared = dict(body)  # one body object for many rows, as VerdictMaker's memo gives them
    return [
        verdicts.verdict_row(
            nominations[n % len(nominations)][0], version,
            shared if n % 3 else {**body, "outcome": "review"},
            {**facts, "household.size": n % 7, "nominee.name_matches": bool(n % 2)}, trigger,
            at + timedelta(seconds=n),
        )
        for n in range(count)
    ]  # fmt: skip


def _stored(app: Flask, trigger: str) -> list[tuple[object, ...]]:
    with get_db(app).session() as s:
        found = s.scalars(select(VerdictRecord).where(VerdictRecord.trigger == trigger).order_by(VerdictRecord.id))
        return [(v.nomination_id, v.ruleset_version_id, v.outcome, v.body, v.facts, v.evaluated_at) for v in found]


def test_many_rows_are_stored_as_single_rows_are(app: Flask, runner: FlaskCliRunner) -> None:
    assert runner.invoke(args=["demo", "--residents", "1500"]).exit_code == 0
    count = COPY_FROM + 36
    many, one_by_one = _rows(app, count, "test-many"), _rows(app, count, "test-single")
    with get_db(app).session() as s:
        verdicts.store(s, many)
        for row in one_by_one:
            verdicts.store(s, [row])  # below COPY_FROM: the INSERT
    bulk, single = _stored(app, "test-many"), _stored(app, "test-single")
    assert len(bulk) == count and bulk == single
    assert bulk[0][5] == datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
    assert {b[2] for b in bulk} == {many[1]["outcome"], "review"}


def test_a_naive_time_is_refused_in_bulk_too(app: Flask, runner: FlaskCliRunner) -> None:
    assert runner.invoke(args=["demo", "--residents", "1500"]).exit_code == 0
    rows = _rows(app, COPY_FROM, "test-naive")
    rows[-1]["evaluated_at"] = datetime(2026, 11, 25, 10, 0)
    with pytest.raises(Exception, match="naive datetime"), get_db(app).session() as s:
        verdicts.store(s, rows)
    assert _stored(app, "test-naive") == []


def test_many_notifications_are_stored_as_single_ones_are(app: Flask, runner: FlaskCliRunner) -> None:
    assert runner.invoke(args=["demo", "--residents", "1500"]).exit_code == 0
    with get_db(app).session() as s:
        institution = s.scalars(select(Institution.id).limit(1)).one()
        nomination = s.scalars(select(Nomination.id).limit(1)).one()
    at = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)

    def rows(kind: str) -> list[dict[str, object]]:
        return [{"institution_id": institution, "nomination_id": nomination if n % 2 else None, "kind": kind,
                 "message_ko": f"알림 {n}: 대체 대상자를 재추천해 주세요", "message_en": f"notice {n}",
                 "created_at": at + timedelta(minutes=n)} for n in range(COPY_FROM + 5)]  # fmt: skip

    with get_db(app).session() as s:
        append_rows(s.connection(), Notification.__table__, rows("test-many"))  # type: ignore[arg-type]
        for row in rows("test-single"):
            append_rows(s.connection(), Notification.__table__, [row])  # type: ignore[arg-type]

    def stored(kind: str) -> list[tuple[object, ...]]:
        with get_db(app).session() as s:
            found = s.scalars(select(Notification).where(Notification.kind == kind).order_by(Notification.id))
            return [(n.institution_id, n.nomination_id, n.message_ko, n.message_en, n.created_at, n.read_at)
                    for n in found]  # fmt: skip

    many = stored("test-many")
    assert len(many) == COPY_FROM + 5 and many == stored("test-single")
    assert many[1][4] == at + timedelta(minutes=1) and many[0][1] is None
