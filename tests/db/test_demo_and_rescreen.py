"""The demo loader and bulk re-screening from the command line."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import event, func, select

from service.audit import CLI
from service.db import get_db
from service.models import Nomination, Notification, Program, Resident, VerdictRecord
from service.rescreening import rescreen

RESCREEN_COUNTS = {
    "screened": r"재심사 (\d+)건", "changed": r"판정 변경 (\d+)건", "turned": r"부적격 전환 (\d+)건",
    "eligible": r"\beligible (\d+)", "review": r"\breview (\d+)", "ineligible": r"\bineligible (\d+)",
}  # fmt: skip


def _rescreen_counts(output: str, program: str) -> dict[str, int]:
    """The numbers of ``seonbyeol rescreen``'s summary line (``<program>: 재심사 N건, ...``), by name."""
    lines = [ln for ln in output.splitlines() if ln.startswith(f"{program}: ")]
    assert len(lines) == 1, output
    counts = {}
    for key, pattern in RESCREEN_COUNTS.items():
        found = re.findall(pattern, lines[0])
        assert len(found) == 1, (key, lines[0])
        counts[key] = int(found[0])
    return counts


def _count(app: Flask, model: type) -> int:
    with get_db(app).session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_demo_fills_an_empty_database_once(app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["demo", "--residents", "1500"])
    assert result.exit_code == 0, result.output
    assert _count(app, Resident) == 1500
    assert _count(app, Program) == 3
    nominations = _count(app, Nomination)
    assert nominations >= 40
    with get_db(app).session() as s:
        rules = [r["rule"] for v in s.scalars(select(VerdictRecord)) for r in v.body["reasons"]]
    assert "duplicate_nomination" in rules and "not_in_registry" in rules
    again = runner.invoke(args=["demo", "--residents", "1500"])
    assert again.exit_code == 0 and "already loaded" in again.output
    assert _count(app, Nomination) == nominations


def test_rescreen_command_uses_the_newest_registry(app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    assert runner.invoke(args=["demo", "--residents", "1500"]).exit_code == 0
    with get_db(app).session() as s:
        target = s.scalar(
            select(Nomination)
            .join(Program)
            .where(Program.code == "kimchi-2026", Nomination.current_outcome == "eligible")
            .order_by(Nomination.id)
            .limit(1)
        )
        assert target is not None
        person = s.scalar(select(Resident).where(Resident.rrn_index == target.rrn_index))
        assert person is not None
        person.status, person.status_date = "deceased", person.birth_date.replace(year=2026, month=1, day=1)
        target_id, institution = target.id, target.institution_id
        open_before = s.scalar(
            select(func.count()).select_from(Nomination).join(Program)
            .where(Program.code == "kimchi-2026", Nomination.status == "open")
        )  # fmt: skip
    result = runner.invoke(args=["rescreen", "kimchi-2026"])
    assert result.exit_code == 0, result.output
    counts = _rescreen_counts(result.output, "kimchi-2026")
    assert counts["screened"] == open_before == counts["eligible"] + counts["review"] + counts["ineligible"]
    assert counts["turned"] == 1 and counts["changed"] >= counts["turned"], counts
    with get_db(app).session() as s:
        assert s.get_one(Nomination, target_id).current_outcome == "ineligible"
        notes = s.scalars(select(Notification).where(Notification.nomination_id == target_id)).all()
        assert len(notes) == 1 and notes[0].institution_id == institution
    unknown = runner.invoke(args=["rescreen", "no-such-program"])
    assert unknown.exit_code != 0 and "no-such-program" in unknown.output


def test_bulk_rescreen_is_set_based(app: Flask, runner: FlaskCliRunner) -> None:
    """The number of SQL statements does not grow with the number of nominations."""
    assert runner.invoke(args=["demo", "--residents", "1500"]).exit_code == 0
    engine = get_db(app).engine
    counts = {}
    for code in ("kimchi-2026", "rice-2026"):
        statements: list[str] = []

        def count(*args: object, _seen: list[str] = statements, **_: object) -> None:
            _seen.append(str(args[2])[:40])

        event.listen(engine, "before_cursor_execute", count)
        try:
            with get_db(app).session() as s:
                program = s.scalar(select(Program).where(Program.code == code))
                assert program is not None
                summary = rescreen(s, program, CLI)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        counts[code] = (summary.screened, len(statements))
    (n1, q1), (n2, q2) = counts.values()
    assert n1 > 10 and n2 > 10 and n1 != n2
    assert q1 <= 20 and q2 <= 20, counts
