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

An evaluation drives durable's C engine (``durable_rules_engine``) with the calls durable's own
Python layer makes, in its order: ``assert_fact``, ``start_action_for_state``, then per fired
rule ``update_state`` (the state unchanged) and ``complete_and_start_action``, then
``delete_state``. What it leaves out is that layer's per-action bookkeeping, which does nothing
here: a Closure with two clock readings, a Promise chain, and a JSON round trip of the state and
of the message, about half of an evaluation (measured: base-screening 18 µs through the C calls,
36 µs through ``Host.assert_fact``). Registration still goes through ``Host.register_rulesets``.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

import durable.engine
import durable_rules_engine as durable_c

from rules.compile import PROBE_KEY, SENTINEL_RULE, Compiled, compile_ruleset
from rules.facts import checked_facts
from rules.model import RuleSet

_LOCK = threading.Lock()
_ENCODE: Callable[[object], str] = json.JSONEncoder(ensure_ascii=False).encode
"""``json.dumps(fact, ensure_ascii=False)``, what durable's layer sends, without its per-call setup."""


class EngineError(RuntimeError):
    """durable-rules did not behave as the adapter relies on (a bug, never bad input)."""


class _Host(durable.engine.Host):  # type: ignore[misc]
    """A durable host that registers rule sets and starts no timers; its actions never run
    (the adapter reads fired rules from the C engine itself)."""

    def get_action(self, action_name: str) -> Callable[[Any], None]:
        def action(c: Any) -> None:
            raise EngineError(f"durable's action runner was used for {action_name}; the adapter drives actions")

        return action

    def _run(self) -> None:
        """Start no dispatch/timer threads: facts are asserted synchronously."""


def _rule_name(message: str) -> str:
    """The durable rule name of an action message, ``{"c7":{"m":{…}}}`` → ``c7``.

    compile names rules ``c<n>`` and the sentinel ``_seen``, which JSON writes as they are, so
    the name is the text between the first two quotes (a JSON parse of the whole message, with
    the fact in it, would cost more than the rest of the action). Anything else is an EngineError.
    """
    end = message.find('"', 2)
    if not message.startswith('{"') or end < 0 or message[end + 1 : end + 2] != ":":
        raise EngineError(f"durable-rules sent an action message of an unknown shape: {message[:80]!r}")
    return message[2:end]


def _fired(handle: int, sid: str, payload: str, actions: Mapping[str, str]) -> set[str]:
    """Assert one fact in a fresh session, run its actions as durable's layer would, delete the
    session; the rule ids of the actions (durable reports an ``$or`` once per matching branch)."""
    fired: set[str] = set()
    try:
        code, state_offset = durable_c.assert_fact(handle, payload)
    except Exception as exc:  # durable raises bare Exceptions
        raise EngineError(f"durable-rules refused a fact: {exc}") from exc
    if code != 0:  # 1 not handled, 2 observed, 3 deferred: none can happen to a fresh sid with the sentinel
        raise EngineError(f"durable-rules did not take the fact (result {code}); engine state is suspect")
    try:
        started = durable_c.start_action_for_state(handle, state_offset)
        if started is not None:
            state, message = started
            while message is not None:
                fired.add(actions[_rule_name(message)])
                durable_c.update_state(handle, state)
                message = durable_c.complete_and_start_action(handle, state_offset)
    except Exception as exc:
        with contextlib.suppress(Exception):  # the first error is the one to report
            durable_c.abandon_action(handle, state_offset)
        if isinstance(exc, EngineError):
            raise
        raise EngineError(f"durable-rules failed running the actions of a fact: {exc!r}") from exc
    if SENTINEL_RULE not in fired:  # without it, delete_state would segfault
        raise EngineError("the sentinel rule did not fire; engine state is suspect")
    durable_c.delete_state(handle, sid)
    return fired


class Engine:
    """A lazily built durable host with a cache of compiled rule sets (one per content)."""

    def __init__(self) -> None:
        self._host: _Host | None = None
        self._pid: int | None = None
        self._handles: dict[str, int] = {}
        """engine name → durable's handle of the registered rule set, in this process."""
        self._compiled: dict[str, Compiled] = {}
        self._sids = itertools.count(1)

    def _ready_host(self) -> _Host:
        """Return this process's host, building it on first use or after a fork."""
        if self._host is None or self._pid != os.getpid():
            self._host = _Host()
            self._pid = os.getpid()
            self._handles = {}
        return self._host

    def compiled(self, ruleset: RuleSet) -> Compiled:
        """Return the cached compilation of a rule set's content.

        Raises RuleSetError when the rule set is outside the bounds durable can judge.
        """
        found = self._compiled.get(ruleset.sha256)
        if found is None:
            found = self._compiled.setdefault(ruleset.sha256, compile_ruleset(ruleset))
        return found

    def _register(self, ruleset: RuleSet, compiled: Compiled, definition: dict[str, object] | None) -> int:
        """Register a compiled rule set with this process's host (under the lock); its handle."""
        host = self._ready_host()
        name = compiled.engine_name
        try:
            host.register_rulesets(definition if definition is not None else compiled.definition())
            handle = host.get_ruleset(name)._handle
        except Exception as exc:  # durable raises bare Exceptions
            raise EngineError(f"durable-rules refused {ruleset!r}: {exc}") from exc
        if not isinstance(handle, int):
            raise EngineError(f"durable-rules gave no handle for {ruleset!r}")
        self._handles[name] = handle
        return handle

    def evaluate(self, ruleset: RuleSet, facts: Mapping[str, object]) -> frozenset[str]:
        """Return the ids of the rules whose condition the facts satisfy."""
        values = checked_facts(facts)  # the caller's dict itself when plainly valid: read at once, never kept
        compiled = self.compiled(ruleset)  # bound checks and DNF work: pure Python, outside the lock
        fact: dict[str, object] = {safe: values[name] for name, safe in compiled.keys}
        fact[PROBE_KEY] = 1
        name = compiled.engine_name
        definition = None if name in self._handles else compiled.definition()  # parsed outside the lock
        with _LOCK:
            handle = self._handles.get(name) if self._pid == os.getpid() else None
            if handle is None:
                handle = self._register(ruleset, compiled, definition)
            fact["sid"] = sid = str(next(self._sids))
            fired = _fired(handle, sid, _ENCODE(fact), compiled.actions)
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
