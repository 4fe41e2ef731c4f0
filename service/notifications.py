"""Notifications to institutions: a nominee turned ineligible (please nominate a replacement).

Each institution reads its own inbox (``access.notification_filter``); reading a list is
recorded in the access log with the people the notifications name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import access, audit, clock
from .db import append_rows
from .errors import NotFound
from .models import Nomination, Notification, Program
from .nominations import replaceable_now
from .security import Principal

IneligibleItem = tuple[int, int, str, str, dict[str, Any]]
"""(nomination id, institution id, nominee name, masked RRN, new verdict)."""


def ineligible(session: Session, program: Program, items: Sequence[IneligibleItem]) -> None:
    """Tell each nominating institution that its nominee turned ineligible, and ask for a
    replacement (the department sees who still owes one)."""
    rows = []
    now = clock.now()
    for nomination_id, institution_id, name, masked, verdict in items:
        blocks = [r for r in verdict["reasons"] if r["severity"] == "block"]
        reasons_ko = "; ".join(r["messages"]["ko"] for r in blocks)
        reasons_en = "; ".join(r["messages"]["en"] for r in blocks)
        who = f"{name}({masked})"
        rows.append({
            "institution_id": institution_id,
            "nomination_id": nomination_id,
            "kind": "nomination_ineligible",
            "message_ko": f"[{program.name}] 추천하신 {who} 님이 재심사에서 부적격으로 판정되었습니다: "
                          f"{reasons_ko}. 대체 대상자를 재추천해 주세요.",
            "message_en": f"[{program.name}] your nominee {who} was found ineligible on re-screening: "
                          f"{reasons_en}. Please nominate a replacement.",
            "created_at": now,
        })  # fmt: skip
    session.flush()  # what the ORM insert did first: pending rows before the notifications
    append_rows(session.connection(), Notification.__table__, rows)  # type: ignore[arg-type]


def inbox(
    session: Session, principal: Principal, unread_only: bool, limit: int, offset: int
) -> tuple[list[Notification], int]:
    """The principal's institution's notifications, newest first, and their total; the read is
    recorded with the people the listed notifications name."""
    access.require(principal, "notifications.read")
    query = select(Notification).where(access.notification_filter(principal))
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = list(session.scalars(query.order_by(Notification.id.desc()).limit(limit).offset(offset)))
    if items:
        ids = sorted({n.nomination_id for n in items if n.nomination_id is not None})
        subjects = (
            session.execute(select(Nomination.rrn_index, Nomination.rrn_masked).where(Nomination.id.in_(ids))).all()
            if ids
            else []
        )
        audit.record(
            session, principal, "notification.list", [(s.rrn_index, s.rrn_masked) for s in subjects] or [(None, None)],
            target=f"institution:{principal.institution_code}", detail={"ids": [n.id for n in items]},
        )  # fmt: skip
        session.commit()
    return items, total


def mark_read(session: Session, principal: Principal, notification_id: int) -> Notification:
    """Mark one of the institution's notifications read (idempotent); another's is not found."""
    item = session.get(Notification, notification_id)
    if item is None or not access.can_see_notification(principal, item):
        raise NotFound("알림을 찾을 수 없습니다", f"notification {notification_id} not found")
    if item.read_at is None:
        item.read_at = clock.now()
        session.commit()
    return item


def selection_confirmed(session: Session, program: Program, nomination: Nomination) -> None:
    """Tell the nominating institution that its nominee was selected (final selection)."""
    who = f"{nomination.nominee_name}({nomination.rrn_masked})"
    session.add(
        Notification(
            institution_id=nomination.institution_id, nomination_id=nomination.id, kind="selection_confirmed",
            message_ko=f"[{program.name}] 추천하신 {who} 님이 최종 선정되었습니다.",
            message_en=f"[{program.name}] your nominee {who} was selected.",
            created_at=clock.now(),
        )
    )  # fmt: skip


def remind_owed(
    session: Session, program: Program, owed: Sequence[Any], principal: Principal, institution: str | None = None
) -> int:
    """Ask each institution that still owes a replacement (or only ``institution``) to
    re-nominate, one notification per owed nomination; returns how many were sent."""
    rows = []
    now = clock.now()
    for item in owed:
        if institution is not None and item.institution != institution:
            continue
        who = f"{item.nominee_name}({item.rrn_masked})"
        rows.append({
            "institution_id": item.institution_id, "nomination_id": item.id, "kind": "replacement_requested",
            "message_ko": f"[{program.name}] 부적격으로 판정된 {who} 님을 대신할 대상자를 재추천해 주세요.",
            "message_en": f"[{program.name}] please nominate a replacement for {who}, found ineligible.",
            "created_at": now,
        })  # fmt: skip
    if rows:
        session.flush()
        append_rows(session.connection(), Notification.__table__, rows)  # type: ignore[arg-type]
        audit.record(
            session, principal, "program.remind", target=f"program:{program.code}", detail={"sent": len(rows)},
        )  # fmt: skip
    return len(rows)


# --------------------------------------------------------------------------- the nomination desk's inbox

ASKS_REPLACEMENT = frozenset({"nomination_ineligible", "replacement_requested"})
"""Kinds of notification that ask the institution to nominate someone else."""


def unread_count(session: Session, principal: Principal) -> int:
    """How many of the institution's notifications are unread (the header's badge; names no one)."""
    if not access.allowed(principal, "notifications.read"):
        return 0
    query = select(func.count(Notification.id)).where(
        access.notification_filter(principal), Notification.read_at.is_(None)
    )
    return int(session.scalar(query) or 0)


def inbox_for_desk(
    session: Session, principal: Principal, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int, int]:
    """The institution's notifications, unread first and newest first within each, with what
    each links to: the nomination, its program and whether a replacement may be nominated now.
    Answers (items, total, unread); the read is recorded with the people the list names."""
    access.require(principal, "notifications.read")
    mine = select(Notification).where(access.notification_filter(principal))
    total = session.scalar(select(func.count()).select_from(mine.subquery())) or 0
    unread = unread_count(session, principal)
    order = (Notification.read_at.is_(None).desc(), Notification.id.desc())
    items = list(session.scalars(mine.order_by(*order).limit(limit).offset(offset)))
    ids = sorted({n.nomination_id for n in items if n.nomination_id is not None})
    nominations: dict[int, Nomination] = {}
    replaced: set[int | None] = set()
    if ids:
        nominations = {n.id: n for n in session.scalars(select(Nomination).where(Nomination.id.in_(ids)))}
        replaced = set(session.scalars(select(Nomination.replaces_id).where(Nomination.replaces_id.in_(ids))))
    if items:
        audit.record(
            session, principal, "notification.list",
            [(n.rrn_index, n.rrn_masked) for n in nominations.values()] or [(None, None)],
            target=f"institution:{principal.institution_code}", detail={"ids": [n.id for n in items]},
        )  # fmt: skip
        session.commit()
    out = []
    for item in items:
        nomination = nominations.get(item.nomination_id) if item.nomination_id is not None else None
        if nomination is not None and not access.can_see_nomination(principal, nomination):
            nomination = None
        replaceable = (
            nomination is not None
            and item.kind in ASKS_REPLACEMENT
            and replaceable_now(principal, nomination, nomination.id in replaced)
        )
        out.append(
            {
                "id": item.id,
                "kind": item.kind,
                "messages": {"ko": item.message_ko, "en": item.message_en},
                "created_at": item.created_at,
                "read_at": item.read_at,
                "nomination": nomination.id if nomination is not None else None,
                "program": nomination.program.code if nomination is not None else None,
                "replaceable": replaceable,
            }
        )
    return out, int(total), unread
