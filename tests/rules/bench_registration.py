"""Measure how long durable takes to register the largest rule sets the bounds of rules.facts allow.

For each shape: load (YAML → RuleSet), bound checks + compilation (pure Python, outside the
engine lock), registration + first evaluation (the C call, under the lock and holding the GIL),
the longest gap another thread's evaluations saw meanwhile, and the median evaluation time.

    .venv/bin/python tests/rules/bench_registration.py

Not collected by pytest (no `test_` prefix); wall-clock numbers belong here, never in tests.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from rules import evaluate, load_text, with_example_defaults  # noqa: E402
from rules.compile import dnf_size, durable_rules, stack_height  # noqa: E402
from rules.engine import default_engine  # noqa: E402

STR_FACTS = ("resident.status", "resident.sex", "resident.dong_code", "person.first_institution",
             "person.first_institution_name", "household.other_program", "household.other_program_name")  # fmt: skip


def _ints(values: Iterable[int]) -> str:
    return "[" + ", ".join(map(str, values)) + "]"


def _strs(values: Iterable[str]) -> str:
    return "[" + ", ".join(f'"{v}"' for v in values) + "]"


SHAPES: dict[str, list[str]] = {
    "448 alternatives × 9 comparisons (in 8 × in 8 × not_in 7, 7 rules)": [
        f"{{all: [{{fact: resident.age, in: {_ints(range(60, 68))}}}, "
        f"{{fact: household.size, in: {_ints(range(r * 8, r * 8 + 8))}}}, "
        f"{{fact: resident.status, not_in: {_strs(f's{r}_{j}' for j in range(7))}}}]}}"
        for r in range(7)
    ],
    "4,096 comparisons in 64 rules (eq + not_in 63)": [
        f"{{all: [{{fact: household.size, eq: {r}}}, "
        f"{{fact: resident.status, not_in: {_strs(f'v{r}_{j}' for j in range(63))}}}]}}"
        for r in range(64)
    ],
    "4,096 comparisons in one chain (all of 64 × not_in 64)": [
        "{all: ["
        + ", ".join(f"{{fact: {STR_FACTS[k % 7]}, not_in: {_strs(f'c{k}_{j}' for j in range(64))}}}" for k in range(64))
        + "]}"
    ],
    "500 alternatives of one comparison": [
        f"{{fact: household.size, in: {_ints(range(r * 64, r * 64 + (64 if r < 7 else 52)))}}}" for r in range(8)
    ],
    "100 rules × 5 alternatives × 8 comparisons": [
        f"{{all: [{{fact: household.size, in: {_ints(range(r * 5, r * 5 + 5))}}}, "
        f"{{fact: resident.dong_code, not_in: {_strs(f'{r:03d}{j:07d}' for j in range(7))}}}]}}"
        for r in range(100)
    ],
    "441 strings of 1,024 bytes (near MAX_DEFINITION_BYTES)": [
        f"{{all: [{{fact: household.size, eq: {r}}}, "
        f"{{fact: resident.status, not_in: {_strs(f'{r:02d}{j:02d}' + 'x' * 1020 for j in range(63))}}}]}}"
        for r in range(7)
    ],
}


def _yaml(conditions: list[str]) -> str:
    rules = "".join(
        f"  - id: r{i}\n    severity: review\n    when: {w}\n    message: {{ko: 가, en: a}}\n"
        for i, w in enumerate(conditions)
    )
    return "ruleset: big\ntitle: {ko: 큰, en: Big}\nrules:\n" + rules


SMALL = load_text(
    "ruleset: small\ntitle: {ko: 작은, en: Small}\nrules:\n"
    "  - {id: a, severity: block, when: {fact: resident.found, eq: false}, message: {ko: 가, en: a}}\n"
)


def _evaluate_until(stop: threading.Event, gaps: list[float]) -> None:
    """Evaluate a small rule set in a loop, recording the time between consecutive answers."""
    facts = with_example_defaults({})
    last = time.perf_counter()
    while not stop.is_set():
        evaluate(SMALL, facts)
        now = time.perf_counter()
        gaps.append(now - last)
        last = now


def main() -> None:
    facts = with_example_defaults({})
    evaluate(SMALL, facts)
    for label, conditions in SHAPES.items():
        start = time.perf_counter()
        ruleset = load_text(_yaml(conditions))
        loaded = time.perf_counter()
        compiled = default_engine().compiled(ruleset)
        checked = time.perf_counter()
        gaps: list[float] = []
        stop = threading.Event()

        thread = threading.Thread(target=_evaluate_until, args=(stop, gaps))
        thread.start()
        time.sleep(0.05)
        registering = time.perf_counter()
        evaluate(ruleset, facts)
        registered = time.perf_counter()
        stop.set()
        thread.join()
        runs = []
        for _ in range(200):
            begin = time.perf_counter()
            evaluate(ruleset, facts)
            runs.append(time.perf_counter() - begin)
        sizes = [dnf_size(rule.when) for rule in ruleset.rules]
        print(
            f"{label}: {sum(a for a, _ in sizes)} alternatives, {sum(c for _, c in sizes):,} comparisons, "
            f"stack {stack_height(durable_rules(ruleset))}, {len(compiled.definition_json) / 1024:.0f} KiB; "
            f"load {loaded - start:.3f} s, checks+compile {checked - loaded:.3f} s, "
            f"register+first evaluation {registered - registering:.3f} s, "
            f"other thread's longest gap {max(gaps) * 1000:.0f} ms, evaluation {statistics.median(runs) * 1e6:.0f} µs"
        )


if __name__ == "__main__":
    main()
