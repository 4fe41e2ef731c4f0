"""Gather the flat facts the rules read, for one nominee or a whole batch.

Registry facts (resident, household, receipts) are fetched for the whole batch with a few
``IN`` queries; nomination facts (who else is already nominated) are then computed in
memory from one query of the program's accepted nominations, so that bulk re-screening
costs a handful of queries, not several per nomination.

Every catalogue key is always present (the engine misbehaves on missing keys): a
resident not found gets explicit "not found" values.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import Dong, Institution, Nomination, Program, Receipt, Resident
from .rrn import age_on

_CHUNK = 900  # stay under SQLite's bound-parameter limit


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for i in range(0, len(values), _CHUNK):
        yield values[i : i + _CHUNK]


@dataclass(frozen=True)
class Candidate:
    """A person to screen: a new nominee (``nomination_id`` None) or a stored nomination."""

    rrn_index: str
    name: str
    nomination_id: int | None = None


@dataclass
class Accepted:
    """A nomination that currently blocks others: not cancelled and not ineligible."""

    id: int
    rrn_index: str
    household_key: str | None
    institution_id: int


@dataclass
class NominationState:
    """The program's accepted nominations, updated as a bulk run changes outcomes."""

    by_id: dict[int, Accepted] = field(default_factory=dict)
    institutions: dict[int, tuple[str, str]] = field(default_factory=dict)
    session: Session | None = None

    def institution(self, institution_id: int) -> tuple[str, str]:
        """(code, name) of an institution, fetched on first use: most people have no earlier
        nomination, so most screenings need no institution at all."""
        if institution_id not in self.institutions and self.session is not None:
            row = self.session.execute(
                select(Institution.code, Institution.name).where(Institution.id == institution_id)
            ).one_or_none()
            self.institutions[institution_id] = (row.code, row.name) if row is not None else ("", "")
        return self.institutions.get(institution_id, ("", ""))

    def accept(self, item: Accepted) -> None:
        self.by_id[item.id] = item

    def drop(self, nomination_id: int) -> None:
        self.by_id.pop(nomination_id, None)

    def earlier(self, nomination_id: int | None) -> list[Accepted]:
        """Accepted nominations made before this one (all of them for a new nominee)."""
        items = self.by_id.values()
        if nomination_id is not None:
            items = [a for a in items if a.id < nomination_id]
        return sorted(items, key=lambda a: a.id)


def load_nomination_state(
    session: Session,
    program: Program,
    rrn_indexes: Sequence[str] | None = None,
    household_keys: Sequence[str] | None = None,
) -> NominationState:
    """The program's accepted nominations; restricted to some people and households when given
    (the nomination facts of a person only look at that person and that household)."""
    query = select(Nomination.id, Nomination.rrn_index, Nomination.household_key, Nomination.institution_id).where(
        Nomination.program_id == program.id,
        Nomination.status != "cancelled",
        Nomination.current_outcome != "ineligible",
    )
    if rrn_indexes is not None:
        keys = [k for k in household_keys or () if k]
        condition = Nomination.rrn_index.in_(list(rrn_indexes))
        query = query.where(condition | Nomination.household_key.in_(keys) if keys else condition)
    state = NominationState()
    for row in session.execute(query.order_by(Nomination.id)):
        state.accept(Accepted(row.id, row.rrn_index, row.household_key, row.institution_id))
    state.session = session
    return state


@dataclass(frozen=True)
class RegistryFacts:
    """The part of the facts that depends only on the registry and receipts."""

    values: dict[str, Any]
    household_key: str | None


def registry_facts(
    session: Session,
    program: Program,
    candidates: Iterable[Candidate],
    lookback_days: int,
    today: date,
) -> dict[str, RegistryFacts]:
    """Resident, household and receipt facts for each distinct RRN (keyed by blind index).

    Two queries per chunk of people: every member of their households (the people themselves
    included, with a flag saying whether their dong is in the program's district), then the
    households' receipts of the program's category within the look-back window.
    """
    indexes = sorted({c.rrn_index for c in candidates})
    in_district = (
        select(Dong.id)
        .where(Dong.code == Resident.dong_code, Dong.district_id == program.department.district_id)
        .exists()
    )
    members: dict[str, list[Any]] = defaultdict(list)
    for chunk in _chunks(indexes):
        households = select(Resident.household_key).where(Resident.rrn_index.in_(chunk))
        for m in session.execute(
            select(
                Resident.rrn_index, Resident.birth_date, Resident.sex, Resident.household_key, Resident.relation,
                Resident.dong_code, Resident.status, Resident.name, in_district.label("in_district"),
            ).where(Resident.household_key.in_(households))
        ):  # fmt: skip
            members[m.household_key].append(m)
    wanted = set(indexes)
    residents = {m.rrn_index: m for ms in members.values() for m in ms if m.rrn_index in wanted}
    member_household = {m.rrn_index: key for key, ms in members.items() for m in ms}
    receipts: dict[str, int] = defaultdict(int)
    since = today - timedelta(days=lookback_days)
    for chunk in _chunks(sorted(member_household)):
        for rrn_index, count in session.execute(
            select(Receipt.rrn_index, func.count())
            .where(
                Receipt.rrn_index.in_(chunk),
                Receipt.category_code == program.category.code,
                Receipt.received_on >= since,
            )
            .group_by(Receipt.rrn_index)
        ):
            receipts[member_household[rrn_index]] += count
    out: dict[str, RegistryFacts] = {}
    for index in indexes:
        r = residents.get(index)
        if r is None:
            out[index] = RegistryFacts(_not_found(), None)
            continue
        active = [m for m in members[r.household_key] if m.status == "active"]
        out[index] = RegistryFacts(
            {
                "resident.found": True,
                "resident.status": r.status,
                "resident.age": age_on(r.birth_date, today),
                "resident.sex": r.sex,
                "resident.dong_code": r.dong_code,
                "resident.in_district": bool(r.in_district),
                "resident.is_household_head": r.relation == "head",
                "household.size": len(active),
                "household.single_person": len(active) == 1,
                "household.members_aged_65_plus": sum(age_on(m.birth_date, today) >= 65 for m in active),
                "household.receipts_same_category": receipts.get(r.household_key, 0),
                "_registry_name": r.name,
            },
            r.household_key,
        )
    return out


def _not_found() -> dict[str, Any]:
    return {
        "resident.found": False,
        "resident.status": "",
        "resident.age": -1,
        "resident.sex": "",
        "resident.dong_code": "",
        "resident.in_district": False,
        "resident.is_household_head": False,
        "household.size": 0,
        "household.single_person": False,
        "household.members_aged_65_plus": 0,
        "household.receipts_same_category": 0,
        "_registry_name": None,
    }


def complete_facts(candidate: Candidate, registry: RegistryFacts, state: NominationState) -> dict[str, Any]:
    """Add the name check and the nomination facts; return the full, flat fact dict."""
    values = dict(registry.values)
    registry_name = values.pop("_registry_name")
    earlier = state.earlier(candidate.nomination_id)
    same_person = [a for a in earlier if a.rrn_index == candidate.rrn_index]
    same_household = [
        a for a in earlier
        if registry.household_key is not None and a.household_key == registry.household_key
        and a.rrn_index != candidate.rrn_index
    ]  # fmt: skip
    first_code, first_name = ("", "")
    if same_person:
        first_code, first_name = state.institution(same_person[0].institution_id)
    values.update(
        {
            "nominee.name_matches": registry_name is not None and _same_name(registry_name, candidate.name),
            "person.earlier_open_nominations": len(same_person),
            "person.first_institution": first_code,
            "person.first_institution_name": first_name,
            "household.earlier_open_nominations": len(same_household),
        }
    )
    return values


def _same_name(registry: str, given: str) -> bool:
    """Names match when equal after trimming and removing inner spaces ("김 순자" = "김순자")."""
    return "".join(registry.split()) == "".join(given.split())
