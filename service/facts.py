"""Gather the flat facts the rules read, for one nominee or a whole batch.

Registry facts (resident, household, receipts, nominations of the same resource category in
other open programs) are fetched for the whole batch with a few ``IN`` queries; nomination
facts of this program (who else is already nominated) are then computed in memory from one
query of the program's accepted nominations, so that bulk re-screening costs a handful of
queries, not several per nomination.

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
    """The program's accepted nominations, indexed by person and by household, updated as a
    bulk run changes outcomes (lookups cost the size of one household, not of the program)."""

    by_person: dict[str, dict[int, Accepted]] = field(default_factory=lambda: defaultdict(dict))
    by_household: dict[str, dict[int, Accepted]] = field(default_factory=lambda: defaultdict(dict))
    placed: dict[int, Accepted] = field(default_factory=dict)
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
        self.drop(item.id)
        self.placed[item.id] = item
        self.by_person[item.rrn_index][item.id] = item
        if item.household_key:
            self.by_household[item.household_key][item.id] = item

    def drop(self, nomination_id: int) -> None:
        item = self.placed.pop(nomination_id, None)
        if item is None:
            return
        self.by_person[item.rrn_index].pop(nomination_id, None)
        if item.household_key:
            self.by_household[item.household_key].pop(nomination_id, None)

    def earlier_of_person(self, rrn_index: str, before: int | None) -> list[Accepted]:
        """The person's accepted nominations made before ``before`` (all for a new nominee)."""
        return _before(self.by_person.get(rrn_index, {}), before)

    def earlier_in_household(self, household_key: str | None, rrn_index: str, before: int | None) -> list[Accepted]:
        """Other household members' accepted nominations made before ``before``."""
        if household_key is None:
            return []
        items = self.by_household.get(household_key, {})
        return [a for a in _before(items, before) if a.rrn_index != rrn_index]


def _before(items: dict[int, Accepted], before: int | None) -> list[Accepted]:
    return sorted((a for a in items.values() if before is None or a.id < before), key=lambda a: a.id)


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
        Nomination.status != "cancelled",  # the partial unique index's ACCEPTED condition
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
    elsewhere = _nominated_elsewhere(session, program, indexes, sorted(members))
    out: dict[str, RegistryFacts] = {}
    for index in indexes:
        r = residents.get(index)
        if r is None:
            out[index] = RegistryFacts(_not_found(), None)
            continue
        active = [m for m in members[r.household_key] if m.status == "active"]
        others = sorted(
            {o for o in elsewhere if o.rrn_index == index or o.household_key == r.household_key},
            key=lambda o: o.id,
        )
        first_program = others[0] if others else None
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
                "household.nominated_elsewhere": len(others),
                "household.other_program": first_program.program_code if first_program else "",
                "household.other_program_name": first_program.program_name if first_program else "",
                "_registry_name": r.name,
            },
            r.household_key,
        )
    for index in indexes:
        if index not in residents:
            # Not in the registry: no household, but the person may be nominated elsewhere.
            mine = sorted((o for o in elsewhere if o.rrn_index == index), key=lambda o: o.id)
            if mine:
                out[index].values.update({
                    "household.nominated_elsewhere": len(mine),
                    "household.other_program": mine[0].program_code,
                    "household.other_program_name": mine[0].program_name,
                })  # fmt: skip
    return out


@dataclass(frozen=True)
class ElsewhereNomination:
    """An accepted nomination of the same resource category in another open program."""

    id: int
    rrn_index: str
    household_key: str | None
    program_code: str
    program_name: str


def _nominated_elsewhere(
    session: Session, program: Program, indexes: Sequence[str], household_keys: Sequence[str]
) -> set[ElsewhereNomination]:
    """Open or confirmed, not ineligible nominations of these people or households in the
    district's other open programs of the same resource category (the seed's "one household
    gets kimchi from several sources")."""
    base = (
        select(Nomination.id, Nomination.rrn_index, Nomination.household_key, Program.code, Program.name)
        .join(Program, Program.id == Nomination.program_id)
        .where(
            Program.category_id == program.category_id,
            Program.id != program.id,
            Program.status == "open",
            Nomination.status.in_(("open", "confirmed")),
            Nomination.current_outcome != "ineligible",
        )
    )
    found: set[ElsewhereNomination] = set()
    for column, values in ((Nomination.rrn_index, indexes), (Nomination.household_key, household_keys)):
        for chunk in _chunks(values):
            for row in session.execute(base.where(column.in_(chunk))):
                found.add(ElsewhereNomination(row.id, row.rrn_index, row.household_key, row.code, row.name))
    return found


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
        "household.nominated_elsewhere": 0,
        "household.other_program": "",
        "household.other_program_name": "",
        "_registry_name": None,
    }


def assemble_facts(candidate: Candidate, registry: RegistryFacts, state: NominationState) -> dict[str, Any]:
    """Add the name check and this program's nomination facts to the registry facts: the full,
    flat fact dict the engine reads (every catalogue key present)."""
    values = dict(registry.values)
    registry_name = values.pop("_registry_name")
    same_person = state.earlier_of_person(candidate.rrn_index, candidate.nomination_id)
    same_household = state.earlier_in_household(registry.household_key, candidate.rrn_index, candidate.nomination_id)
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
