"""Turn stored rows into the contract's JSON; the verdict message follows the caller's language."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import clock
from ..models import Nomination, Verdict
from .problems import wants_english


def localise(verdict: dict[str, Any]) -> dict[str, Any]:
    """Pick each reason's ``message`` in the request's language (Korean by default)."""
    if not verdict or not wants_english():
        return verdict
    out = copy.deepcopy(verdict)
    for reason in out.get("reasons", []):
        messages = reason.get("messages") or {}
        reason["message"] = messages.get("en", reason.get("message"))
    return out


def kst(value: datetime | None) -> str | None:
    return value.astimezone(clock.SEOUL).isoformat() if value is not None else None


def nomination(
    session: Session, n: Nomination, verdict: dict[str, Any] | None = None, with_history: bool = False
) -> dict[str, Any]:
    """The contract's nomination answer (``history`` only for the single-nomination read)."""
    history: list[dict[str, Any]] = []
    if with_history or verdict is None:
        history = [
            v.body for v in session.scalars(select(Verdict).where(Verdict.nomination_id == n.id).order_by(Verdict.id))
        ]
        verdict = history[-1] if history else {}
    out: dict[str, Any] = {
        "id": n.id,
        "program": n.program.code,
        "institution": n.institution.code,
        "nominee": {"rrn": n.rrn_masked, "name": n.nominee_name},
        "status": n.status,
        "replaces": n.replaces_id,
        "created_at": kst(n.created_at),
        "note": n.note,
        "status_note": n.status_note,
        "verdict": localise(verdict),
    }
    if with_history:
        out["history"] = [localise(v) for v in history]
        out["replaced_by"] = list(
            session.scalars(select(Nomination.id).where(Nomination.replaces_id == n.id).order_by(Nomination.id))
        )
    return out
