"""Stored verdicts: every evaluation of a nomination, with the facts it read; never deleted."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

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
    """Insert verdict rows in one statement."""
    if rows:
        session.execute(insert(VerdictRecord), list(rows))


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


def history(session: Session, nomination_id: int) -> list[VerdictRecord]:
    """Every verdict of a nomination, oldest first."""
    return list(
        session.scalars(
            select(VerdictRecord).where(VerdictRecord.nomination_id == nomination_id).order_by(VerdictRecord.id)
        )
    )
