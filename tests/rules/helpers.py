"""Small builders shared by the rules tests."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import durable.engine

from rules import Library, RuleSet
from rules.compile import PROBE_KEY, SENTINEL_RULE, compile_ruleset

POLICIES = Path(__file__).resolve().parents[2] / "policies"

BASE_YAML = """\
ruleset: base
title: {ko: 기본, en: Base}
parameters:
  limit_a: {value: 1, min: 1, max: 10, unit: times, label: {ko: 한도, en: limit}}
rules:
  - id: not_found
    severity: block
    when: {fact: resident.found, eq: false}
    message: {ko: "없음", en: "not found"}
  - id: too_many
    severity: block
    when: {fact: household.receipts_same_category, gte: {param: limit_a}}
    message: {ko: "{household.receipts_same_category}회", en: "{limit_a} reached"}
"""


def write(directory: Path, name: str, text: str) -> Path:
    """Write a dedented YAML file and return its path."""
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def shipped() -> Library:
    """Load the project's policies/ directory."""
    return Library.from_directory(POLICIES)


class DurableApi:
    """A rule set on durable-rules used as its documents say, and nothing else: a ``Host`` of its
    own whose Python layer runs an action per fired rule, ``assert_fact`` + ``delete_state`` with a
    fresh sid. What rules.engine's C driver must agree with (tests/rules/test_engine.py) and the
    baseline the engine bench measures it against (tests/bench/bench_engine.py)."""

    def __init__(self, ruleset: RuleSet) -> None:
        fired: set[str] = set()
        self.fired = fired

        class Host(durable.engine.Host):  # type: ignore[misc]
            def get_action(self, action_name: str) -> Callable[[Any], None]:
                return lambda _c: fired.add(action_name)

            def _run(self) -> None:
                pass

        self.compiled = compile_ruleset(ruleset)
        self.host = Host()
        self.name = self.compiled.engine_name
        self.host.register_rulesets(self.compiled.definition())
        self.keys = self.compiled.keys
        self.sid = 0

    def prepared(self, facts: Mapping[str, Any]) -> dict[str, Any]:
        """The durable fact of catalogue facts: safe keys, the probe."""
        fact = {safe: facts[name] for name, safe in self.keys}
        fact[PROBE_KEY] = 1
        return fact

    def evaluate(self, fact: dict[str, Any]) -> frozenset[str]:
        """The rule ids that fire for a :meth:`prepared` fact (given a new sid in place)."""
        self.sid += 1
        sid = str(self.sid)
        fact["sid"] = sid
        self.fired.clear()
        self.host.assert_fact(self.name, fact)
        self.host.delete_state(self.name, sid)
        return frozenset(self.fired - {SENTINEL_RULE})
