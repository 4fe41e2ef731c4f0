"""Household concentration: households that received, or were accepted for, one resource
category two or more times within a period — the seed's "per-household status shows and
predicts concentration" (one household getting kimchi from four sources)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import access, audit, clock
from .models import Dong, Nomination, Program, Receipt, Resident, ResourceCategory
from .security import Principal

HEADERS = ("행정동 코드 (dong)", "행정동 (dong name)", "세대주 (head)", "세대원 수 (members)",
           "자원 분류 (category)", "제공처 (providers)", "사업 (programs)", "건수 (count)")  # fmt: skip


@dataclass
class Household:
    key: str
    category: str
    providers: set[str] = field(default_factory=set)
    programs: set[str] = field(default_factory=set)
    count: int = 0
    in_scope: bool = False


def households(session: Session, principal: Principal, days: int, reason: str) -> list[dict[str, Any]]:
    """Households with two or more receipts or accepted nominations of one category within
    ``days``; a department sees those with an accepted nomination in one of its programs.
    The read is recorded with the reason and the heads it lists; commits."""
    access.require(principal, "stats.read")
    since = clock.today() - timedelta(days=days)
    found: dict[tuple[str, str], Household] = {}

    def entry(key: str, category: str) -> Household:
        return found.setdefault((key, category), Household(key, category))

    receipts = session.execute(
        select(Resident.household_key, Receipt.category_code, Receipt.provider)
        .join(Resident, Resident.rrn_index == Receipt.rrn_index)
        .where(Receipt.received_on >= since, Receipt.nomination_id.is_(None))
    )  # delivered nominations are counted once, as nominations, below
    for key, category, provider in receipts:
        item = entry(key, category)
        item.providers.add(provider)
        item.count += 1
    scope = access.programs_scope(principal)
    nominations = session.execute(
        select(Nomination.household_key, ResourceCategory.code, Program.name, scope.label("in_scope"))
        .join(Program, Program.id == Nomination.program_id)
        .join(ResourceCategory, ResourceCategory.id == Program.category_id)
        .where(
            Nomination.household_key.is_not(None),
            Nomination.status != "cancelled",
            Nomination.current_outcome != "ineligible",
            Nomination.created_at >= clock.start_of_day(since),
        )
    )
    for key, category, program_name, in_scope in nominations:
        item = entry(key, category)
        item.programs.add(program_name)
        item.count += 1
        item.in_scope = item.in_scope or bool(in_scope)
    chosen = [h for h in found.values() if h.count >= 2 and (principal.role in access.SEES_EVERYTHING or h.in_scope)]
    keys = sorted({h.key for h in chosen})
    members: dict[str, list[Any]] = defaultdict(list)
    for i in range(0, len(keys), 900):
        for row in session.execute(
            select(Resident.household_key, Resident.relation, Resident.rrn_index, Resident.rrn_masked,
                   Resident.dong_code, Resident.status, Dong.name)
            .outerjoin(Dong, Dong.code == Resident.dong_code)
            .where(Resident.household_key.in_(keys[i : i + 900]))
        ):  # fmt: skip
            members[row.household_key].append(row)
    names = dict(session.execute(select(ResourceCategory.code, ResourceCategory.name)).tuples().all())
    rows = []
    for h in sorted(chosen, key=lambda h: (-h.count, h.key, h.category)):
        people = members.get(h.key, [])
        head = next((m for m in people if m.relation == "head"), people[0] if people else None)
        rows.append({
            "dong": head.dong_code if head else None, "dong_name": head.name if head else None,
            "head": head.rrn_masked if head else None, "head_index": head.rrn_index if head else None,
            "members": sum(1 for m in people if m.status == "active"), "category": h.category,
            "category_name": names.get(h.category, h.category), "providers": sorted(h.providers),
            "programs": sorted(h.programs), "count": h.count,
        })  # fmt: skip
    audit.record(
        session, principal, "stats.household", [(r["head_index"], r["head"]) for r in rows] or [(None, None)],
        detail={"days": days, "reason": reason, "households": len(rows)},
    )  # fmt: skip
    session.commit()
    for r in rows:
        del r["head_index"]
    return rows


def table(rows: list[dict[str, Any]]) -> list[list[Any]]:
    """The rows for CSV/XLSX, in HEADERS order."""
    return [[r["dong"], r["dong_name"], r["head"], r["members"], r["category_name"], r["providers"], r["programs"],
             r["count"]] for r in rows]  # fmt: skip
