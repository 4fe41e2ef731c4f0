"""Many nominees at once: batch evaluation for other systems, bulk nomination from a file.

Both gather facts set-based (a few ``IN`` queries for the whole batch) and memoise engine
calls on the facts the rule set reads.

- :func:`evaluate_batch` judges each nominee **alone**, exactly as ``POST /evaluate`` would
  (nominees of one batch do not see each other); only the audit entries are stored.
- :func:`nominate_batch` registers the rows in order in **one** transaction: each row sees
  the rows before it (a person twice in one file is a duplicate the second time), and either
  every row is stored or none is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from . import access, audit, clock, keys, verdicts
from .crypto import RRNCipher
from .db import begin_write, read_only, write_after_read
from .errors import Conflict
from .facts import Accepted, Candidate, assemble_facts, load_nomination_state, registry_facts
from .lifecycle import lock_program
from .locks import lock_households
from .models import Nomination, Program
from .policies import ruleset_for
from .rrn import RRN
from .screening import VerdictMaker, lookback_days
from .security import Principal

MAX_BATCH = 1000


@dataclass(frozen=True)
class Nominee:
    number: RRN
    name: str
    note: str | None = None


@dataclass(frozen=True)
class Judged:
    """One nominee's verdict in a batch, with the facts it read."""

    nominee: Nominee
    rrn_index: str
    verdict: dict[str, Any]
    facts: dict[str, Any]
    household_key: str | None


def _judge(
    session: Session, cipher: RRNCipher, program: Program, nominees: Sequence[Nominee], principal: Principal,
    each_alone: bool,
) -> list[Judged]:  # fmt: skip
    ruleset = ruleset_for(program.ruleset_version)
    now = clock.now()
    indexes = keys.person_indexes(session, cipher, [n.number.digits for n in nominees])
    candidates = [Candidate(i, n.name) for i, n in zip(indexes, nominees, strict=True)]
    registry = registry_facts(session, program, candidates, lookback_days(ruleset), now.date())
    households = sorted({f.household_key for f in registry.values() if f.household_key})
    state = load_nomination_state(session, program, sorted(set(indexes)), households)
    maker = VerdictMaker.shared(ruleset, now)
    out: list[Judged] = []
    next_id = 2**62  # placeholder ids for rows not yet stored: later than every stored one
    for nominee, candidate in zip(nominees, candidates, strict=True):
        reg = registry[candidate.rrn_index]
        facts = assemble_facts(candidate, reg, state)
        verdict = maker.verdict(facts)
        if not each_alone and verdict["outcome"] != "ineligible":
            next_id += 1
            state.accept(Accepted(next_id, candidate.rrn_index, reg.household_key, principal.institution_id))
        out.append(Judged(nominee, candidate.rrn_index, verdict, facts, reg.household_key))
    return out


def _dry_run(
    session: Session, cipher: RRNCipher, program: Program, nominees: Sequence[Nominee], principal: Principal,
    each_alone: bool,
) -> list[Judged]:  # fmt: skip
    """Judge the batch and record the access to every nominee; store nothing else.

    As a single evaluate: the reads in a read-only transaction (on SQLite no write lock while
    the facts are gathered), then the audit entries in a short write transaction, committed
    before this returns; during a key rotation people may be moved to the current key first.
    """
    if cipher.previous:
        begin_write(session)
    else:
        read_only(session)
    judged = _judge(session, cipher, program, nominees, principal, each_alone=each_alone)
    write_after_read(session)
    detail = {"batch": len(judged)} if each_alone else {"batch": len(judged), "preview": True}
    audit.record_many(
        session, principal, "evaluate", [j.rrn_index for j in judged], [j.nominee.number.masked for j in judged],
        target=f"program:{program.code}", detail=detail,
    )  # fmt: skip
    session.commit()
    return judged


def evaluate_batch(
    session: Session, cipher: RRNCipher, program: Program, nominees: Sequence[Nominee], principal: Principal
) -> list[Judged]:
    """Each nominee's verdict as a single evaluation would give it; audited, nothing else stored."""
    access.require(principal, "evaluate")
    return _dry_run(session, cipher, program, nominees, principal, each_alone=True)


def preview_batch(
    session: Session, cipher: RRNCipher, program: Program, nominees: Sequence[Nominee], principal: Principal
) -> list[Judged]:
    """What registering the rows in order would give, storing only the audit entries."""
    access.require(principal, "nominate")
    return _dry_run(session, cipher, program, nominees, principal, each_alone=False)


def nominate_batch(
    session: Session, cipher: RRNCipher, program: Program, nominees: Sequence[Nominee], principal: Principal
) -> list[int]:
    """Register every row in order, in one transaction; return the new nomination ids."""
    access.require(principal, "nominate")
    # key rotation: people still under an old key are moved first, so the locks name current indexes
    indexes = keys.person_indexes(session, cipher, [n.number.digits for n in nominees])
    begin_write(session)
    program = lock_program(session, program.id)
    if program.status != "open":
        raise Conflict(f"마감된 사업입니다: {program.name}", f"the program {program.code} is closed")
    lock_households(session, program, indexes)
    judged = _judge(session, cipher, program, nominees, principal, each_alone=False)
    now = clock.now()
    rows = [
        {
            "program_id": program.id,
            "institution_id": principal.institution_id,
            "rrn_index": j.rrn_index,
            "rrn_enc": cipher.encrypt(j.nominee.number.digits),
            "rrn_masked": j.nominee.number.masked,
            "nominee_name": j.nominee.name,
            "household_key": j.household_key,
            "note": j.nominee.note,
            "status": "open",
            "current_outcome": j.verdict["outcome"],
            "replaces_id": None,
            "created_by": principal.actor,
            "created_at": now,
        }  # fmt: skip
        for j in judged
    ]
    ids = list(session.scalars(insert(Nomination).returning(Nomination.id, sort_by_parameter_order=True), rows))
    verdicts.store(
        session,
        [verdicts.verdict_row(i, program.ruleset_version_id, j.verdict, j.facts, "nominate", now)
         for i, j in zip(ids, judged, strict=True)],
    )  # fmt: skip
    audit.record(
        session, principal, "nomination.create", [(j.rrn_index, j.nominee.number.masked) for j in judged],
        target=f"program:{program.code}", detail={"batch": len(judged)},
    )  # fmt: skip
    session.commit()
    return ids
