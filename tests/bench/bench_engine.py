"""Benchmark the rules engine: the adapter (rules/) beside raw durable-rules and zen-engine.

Run it as a script (it is not a pytest test)::

    .venv/bin/python tests/bench/bench_engine.py [--timed 20000] [--count 200000]

Per rule set of ``policies/``, on the same 1,000 varied fact vectors, in the same run:

* **adapter**: ``rules.engine.evaluate`` (fact validation, the process-wide lock, assert_fact
  with a fresh sid, delete_state);
* **raw durable**: the same compiled rule set on a bare ``durable.engine.Host`` of its own,
  ``assert_fact`` + ``delete_state`` and nothing else (durable-rules as its API is used): the
  adapter's overhead is (adapter - raw) / raw, target at most 10 %;
* **bare C calls**: the C engine calls the adapter makes (rules.engine drives
  ``durable_rules_engine`` itself, without the Python layer's per-action bookkeeping), on
  prepared facts, with nothing else: what the adapter's own work (fact checks, key mapping,
  the lock) costs above the calls it makes;
* **zen-engine** (a peer, when the bench extra is installed): the same rules as one decision
  table (a row per rule, hit policy collect), evaluated with ``ZenEngine(loader).evaluate(key, facts)``;
* **memoised bulk**: :class:`service.screening.VerdictMaker` over 100,000 nominations whose
  facts repeat as a district's do (the distinct vectors of a bulk run), effective µs per
  nomination including the verdict, target at most 10 µs.

Then RSS over ``--count`` adapter evaluations, sampled along the way, with its slope in KiB
per 100,000 evaluations (flat memory: a slope near 0).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rules import Library, RuleSet, engine, with_example_defaults  # noqa: E402
from rules.compile import SENTINEL_RULE  # noqa: E402
from tests.rules.helpers import DurableApi  # noqa: E402

TARGET_OVERHEAD = 0.10
TARGET_MEMO_US = 10.0


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def fact_vectors(count: int, seed: int = 1) -> list[dict[str, Any]]:
    """Varied, realistic fact vectors (every catalogue key present): mostly eligible, some of every reason."""
    rng = random.Random(seed)
    vectors = []
    for _ in range(count):
        found = rng.random() < 0.95
        vectors.append(
            with_example_defaults(
                {
                    "resident.found": found,
                    "resident.status": rng.choice(["active"] * 8 + ["deceased", "moved_out"]),
                    "resident.age": rng.randint(20, 95),
                    "resident.in_district": rng.random() < 0.9,
                    "nominee.name_matches": rng.random() < 0.95,
                    "person.earlier_open_nominations": rng.choice([0] * 9 + [1]),
                    "household.size": rng.randint(1, 5),
                    "household.earlier_open_nominations": rng.choice([0] * 9 + [1]),
                    "household.receipts_same_category": rng.choice([0] * 7 + [1, 2, 3]),
                }
            )
        )
    return vectors


def per_call_us(fn: Callable[[Mapping[str, Any]], object], vectors: list[dict[str, Any]], n: int) -> float:
    """Mean µs per call over n calls cycling through the vectors."""
    size = len(vectors)
    start = time.perf_counter()
    for i in range(n):
        fn(vectors[i % size])
    return (time.perf_counter() - start) / n * 1e6


def alternating(runs: int, *timers: Callable[[], float]) -> list[float]:
    """Each timer's best over ``runs`` rounds, the timers taking turns (a noisy machine hits all alike)."""
    best = [float("inf")] * len(timers)
    for _ in range(runs):
        for k, timer in enumerate(timers):
            best[k] = min(best[k], timer())
    return best


def interleaved(total: int, chunk: int, *calls: tuple[Callable[[Any], object], list[Any]]) -> list[float]:
    """Min-of-N µs per call of each ``(fn, inputs)``: ``total`` calls each in chunks of ``chunk``, the
    functions taking turns chunk by chunk (so a burst of load from another process hits a few
    chunks of each alike) and each chunk starting where the previous one left off in its inputs;
    the best chunk is the figure least disturbed by the machine."""
    best = [float("inf")] * len(calls)
    offset = 0
    for _ in range(max(1, total // chunk)):
        for k, (fn, inputs) in enumerate(calls):
            size = len(inputs)
            batch = [inputs[(offset + i) % size] for i in range(chunk)]
            start = time.perf_counter()
            for item in batch:
                fn(item)
            best[k] = min(best[k], (time.perf_counter() - start) / chunk * 1e6)
        offset += chunk
    return best


class RawCalls:
    """The C calls of rules.engine on prepared facts (its own ``_fired``: assert, the actions'
    loop, delete), without the fact check, the key mapping and the lock."""

    def __init__(self, raw: DurableApi) -> None:
        self.handle = raw.host.get_ruleset(raw.name)._handle
        self.actions = raw.compiled.actions
        self.encode = json.JSONEncoder(ensure_ascii=False).encode
        self.sid = 10**9

    def evaluate(self, fact: dict[str, Any]) -> frozenset[str]:
        self.sid += 1
        fact["sid"] = sid = str(self.sid)
        return frozenset(engine._fired(self.handle, sid, self.encode(fact), self.actions) - {SENTINEL_RULE})


def zen_engine(ruleset: RuleSet) -> Callable[[Mapping[str, Any]], frozenset[str]] | None:
    """The rule set as a zen decision table (a row per rule, hit policy collect), or None without zen."""
    try:
        import zen
    except ImportError:
        return None
    from rules.model import AllOf, AnyOf, Leaf, ParamRef

    params = ruleset.parameter_values
    ops = {"eq": "==", "ne": "!=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}

    def expr(cond: Any) -> str:
        if isinstance(cond, AllOf):
            return "(" + " and ".join(expr(c) for c in cond.items) + ")"
        if isinstance(cond, AnyOf):
            return "(" + " or ".join(expr(c) for c in cond.items) + ")"
        assert isinstance(cond, Leaf)
        value = params[cond.value.name] if isinstance(cond.value, ParamRef) else cond.value
        name = "f_" + cond.fact.replace(".", "_")
        if cond.op in ("in", "not_in"):
            items = ", ".join(json.dumps(v) for v in value)
            return f"({'not ' if cond.op == 'not_in' else ''}({name} in [{items}]))"
        return f"({name} {ops[cond.op]} {json.dumps(value)})"

    # One decision table, hit policy "collect": a row per rule, its whole condition in one input
    # cell (a column without a field takes full boolean expressions), the rule id as output.
    table = {
        "hitPolicy": "collect",
        "inputs": [{"id": "when", "name": "when"}],
        "outputs": [{"id": "rule", "name": "rule", "field": "rule"}],
        "rules": [
            {"_id": f"r{n}", "when": expr(r.when), "rule": json.dumps(r.id)} for n, r in enumerate(ruleset.rules)
        ],
    }
    graph = {
        "nodes": [
            {"id": "in", "type": "inputNode", "name": "in", "content": {}},
            {"id": "rules", "type": "decisionTableNode", "name": "rules", "content": table},
            {"id": "out", "type": "outputNode", "name": "out", "content": {}},
        ],
        "edges": [{"id": "e1", "sourceId": "in", "targetId": "rules"},
                  {"id": "e2", "sourceId": "rules", "targetId": "out"}],
    }  # fmt: skip
    content = json.dumps(graph)
    decision = zen.ZenEngine({"loader": lambda _key: content})

    def evaluate(facts: Mapping[str, Any]) -> frozenset[str]:
        flat = {"f_" + k.replace(".", "_"): v for k, v in facts.items()}
        return frozenset(row["rule"] for row in decision.evaluate(ruleset.name, flat)["result"])

    return evaluate


def memo_bulk(ruleset: RuleSet, nominations: int) -> tuple[float, int]:
    """Effective µs per nomination of VerdictMaker over a district-like bulk run; (µs, engine calls)."""
    from service.screening import VerdictMaker

    rng = random.Random(5)
    people = []
    for _ in range(nominations):  # a district's nominees: mostly elderly, alive, in the district
        people.append(
            with_example_defaults(
                {
                    "resident.found": True,
                    "resident.status": "active" if rng.random() < 0.97 else "deceased",
                    "resident.age": rng.randint(65, 95),
                    "resident.in_district": True,
                    "nominee.name_matches": True,
                    "household.size": rng.randint(1, 3),
                    "household.single_person": rng.random() < 0.4,
                    "household.receipts_same_category": rng.choice([0] * 9 + [1]),
                }
            )
        )
    maker = VerdictMaker(ruleset, datetime(2026, 11, 25, tzinfo=UTC))
    start = time.perf_counter()
    for facts in people:
        maker.verdict(facts)
    return (time.perf_counter() - start) / nominations * 1e6, maker.engine_calls


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--timed",
        type=int,
        default=10_000,
        help="adapter/raw: 5 × this many evaluations each, interleaved in chunks; zen: best of 3",
    )
    parser.add_argument("--chunk", type=int, default=200, help="evaluations per interleaved chunk (min of the chunks)")
    parser.add_argument("--count", type=int, default=200_000, help="adapter evaluations for the RSS slope")
    parser.add_argument("--bulk", type=int, default=100_000, help="nominations of the memoised bulk run")
    args = parser.parse_args(argv)

    library = Library.from_directory(ROOT / "policies")
    vectors = fact_vectors(1_000)
    print(f"bench_engine: Python {sys.version.split()[0]}; adapter and raw durable interleaved in chunks of "
          f"{args.chunk} evaluations, min of {args.timed * 5 // args.chunk} chunks each; "
          f"{time.strftime('%Y-%m-%d %H:%M')}")  # fmt: skip
    for ruleset in library:
        raw = DurableApi(ruleset)
        calls = RawCalls(raw)
        prepared = [raw.prepared(v) for v in vectors]
        zen_eval = zen_engine(ruleset)
        for vector, fact in zip(vectors, prepared, strict=True):  # warm up, and check agreement
            expected = engine.evaluate(ruleset, vector)
            assert raw.evaluate(dict(fact)) == expected, ruleset.name
            assert calls.evaluate(dict(fact)) == expected, ruleset.name
            if zen_eval is not None:
                assert zen_eval(vector) == expected, ruleset.name
        adapter, bare, floor = interleaved(
            args.timed * 5, args.chunk,
            (lambda f: engine.evaluate(ruleset, f), vectors),  # noqa: B023
            (raw.evaluate, prepared),
            (calls.evaluate, prepared),
        )  # fmt: skip
        overhead = (adapter - bare) / bare
        print(f"MEASURE engine {ruleset.name:<24} adapter {adapter:6.1f} µs  baseline raw durable {bare:6.1f} µs  "
              f"ratio {adapter / bare:5.2f}  overhead {overhead:+.0%}  target <= {TARGET_OVERHEAD:.0%}: "
              f"{'met' if overhead <= TARGET_OVERHEAD else 'MISSED'}")  # fmt: skip
        print(f"MEASURE engine {ruleset.name:<24} adapter {adapter:6.1f} µs  baseline its C calls {floor:6.1f} µs  "
              f"ratio {adapter / floor:5.2f}  (+{adapter - floor:.1f} µs: fact checks, key mapping, lock)")  # fmt: skip
        if zen_eval is not None:
            peer = alternating(3, lambda: per_call_us(zen_eval, vectors, args.timed))[0]  # noqa: B023
            print(f"MEASURE engine {ruleset.name:<24} zen-engine {peer:6.1f} µs  baseline adapter {adapter:6.1f} µs  "
                  f"ratio {peer / adapter:5.2f}")  # fmt: skip
        else:
            print("  zen-engine not installed (pip install zen-engine): peer skipped")
        memo, calls = memo_bulk(ruleset, args.bulk)
        print(f"MEASURE engine {ruleset.name:<24} memoised bulk {memo:6.2f} µs per nomination  baseline adapter "
              f"{adapter:6.1f} µs  ratio {memo / adapter:5.3f}  ({calls:,} engine calls for {args.bulk:,})  "
              f"target <= {TARGET_MEMO_US:g} µs: {'met' if memo <= TARGET_MEMO_US else 'MISSED'}")  # fmt: skip

    ruleset = library.get("base-screening")
    samples: list[tuple[int, int]] = [(0, rss_kib())]
    start = time.perf_counter()
    step = max(1, args.count // 10)
    for i in range(1, args.count + 1):
        engine.evaluate(ruleset, vectors[i % len(vectors)])
        if i % step == 0:
            samples.append((i, rss_kib()))
    elapsed = time.perf_counter() - start
    tail = samples[len(samples) // 2 :]  # after warm-up: the second half
    n = len(tail)
    mean_x = sum(x for x, _ in tail) / n
    mean_y = sum(y for _, y in tail) / n
    slope = sum((x - mean_x) * (y - mean_y) for x, y in tail) / max(1, sum((x - mean_x) ** 2 for x, _ in tail))
    print(f"  RSS (KiB) by evaluations: {', '.join(f'{x // 1000}k:{y}' for x, y in samples)}")
    print(f"MEASURE engine RSS over {args.count:,} evaluations  {samples[-1][1] / 1024:.1f} MiB at the end  baseline "
          f"{samples[0][1] / 1024:.1f} MiB at the start  slope {slope * 100_000:+.1f} KiB per 100k evaluations "
          f"({elapsed:.1f} s, {elapsed / args.count * 1e6:.1f} µs each; 1,000,000 would add "
          f"{slope * 1_000_000 / 1024:+.2f} MiB)")  # fmt: skip


if __name__ == "__main__":
    main()
