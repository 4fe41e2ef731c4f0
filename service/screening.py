"""Screening: facts in, verdict out. The one path shared by every caller.

Evaluate (dry run), nominate, bulk re-screening, registry events, simulation and the admin
UI all turn facts into a verdict through :class:`VerdictMaker`, which memoises engine calls:
a verdict is a pure function of (rule-set content, the facts its rules read), so identical
fact vectors in a bulk run are evaluated once. It knows nothing of HTTP requests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

import rules
from rules import RuleSet

from .facts import Candidate, assemble_facts, load_nomination_state, registry_facts
from .models import Program
from .policies import ruleset_for


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
    """Facts → verdict for one rule set, with the engine call memoised on the facts read."""

    ruleset: RuleSet
    now: datetime
    engine_calls: int = 0
    _fired: dict[tuple[tuple[str, Any], ...], frozenset[str]] = field(default_factory=dict)

    def verdict(self, facts: dict[str, Any]) -> dict[str, Any]:
        """The contract's verdict for these facts (messages in Korean and English)."""
        key = tuple((name, facts[name]) for name in self.ruleset.fact_keys)
        fired = self._fired.get(key)
        if fired is None:
            fired = self._fired[key] = rules.evaluate(self.ruleset, facts)
            self.engine_calls += 1
        return dict(rules.build_verdict(self.ruleset, facts, fired, self.now))


def screen_candidate(
    session: Session, program: Program, candidate: Candidate, now: datetime, ruleset: RuleSet | None = None
) -> Screened:
    """Evaluate one person for a program as things stand (stores nothing).

    ``ruleset`` overrides the program's current version (simulation of a parameter change).
    """
    ruleset = ruleset or ruleset_for(program.ruleset_version)
    registry = registry_facts(session, program, [candidate], lookback_days(ruleset), now.date())[candidate.rrn_index]
    state = load_nomination_state(
        session, program, [candidate.rrn_index], [registry.household_key] if registry.household_key else []
    )
    facts = assemble_facts(candidate, registry, state)
    verdict = VerdictMaker(ruleset, now).verdict(facts)
    return Screened(verdict, facts, ruleset, registry.household_key)


def same_verdict(a: dict[str, Any] | None, b: dict[str, Any]) -> bool:
    """Whether two verdicts say the same thing (outcome, reasons, rule-set version), whenever
    they were made: re-screening stores a new verdict row only when this is false."""
    if a is None:
        return False
    return (a.get("outcome"), a.get("reasons"), a.get("ruleset")) == (b["outcome"], b["reasons"], b["ruleset"])
