"""Dry-run evaluation and nomination: the verdict at the moment an institution registers.

Duplicates and households are race-proof across processes:

- on PostgreSQL a transaction-scoped advisory lock on (resource category, household) makes
  nominations of one household (for any program of that category) queue before they read,
  so the second sees the first (``household_already_nominated``, ``duplicate_nomination``,
  ``household_nominated_elsewhere``);
- on SQLite every write transaction is ``BEGIN IMMEDIATE``, which queues writers likewise;
- on both, a partial unique index allows one accepted nomination per person and program: if
  anything slipped past the lock, the loser's insert fails and it is screened again.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import access, audit, clock, keys, verdicts
from .crypto import RRNCipher
from .db import begin_write, read_only, write_after_read
from .errors import Conflict, Invalid
from .facts import Candidate, ProgramScope
from .locks import lock_households
from .models import Nomination, Program
from .rrn import RRN
from .screening import Screened, screen_candidate
from .security import Principal

MAX_ATTEMPTS = 5


def evaluate(
    session: Session,
    cipher: RRNCipher,
    program: Program | ProgramScope,
    number: RRN,
    name: str,
    principal: Principal,
    durable_audit: bool = True,
) -> Screened:
    """Dry run: the verdict a nomination would get now; only the audit entry is stored.

    The reads run in a read-only transaction (on SQLite it does not take the write lock, so
    evaluations of several workers run at once; the API's reads on PostgreSQL run per statement,
    the facts being one statement); the audit entry is then written in a short write transaction
    (on PostgreSQL after per-statement reads: one autocommitted INSERT) and committed before this
    returns, i.e. before the answer is sent;
    ``durable_audit`` False (``SEONBYEOL_EVALUATE_AUDIT_COMMIT=fast``) does not wait for
    PostgreSQL's disk flush of that commit (service/config.py says what that risks).
    """
    access.require(principal, "evaluate")
    if cipher.previous:
        # A key rotation may move the person's rows to the current key (a write): do that in a
        # write transaction of its own, before the read-only one.
        begin_write(session)
    candidate = Candidate(keys.person_index(session, cipher, number.digits), name)
    read_only(session)
    screened = screen_candidate(session, program, candidate, clock.now())
    write_after_read(session)
    audit.record(
        session, principal, "evaluate", [(candidate.rrn_index, number.masked)], target=f"program:{program.code}",
        detail={"outcome": screened.verdict["outcome"]},
        wait_for_flush=durable_audit,  # fast: committed (and visible) before the answer, without the flush wait
    )  # fmt: skip
    session.commit()
    return screened


def _check_replaces(session: Session, program: Program, replaces: int | None, principal: Principal) -> None:
    """A replacement names an ineligible or cancelled nomination of the same program that the
    principal's institution made (or that its department manages) and that nobody replaced yet."""
    if replaces is None:
        return
    old = session.get(Nomination, replaces)
    if old is None or old.program_id != program.id or not access.can_replace(principal, old):
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
    _refuse_second_replacement(session, replaces)


def _refuse_second_replacement(session: Session, replaces: int) -> None:
    taken = session.scalar(select(Nomination.id).where(Nomination.replaces_id == replaces))
    if taken is not None:
        raise Conflict(
            f"추천 {replaces}은(는) 이미 추천 {taken}(으)로 대체되었습니다",
            f"nomination {replaces} was already replaced by nomination {taken}",
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
    access.require(principal, "nominate")
    rrn_index = keys.person_index(session, cipher, number.digits)
    program_id = program.id
    for _attempt in range(MAX_ATTEMPTS):
        begin_write(session)
        program = session.get_one(Program, program_id, populate_existing=True)
        if program.status != "open":
            raise Conflict(f"마감된 사업입니다: {program.name}", f"the program {program.code} is closed")
        lock_households(session, program, [rrn_index])
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
            # Another nomination of this person was accepted (or the same nomination replaced)
            # after our read: look again.
            session.rollback()
            if replaces is not None:
                _refuse_second_replacement(session, replaces)
            continue
        verdicts.store(
            session,
            [verdicts.verdict_row(nomination.id, program.ruleset_version_id, screened.verdict, screened.facts,
                                  "nominate", now)],
        )  # fmt: skip
        audit.record(
            session, principal, "nomination.create", [(rrn_index, number.masked)],
            target=f"nomination:{nomination.id}", detail={"outcome": screened.verdict["outcome"]},
        )  # fmt: skip
        session.commit()
        return nomination
    raise Conflict("동시에 추천이 너무 많아 처리하지 못했습니다. 다시 시도하세요", "too much contention; retry")
