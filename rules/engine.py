"""Evaluate facts against a rule set with durable-rules, inside its known-safe envelope.

The durable host is not thread-safe (concurrent calls segfault), keeps per-session state that
must be deleted, and starts timer threads nobody here needs. So: one host per process, built
lazily in the process that uses it (rebuilt after a fork), one process-wide lock around every
call, timers disabled, one fresh session id per evaluation, and a sentinel rule so that every
fact matches something.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

import durable.engine

from rules.compile import PROBE_KEY, SENTINEL_RULE, Compiled, compile_ruleset
from rules.facts import validate_facts
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
        """Return the cached compilation of a rule set's content."""
        found = self._compiled.get(ruleset.sha256)
        if found is None:
            found = self._compiled.setdefault(ruleset.sha256, compile_ruleset(ruleset))
        return found

    def evaluate(self, ruleset: RuleSet, facts: Mapping[str, object]) -> frozenset[str]:
        """Return the ids of the rules whose condition the facts satisfy."""
        values = validate_facts(facts)
        compiled = self.compiled(ruleset)
        fact: dict[str, object] = {safe: values[name] for name, safe in compiled.keys}
        fact[PROBE_KEY] = 1
        with _LOCK:
            host = self._ready_host()
            if compiled.engine_name not in self._registered:
                try:
                    host.register_rulesets(compiled.definition())
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

    Raises FactsError when `facts` does not match the fact catalogue.
    """
    return _ENGINE.evaluate(ruleset, facts)
