"""Benchmark the durable-rules adapter against the plain-Python reference evaluator.

Prints µs per evaluation for `rules.engine.evaluate` and `rules.reference.evaluate` measured in
the same run on the same fact vectors (so the ratio is the figure to compare across machines),
then the process's RSS before and after COUNT engine evaluations of one rule set.

    .venv/bin/python tests/bench/bench_engine.py [--count 1000000] [--timed 100000]

Not collected by pytest (no `test_` prefix); wall-clock numbers belong here, never in tests.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from rules import Library, RuleSet, complete_facts, engine, reference  # noqa: E402
from rules.facts import validate_facts  # noqa: E402

Evaluate = Callable[[RuleSet, Mapping[str, object]], frozenset[str]]


def rss_mib() -> float:
    """Return the current resident set size (VmRSS) in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def fact_vectors(count: int, seed: int = 1) -> list[Mapping[str, object]]:
    """Return varied, realistic fact vectors: mostly eligible, some of every reason."""
    rng = random.Random(seed)
    vectors: list[Mapping[str, object]] = []
    for _ in range(count):
        found = rng.random() < 0.95
        vectors.append(
            complete_facts(
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


def per_call_us(fn: Evaluate, ruleset: RuleSet, vectors: list[Mapping[str, object]], n: int) -> float:
    """Return the mean µs per call over n calls cycling through the vectors."""
    size = len(vectors)
    start = time.perf_counter()
    for i in range(n):
        fn(ruleset, vectors[i % size])
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="engine evaluations for RSS")
    parser.add_argument("--timed", type=int, default=100_000, help="evaluations per timing")
    parser.add_argument("--ruleset", default="base-screening")
    args = parser.parse_args()

    library = Library.from_directory(ROOT / "policies")
    vectors = fact_vectors(1_000)
    print(f"Python {sys.version.split()[0]}; {args.timed:,} evaluations per timing")
    print(f"{'rule set':<16} {'rules':>5} {'engine µs':>10} {'reference µs':>13} {'ratio':>7}")
    for ruleset in library:
        for vector in vectors:  # warm up, and check agreement on every vector
            assert engine.evaluate(ruleset, vector) == reference.evaluate(ruleset, vector)
        eng = per_call_us(engine.evaluate, ruleset, vectors, args.timed)
        ref = per_call_us(reference.evaluate, ruleset, vectors, args.timed)
        print(f"{ruleset.name:<16} {len(ruleset.rules):>5} {eng:>10.1f} {ref:>13.1f} {eng / ref:>6.1f}x")

    def validate_only(_ruleset: RuleSet, facts: Mapping[str, object]) -> frozenset[str]:
        validate_facts(facts)
        return frozenset()

    check = per_call_us(validate_only, library.get(args.ruleset), vectors, args.timed)
    print(f"of which fact validation: {check:.1f} µs per call")

    ruleset = library.get(args.ruleset)
    before = rss_mib()
    start = time.perf_counter()
    size = len(vectors)
    for i in range(args.count):
        engine.evaluate(ruleset, vectors[i % size])
        if i and i % 250_000 == 0:
            print(f"  {i:>9,} evaluations: RSS {rss_mib():.1f} MiB")
    elapsed = time.perf_counter() - start
    after = rss_mib()
    print(
        f"{args.count:,} engine evaluations of {ruleset.name}: {elapsed:.1f} s "
        f"({elapsed / args.count * 1e6:.1f} µs each); RSS before {before:.1f} MiB, "
        f"after {after:.1f} MiB"
    )


if __name__ == "__main__":
    main()
