"""Whole-program re-screening, set-based, says what evaluating each nomination alone says.

The bulk pass (service.rescreening) reads the previous verdicts grouped by what they say, the
program's facts with server-side selections, and writes with Core statements; the single-person
path (service.screening.screen_candidate) reads one person with one statement. On random
changes to the demo registry both must agree nomination by nomination, on both databases.
"""

from __future__ import annotations

import gc
import random
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from service import clock, verdicts
from service.audit import CLI, record, record_many
from service.db import begin_write, get_db
from service.facts import Candidate
from service.locks import lock_program_for_rescreen
from service.models import AuditEntry, Nomination, Notification, Program, Receipt, Resident
from service.programs import get_program
from service.rescreening import RESCREENED_STATUSES, bulk_pass, rescreen
from service.screening import screen_candidate

PROGRAM = "kimchi-2026"


def _rescreen(app: Flask) -> Any:
    """One re-screening in the CLI's transaction shape (write transaction, the program's lock)."""
    with get_db(app).session() as session:
        begin_write(session)
        program = get_program(session, PROGRAM)
        lock_program_for_rescreen(session, program.id, wait=True)
        return rescreen(session, program, CLI)


def _mutate(app: Flask, seed: int) -> dict[str, int]:
    """Random registry changes around the program's nominees (deaths, moves out, moves into
    another nominee's household, dongs outside the district, new receipts), some cancellations,
    and duplicate nominations stored with a wrong outcome: every kind of transition."""
    rng = random.Random(seed)
    done = {"deceased": 0, "moved_out": 0, "household": 0, "dong": 0, "receipt": 0, "cancelled": 0, "copies": 0}
    with get_db(app).session() as s:
        program = s.scalars(select(Program).where(Program.code == PROGRAM)).one()
        nominations = s.scalars(
            select(Nomination).where(Nomination.program_id == program.id).order_by(Nomination.id)
        ).all()
        people = {r.rrn_index: r for r in s.scalars(select(Resident))}
        nominees = list({n.rrn_index: people[n.rrn_index] for n in nominations if n.rrn_index in people}.values())
        households = sorted({r.household_key for r in nominees})
        for person in rng.sample(nominees, k=len(nominees) // 3):
            change = rng.choice(["deceased", "moved_out", "household", "dong", "receipt"])
            if change in ("deceased", "moved_out"):
                person.status, person.status_date = change, date(2026, 11, 1)
            elif change == "household":
                person.household_key = rng.choice(households)
            elif change == "dong":
                person.dong_code = "9999999999"
            else:
                s.add(Receipt(rrn_index=person.rrn_index, category_code=program.category.code,
                              received_on=date(2026, 9, 1), provider=f"test-{seed}"))  # fmt: skip
            done[change] += 1
        for nomination in rng.sample(list(nominations), k=len(nominations) // 10):
            nomination.status = "cancelled"
            done["cancelled"] += 1
        s.flush()
        for original in rng.sample(list(nominations), k=len(nominations) // 5):
            s.add(Nomination(
                program_id=program.id, institution_id=original.institution_id, rrn_index=original.rrn_index,
                rrn_enc=original.rrn_enc, rrn_masked=original.rrn_masked, nominee_name=original.nominee_name,
                household_key=None, status="open", current_outcome="ineligible", created_by="test",
            ))  # fmt: skip
            done["copies"] += 1
    return done


def _said(body: dict[str, Any]) -> tuple[Any, Any, Any]:
    return body.get("outcome"), body.get("reasons"), body.get("ruleset")


@pytest.mark.parametrize("seed", [11, 29])
def test_rescreen_of_a_program_says_what_evaluating_each_nomination_alone_says(
    app: Flask, runner: FlaskCliRunner, seed: int
) -> None:
    assert runner.invoke(args=["demo", "--residents", "1500"]).exit_code == 0
    changes = _mutate(app, seed)
    assert all(changes.values()), changes
    summary = _rescreen(app)
    assert summary.changed > 0 and summary.turned_ineligible > 0 and summary.stored > 0, summary
    now = clock.now()
    with get_db(app).session() as s:
        program = get_program(s, PROGRAM)
        rows = s.scalars(
            select(Nomination)
            .where(Nomination.program_id == program.id, Nomination.status.in_(RESCREENED_STATUSES))
            .order_by(Nomination.id)
        ).all()
        assert len(rows) == summary.screened
        stored = verdicts.latest(s, [n.id for n in rows])
        outcomes = {"eligible": 0, "review": 0, "ineligible": 0}
        for n in rows:
            alone = screen_candidate(s, program, Candidate(n.rrn_index, n.nominee_name, n.id), now)
            outcomes[alone.verdict["outcome"]] += 1
            assert n.current_outcome == alone.verdict["outcome"], n.id
            assert _said(stored[n.id]) == _said(alone.verdict), n.id
            assert n.household_key == alone.household_key, n.id
        assert outcomes == summary.outcomes
        turned = s.scalar(
            select(func.count()).select_from(Notification).where(Notification.kind == "nomination_ineligible")
        )
        assert turned == summary.turned_ineligible
        entries = s.execute(
            select(AuditEntry.subject_index, AuditEntry.subject_masked, AuditEntry.actor, AuditEntry.detail)
            .where(AuditEntry.action == "program.rescreen")
            .order_by(AuditEntry.id)
        ).all()
        assert [(e[0], e[1]) for e in entries] == [(n.rrn_index, n.rrn_masked) for n in rows]
        assert {e[2] for e in entries} == {CLI.actor}
        assert entries[0][3] == {"screened": summary.screened, "changed": summary.changed}
    again = _rescreen(app)
    assert (again.changed, again.stored, again.turned_ineligible) == (0, 0, 0), again
    assert again.outcomes == summary.outcomes


def test_latest_said_is_what_the_newest_verdict_bodies_say(app: Flask, runner: FlaskCliRunner) -> None:
    assert runner.invoke(args=["demo", "--residents", "1500"]).exit_code == 0
    _mutate(app, 5)
    _rescreen(app)  # a second verdict for some nominations: the newest must win
    with get_db(app).session() as s:
        program = get_program(s, PROGRAM)
        ids = list(s.scalars(select(Nomination.id).where(Nomination.program_id == program.id)))
        bodies = verdicts.latest(s, ids)
        expected = {i: _said(b) for i, b in bodies.items()}
        assert len(expected) == len(ids) > 50
        assert verdicts.latest_said(s, program_id=program.id) == expected
        some = ids[::3]
        assert verdicts.latest_said(s, nomination_ids=some) == {i: expected[i] for i in some}
        assert verdicts.latest_said(s, nomination_ids=[]) == {}


def _entries(s: Session, action: str) -> list[tuple[Any, ...]]:
    return [
        tuple(r)
        for r in s.execute(
            select(AuditEntry.at, AuditEntry.actor, AuditEntry.institution_code, AuditEntry.role,
                   AuditEntry.subject_index, AuditEntry.subject_masked, AuditEntry.target, AuditEntry.detail,
                   AuditEntry.request_id).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
    ]  # fmt: skip


@pytest.mark.parametrize(
    "subjects",
    [
        [("a" * 64, "800101-1******"), ("b" * 64, "900202-2******"), ("a" * 64, "800101-1******")],
        [(None, None)],  # nobody: one entry naming no one
        [("x\x1fy", "800101-1******"), (None, "900202-2******")],  # the separator itself, a missing index
    ],
)
def test_record_many_writes_what_record_writes(app: Flask, subjects: list[tuple[str | None, str | None]]) -> None:
    with get_db(app).session() as s:
        record(s, CLI, "test.one", subjects, target="program:x", detail={"n": 1, "이름": "값"})
        record_many(s, CLI, "test.many", [i for i, _m in subjects], [m for _i, m in subjects],
                    target="program:x", detail={"n": 1, "이름": "값"})  # fmt: skip
    with get_db(app).session() as s:
        one, many = _entries(s, "test.one"), _entries(s, "test.many")
        assert many == one and len(many) == len(subjects)
        assert s.scalar(text("SELECT count(*) FROM audit_entries")) == 2 * len(subjects)


def test_record_many_refuses_lists_of_different_lengths(app: Flask) -> None:
    with get_db(app).session() as s, pytest.raises(ValueError, match="length"):
        record_many(s, CLI, "test.many", ["a"], [])


def test_the_collector_is_paused_during_a_pass_and_resumes_after_the_last() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), bulk_pass():
        assert not gc.isenabled()
        with bulk_pass():
            assert not gc.isenabled()
        assert not gc.isenabled(), "the outer pass still runs"
        raise RuntimeError("a failed pass")
    assert gc.isenabled()
    gc.disable()
    try:
        with bulk_pass():
            pass
        assert not gc.isenabled(), "a collector that was off stays off"
    finally:
        gc.enable()
