"""Screening: facts in, verdict out. The one path shared by every caller.

Evaluate (dry run), nominate, bulk re-screening, registry events, simulation and the admin
UI all turn facts into a verdict through :class:`VerdictMaker`, which memoises engine calls:
a verdict is a pure function of (rule-set content, the facts its rules read), so identical
fact vectors in a bulk run are evaluated once. It knows nothing of HTTP requests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

import rules
from rules import FACTS, RuleSet
from rules.facts import tuple_getter
from rules.model import PLACEHOLDER_RE

from .facts import Candidate, ProgramScope, StaleScope, assemble_facts, person_facts
from .models import Program
from .policies import program_scope, ruleset_for


@dataclass
class Screened:
    """One evaluation: the verdict JSON, the facts it read and the rule set it used."""

    verdict: dict[str, Any]
    facts: dict[str, Any]
    ruleset: RuleSet
    household_key: str | None


def lookback_days(ruleset: RuleSet) -> int:
    """The receipts look-back window the facts are gathered for (365 days by default)."""
    param = ruleset.parameters.get("lookback_days")
    return int(param.value) if param is not None else 365


@dataclass
class VerdictMaker:
    """Facts → verdict for one rule set, with the engine call memoised on the facts read.

    The built verdict is memoised too, on the fired rules and the facts their reasons quote (a
    reason names the facts its condition read and those its messages mention, and the
    parameters, which are the rule set's): in a bulk run most people share both, so most
    verdicts cost two dictionary look-ups. Each call returns its own top-level dict.
    """

    ruleset: RuleSet
    now: datetime
    engine_calls: int = 0
    _fired: dict[tuple[Any, ...], frozenset[str]] = field(default_factory=dict)
    _quoted: dict[frozenset[str], Callable[[dict[str, Any]], tuple[Any, ...]]] = field(default_factory=dict)
    _built: dict[tuple[Any, ...], dict[str, Any]] = field(default_factory=dict)
    _read: Callable[[dict[str, Any]], tuple[Any, ...]] | None = None

    @classmethod
    def shared(cls, ruleset: RuleSet, now: datetime) -> VerdictMaker:
        """A maker whose engine-call memo is this process's for the rule set's content, kept from
        one request to the next (single and batch evaluation: the facts a rule set reads take few
        distinct values, and other systems send the same kinds of people again and again). Fired
        rules are a pure function of (content, the facts read), and the content's sha256 covers
        the parameters, so a published version starts a memo of its own. Bounded: a memo past
        SHARED_FIRED_MAX entries, or a 17th content, starts again empty.
        Built verdicts stay per maker (they carry ``now``)."""
        fired = _SHARED_FIRED.get(ruleset.sha256)
        if fired is None or len(fired) > SHARED_FIRED_MAX:
            if fired is None and len(_SHARED_FIRED) >= 16:
                _SHARED_FIRED.clear()
            fired = _SHARED_FIRED[ruleset.sha256] = {}
        return cls(ruleset, now, _fired=fired)

    def verdict(self, facts: dict[str, Any]) -> dict[str, Any]:
        """The contract's verdict for these facts (messages in Korean and English)."""
        read = self._read
        if read is None:
            read = self._read = tuple_getter(self.ruleset.fact_keys)
        key = read(facts)
        fired = self._fired.get(key)
        if fired is None:
            fired = self._fired[key] = rules.evaluate(self.ruleset, facts)
            self.engine_calls += 1
        quoted = self._quoted.get(fired)
        if quoted is None:
            quoted = self._quoted[fired] = tuple_getter(_quoted_facts(self.ruleset, fired))
        built_key = (fired, *quoted(facts))
        built = self._built.get(built_key)
        if built is None:
            built = self._built[built_key] = dict(rules.build_verdict(self.ruleset, facts, fired, self.now))
        return dict(built)


SHARED_FIRED_MAX = 50_000
"""Most fact vectors one shared engine-call memo keeps (a key of ~10 small values: a few MiB)."""
_SHARED_FIRED: dict[str, dict[tuple[Any, ...], frozenset[str]]] = {}


def _quoted_facts(ruleset: RuleSet, fired: frozenset[str]) -> tuple[str, ...]:
    """Every fact the reasons of these fired rules quote (condition facts and message placeholders)."""
    names: set[str] = set()
    for rule in ruleset.rules:
        if rule.id in fired:
            names.update(rule.facts)
            for text in (rule.message.ko, rule.message.en):
                names.update(n for n in PLACEHOLDER_RE.findall(text) if n in FACTS)
    return tuple(sorted(names))


def program_ruleset(program: Program | ProgramScope) -> RuleSet:
    """The program's current rule set: the scope's own, or parsed (cached) from the version row."""
    if isinstance(program, ProgramScope):
        if program.ruleset is None:
            raise ValueError(f"the scope of {program.code} carries no rule set")
        return program.ruleset
    return ruleset_for(program.ruleset_version)


def screen_candidate(
    session: Session,
    program: Program | ProgramScope,
    candidate: Candidate,
    now: datetime,
    ruleset: RuleSet | None = None,
) -> Screened:
    """Evaluate one person for a program as things stand (stores nothing).

    ``ruleset`` overrides the program's current version (simulation of a parameter change).
    The facts come from one statement (:func:`service.facts.person_facts`), the same facts the
    set-based bulk path gathers.
    """
    fixed = ruleset
    try:
        ruleset = fixed or program_ruleset(program)
        registry, state = person_facts(session, program, candidate, lookback_days(ruleset), now.date())
    except StaleScope:  # a cached scope of a program that has moved on: read it again (once)
        program = program_scope(session, program.code)
        ruleset = fixed or program_ruleset(program)
        registry, state = person_facts(session, program, candidate, lookback_days(ruleset), now.date())
    facts = assemble_facts(candidate, registry, state)
    verdict = VerdictMaker.shared(ruleset, now).verdict(facts)
    return Screened(verdict, facts, ruleset, registry.household_key)


def same_verdict(a: dict[str, Any] | None, b: dict[str, Any]) -> bool:
    """Whether two verdicts say the same thing (outcome, reasons, rule-set version), whenever
    they were made: re-screening stores a new verdict row only when this is false."""
    if a is None:
        return False
    return (a.get("outcome"), a.get("reasons"), a.get("ruleset")) == (b["outcome"], b["reasons"], b["ruleset"])
