"""The access log of personal data (접속기록).

The safety-measures standard asks that every access to data with resident registration
numbers be recorded (who, when, what, which subject) and kept at least two years. Entries
are written in the same transaction as the read or change they describe, so a change is
never stored without its record.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

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
