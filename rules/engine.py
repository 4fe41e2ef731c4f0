"""Evaluate facts against a rule set with durable-rules, inside its known-safe envelope.

The durable host is not thread-safe (concurrent calls segfault), keeps per-session state that
must be deleted, and starts timer threads nobody here needs. So: one host per process, built
lazily in the process that uses it (rebuilt after a fork), one process-wide lock around every
call, timers disabled, one fresh session id per evaluation, and a sentinel rule so that every
fact matches something.

Registration of a new rule-set content is the one long durable call. Everything Python can do
before it happens outside the lock: fact validation, the bound checks and DNF compilation, and
parsing the definition JSON. The C call itself cannot be overlapped with anything: it must not
run beside another durable call, and it holds the GIL (measured: a spinning thread got about 3 %
of its usual turns during a 0.24 s registration), so even a second host or a thread would stall.
What keeps it short is the bounds of rules.facts. The largest rule sets they allow (six shapes,
tests/rules/bench_registration.py: 500 alternatives; 4,000–4,096 comparisons in 448 alternatives, in
64 rules or in one chain; 100 rules; 457 KiB of 1 KiB strings) registered in 0.005–0.094 s on a
2-core machine, and another thread's evaluations paused for at most 0.076 s meanwhile; before
the bounds, 7 rules of `in` 8 × `in` 8 × `not_in` 500 took 20 s. It happens once per rule-set
content and process.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

import durable.engine

from rules.compile import PROBE_KEY, SENTINEL_RULE, Compiled, compile_ruleset
from rules.facts import checked_facts
from rules.model import RuleSet

_LOCK = threading.Lock()


class EngineError(RuntimeError):
    """durable-rules did not behave as the adapter relies on (a bug, never bad input)."""


class _Host(durable.engine.Host):  # type: ignore[misc]
    """A durable host whose actions report fired rule ids and which starts no timers."""

    def __init__(self, on_fire: Callable[[str], None]) -> None:
        self._on_fire = on_fire
        super().__init__()

    def get_action(self, action_name: str) -> Callable[[Any], None]:
        on_fire = self._on_fire

        def action(c: Any) -> None:
            on_fire(action_name)

        return action

    def _run(self) -> None:
        """Start no dispatch/timer threads: facts are asserted synchronously."""


class Engine:
    """A lazily built durable host with a cache of compiled rule sets (one per content)."""

    def __init__(self) -> None:
        self._host: _Host | None = None
        self._pid: int | None = None
        self._registered: set[str] = set()
        self._compiled: dict[str, Compiled] = {}
        self._fired: set[str] = set()
        self._sids = itertools.count(1)

    def _record(self, rule_id: str) -> None:
        self._fired.add(rule_id)

    def _ready_host(self) -> _Host:
        """Return this process's host, building it on first use or after a fork."""
        if self._host is None or self._pid != os.getpid():
            self._host = _Host(self._record)
            self._pid = os.getpid()
            self._registered = set()
        return self._host

    def compiled(self, ruleset: RuleSet) -> Compiled:
        """Return the cached compilation of a rule set's content.

        Raises RuleSetError when the rule set is outside the bounds durable can judge.
        """
        found = self._compiled.get(ruleset.sha256)
        if found is None:
            found = self._compiled.setdefault(ruleset.sha256, compile_ruleset(ruleset))
        return found

    def evaluate(self, ruleset: RuleSet, facts: Mapping[str, object]) -> frozenset[str]:
        """Return the ids of the rules whose condition the facts satisfy."""
        values = checked_facts(facts)  # the caller's dict itself when plainly valid: read at once, never kept
        compiled = self.compiled(ruleset)  # bound checks and DNF work: pure Python, outside the lock
        fact: dict[str, object] = {safe: values[name] for name, safe in compiled.keys}
        fact[PROBE_KEY] = 1
        definition = None if compiled.engine_name in self._registered else compiled.definition()
        with _LOCK:
            host = self._ready_host()
            if compiled.engine_name not in self._registered:
                try:
                    host.register_rulesets(definition if definition is not None else compiled.definition())
                except Exception as exc:  # durable raises bare Exceptions
                    raise EngineError(f"durable-rules refused {ruleset!r}: {exc}") from exc
                self._registered.add(compiled.engine_name)
            sid = str(next(self._sids))
            fact["sid"] = sid
            self._fired = fired = set()
            try:
                host.assert_fact(compiled.engine_name, fact)
            except Exception as exc:  # durable raises bare Exceptions
                raise EngineError(f"durable-rules refused a fact: {exc}") from exc
            if SENTINEL_RULE not in fired:
                raise EngineError("the sentinel rule did not fire; engine state is suspect")
            host.delete_state(compiled.engine_name, sid)
            self._fired = set()
        fired.discard(SENTINEL_RULE)
        return frozenset(fired)


_ENGINE = Engine()


def _after_fork_in_child() -> None:
    """A lock held by another thread at fork time would stay held forever in the child."""
    global _LOCK
    _LOCK = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def default_engine() -> Engine:
    """Return the process-wide engine."""
    return _ENGINE


def evaluate(ruleset: RuleSet, facts: Mapping[str, object]) -> frozenset[str]:
    """Return the ids of the rules of `ruleset` that fire for `facts` (all catalogue keys).

    Raises FactsError when `facts` does not match the fact catalogue or holds values outside its
    bounds, and RuleSetError when the rule set is outside the bounds durable can judge.
    """
    return _ENGINE.evaluate(ruleset, facts)
