"""The one screening service: the API, the CLI, bulk re-screening and the admin UI call it.

It gathers facts (``facts``), evaluates them against the program's current rule-set
version (``rules``), and stores the nomination with its verdict and facts snapshot. It
knows nothing of HTTP requests.

Duplicates are race-proof without a Python lock: a partial unique index allows one
accepted (not cancelled, not ineligible) nomination per person and program. Two racing
nominations cannot both be stored as accepted; the loser's insert fails, and it is screened
again, now seeing the winner, and stored with ``duplicate_nomination``. On SQLite the write
transaction is also ``BEGIN IMMEDIATE``, so racing writers queue before they read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import rules
from rules import RuleSet

from . import audit, clock
from .crypto import RRNCipher
from .db import begin_write
from .errors import Conflict, Forbidden, Invalid, NotFound
from .facts import Accepted, Candidate, complete_facts, load_nomination_state, registry_facts
from .models import Nomination, Notification, Program, Receipt, Verdict
from .policies import ruleset_for
from .programs import require_manager
from .rrn import RRN
from .security import Principal

MAX_ATTEMPTS = 5
NOMINATOR_ROLES = ("nominator", "admin", "department")


@dataclass
class Screened:
    """One evaluation: the verdict JSON, the facts it read and the rule set it used."""

    verdict: dict[str, Any]
    facts: dict[str, Any]
    ruleset: RuleSet
    household_key: str | None


def _lookback(ruleset: RuleSet) -> int:
    param = ruleset.parameters.get("lookback_days")
    return int(param.value) if param is not None else 365


def screen_candidate(session: Session, program: Program, candidate: Candidate, now: datetime) -> Screened:
    """Evaluate one person for a program as things stand (stores nothing)."""
    ruleset = ruleset_for(program.ruleset_version)
    registry = registry_facts(session, program, [candidate], _lookback(ruleset), now.date())[candidate.rrn_index]
    state = load_nomination_state(
        session, program, [candidate.rrn_index], [registry.household_key] if registry.household_key else []
    )
    facts = complete_facts(candidate, registry, state)
    verdict = rules.screen(ruleset, facts, now)
    return Screened(verdict, facts, ruleset, registry.household_key)


def evaluate(
    session: Session, cipher: RRNCipher, program: Program, number: RRN, name: str, principal: Principal
) -> Screened:
    """Dry run: the verdict a nomination would get now; only the audit entry is stored."""
    candidate = Candidate(cipher.blind_index(number.digits), name)
    screened = screen_candidate(session, program, candidate, clock.now())
    audit.record(
        session, principal, "evaluate", [(candidate.rrn_index, number.masked)], target=f"program:{program.code}",
        detail={"outcome": screened.verdict["outcome"]},
    )  # fmt: skip
    session.commit()
    return screened


def _check_replaces(session: Session, program: Program, replaces: int | None, principal: Principal) -> None:
    if replaces is None:
        return
    old = session.get(Nomination, replaces)
    if (
        old is None
        or old.program_id != program.id
        or (principal.role == "nominator" and old.institution_id != principal.institution_id)
    ):
        raise Invalid(
            "대체할 추천을 이 사업에서 찾을 수 없습니다",
            "the nomination to replace is not in this program",
            {"replaces": [f"nomination {replaces} not found in program {program.code}"]},
        )
    if old.current_outcome != "ineligible" and old.status != "cancelled":
        raise Invalid(
            "부적격이거나 취소된 추천만 대체할 수 있습니다",
            "only an ineligible or cancelled nomination can be replaced",
            {"replaces": ["the replaced nomination must be ineligible or cancelled"]},
        )


def nominate(
    session: Session,
    cipher: RRNCipher,
    program: Program,
    number: RRN,
    name: str,
    note: str | None,
    replaces: int | None,
    principal: Principal,
) -> Nomination:
    """Store a nomination with its verdict; a duplicate is stored too, as ineligible."""
    if principal.role not in NOMINATOR_ROLES:
        raise Forbidden("추천 권한이 없습니다", "this role cannot nominate")
    if program.status != "open":
        raise Conflict("마감된 사업입니다", "the program is closed")
    rrn_index = cipher.blind_index(number.digits)
    program_id = program.id
    for _attempt in range(MAX_ATTEMPTS):
        begin_write(session)
        program = session.get_one(Program, program_id)
        _check_replaces(session, program, replaces, principal)
        now = clock.now()
        screened = screen_candidate(session, program, Candidate(rrn_index, name), now)
        nomination = Nomination(
            program_id=program.id,
            institution_id=principal.institution_id,
            rrn_index=rrn_index,
            rrn_enc=cipher.encrypt(number.digits),
            rrn_masked=number.masked,
            nominee_name=name,
            household_key=screened.household_key,
            note=note,
            status="open",
            current_outcome=screened.verdict["outcome"],
            replaces_id=replaces,
            created_by=principal.actor,
            created_at=now,
        )
        try:
            with session.begin_nested():
                session.add(nomination)
                session.flush()
        except IntegrityError:
            # Another nomination of this person was accepted after our read: screen again.
            session.rollback()
            continue
        _store_verdict(session, nomination, screened, "nominate", now)
        audit.record(
            session, principal, "nomination.create", [(rrn_index, number.masked)],
            target=f"nomination:{nomination.id}", detail={"outcome": screened.verdict["outcome"]},
        )  # fmt: skip
        session.commit()
        return nomination
    raise Conflict("동시에 추천이 너무 많아 처리하지 못했습니다. 다시 시도하세요", "too much contention; retry")


def _store_verdict(session: Session, nomination: Nomination, screened: Screened, trigger: str, now: datetime) -> None:
    session.add(
        Verdict(
            nomination_id=nomination.id,
            ruleset_version_id=nomination.program.ruleset_version_id,
            outcome=screened.verdict["outcome"],
            body=screened.verdict,
            facts=screened.facts,
            trigger=trigger,
            evaluated_at=now,
        )
    )
    session.flush()


# --------------------------------------------------------------------------- bulk re-screening


@dataclass
class RescreenSummary:
    program: str
    screened: int = 0
    changed: int = 0
    turned_ineligible: int = 0
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
    """Re-screen open nominations of a program (all, or those of some people and their households)
    against the newest registry and rule-set version; the caller commits.

    Nominations are screened oldest first and the accepted set is updated as outcomes change,
    so "earlier nomination" means the same thing as at registration time. Identical fact
    vectors are evaluated once: a verdict is a pure function of (rule-set version, facts).
    """
    ruleset = ruleset_for(program.ruleset_version)
    today = clock.today()
    now = clock.now()
    query = select(Nomination).where(Nomination.program_id == program.id, Nomination.status == "open")
    households: list[str] = []
    if rrn_indexes is not None:
        targets = session.scalars(select(Nomination.household_key).where(
            Nomination.program_id == program.id, Nomination.rrn_index.in_(list(rrn_indexes))
        ))  # fmt: skip
        households = sorted({h for h in targets if h})
        cond = Nomination.rrn_index.in_(list(rrn_indexes))
        query = query.where(cond | Nomination.household_key.in_(households) if households else cond)
    nominations = list(session.scalars(query.order_by(Nomination.id)))
    candidates = [Candidate(n.rrn_index, n.nominee_name, n.id) for n in nominations]
    registry = registry_facts(session, program, candidates, _lookback(ruleset), today)
    if rrn_indexes is None:
        state = load_nomination_state(session, program)
    else:
        keys = sorted({r.household_key for r in registry.values() if r.household_key} | set(households))
        state = load_nomination_state(session, program, sorted({c.rrn_index for c in candidates}), keys)
    summary = RescreenSummary(program.code)
    cache: dict[tuple[tuple[str, Any], ...], frozenset[str]] = {}
    verdict_rows: list[dict[str, Any]] = []
    turned_ineligible: list[tuple[Nomination, dict[str, Any]]] = []
    new_state: dict[int, tuple[str, str | None]] = {}
    for done, (nomination, candidate) in enumerate(zip(nominations, candidates, strict=True), start=1):
        reg = registry[candidate.rrn_index]
        facts = complete_facts(candidate, reg, state)
        key = tuple(sorted(facts.items()))
        fired = cache.get(key)
        if fired is None:
            fired = cache[key] = rules.evaluate(ruleset, facts)
            summary.engine_calls += 1
        verdict = rules.build_verdict(ruleset, facts, fired, now)
        outcome = verdict["outcome"]
        if outcome == "ineligible":
            state.drop(nomination.id)
        else:
            state.accept(Accepted(nomination.id, nomination.rrn_index, reg.household_key, nomination.institution_id))
        if outcome != nomination.current_outcome or reg.household_key != nomination.household_key:
            new_state[nomination.id] = (outcome, reg.household_key)
            if outcome != nomination.current_outcome:
                summary.changed += 1
                if outcome == "ineligible":
                    turned_ineligible.append((nomination, verdict))
        verdict_rows.append({
            "nomination_id": nomination.id, "ruleset_version_id": program.ruleset_version_id,
            "outcome": outcome, "body": verdict, "facts": facts, "trigger": trigger, "evaluated_at": now,
        })  # fmt: skip
        summary.outcomes[outcome] += 1
        summary.screened += 1
        if progress is not None:
            progress(done, len(nominations))
    # Two phases, so the one-accepted-per-person index never sees two accepted at once:
    # first the nominations that lose their place, then the ones that gain it.
    losing = [i for i, (o, _h) in new_state.items() if o == "ineligible"]
    for phase in (losing, [i for i in new_state if i not in set(losing)]):
        if phase:
            session.execute(
                update(Nomination),
                [{"id": i, "current_outcome": new_state[i][0], "household_key": new_state[i][1]} for i in phase],
            )
            session.flush()
    if verdict_rows:
        session.execute(insert(Verdict), verdict_rows)
    summary.turned_ineligible = len(turned_ineligible)
    _notify_ineligible(session, program, turned_ineligible)
    audit.record(
        session, principal, f"program.{trigger}", target=f"program:{program.code}",
        detail={"screened": summary.screened, "changed": summary.changed},
    )  # fmt: skip
    session.expire_all()
    return summary


def _notify_ineligible(session: Session, program: Program, items: Sequence[tuple[Nomination, dict[str, Any]]]) -> None:
    """Tell each nominating institution that its nominee turned ineligible, and ask for a
    replacement (the department sees who still owes one)."""
    rows = []
    for nomination, verdict in items:
        reasons_ko = "; ".join(r["messages"]["ko"] for r in verdict["reasons"] if r["severity"] == "block")
        reasons_en = "; ".join(r["messages"]["en"] for r in verdict["reasons"] if r["severity"] == "block")
        who = f"{nomination.nominee_name}({nomination.rrn_masked})"
        rows.append({
            "institution_id": nomination.institution_id,
            "nomination_id": nomination.id,
            "kind": "nomination_ineligible",
            "message_ko": f"[{program.name}] 추천하신 {who} 님이 재심사에서 부적격으로 판정되었습니다: "
                          f"{reasons_ko}. 대체 대상자를 재추천해 주세요.",
            "message_en": f"[{program.name}] your nominee {who} was found ineligible on re-screening: "
                          f"{reasons_en}. Please nominate a replacement.",
            "created_at": clock.now(),
        })  # fmt: skip
    if rows:
        session.execute(insert(Notification), rows)


# --------------------------------------------------------------------------- lifecycle

TRANSITIONS = {
    "open": {"confirmed", "cancelled"},
    "confirmed": {"delivered", "cancelled"},
    "delivered": set(),
    "cancelled": set(),
}


def change_status(
    session: Session, nomination: Nomination, status: str, note: str | None, principal: Principal
) -> Nomination:
    """Move a nomination along open → confirmed → delivered (or cancelled); delivered records a
    receipt, so the household-limit rule sees it from then on."""
    program = nomination.program
    require_manager(principal, program)
    if status not in TRANSITIONS[nomination.status]:
        raise Conflict(
            f"'{nomination.status}'에서 '{status}'(으)로 바꿀 수 없습니다",
            f"cannot change status from '{nomination.status}' to '{status}'",
        )
    if status == "confirmed" and nomination.current_outcome == "ineligible":
        raise Conflict("부적격 추천은 확정할 수 없습니다", "an ineligible nomination cannot be confirmed")
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
    audit.record(
        session, principal, f"nomination.{status}", [(nomination.rrn_index, nomination.rrn_masked)],
        target=f"nomination:{nomination.id}", detail={"note": note} if note else None,
    )  # fmt: skip
    session.commit()
    return nomination


def get_nomination(session: Session, nomination_id: int, principal: Principal) -> Nomination:
    """A nomination the principal may see; another institution's is simply not found."""
    nomination = session.get(Nomination, nomination_id)
    if nomination is None or not can_see(principal, nomination):
        raise NotFound("추천을 찾을 수 없습니다", f"nomination {nomination_id} not found")
    return nomination


def can_see(principal: Principal, nomination: Nomination) -> bool:
    if principal.role in ("admin", "auditor", "system"):
        return True
    if principal.role == "department":
        return nomination.program.department_id == principal.institution_id or (
            nomination.institution_id == principal.institution_id
        )
    return nomination.institution_id == principal.institution_id
