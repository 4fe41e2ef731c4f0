"""The access log of personal data (접속기록).

The safety-measures standard asks that every access to data with resident registration
numbers be recorded (who, when, what, which subject) and kept at least two years. Entries
are written in the same transaction as the read or change they describe, so a change is
never stored without its record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from . import access, clock
from .models import AuditEntry, utcnow
from .security import Principal

CLI = Principal("cli", 0, "", "", "admin")


def record(
    session: Session,
    principal: Principal,
    action: str,
    subjects: Iterable[tuple[str | None, str | None]] = ((None, None),),
    target: str | None = None,
    detail: dict[str, Any] | None = None,
    request_id: str | None = None,
) -> None:
    """Add one entry per subject ``(rrn_index, rrn_masked)``; bulk-inserted."""
    now = utcnow()
    rows = [
        {
            "at": now,
            "actor": principal.actor,
            "institution_code": principal.institution_code or None,
            "role": principal.role,
            "action": action,
            "subject_index": index,
            "subject_masked": masked,
            "target": target,
            "detail": detail or {},
            "request_id": request_id,
        }
        for index, masked in subjects
    ]
    if rows:
        session.execute(insert(AuditEntry), rows)


@dataclass(frozen=True)
class AuditFilters:
    actor: str | None = None
    action: str | None = None
    institution: str | None = None
    subject_index: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    limit: int = 100
    offset: int = 0


def search(session: Session, principal: Principal, filters: AuditFilters) -> tuple[list[AuditEntry], int]:
    """Entries of the access log, newest first; the search itself is recorded, with the people
    the shown entries name (an auditor's reading is personal-data access too). Commits."""
    access.require(principal, "audit.read")
    query = select(AuditEntry)
    if filters.actor:
        query = query.where(AuditEntry.actor == filters.actor)
    if filters.action:
        query = query.where(AuditEntry.action == filters.action)
    if filters.institution:
        query = query.where(AuditEntry.institution_code == filters.institution)
    if filters.subject_index is not None:
        query = query.where(AuditEntry.subject_index == filters.subject_index)
    if filters.date_from:
        query = query.where(AuditEntry.at >= clock.start_of_day(filters.date_from))
    if filters.date_to:
        query = query.where(AuditEntry.at < clock.start_of_day(filters.date_to, plus_days=1))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = list(session.scalars(query.order_by(AuditEntry.id.desc()).limit(filters.limit).offset(filters.offset)))
    shown = sorted({(e.subject_index, e.subject_masked) for e in items if e.subject_index})
    described = {
        k: str(v) for k, v in vars(filters).items() if v is not None and k not in ("subject_index", "limit", "offset")
    }
    record(session, principal, "audit.read", shown or [(None, None)], detail={"filters": described})
    session.commit()
    return items, total
