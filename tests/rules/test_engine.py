"""The durable adapter: threads, forks, versions and the limits of durable it works around."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import threading
from typing import Any

import durable_rules_engine as durable_c
import pytest

from rules import FACTS, FactsError, RuleSet, RuleSetError, evaluate, load_text, reference, with_example_defaults
from rules import engine as engine_module
from rules.compile import Compiled, compile_ruleset, limit_problems
from tests.rules.helpers import DurableApi, shipped
from tests.rules.test_differential import _constants, random_facts, random_ruleset

THREADS = 8
PER_THREAD = 2_000


def _random_facts(rng: random.Random) -> dict[str, object]:
    facts: dict[str, Any] = with_example_defaults({})
    facts["resident.found"] = rng.random() < 0.9
    facts["resident.status"] = rng.choice(["active", "active", "deceased", "moved_out", ""])
    facts["resident.age"] = rng.randint(-1, 100)
    facts["resident.in_district"] = rng.random() < 0.8
    facts["resident.dong_code"] = rng.choice(["1120058000", "1120052000", "1168064000"])
    facts["resident.is_household_head"] = rng.random() < 0.7
    facts["nominee.name_matches"] = rng.random() < 0.9
    facts["person.earlier_open_nominations"] = rng.choice([0, 0, 0, 1, 2])
    facts["household.size"] = rng.randint(0, 6)
    facts["household.single_person"] = facts["household.size"] == 1
    facts["household.members_aged_65_plus"] = rng.randint(0, 2)
    facts["household.earlier_open_nominations"] = rng.choice([0, 0, 1])
    facts["household.receipts_same_category"] = rng.choice([0, 0, 1, 2, 3])
    return facts


def test_eight_threads_share_one_engine_without_a_wrong_result() -> None:
    library = shipped()
    rulesets = list(library)
    wrong: list[tuple[str, dict[str, object]]] = []
    done = [0] * THREADS

    def work(index: int) -> None:
        rng = random.Random(index)
        for _ in range(PER_THREAD):
            ruleset = rng.choice(rulesets)
            facts = _random_facts(rng)
            if evaluate(ruleset, facts) != reference.evaluate(ruleset, facts):
                wrong.append((ruleset.name, facts))
            done[index] += 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert done == [PER_THREAD] * THREADS
    assert wrong == []


def test_an_older_version_still_evaluates_after_a_newer_one_is_compiled() -> None:
    base = shipped().get("kimchi-winter")
    v1 = base.derive("kimchi-2026", {"household_limit": 1}, version=1)
    v2 = v1.derive("kimchi-2026", {"household_limit": 3}, version=2)
    facts = with_example_defaults({"household.receipts_same_category": 2})
    assert evaluate(v1, facts) == {"household_resource_limit"}
    assert evaluate(v2, facts) == frozenset()
    assert evaluate(v1, facts) == {"household_resource_limit"}
    assert evaluate(load_text(v1.to_yaml()), facts) == {"household_resource_limit"}


def test_same_name_and_version_with_other_content_do_not_collide() -> None:
    """Two databases in one process may publish `p@1` with different thresholds."""
    base = shipped().get("base-screening")
    one = base.derive("p", {"household_limit": 1}, version=1)
    five = base.derive("p", {"household_limit": 5}, version=1)
    facts = with_example_defaults({"household.receipts_same_category": 3})
    assert evaluate(one, facts) == {"household_resource_limit"}
    assert evaluate(five, facts) == frozenset()


def test_facts_must_match_the_catalogue() -> None:
    ruleset = shipped().get("base-screening")
    facts = with_example_defaults({})
    del facts["resident.age"]
    with pytest.raises(FactsError, match="resident.age"):
        evaluate(ruleset, facts)
    with pytest.raises(FactsError, match="resident.found"):
        evaluate(ruleset, {**with_example_defaults({}), "resident.found": "yes"})


def test_dotted_names_never_reach_durable() -> None:
    compiled = compile_ruleset(shipped().get("heating-coal"))
    text = compiled.definition_json
    for name in FACTS:
        assert f'"{name}"' not in text
    assert compiled.engine_name == f"rs_{shipped().get('heating-coal').sha256}"
    assert '"_seen"' in text and '"_probe": 1' in text


def test_widest_allowed_condition_compiles_and_agrees(tmp_path: Any) -> None:
    """64 and-alternatives: more than durable accepts in one `$or`, so they are chunked."""
    ages = ", ".join(str(a) for a in range(60, 68))
    dongs = ", ".join(f'"11200{n}000"' for n in range(50, 58))
    text = f"""\
ruleset: wide
title: {{ko: 넓은, en: Wide}}
rules:
  - id: wide
    severity: review
    when:
      all:
        - {{fact: resident.age, in: [{ages}]}}
        - {{fact: resident.dong_code, in: [{dongs}]}}
    message: {{ko: 가, en: a}}
"""
    ruleset = load_text(text)
    assert len(json.loads(compile_ruleset(ruleset).definition_json)[f"rs_{ruleset.sha256}"]) > 2
    rng = random.Random(7)
    for _ in range(500):
        facts = with_example_defaults(
            {
                "resident.age": rng.randint(58, 70),
                "resident.dong_code": f"11200{rng.randint(48, 60)}000",
            }
        )
        assert evaluate(ruleset, facts) == reference.evaluate(ruleset, facts)


def test_a_forked_child_builds_its_own_host() -> None:
    ruleset = shipped().get("base-screening")
    facts = with_example_defaults({"resident.status": "deceased"})
    assert evaluate(ruleset, facts) == {"deceased"}  # the parent's host exists now
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            fired = sorted(evaluate(ruleset, facts))
            other = sorted(evaluate(dataclasses.replace(ruleset, name="child-only"), facts))
            os.write(write, json.dumps([fired, other]).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        answer = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert json.loads(answer) == [["deceased"], ["deceased"]]
    assert evaluate(ruleset, facts) == {"deceased"}


def test_ruleset_from_memory_is_evaluated_like_a_loaded_one() -> None:
    loaded = shipped().get("rice-support")
    copy = RuleSet(
        name=loaded.name,
        title=loaded.title,
        parameters=dict(loaded.parameters),
        rules=loaded.rules,
    )
    assert copy.sha256 == loaded.sha256
    facts = with_example_defaults({"resident.is_household_head": False})
    assert evaluate(copy, facts) == evaluate(loaded, facts) == {"not_household_head"}


def test_the_host_starts_no_timer_threads() -> None:
    """durable's Host starts 0.2 s timer loops that call into the C engine; ours must not."""
    evaluate(shipped().get("base-screening"), with_example_defaults({}))
    timers = [t for t in threading.enumerate() if isinstance(t, threading.Timer)]
    assert timers == []


def test_compilation_happens_outside_the_engine_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bound checks, DNF work and JSON parsing never hold up other threads' evaluations."""
    held: list[tuple[str, bool]] = []
    real_compile, real_definition = engine_module.compile_ruleset, Compiled.definition

    def compile_spy(ruleset: RuleSet) -> Compiled:
        held.append(("compile", engine_module._LOCK.locked()))
        return real_compile(ruleset)

    def definition_spy(self: Compiled) -> dict[str, object]:
        held.append(("definition", engine_module._LOCK.locked()))
        return real_definition(self)

    monkeypatch.setattr(engine_module, "compile_ruleset", compile_spy)
    monkeypatch.setattr(Compiled, "definition", definition_spy)
    fresh = shipped().get("kimchi-winter").derive("lock-probe", {"min_age": 77}, version=1)
    assert evaluate(fresh, with_example_defaults({"resident.age": 70, "household.single_person": False})) == {
        "not_target_household"
    }
    assert held == [("compile", False), ("definition", False)]


def test_a_rule_set_durable_cannot_judge_is_refused_before_it_reaches_durable() -> None:
    over = load_text(
        "ruleset: tall\ntitle: {ko: 가, en: a}\nrules:\n"
        + "".join(f"  - {{id: r{i}, severity: review, when: {{fact: resident.age, gte: {{param: p{i}}}}}, "
                  f"message: {{ko: a, en: b}}}}\n" for i in range(64))
        + "parameters:\n"
        + "".join(f"  p{i}: {{value: 0, min: 0, max: 100}}\n" for i in range(64))
    )  # fmt: skip
    assert evaluate(over, with_example_defaults({})) == {f"r{i}" for i in range(64)}  # one shared comparison
    with pytest.raises(RuleSetError) as caught:  # 64 different thresholds: 65 nodes on durable's stack
        over.derive("tall-2026", {f"p{i}": i for i in range(64)}, version=1)
    (problem,) = caught.value.problems
    assert problem.field == "parameters" and "evaluation stack" in problem.message
    assert over.derive("tall-2026", {f"p{i}": i for i in range(63)}, version=1).version == 1


def test_the_c_driver_reports_what_durables_own_action_runner_reports() -> None:
    """The adapter reads fired rules from the C engine's action messages; durable's Python layer,
    running an action per message, reports the same rules on shipped and random rule sets (with
    `$or` chunks, several durable rules per rule id, and none)."""
    rng = random.Random(11)
    shipped_sets = list(shipped())
    rulesets = list(shipped_sets)
    while len(rulesets) < 60:
        candidate = random_ruleset(rng, len(rulesets))
        if not limit_problems(candidate):
            rulesets.append(candidate)
    cases = fired_cases = 0
    for ruleset in rulesets:
        there = DurableApi(ruleset)
        constants = None if ruleset in shipped_sets else _constants(ruleset)
        for _ in range(40):
            facts = _random_facts(rng) if constants is None else random_facts(rng, constants)
            expected = there.evaluate(there.prepared(facts))
            assert evaluate(ruleset, facts) == expected, (ruleset.to_yaml(), facts)
            cases += 1
            fired_cases += bool(expected)
    assert cases == 2_400 and fired_cases > 600


def test_every_evaluation_deletes_its_session(monkeypatch: pytest.MonkeyPatch) -> None:
    """One fresh session per fact, deleted after its actions: durable keeps no state (notes point 3)."""
    deleted: list[tuple[int, str]] = []
    real_delete = durable_c.delete_state

    def spy(handle: int, sid: str) -> None:
        deleted.append((handle, sid))
        real_delete(handle, sid)

    monkeypatch.setattr(durable_c, "delete_state", spy)
    ruleset = shipped().get("base-screening")
    for status in ("active", "deceased", "moved_out"):
        evaluate(ruleset, with_example_defaults({"resident.status": status}))
    assert len(deleted) == 3 and len({sid for _, sid in deleted}) == 3
    for handle, sid in deleted:
        with pytest.raises(Exception, match="error code: 309"):  # durable: no such state
            durable_c.get_state(handle, sid)


def test_an_action_message_of_an_unknown_shape_is_an_engine_error() -> None:
    fact = '{"resident__found": true, "_probe": 1, "sid": "1"}'
    assert engine_module._rule_name('{"c12":{"m":' + fact + "}}") == "c12"
    assert engine_module._rule_name('{"_seen":{"m":' + fact + "}}") == "_seen"
    for odd in ("", "[]", '{ "c1":{"m":{}}}', '{"c1" :{}}', '{"c1', "{}"):
        with pytest.raises(engine_module.EngineError, match="unknown shape"):
            engine_module._rule_name(odd)


def test_a_failure_while_running_actions_is_an_engine_error_and_the_engine_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A C call failing half-way through a fact's actions abandons the action (as durable's own
    layer does) and raises EngineError; the next evaluations are right."""
    ruleset = shipped().get("base-screening")
    deceased = with_example_defaults({"resident.status": "deceased"})
    assert evaluate(ruleset, deceased) == {"deceased"}
    abandoned: list[int] = []
    real_abandon = durable_c.abandon_action

    def failing_update(_handle: int, _state: str) -> int:
        raise RuntimeError("Could not assert state, error code: 999")

    def spy_abandon(handle: int, state_offset: int) -> None:
        abandoned.append(state_offset)
        real_abandon(handle, state_offset)

    monkeypatch.setattr(durable_c, "update_state", failing_update)
    monkeypatch.setattr(durable_c, "abandon_action", spy_abandon)
    with pytest.raises(engine_module.EngineError, match="error code: 999"):
        evaluate(ruleset, deceased)
    assert len(abandoned) == 1
    monkeypatch.undo()
    rng = random.Random(3)
    for _ in range(200):
        facts = _random_facts(rng)
        assert evaluate(ruleset, facts) == reference.evaluate(ruleset, facts)
