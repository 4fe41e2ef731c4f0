"""The status lifecycle of a nomination: open → confirmed → delivered, or cancelled.

Confirming respects the program's quota (confirmed + delivered never exceed it); delivering
records a receipt, so the household-limit rule sees it from then on. Neither is possible for
a nomination whose current verdict is ineligible: a confirmed nominee who died since is
re-screened to ineligible and can never be marked delivered.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import access, audit, clock, notifications
from .db import begin_write
from .errors import Conflict
from .models import Nomination, Program, Receipt
from .pools import allocation_of, delivered_counts
from .security import Principal

TRANSITIONS = {
    "open": {"confirmed", "cancelled"},
    "confirmed": {"delivered", "cancelled"},
    "delivered": set(),
    "cancelled": set(),
}


def lock_program(session: Session, program_id: int) -> Program:
    """Read the program row for update (PostgreSQL row lock; SQLite's writer lock is held)."""
    return session.execute(
        select(Program).where(Program.id == program_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()


def placed_count(session: Session, program_id: int) -> int:
    """Recipients that count against the quota: confirmed and delivered nominations."""
    return int(
        session.scalar(
            select(func.count()).where(
                Nomination.program_id == program_id, Nomination.status.in_(("confirmed", "delivered"))
            )
        )
        or 0
    )


def _refuse_beyond_allocation(session: Session, program: Program) -> None:
    """A program with an allocation from a pool delivers at most that many."""
    allocation = allocation_of(session, program.id)
    if allocation is not None and delivered_counts(session, [program.id]).get(program.id, 0) >= allocation:
        raise Conflict(
            f"배분받은 수량({allocation})을 모두 전달했습니다", f"the program's allocation of {allocation} is used up"
        )


def change_status(
    session: Session, nomination: Nomination, status: str, note: str | None, principal: Principal
) -> Nomination:
    """Move a nomination along its lifecycle (the program's manager only); commits."""
    access.require_manager(principal, nomination.program)
    nomination_id = nomination.id
    begin_write(session)
    program = lock_program(session, nomination.program_id)
    nomination = session.get_one(Nomination, nomination_id, populate_existing=True)
    if status not in TRANSITIONS[nomination.status]:
        raise Conflict(
            f"'{nomination.status}'에서 '{status}'(으)로 바꿀 수 없습니다",
            f"cannot change status from '{nomination.status}' to '{status}'",
        )
    if status in ("confirmed", "delivered") and nomination.current_outcome == "ineligible":
        raise Conflict(
            "부적격 판정을 받은 추천은 확정하거나 전달 완료로 바꿀 수 없습니다",
            f"a nomination whose current verdict is ineligible cannot be {status}",
        )
    if status == "confirmed" and program.quota is not None and placed_count(session, program.id) >= program.quota:
        raise Conflict(
            f"정원({program.quota}명)이 모두 찼습니다", f"the program's quota of {program.quota} is already filled"
        )
    if status == "delivered":
        _refuse_beyond_allocation(session, program)
    now = clock.now()
    nomination.status = status
    nomination.status_note = note
    nomination.status_changed_at = now
    if status == "delivered":
        provider = program.sponsor.name if program.sponsor else program.department.name
        session.add(
            Receipt(
                rrn_index=nomination.rrn_index,
                category_code=program.category.code,
                received_on=now.date(),
                provider=f"{provider} ({program.code} #{nomination.id})",
                quantity=1,
                nomination_id=nomination.id,
            )
        )
    if status == "confirmed":
        notifications.selection_confirmed(session, program, nomination)
    audit.record(
        session, principal, f"nomination.{status}", [(nomination.rrn_index, nomination.rrn_masked)],
        target=f"nomination:{nomination.id}", detail={"note": note} if note else None,
    )  # fmt: skip
    session.commit()
    return nomination
