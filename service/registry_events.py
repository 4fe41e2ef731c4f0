"""Life events from the resident registry: update the snapshot, re-screen at once.

Events are ordered by their date, not by their arrival: ``deceased`` is final, and an event
dated before the status already recorded for the person changes nothing (it is kept, with
``applied`` false, so the registry feed can be reconciled).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import access, audit, keys
from .crypto import RRNCipher
from .errors import Invalid
from .models import Nomination, Program, RegistryEvent, Resident, utcnow
from .registry_import import resident_digest
from .rescreening import RESCREENED_STATUSES, rescreen
from .rrn import RRN
from .security import Principal

STATUS_OF = {"death": "deceased", "move_out": "moved_out"}


@dataclass
class EventResult:
    event: RegistryEvent
    resident_found: bool
    applied: bool
    rescreened: list[dict[str, Any]] = field(default_factory=list)


def supersedes(resident: Resident, kind: str, on: date) -> bool:
    """Whether an event changes the recorded status: never after a death; otherwise only when
    it is not older than the status already recorded."""
    if resident.status == "deceased":
        return False
    if resident.status_date is not None and on < resident.status_date:
        return False
    return not (resident.status == STATUS_OF[kind] and resident.status_date == on)


def apply_event(
    session: Session, cipher: RRNCipher, principal: Principal, kind: str, number: RRN, on: date, today: date
) -> EventResult:
    """Record the event and, when it supersedes the recorded status, mark the resident and
    re-screen that person's open and confirmed nominations in every program (with their
    households), notifying institutions of new ineligibility. The caller commits."""
    access.require(principal, "registry.events")
    if on > today:
        raise Invalid(
            "미래 날짜의 사건입니다", "the event date is in the future", {"date": ["미래 날짜 (in the future)"]}
        )
    if on < number.birth_date:
        raise Invalid("출생일 이전의 사건입니다", "the event date is before the birth date", {"date": ["출생일 이전"]})
    index = keys.person_index(session, cipher, number.digits)
    event = RegistryEvent(
        type=kind, rrn_index=index, rrn_enc=cipher.encrypt(number.digits), rrn_masked=number.masked, event_date=on,
        received_by=principal.actor,
    )  # fmt: skip
    session.add(event)
    resident = session.scalar(select(Resident).where(Resident.rrn_index == index).with_for_update())
    applied = resident is not None and supersedes(resident, kind, on)
    if resident is not None and applied:
        resident.status = STATUS_OF[kind]
        resident.status_date = on
        resident.row_digest = resident_digest(resident)
        resident.updated_at = utcnow()
    session.flush()
    result = EventResult(event, resident is not None, applied)
    program_ids: list[int] = []
    if applied:
        program_ids = sorted(set(session.scalars(
            select(Nomination.program_id).where(Nomination.rrn_index == index,
                                                Nomination.status.in_(RESCREENED_STATUSES))
        )))  # fmt: skip
    for program_id in program_ids:
        program = session.get_one(Program, program_id)
        result.rescreened.append(rescreen(session, program, principal, "registry_event", [index]).as_dict())
    audit.record(
        session, principal, f"registry.{kind}", [(index, number.masked)], target=f"registry_event:{event.id}",
        detail={"resident_found": resident is not None, "applied": applied, "programs": len(program_ids)},
    )  # fmt: skip
    return result
