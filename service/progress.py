"""The progress monitor of a program: nominations by institution × outcome × status, and the
replacements institutions still owe for ineligible nominees (with how long they have waited)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from . import access, audit, clock, notifications
from .db import begin_write
from .errors import Forbidden
from .models import Institution, Nomination, VerdictRecord
from .programs import get_program, program_counts
from .security import Principal


def owed_replacements(session: Session, program_id: int) -> list[Any]:
    """Ineligible, not cancelled nominations that no nomination replaces yet, oldest first,
    with the moment their current (ineligible) verdict was made."""
    replacement = aliased(Nomination)
    since = (
        select(func.max(VerdictRecord.evaluated_at))
        .where(VerdictRecord.nomination_id == Nomination.id, VerdictRecord.outcome == "ineligible")
        .scalar_subquery()
    )
    query = (
        select(Nomination.id, Nomination.institution_id, Nomination.rrn_index, Nomination.rrn_masked,
               Nomination.nominee_name, Institution.code.label("institution"), since.label("since"))
        .join(Institution, Institution.id == Nomination.institution_id)
        .where(
            Nomination.program_id == program_id,
            Nomination.current_outcome == "ineligible",
            Nomination.status != "cancelled",
            ~select(replacement.id).where(replacement.replaces_id == Nomination.id).exists(),
        )
        .order_by(Nomination.id)
    )  # fmt: skip
    return list(session.execute(query))


def progress(session: Session, code: str, principal: Principal) -> dict[str, Any]:
    """The contract's progress answer; commits the access record of the owed nominees shown."""
    access.require(principal, "programs.progress")
    program = get_program(session, code)
    if not access.can_see_progress(principal, program):
        raise Forbidden("이 사업의 진행 현황을 볼 수 없습니다", "you may not see this program's progress")
    rows = session.execute(
        select(Nomination.institution_id, Institution.code, Institution.name, Nomination.status,
               Nomination.current_outcome, func.count())
        .join(Institution, Institution.id == Nomination.institution_id)
        .where(Nomination.program_id == program.id)
        .group_by(Nomination.institution_id, Institution.code, Institution.name, Nomination.status,
                  Nomination.current_outcome)
    ).all()  # fmt: skip
    owed = owed_replacements(session, program.id)
    owed_by: dict[int, int] = {}
    for item in owed:
        owed_by[item.institution_id] = owed_by.get(item.institution_id, 0) + 1
    table: dict[int, dict[str, Any]] = {}
    for inst_id, inst_code, inst_name, status, outcome, n in rows:
        entry = table.setdefault(inst_id, {
            "institution": inst_code, "name": inst_name, "nominations": 0, "eligible": 0, "review": 0,
            "ineligible": 0, "confirmed": 0, "delivered": 0, "owed_replacements": owed_by.get(inst_id, 0),
        })  # fmt: skip
        entry["nominations"] += n
        entry[outcome] += n
        if status in ("confirmed", "delivered"):
            entry[status] += n
    today = clock.today()
    owed_items = []
    for item in owed:
        since = item.since.astimezone(clock.SEOUL) if item.since is not None else None
        owed_items.append({
            "nomination": item.id, "institution": item.institution,
            "nominee": {"rrn": item.rrn_masked, "name": item.nominee_name},
            "ineligible_since": since.isoformat() if since else None,
            "days_waiting": (today - since.date()).days if since else None,
        })  # fmt: skip
    audit.record(
        session, principal, "program.progress", [(o.rrn_index, o.rrn_masked) for o in owed] or [(None, None)],
        target=f"program:{program.code}",
    )  # fmt: skip
    session.commit()
    counts = program_counts(program, [(s, o, n) for _i, _c, _n, s, o, n in rows])
    return {
        "program": program.code,
        "quota": program.quota,
        "counts": counts,
        "by_institution": sorted(table.values(), key=lambda e: e["institution"]),
        "owed": owed_items,
    }


def send_reminders(session: Session, code: str, principal: Principal, institution: str | None = None) -> int:
    """Ask the institutions that owe replacements to re-nominate (the monitor's one click)."""
    access.require(principal, "programs.manage")
    begin_write(session)
    program = get_program(session, code)
    access.require_manager(principal, program)
    sent = notifications.remind_owed(session, program, owed_replacements(session, program.id), principal, institution)
    session.commit()
    return sent
