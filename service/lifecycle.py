"""The status lifecycle of a nomination: open → confirmed → delivered, or cancelled.

Confirming respects the program's quota (confirmed + delivered never exceed it); delivering
records a receipt, so the household-limit rule sees it from then on. Neither is possible for
a nomination whose current verdict is ineligible: a confirmed nominee who died since is
re-screened to ineligible and can never be marked delivered.

Confirming a nomination whose verdict is ``review`` overrides what screening flagged (a name
that differs from the registry's, a household already nominated): it needs a note saying
why, kept as the nomination's ``status_note`` and in the audit entry. Several nominations
change at once all or nothing (``change_status_many``): one refusal changes none of them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from . import access, audit, clock, notifications, rrn
from .db import begin_write
from .errors import Conflict, Invalid, ServiceError
from .models import Nomination, Program, Receipt
from .pools import allocation_of, delivered_counts
from .security import Principal

TRANSITIONS = {
    "open": {"confirmed", "cancelled"},
    "confirmed": {"delivered", "cancelled"},
    "delivered": set(),
    "cancelled": set(),
}
CHANGES = ("confirmed", "delivered", "cancelled")
"""The statuses a nomination can be moved to, in the order a screen offers them."""
OVERRIDDEN_OUTCOMES = frozenset({"review"})
"""Current outcomes that a confirmation overrides, so that it needs a note."""
MAX_NOTE = 1000


class BulkRefused(Conflict):
    """A change of several nominations refused as a whole; ``refusals`` says why, per nomination."""

    def __init__(self, ko: str, en: str, refusals: dict[int, ServiceError]) -> None:
        errors = {str(i): [f"{r.ko} ({r.en})"] for i, r in sorted(refusals.items())}
        super().__init__(ko, en, errors)
        self.refusals = refusals


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


def allowed_changes(status: str, outcome: str) -> list[str]:
    """The statuses a nomination may be moved to now (quota and allocation aside), so that a
    screen offers only the buttons ``change_status`` would accept."""
    return [s for s in CHANGES if _refusal(status, outcome, s) is None]


def needs_note(outcome: str, status: str) -> bool:
    """Whether moving a nomination with this outcome to ``status`` is an override (needs a note)."""
    return status == "confirmed" and outcome in OVERRIDDEN_OUTCOMES


def _refusal(current: str, outcome: str, status: str) -> Conflict | None:
    """Why the lifecycle forbids the change, or None."""
    if status not in TRANSITIONS.get(current, set()):
        return Conflict(
            f"'{current}'에서 '{status}'(으)로 바꿀 수 없습니다", f"cannot change status from '{current}' to '{status}'"
        )
    if status in ("confirmed", "delivered") and outcome == "ineligible":
        return Conflict(
            "부적격 판정을 받은 추천은 확정하거나 전달 완료로 바꿀 수 없습니다",
            f"a nomination whose current verdict is ineligible cannot be {status}",
        )
    return None


def _clean_note(note: str | None) -> str | None:
    text = (note or "").strip()
    if len(text) > MAX_NOTE:
        raise Invalid(
            f"사유는 {MAX_NOTE}자 이내로 적어 주세요",
            f"the note may be at most {MAX_NOTE} characters",
            {"note": [f"{MAX_NOTE}자 이내 (at most {MAX_NOTE} characters)"]},
        )
    rrn.refuse_in_text("note", text)  # kept as the status note and in the audit entry: never an RRN
    return text or None


def _require_note(overridden: list[int]) -> Invalid:
    numbers = ", ".join(f"#{i}" for i in overridden)
    return Invalid(
        f"검토 필요 판정인 추천({numbers})을 확정하려면 사유를 적어 주세요",
        f"confirming a nomination whose verdict asks for review ({numbers}) needs a note saying why",
        {"note": [f"검토 필요 판정을 확정하는 사유를 적어 주세요: {numbers} (state why you override the review)"]},
    )


def _refuse_beyond_quota(session: Session, program: Program, adding: int) -> None:
    if program.quota is None or adding <= 0:
        return
    placed = placed_count(session, program.id)
    if placed + adding > program.quota:
        left = max(program.quota - placed, 0)
        if adding == 1:
            raise Conflict(
                f"정원({program.quota}명)이 모두 찼습니다", f"the program's quota of {program.quota} is already filled"
            )
        raise Conflict(
            f"정원({program.quota}명)을 넘습니다: 남은 자리 {left}명, 고른 추천 {adding}건",
            f"beyond the program's quota of {program.quota}: {left} places left, {adding} chosen",
        )


def _refuse_beyond_allocation(session: Session, program: Program, adding: int = 1) -> None:
    """A program with an allocation from a pool delivers at most that many."""
    allocation = allocation_of(session, program.id)
    if allocation is None or adding <= 0:
        return
    delivered = delivered_counts(session, [program.id]).get(program.id, 0)
    if delivered + adding > allocation:
        if adding == 1:
            raise Conflict(
                f"배분받은 수량({allocation})을 모두 전달했습니다",
                f"the program's allocation of {allocation} is used up",
            )
        raise Conflict(
            f"배분받은 수량({allocation})을 넘습니다: 남은 수량 {max(allocation - delivered, 0)}, 고른 추천 {adding}건",
            f"beyond the program's allocation of {allocation}: {max(allocation - delivered, 0)} left, {adding} chosen",
        )


def _apply(
    session: Session, program: Program, nomination: Nomination, status: str, note: str | None, principal: Principal,
    bulk: int | None = None,
) -> None:  # fmt: skip
    """Store one checked change: the status and its note, the receipt or the notification, the audit entry."""
    now = clock.now()
    override = needs_note(nomination.current_outcome, status)
    nomination.status = status
    nomination.status_note = note
    nomination.status_changed_at = now
    if status == "delivered":
        provider = program.sponsor.name if program.sponsor else program.department.name
        session.add(
            Receipt(
                rrn_index=nomination.rrn_index,
                rrn_enc=nomination.rrn_enc,  # under the nomination's key (key rotation moves both together)
                category_code=program.category.code,
                received_on=now.date(),
                provider=f"{provider} ({program.code} #{nomination.id})",
                quantity=1,
                nomination_id=nomination.id,
            )
        )
    if status == "confirmed":
        notifications.selection_confirmed(session, program, nomination)
    detail: dict[str, object] = {}
    if note:
        detail["note"] = note
    if override:
        detail["override"] = nomination.current_outcome
    if bulk is not None:
        detail["bulk"] = bulk
    audit.record(
        session, principal, f"nomination.{status}", [(nomination.rrn_index, nomination.rrn_masked)],
        target=f"nomination:{nomination.id}", detail=detail or None,
    )  # fmt: skip


def change_status(
    session: Session, nomination: Nomination, status: str, note: str | None, principal: Principal
) -> Nomination:
    """Move a nomination along its lifecycle (the program's manager only); commits."""
    access.require_manager(principal, nomination.program)
    nomination_id = nomination.id
    note = _clean_note(note)
    begin_write(session)
    program = lock_program(session, nomination.program_id)
    nomination = session.get_one(Nomination, nomination_id, populate_existing=True)
    refusal = _refusal(nomination.status, nomination.current_outcome, status)
    if refusal is not None:
        raise refusal
    if status == "confirmed":
        _refuse_beyond_quota(session, program, 1)
    if status == "delivered":
        _refuse_beyond_allocation(session, program)
    if needs_note(nomination.current_outcome, status) and not note:
        raise _require_note([nomination.id])
    _apply(session, program, nomination, status, note, principal)
    session.commit()
    return nomination


def change_status_many(
    session: Session, ids: Iterable[int], status: str, note: str | None, principal: Principal,
    program_id: int | None = None,
) -> list[Nomination]:  # fmt: skip
    """Move several nominations to ``status`` at once, all or nothing; commits.

    Each must be visible (404; also one of another program than ``program_id``, when given) and
    managed by the principal (403); one the lifecycle refuses,
    a quota or an allocation the whole batch would exceed, or an override without a note
    changes none of them (``BulkRefused`` names each refused nomination).
    """
    wanted = sorted(set(ids))
    if not wanted:
        raise Invalid(
            "바꿀 추천을 하나 이상 고르세요", "choose at least one nomination", {"ids": ["추천을 고르세요 (choose)"]}
        )
    note = _clean_note(note)
    access.require(principal, "programs.manage")
    begin_write(session)
    query = select(Nomination).where(Nomination.id.in_(wanted)).options(joinedload(Nomination.program))
    found = {n.id: n for n in session.scalars(query) if program_id is None or n.program_id == program_id}
    for nomination_id in wanted:
        access.require_nomination_visible(principal, found.get(nomination_id), nomination_id)
    for nomination in found.values():
        access.require_manager(principal, nomination.program)
    programs = {pid: lock_program(session, pid) for pid in sorted({n.program_id for n in found.values()})}
    fresh = session.scalars(query.execution_options(populate_existing=True))
    items = sorted(fresh, key=lambda n: n.id)
    refusals: dict[int, ServiceError] = {}
    for nomination in items:
        refusal = _refusal(nomination.status, nomination.current_outcome, status)
        if refusal is not None:
            refusals[nomination.id] = refusal
    if refusals:
        n = len(refusals)
        raise BulkRefused(
            f"고른 추천 가운데 {n}건은 바꿀 수 없어 아무것도 바꾸지 않았습니다",
            f"{n} of the chosen nominations cannot be changed, so none was",
            refusals,
        )
    per_program = Counter(n.program_id for n in items)
    for program_id, count in sorted(per_program.items()):
        if status == "confirmed":
            _refuse_beyond_quota(session, programs[program_id], count)
        if status == "delivered":
            _refuse_beyond_allocation(session, programs[program_id], count)
    overridden = [n.id for n in items if needs_note(n.current_outcome, status)]
    if overridden and not note:
        raise _require_note(overridden)
    for nomination in items:
        _apply(session, programs[nomination.program_id], nomination, status, note, principal, bulk=len(items))
    session.commit()
    return items
