"""Bulk re-screening: every open and confirmed nomination of a program, set-based.

One planning pass (:func:`plan`) screens the nominations oldest first against the newest
registry and a rule set, updating the accepted set as outcomes change, so that "earlier
nomination" means the same thing as at registration time. Re-screening applies the plan;
simulation of a parameter change reports it without storing anything. Because both use the
same pass, a simulation says exactly what publishing and re-screening then do.
"""

from __future__ import annotations

import gc
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from rules import RuleSet

from . import audit, clock, notifications, verdicts
from .db import Statement
from .facts import Accepted, Candidate, assemble_facts, load_nomination_state, registry_facts
from .models import Nomination, Program
from .policies import ruleset_for
from .screening import VerdictMaker, lookback_days
from .security import Principal

RESCREENED_STATUSES = ("open", "confirmed")
"""Delivered nominations are history; cancelled ones are out. Confirmed ones are re-screened
so that a confirmed nominee who died is never marked delivered."""


@dataclass(frozen=True, slots=True)
class Rescreened:
    """One nomination's re-derived verdict, beside what it had."""

    nomination_id: int
    institution_id: int
    rrn_index: str
    rrn_masked: str
    name: str
    status: str
    before: str
    verdict: dict[str, Any]
    facts: dict[str, Any]
    household_key: str | None
    household_changed: bool

    @property
    def after(self) -> str:
        return str(self.verdict["outcome"])


@dataclass
class Plan:
    """The outcome of one planning pass."""

    program: Program
    ruleset: RuleSet
    items: list[Rescreened] = field(default_factory=list)
    engine_calls: int = 0

    def transitions(self) -> dict[str, int]:
        """``"eligible->ineligible": n`` for every outcome that changed."""
        counts = Counter(f"{i.before}->{i.after}" for i in self.items if i.before != i.after)
        return dict(sorted(counts.items()))


def plan(
    session: Session,
    program: Program,
    ruleset: RuleSet,
    now: datetime,
    rrn_indexes: Sequence[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Plan:
    """Screen the program's open and confirmed nominations (all, or those of some people and
    their households) against ``ruleset``; store nothing."""
    columns = (
        Nomination.id, Nomination.institution_id, Nomination.rrn_index, Nomination.rrn_masked,
        Nomination.nominee_name, Nomination.status, Nomination.current_outcome, Nomination.household_key,
    )  # fmt: skip
    query = select(*columns).where(Nomination.program_id == program.id, Nomination.status.in_(RESCREENED_STATUSES))
    households: list[str] = []
    if rrn_indexes is not None:
        wanted = list(rrn_indexes)
        targets = session.scalars(
            select(Nomination.household_key).where(
                Nomination.program_id == program.id, Nomination.rrn_index.in_(wanted)
            )
        )
        households = sorted({h for h in targets if h})
        cond = Nomination.rrn_index.in_(wanted)
        query = query.where(cond | Nomination.household_key.in_(households) if households else cond)
    rows = session.execute(query.order_by(Nomination.id)).all()
    candidates = [Candidate(r.rrn_index, r.nominee_name, r.id) for r in rows]
    everyone = rrn_indexes is None
    registry = registry_facts(session, program, candidates, lookback_days(ruleset), now.date(), of_program=everyone)
    if rrn_indexes is None:
        state = load_nomination_state(session, program)
    else:
        keys = sorted({f.household_key for f in registry.values() if f.household_key} | set(households))
        state = load_nomination_state(session, program, sorted({c.rrn_index for c in candidates}), keys)
    maker = VerdictMaker(ruleset, now)
    result = Plan(program, ruleset)
    for done, (row, candidate) in enumerate(zip(rows, candidates, strict=True), start=1):
        reg = registry[candidate.rrn_index]
        facts = assemble_facts(candidate, reg, state)
        verdict = maker.verdict(facts)
        if verdict["outcome"] == "ineligible":
            state.drop(row.id)
        else:
            placed = state.placed.get(row.id)
            if placed is None or placed.household_key != reg.household_key:  # else already as it would be
                state.accept(Accepted(row.id, row.rrn_index, reg.household_key, row.institution_id))
        result.items.append(
            Rescreened(
                row.id, row.institution_id, row.rrn_index, row.rrn_masked, row.nominee_name, row.status,
                row.current_outcome, verdict, facts, reg.household_key, reg.household_key != row.household_key,
            )
        )  # fmt: skip
        if progress is not None:
            progress(done, len(rows))
    result.engine_calls = maker.engine_calls
    return result


@dataclass
class RescreenSummary:
    program: str
    screened: int = 0
    changed: int = 0
    turned_ineligible: int = 0
    stored: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: {"eligible": 0, "review": 0, "ineligible": 0})
    engine_calls: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "program": self.program, "screened": self.screened, "changed": self.changed,
            "turned_ineligible": self.turned_ineligible, "outcomes": self.outcomes,
        }  # fmt: skip


def rescreen(
    session: Session,
    program: Program,
    principal: Principal,
    trigger: str = "rescreen",
    rrn_indexes: Sequence[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RescreenSummary:
    """Re-screen and store: a new verdict row only where the verdict changed (outcome, reasons
    or rule-set version), new outcomes, notifications of new ineligibility, and an audit entry
    for every person whose verdict was re-derived. The caller commits.

    A bounded number of statements whatever the number of nominations: the previous verdicts
    come grouped by what they say (:func:`verdicts.latest_said`), and the writes are Core
    executemany / ``INSERT … SELECT`` statements, no ORM object per row."""
    with bulk_pass():
        return _rescreen(session, program, principal, trigger, rrn_indexes, progress)


def _rescreen(
    session: Session,
    program: Program,
    principal: Principal,
    trigger: str,
    rrn_indexes: Sequence[str] | None,
    progress: Callable[[int, int], None] | None,
) -> RescreenSummary:
    now = clock.now()
    result = plan(session, program, ruleset_for(program.ruleset_version), now, rrn_indexes, progress)
    if rrn_indexes is None:
        previous = verdicts.latest_said(session, program_id=program.id)
    else:
        previous = verdicts.latest_said(session, nomination_ids=[i.nomination_id for i in result.items])
    summary = RescreenSummary(program.code, engine_calls=result.engine_calls)
    same = _SameVerdict()
    rows: list[dict[str, Any]] = []
    moved: dict[int, tuple[str, str | None]] = {}
    turned: list[Rescreened] = []
    outcomes = summary.outcomes
    for item in result.items:
        after = item.verdict["outcome"]
        outcomes[after] += 1
        if not same(previous.get(item.nomination_id), item.verdict):
            rows.append(
                verdicts.verdict_row(
                    item.nomination_id, program.ruleset_version_id, item.verdict, item.facts, trigger, now
                )
            )
        if after != item.before or item.household_changed:
            moved[item.nomination_id] = (after, item.household_key)
        if after != item.before:
            summary.changed += 1
            if after == "ineligible":
                turned.append(item)
    summary.screened = len(result.items)
    # Two phases, so the one-accepted-per-person index never sees two accepted at once:
    # first the nominations that lose their place, then the ones that gain it.
    losing = {i for i, (outcome, _h) in moved.items() if outcome == "ineligible"}
    for phase in (sorted(losing), sorted(set(moved) - losing)):
        if phase:
            _move(session, phase, moved)
    verdicts.store(session, rows)
    summary.stored = len(rows)
    summary.turned_ineligible = len(turned)
    notifications.ineligible(session, program, [(i.nomination_id, i.institution_id, i.name, i.rrn_masked,
                                                 i.verdict) for i in turned])  # fmt: skip
    people: list[str | None] = [i.rrn_index for i in result.items] or [None]
    masked: list[str | None] = [i.rrn_masked for i in result.items] or [None]
    audit.record_many(
        session, principal, f"program.{trigger}", people, masked,
        target=f"program:{program.code}", detail={"screened": summary.screened, "changed": summary.changed},
    )  # fmt: skip
    session.expire_all()
    return summary


_CHANGE = (
    update(Nomination.__table__)
    .where(Nomination.__table__.c.id == bindparam("b_id"))
    .values(current_outcome=bindparam("b_outcome"), household_key=bindparam("b_household"))
)
# PostgreSQL: one statement over three parallel lists instead of one UPDATE per nomination
# (measured: the 12,000-odd changes of a first run over 25,000 nominations 0.62 s as an
# executemany), each list one JSON text split by the server (psycopg adapting three Python lists
# to arrays value by value cost 60-80 ms of client CPU for 12,000 changes; the JSON texts 7-13).
_CHANGE_ALL = Statement(
    "UPDATE nominations AS n SET current_outcome = v.outcome, household_key = v.household "
    "FROM ROWS FROM (json_array_elements_text(CAST(:ids AS json)), json_array_elements_text(CAST(:outcomes AS json)), "
    "json_array_elements_text(CAST(:households AS json))) AS v(id, outcome, household) "
    "WHERE n.id = CAST(v.id AS bigint)"
)


def _move(session: Session, ids: list[int], moved: dict[int, tuple[str, str | None]]) -> None:
    """Set the outcome and household of these nominations (one phase of the two)."""
    if session.get_bind().dialect.name == "postgresql":
        params = {
            "ids": json.dumps(ids),
            "outcomes": json.dumps([moved[i][0] for i in ids]),
            "households": json.dumps([moved[i][1] for i in ids]),  # None: JSON null, SQL NULL
        }
        _CHANGE_ALL.execute(session, params)
    else:  # SQLite's executemany runs in process: nothing to gain
        session.execute(_CHANGE, [{"b_id": i, "b_outcome": moved[i][0], "b_household": moved[i][1]} for i in ids])


class _SameVerdict:
    """:func:`service.screening.same_verdict` of a previous verdict (as :func:`verdicts.latest_said`
    gives it) and a new one, memoised: in a bulk run a few hundred distinct previous verdicts
    meet a few hundred distinct built ones (``VerdictMaker`` shares their reasons), so most of
    100,000 comparisons are one dictionary look-up instead of comparing nested reasons."""

    def __init__(self) -> None:
        self._memo: dict[tuple[int, int, int, str], tuple[bool, verdicts.Said, Any, Any]] = {}

    def __call__(self, said: verdicts.Said | None, verdict: dict[str, Any]) -> bool:
        if said is None:
            return False
        reasons, ruleset, outcome = verdict["reasons"], verdict["ruleset"], verdict["outcome"]
        key = (id(said), id(reasons), id(ruleset), outcome)
        hit = self._memo.get(key)
        if hit is None:
            # the memo keeps the objects alive, so that their ids are never reused meanwhile
            hit = self._memo[key] = (said == (outcome, reasons, ruleset), said, reasons, ruleset)
        return hit[0]


_gc_lock = threading.Lock()
_gc_holders = 0
_gc_was_enabled = False


@contextmanager
def bulk_pass() -> Iterator[None]:
    """Pause Python's cyclic garbage collector during a bulk pass (reference counting still frees
    everything: the pass makes no cycles). A whole-program pass keeps about a million objects
    alive (rows, facts, verdicts); each full collection walks all of them, and the heap's growth
    triggers several: measured 25-35 % of the pass's CPU time at 100,000 nominations. Nested and
    concurrent passes (threads) count holders, so the collector resumes when the last one ends."""
    global _gc_holders, _gc_was_enabled
    with _gc_lock:
        if _gc_holders == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_holders += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_holders -= 1
            if _gc_holders == 0 and _gc_was_enabled:
                gc.enable()
