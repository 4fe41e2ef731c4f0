"""Replay: re-derive every stored verdict from its stored facts and its rule-set version.

A verdict is a pure function of (rule-set version, facts), and both are stored, so any past
decision can be explained — and checked — years later. A fact the catalogue gained after a
verdict was stored is filled with its neutral value when the verdict's rule set does not
read it; if the rule set reads a fact the stored snapshot lacks, the replay says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import rules

from . import audit
from .models import Nomination, RuleSetVersion, VerdictRecord
from .nominations import get_visible
from .policies import ruleset_for
from .screening import same_verdict
from .security import Principal

NEUTRAL: dict[type, object] = {bool: False, int: 0, str: ""}


@dataclass(frozen=True)
class Replayed:
    nomination_id: int
    evaluated_at: str
    ruleset: dict[str, Any]
    stored: dict[str, Any]
    replayed: dict[str, Any] | None
    problem: str | None

    @property
    def identical(self) -> bool:
        return self.replayed is not None and same_verdict(self.stored, self.replayed)

    def as_dict(self) -> dict[str, Any]:
        return {
            "evaluated_at": self.evaluated_at, "ruleset": self.ruleset, "stored": self.stored,
            "replayed": self.replayed, "identical": self.identical, "problem": self.problem,
        }  # fmt: skip


def replay_one(record: VerdictRecord, version: RuleSetVersion) -> Replayed:
    """Re-derive one stored verdict."""
    ruleset = ruleset_for(version)
    stored = record.body
    ref = {"name": ruleset.name, "version": ruleset.version, "sha256": ruleset.sha256}
    facts = dict(record.facts)
    missing = [name for name in ruleset.fact_keys if name not in facts]
    if missing:
        problem = f"저장된 사실에 없는 항목 (facts not in the stored snapshot): {', '.join(missing)}"
        return Replayed(record.nomination_id, stored.get("evaluated_at", ""), ref, stored, None, problem)
    for name, spec in rules.FACTS.items():
        facts.setdefault(name, NEUTRAL[spec.type])
    at = datetime.fromisoformat(stored["evaluated_at"])
    replayed = dict(rules.screen(ruleset, facts, at))
    return Replayed(record.nomination_id, stored["evaluated_at"], ref, stored, replayed, None)


def _records(session: Session, where: Any) -> Iterator[tuple[VerdictRecord, RuleSetVersion]]:
    query = (
        select(VerdictRecord, RuleSetVersion)
        .join(RuleSetVersion, RuleSetVersion.id == VerdictRecord.ruleset_version_id)
        .where(where)
        .order_by(VerdictRecord.id)
        .execution_options(yield_per=1000)
    )
    for row in session.execute(query):
        yield row[0], row[1]


def replay_nomination(session: Session, principal: Principal, nomination_id: int) -> dict[str, Any]:
    """The contract's replay answer for one nomination (scoped as the nomination); commits the
    access record."""
    nomination = get_visible(session, principal, nomination_id)
    items = [replay_one(r, v) for r, v in _records(session, VerdictRecord.nomination_id == nomination.id)]
    audit.record(
        session, principal, "nomination.replay", [(nomination.rrn_index, nomination.rrn_masked)],
        target=f"nomination:{nomination.id}",
    )  # fmt: skip
    session.commit()
    return {"identical": all(i.identical for i in items), "items": [i.as_dict() for i in items]}


def replay_program(session: Session, program_id: int) -> Iterator[Replayed]:
    """Every stored verdict of a program, re-derived (for ``seonbyeol replay``)."""
    in_program = VerdictRecord.nomination_id.in_(select(Nomination.id).where(Nomination.program_id == program_id))
    for record, version in _records(session, in_program):
        yield replay_one(record, version)
