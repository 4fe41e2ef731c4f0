"""Stored verdicts: every evaluation of a nomination, with the facts it read; never deleted."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .db import Statement, append_rows
from .models import VerdictRecord

_CHUNK = 900


def verdict_row(
    nomination_id: int, ruleset_version_id: int, verdict: dict[str, Any], facts: dict[str, Any], trigger: str,
    now: datetime,
) -> dict[str, Any]:  # fmt: skip
    """The insert values of one verdict row (bulk paths insert many at once)."""
    return {
        "nomination_id": nomination_id, "ruleset_version_id": ruleset_version_id, "outcome": verdict["outcome"],
        "body": verdict, "facts": facts, "trigger": trigger, "evaluated_at": now,
    }  # fmt: skip


def store(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert verdict rows at once (Core, or PostgreSQL's ``COPY`` for many: no ORM bookkeeping per row)."""
    append_rows(session.connection(), VerdictRecord.__table__, rows)  # type: ignore[arg-type]


def latest(session: Session, nomination_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The newest verdict body of each nomination (set-based, for lists and re-screening)."""
    out: dict[int, dict[str, Any]] = {}
    ids = sorted(set(nomination_ids))
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        newest = (
            select(func.max(VerdictRecord.id))
            .where(VerdictRecord.nomination_id.in_(chunk))
            .group_by(VerdictRecord.nomination_id)
        )
        for nomination_id, body in session.execute(
            select(VerdictRecord.nomination_id, VerdictRecord.body).where(VerdictRecord.id.in_(newest))
        ):
            out[nomination_id] = body
    return out


Said = tuple[Any, Any, Any]
"""What a verdict says, as :func:`service.screening.same_verdict` compares it: (outcome, reasons,
rule set), each None when the body lacks it."""

_NEWEST = "SELECT max(w.id) AS vid FROM verdicts w WHERE w.nomination_id IN {ids} GROUP BY w.nomination_id"
_SAID_SQL = {
    # OFFSET 0 keeps the inner query apart, so that the planner groups by hashing the few distinct
    # verdicts instead of sorting 100,000 JSON values on disk (measured 0.8 s against 2.4 s)
    "postgresql": "SELECT CAST(s.k AS text), array_agg(s.nid) FROM (SELECT v.nomination_id AS nid, "
    "jsonb_build_array(v.body -> 'outcome', v.body -> 'reasons', v.body -> 'ruleset') AS k "
    "FROM verdicts v JOIN (" + _NEWEST + ") m ON m.vid = v.id OFFSET 0) s GROUP BY s.k",
    "sqlite": "SELECT json_array(v.body -> '$.outcome', v.body -> '$.reasons', v.body -> '$.ruleset'), "
    "json_group_array(v.nomination_id) FROM verdicts v WHERE v.id IN (" + _NEWEST + ") GROUP BY 1",
}
_PROGRAM_NOMINATIONS = "(SELECT n.id FROM nominations n WHERE n.program_id = :program_id)"
_SAID = {
    (dialect, scope): Statement(sql.replace("{ids}", ids))
    for dialect, sql in _SAID_SQL.items()
    for scope, ids in (("program", _PROGRAM_NOMINATIONS), ("ids", "{int_list:ids}"))
}


def latest_said(
    session: Session, *, program_id: int | None = None, nomination_ids: Sequence[int] | None = None
) -> dict[int, Said]:
    """What the newest verdict of each nomination says (of a whole program, or of some
    nominations), in one statement whatever their number: re-screening compares it with the new
    verdict. The database groups the nominations by what their verdict says, so each distinct
    verdict crosses the wire and is decoded once, not once per nomination with its whole body
    (messages, facts quoted, time of evaluation)."""
    dialect = session.get_bind().dialect.name
    dialect = dialect if dialect in _SAID_SQL else "sqlite"
    if program_id is not None:
        rows = _SAID[(dialect, "program")].rows(session, {"program_id": program_id})
    else:
        rows = _SAID[(dialect, "ids")].rows(session, {"ids": sorted(set(nomination_ids or ()))})
    out: dict[int, Said] = {}
    for text, ids in rows:
        outcome, reasons, ruleset = json.loads(text)
        said = (outcome, reasons, ruleset)
        for nomination_id in json.loads(ids) if isinstance(ids, str) else ids:
            out[nomination_id] = said
    return out


def history(session: Session, nomination_id: int) -> list[VerdictRecord]:
    """Every verdict of a nomination, oldest first."""
    return list(
        session.scalars(
            select(VerdictRecord).where(VerdictRecord.nomination_id == nomination_id).order_by(VerdictRecord.id)
        )
    )
