"""Turn fired rule ids into the verdict a person can check without reading code.

Each reason carries the facts its condition read, the facts its message names, and the
parameters (thresholds) it used, so a stored verdict explains itself long after the rule set
has moved on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TypedDict

from rules.engine import evaluate
from rules.facts import FACTS
from rules.model import PLACEHOLDER_RE, Rule, RuleSet, condition_params


class Reason(TypedDict):
    """Why a rule fired, with the facts and thresholds a person needs to check it."""

    rule: str
    severity: str
    message: str
    messages: dict[str, str]
    facts: dict[str, object]


class RuleSetRef(TypedDict):
    """Which exact rule-set content produced a verdict."""

    name: str
    version: int
    sha256: str


class Verdict(TypedDict):
    """The contract's verdict (a plain dict at run time, JSON-ready)."""

    outcome: str
    ruleset: RuleSetRef
    reasons: list[Reason]
    evaluated_at: str


_BOOL_WORDS = {"ko": ("예", "아니오"), "en": ("yes", "no")}


def outcome_of(ruleset: RuleSet, fired: Iterable[str]) -> str:
    """Return ineligible if any fired rule blocks, else review if any asks review, else eligible.

    Raises ValueError for an id that is not a rule of the rule set.
    """
    ids = set(fired)
    severities = {r.severity for r in ruleset.rules if r.id in ids}
    unknown = ids - set(ruleset.rule_ids)
    if unknown:
        raise ValueError(f"not rules of {ruleset.name}: {', '.join(sorted(unknown))}")
    if "block" in severities:
        return "ineligible"
    return "review" if "review" in severities else "eligible"


def fill(text: str, facts: Mapping[str, object], params: Mapping[str, int], lang: str) -> str:
    """Replace `{name}` placeholders (facts or parameters, dotted names allowed)."""

    def value(match: object) -> str:
        name: str = match.group(1)  # type: ignore[attr-defined]
        found = facts[name] if name in FACTS else params[name]
        if isinstance(found, bool):
            yes, no = _BOOL_WORDS.get(lang, _BOOL_WORDS["en"])
            return yes if found else no
        return str(found)

    return PLACEHOLDER_RE.sub(value, text)


def reason(ruleset: RuleSet, rule: Rule, facts: Mapping[str, object]) -> Reason:
    """Return one reason: rule, severity, messages and the facts and thresholds used."""
    params = ruleset.parameter_values
    used: dict[str, object] = {name: facts[name] for name in rule.facts}
    # Facts the message names (e.g. the first nominating institution) are part of the explanation.
    for text in (rule.message.ko, rule.message.en):
        used.update({name: facts[name] for name in PLACEHOLDER_RE.findall(text) if name in FACTS})
    used.update({name: params[name] for name in rule.params})
    compared = condition_params(rule.when)
    if len(compared) == 1:
        used["limit"] = params[compared[0]]
    ko = fill(rule.message.ko, facts, params, "ko")
    en = fill(rule.message.en, facts, params, "en")
    return {
        "rule": rule.id,
        "severity": rule.severity,
        "message": ko,
        "messages": {"ko": ko, "en": en},
        "facts": used,
    }


def build_verdict(
    ruleset: RuleSet, facts: Mapping[str, object], fired: Iterable[str], evaluated_at: datetime
) -> Verdict:
    """Return the contract's verdict dict; reasons follow the rule set's rule order."""
    if evaluated_at.utcoffset() is None:
        raise ValueError("evaluated_at must be timezone-aware")
    ids = frozenset(fired)
    outcome = outcome_of(ruleset, ids)
    return {
        "outcome": outcome,
        "ruleset": {"name": ruleset.name, "version": ruleset.version, "sha256": ruleset.sha256},
        "reasons": [reason(ruleset, rule, facts) for rule in ruleset.rules if rule.id in ids],
        "evaluated_at": evaluated_at.isoformat(),
    }


def screen(ruleset: RuleSet, facts: Mapping[str, object], evaluated_at: datetime) -> Verdict:
    """Evaluate the facts with the engine and return the verdict."""
    return build_verdict(ruleset, facts, evaluate(ruleset, facts), evaluated_at)
