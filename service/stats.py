"""Real-time statistics by dong, institution, sponsor, category or program (grouped queries)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, case, func, literal_column, select
from sqlalchemy.orm import Session

from . import access
from .models import Dong, Institution, Nomination, Program, Resident, ResourceCategory, Sponsor
from .security import Principal

METRICS = ("nominations", "eligible", "review", "ineligible", "open", "confirmed", "delivered",
           "cancelled", "people")  # fmt: skip


_GROUPINGS: dict[str, tuple[Any, Any, Callable[[Select[Any]], Select[Any]]]] = {
    "dong": (
        Resident.dong_code, Dong.name,
        lambda q: q.outerjoin(Resident, Resident.rrn_index == Nomination.rrn_index)
        .outerjoin(Dong, Dong.code == Resident.dong_code),
    ),
    "institution": (
        Institution.code, Institution.name, lambda q: q.join(Institution, Institution.id == Nomination.institution_id)
    ),
    "sponsor": (Sponsor.code, Sponsor.name, lambda q: q.outerjoin(Sponsor, Sponsor.id == Program.sponsor_id)),
    "category": (
        ResourceCategory.code, ResourceCategory.name,
        lambda q: q.join(ResourceCategory, ResourceCategory.id == Program.category_id),
    ),
    "program": (Program.code, Program.name, lambda q: q),
}  # fmt: skip
GROUPS = tuple(_GROUPINGS)


def statistics(session: Session, by: str, principal: Principal, program_code: str | None = None) -> dict[str, Any]:
    """Counts of nominations, current verdicts, deliveries and distinct people, grouped.

    A department sees its own programs only; admins and auditors see every program.
    """
    if by not in _GROUPINGS:
        raise ValueError(by)
    key, label, join = _GROUPINGS[by]
    base = join(select().select_from(Nomination).join(Program, Program.id == Nomination.program_id))
    access.require(principal, "stats.read")
    base = base.where(access.programs_scope(principal))
    if program_code:
        base = base.where(Program.code == program_code)

    def count_if(column: Any, value: str) -> Any:
        return func.coalesce(func.sum(case((column == value, 1), else_=0)), 0)

    group = func.coalesce(key, literal_column("''"))  # one expression for SELECT and GROUP BY
    query = (
        base.add_columns(
            group.label("key"),
            func.max(label).label("label"),
            func.count(Nomination.id).label("nominations"),
            *[count_if(Nomination.current_outcome, o).label(o) for o in ("eligible", "review", "ineligible")],
            *[count_if(Nomination.status, s).label(s) for s in ("open", "confirmed", "delivered", "cancelled")],
            func.count(func.distinct(Nomination.rrn_index)).label("people"),
        )
        .group_by(group)
        .order_by(group)
    )
    rows = []
    for r in session.execute(query):
        row = {"key": r.key or None, "label": r.label or ("미상 (unknown)" if not r.key else r.key)}
        row.update({m: int(getattr(r, m)) for m in METRICS})
        rows.append(row)
    totals = {m: sum(r[m] for r in rows) for m in METRICS if m != "people"}
    people = base.add_columns(Nomination.rrn_index.label("person")).subquery()
    totals["people"] = int(session.scalar(select(func.count(func.distinct(people.c.person)))) or 0)
    return {"by": by, "rows": rows, "totals": totals}


GROUP_HEADERS = {
    "dong": "행정동", "institution": "기관", "sponsor": "후원처", "category": "자원 분류", "program": "사업",
}  # fmt: skip
METRIC_HEADERS = {
    "nominations": "추천 (nominations)", "eligible": "적격 (eligible)", "review": "검토 필요 (review)",
    "ineligible": "부적격 (ineligible)", "open": "접수 (open)", "confirmed": "확정 (confirmed)",
    "delivered": "전달 (delivered)", "cancelled": "취소 (cancelled)", "people": "대상자 수 (people)",
}  # fmt: skip
"""Korean-first column names of a statistics download (the same as the API's XLSX)."""


def _district_dongs(session: Session, principal: Principal) -> list[tuple[str, str]]:
    """The dongs of the principal's district (every district's for the command line)."""
    district = session.scalar(select(Institution.district_id).where(Institution.id == principal.institution_id))
    query = select(Dong.code, Dong.name).order_by(Dong.code)
    if district is not None:
        query = query.where(Dong.district_id == district)
    return [(code, name) for code, name in session.execute(query)]


def ranked(rows: list[dict[str, Any]], metric: str = "nominations") -> list[dict[str, Any]]:
    """Rows ordered by ``metric``, largest first (ties by label), for a ranked chart."""
    if metric not in METRICS:
        raise ValueError(metric)
    return sorted(rows, key=lambda r: (-int(r[metric]), str(r["label"]), str(r["key"] or "")))


def dong_table(session: Session, principal: Principal, program_code: str | None = None) -> dict[str, Any]:
    """``statistics(by="dong")`` with every dong of the district, those without a nomination at
    zero, so that a chart shows the whole district (a dong nobody nominated from is news too).

    Nominees whose dong is outside the district or unknown keep their own rows, after the
    district's (``in_district`` false); the totals are the statistics' own.
    """
    data = statistics(session, "dong", principal, program_code)
    found = {row["key"]: row for row in data["rows"]}
    rows = []
    for code, name in _district_dongs(session, principal):
        row = found.pop(code, None) or {"key": code, "label": name, **{m: 0 for m in METRICS}}
        rows.append({**row, "in_district": True})
    rows.extend({**row, "in_district": False} for row in found.values())
    return {"by": "dong", "rows": rows, "totals": data["totals"]}


def export_headers(by: str) -> list[str]:
    """The header row of a statistics download grouped ``by``."""
    return [f"{GROUP_HEADERS[by]} 코드 ({by})", f"{GROUP_HEADERS[by]} (label)", *[METRIC_HEADERS[m] for m in METRICS]]


def export_rows(data: dict[str, Any]) -> list[list[Any]]:
    """The statistics' rows in ``export_headers`` order."""
    return [[row["key"] or "", row["label"], *[row[m] for m in METRICS]] for row in data["rows"]]
