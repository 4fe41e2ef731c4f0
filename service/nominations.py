"""Reading nominations: one, or a program's list, as the access policy scopes them.

Every read of a nomination is recorded in the access log with the people it shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, joinedload

from . import access, audit, clock, verdicts
from .errors import NotFound
from .models import Institution, Nomination, Program
from .security import Principal


def get_visible(session: Session, principal: Principal, nomination_id: int) -> Nomination:
    """A nomination the principal may see; another institution's is simply not found."""
    access.require(principal, "nominations.read")
    nomination = session.get(Nomination, nomination_id)
    return access.require_nomination_visible(principal, nomination, nomination_id)


def as_dict(
    session: Session, n: Nomination, verdict: dict[str, Any] | None = None, with_history: bool = False
) -> dict[str, Any]:
    """The contract's nomination answer; ``history`` and ``replaced_by`` for the single read."""
    history = [v.body for v in verdicts.history(session, n.id)] if with_history or verdict is None else []
    if verdict is None:
        verdict = history[-1] if history else {}
    out: dict[str, Any] = {
        "id": n.id,
        "program": n.program.code,
        "institution": n.institution.code,
        "nominee": {"rrn": n.rrn_masked, "name": n.nominee_name},
        "status": n.status,
        "replaces": n.replaces_id,
        "created_at": n.created_at,
        "note": n.note,
        "status_note": n.status_note,
        "verdict": verdict,
    }
    if with_history:
        out["history"] = history
        out["replaced_by"] = session.scalar(select(Nomination.id).where(Nomination.replaces_id == n.id))
    return out


def read(session: Session, principal: Principal, nomination_id: int) -> dict[str, Any]:
    """One nomination with its verdict history, recorded in the access log; commits."""
    nomination = get_visible(session, principal, nomination_id)
    out = as_dict(session, nomination, with_history=True)
    audit.record(
        session, principal, "nomination.read", [(nomination.rrn_index, nomination.rrn_masked)],
        target=f"nomination:{nomination.id}",
    )  # fmt: skip
    session.commit()
    return out


@dataclass(frozen=True)
class ListFilters:
    status: str | None = None
    outcome: str | None = None
    institution: str | None = None
    limit: int = 100
    offset: int = 0


def _filtered(query: Select[Any], filters: ListFilters) -> Select[Any]:
    if filters.status:
        query = query.where(Nomination.status == filters.status)
    if filters.outcome:
        query = query.where(Nomination.current_outcome == filters.outcome)
    if filters.institution:
        inst = select(Institution.id).where(Institution.code == filters.institution)
        query = query.where(Nomination.institution_id.in_(inst))
    return query


def list_for_program(
    session: Session, principal: Principal, program: Program, filters: ListFilters
) -> tuple[list[dict[str, Any]], int]:
    """The program's nominations the principal may see, with current verdicts; commits the
    access record naming every person listed."""
    access.require(principal, "nominations.read")
    if not access.can_list_program_nominations(principal, program):
        raise NotFound(f"사업 '{program.code}'을(를) 찾을 수 없습니다", f"program '{program.code}' not found")
    query = access.nominations_visible_to(principal, select(Nomination).where(Nomination.program_id == program.id))
    query = _filtered(query, filters)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = list(
        session.scalars(
            query.options(joinedload(Nomination.institution), joinedload(Nomination.program))
            .order_by(Nomination.id)
            .limit(filters.limit)
            .offset(filters.offset)
        )
    )
    current = verdicts.latest(session, [n.id for n in page])
    audit.record(
        session, principal, "nomination.list", [(n.rrn_index, n.rrn_masked) for n in page] or [(None, None)],
        target=f"program:{program.code}",
    )  # fmt: skip
    session.commit()
    return [as_dict(session, n, current.get(n.id, {})) for n in page], total


EXPORT_HEADERS = (
    "추천 번호 (id)", "사업 (program)", "추천 기관 (institution)", "대상자 (name)",
    "주민등록번호 (rrn, masked)", "상태 (status)", "판정 (outcome)", "사유 (reasons)",
    "대체 대상 (replaces)", "추천일시 (created at)",
)  # fmt: skip


def export(
    session: Session, principal: Principal, program: Program, filters: ListFilters, reason: str
) -> list[list[Any]]:
    """Every nomination of the program the principal may see (unpaged), for CSV/XLSX; the
    download is recorded with its reason and every person it lists. Commits."""
    access.require(principal, "nominations.read")
    if not access.can_list_program_nominations(principal, program):
        raise NotFound(f"사업 '{program.code}'을(를) 찾을 수 없습니다", f"program '{program.code}' not found")
    query = access.nominations_visible_to(principal, select(Nomination).where(Nomination.program_id == program.id))
    items = list(
        session.scalars(_filtered(query, filters).options(joinedload(Nomination.institution)).order_by(Nomination.id))
    )
    current = verdicts.latest(session, [n.id for n in items])
    audit.record(
        session, principal, "nomination.export", [(n.rrn_index, n.rrn_masked) for n in items] or [(None, None)],
        target=f"program:{program.code}", detail={"reason": reason, "rows": len(items)},
    )  # fmt: skip
    session.commit()
    rows = []
    for n in items:
        verdict = current.get(n.id, {})
        rows.append([
            n.id, program.code, n.institution.code, n.nominee_name, n.rrn_masked, n.status, n.current_outcome,
            "; ".join(r["messages"]["ko"] for r in verdict.get("reasons", [])), n.replaces_id,
            n.created_at.astimezone(clock.SEOUL).strftime("%Y-%m-%d %H:%M"),
        ])  # fmt: skip
    return rows


# --------------------------------------------------------------------------- the nomination desk: across programs


@dataclass(frozen=True)
class DeskFilters:
    """The desk's list filters: one program or all, outcome, status, created on Korean days."""

    program: str | None = None
    outcome: str | None = None
    status: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    limit: int = 50
    offset: int = 0


def _desk_query(principal: Principal, filters: DeskFilters) -> Select[Any]:
    query = access.nominations_visible_to(principal, select(Nomination))
    if filters.program:
        query = query.where(Nomination.program_id.in_(select(Program.id).where(Program.code == filters.program)))
    query = _filtered(query, ListFilters(status=filters.status, outcome=filters.outcome))
    if filters.date_from:
        query = query.where(Nomination.created_at >= clock.start_of_day(filters.date_from))
    if filters.date_to:
        query = query.where(Nomination.created_at < clock.start_of_day(filters.date_to, plus_days=1))
    return query


def _replaced_by(session: Session, ids: Sequence[int]) -> dict[int, int]:
    """For each of ``ids`` that was replaced, the id of the nomination that replaced it."""
    if not ids:
        return {}
    rows = session.execute(
        select(Nomination.replaces_id, Nomination.id).where(Nomination.replaces_id.in_(sorted(set(ids))))
    ).tuples()
    return {int(old): int(new) for old, new in rows if old is not None}


def list_for_principal(
    session: Session, principal: Principal, filters: DeskFilters
) -> tuple[list[dict[str, Any]], int]:
    """The nominations the principal may see in every program, newest first, with current
    verdicts and replacements; commits the access record naming every person listed."""
    access.require(principal, "nominations.read")
    query = _desk_query(principal, filters)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = list(
        session.scalars(
            query.options(joinedload(Nomination.institution), joinedload(Nomination.program))
            .order_by(Nomination.id.desc())
            .limit(filters.limit)
            .offset(filters.offset)
        )
    )
    current = verdicts.latest(session, [n.id for n in page])
    replaced = _replaced_by(session, [n.id for n in page])
    audit.record(
        session, principal, "nomination.list", [(n.rrn_index, n.rrn_masked) for n in page] or [(None, None)],
        target="nominations", detail={"filters": _described(filters)},
    )  # fmt: skip
    session.commit()
    items = [
        {
            **as_dict(session, n, current.get(n.id, {})),
            "program_name": n.program.name,
            "institution_name": n.institution.name,
            "replaced_by": replaced.get(n.id),
        }
        for n in page
    ]
    return items, total


def _described(filters: DeskFilters) -> dict[str, str]:
    return {k: str(v) for k, v in vars(filters).items() if v is not None and k not in ("limit", "offset")}


def export_for_principal(session: Session, principal: Principal, filters: DeskFilters, reason: str) -> list[list[Any]]:
    """Every nomination the list shows (unpaged), as ``EXPORT_HEADERS`` rows for CSV/XLSX; the
    download is recorded with its reason and every person it lists. Commits."""
    access.require(principal, "nominations.read")
    query = _desk_query(principal, filters).options(joinedload(Nomination.institution), joinedload(Nomination.program))
    items = list(session.scalars(query.order_by(Nomination.id)))
    current = verdicts.latest(session, [n.id for n in items])
    audit.record(
        session, principal, "nomination.export", [(n.rrn_index, n.rrn_masked) for n in items] or [(None, None)],
        target="nominations", detail={"reason": reason, "rows": len(items), "filters": _described(filters)},
    )  # fmt: skip
    session.commit()
    return [
        [
            n.id, n.program.code, n.institution.code, n.nominee_name, n.rrn_masked, n.status, n.current_outcome,
            "; ".join(r["messages"]["ko"] for r in current.get(n.id, {}).get("reasons", [])), n.replaces_id,
            n.created_at.astimezone(clock.SEOUL).strftime("%Y-%m-%d %H:%M"),
        ]
        for n in items
    ]  # fmt: skip


def replaceable_now(principal: Principal, nomination: Nomination, already_replaced: bool) -> bool:
    """Whether the principal may nominate a replacement for it now: an ineligible or cancelled
    nomination it may replace (``access.can_replace``) that nobody replaced yet (the rule
    ``nominating`` enforces; here it decides whether a page offers the button)."""
    if already_replaced or not access.allowed(principal, "nominate") or not access.can_replace(principal, nomination):
        return False
    return nomination.current_outcome == "ineligible" or nomination.status == "cancelled"


def replaceable(session: Session, principal: Principal, nomination: Nomination) -> bool:
    """:func:`replaceable_now`, looking up whether it was replaced."""
    taken = session.scalar(select(Nomination.id).where(Nomination.replaces_id == nomination.id))
    return replaceable_now(principal, nomination, taken is not None)


def replacement_chain(session: Session, principal: Principal, nomination_id: int) -> list[dict[str, Any]]:
    """The nominations that replaced one another around this one, oldest first: id, outcome,
    status and whether the principal may open it (no names: another institution's stay hidden)."""
    start = get_visible(session, principal, nomination_id)
    chain = [start]
    seen = {start.id}
    while chain[0].replaces_id is not None and chain[0].replaces_id not in seen:
        older = session.get(Nomination, chain[0].replaces_id)
        if older is None:
            break
        chain.insert(0, older)
        seen.add(older.id)
    while True:
        newer = session.scalar(select(Nomination).where(Nomination.replaces_id == chain[-1].id))
        if newer is None or newer.id in seen:
            break
        chain.append(newer)
        seen.add(newer.id)
    if len(chain) == 1:
        return []
    return [
        {
            "id": n.id,
            "outcome": n.current_outcome,
            "status": n.status,
            "visible": access.can_see_nomination(principal, n),
            "current": n.id == start.id,
        }
        for n in chain
    ]


def describe_for_desk(session: Session, principal: Principal, nomination_id: int) -> dict[str, Any]:
    """One nomination as the desk shows it: :func:`read` (history, recorded in the access log)
    with the program's and institution's names, what caused each verdict (``triggers``, in
    history order) and whether it may be replaced now."""
    out = read(session, principal, nomination_id)
    nomination = get_visible(session, principal, nomination_id)
    out["program_name"] = nomination.program.name
    out["institution_name"] = nomination.institution.name
    out["replaceable"] = replaceable(session, principal, nomination)
    out["triggers"] = [v.trigger for v in verdicts.history(session, nomination_id)]
    return out
