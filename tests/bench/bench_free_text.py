"""What refusing RRNs in free text costs (``service.rrn.contains_rrn``, SECURITY.md "In free text").

The check runs on every stored free-text field the API loads: the nominee's name (evaluate, batch,
nominate), notes and reasons. Measured in process, interleaved rounds, median of each:

- ``EvaluateIn().load`` of one plainly valid evaluate body (the hot path's body load);
- ``BatchEvaluateIn().load`` of 1,000 nominees;
- ``contains_rrn`` on a 1,000-character note (the longest allowed).

Baseline: the same loads with ``contains_rrn`` replaced by a function answering False at once.

    .venv/bin/python tests/bench/bench_free_text.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from service import rrn
from service.api import schemas

EVALUATE = {"program": "kimchi-2026", "nominee": {"rrn": "450312-2345678", "name": "김순자"}}
BATCH = {"program": "kimchi-2026", "nominees": [{"rrn": "450312-2345678", "name": "김순자"}] * 1000}
NOTE = ("연락처 010-1234-5678, 2026-11-25 방문 상담. " * 40)[:1000]


def _timed(work: Callable[[], Any], repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        work()
    return (time.perf_counter() - start) / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    evaluate, batch = schemas.EvaluateIn(), schemas.BatchEvaluateIn()
    real = rrn.contains_rrn
    cases: dict[str, tuple[Callable[[], Any], int]] = {
        "evaluate body load": (lambda: evaluate.load(EVALUATE), 2000),
        "batch load of 1,000": (lambda: batch.load(BATCH), 3),
        "1,000-character note": (lambda: rrn.contains_rrn(NOTE), 2000),
    }
    results: dict[str, dict[str, list[float]]] = {name: {"check": [], "baseline": []} for name in cases}
    for _ in range(args.rounds):
        for name, (work, repeat) in cases.items():
            rrn.contains_rrn = real
            results[name]["check"].append(_timed(work, repeat))
            rrn.contains_rrn = lambda text: False  # noqa: ARG005 - the baseline: no check at all
            results[name]["baseline"].append(_timed(work, repeat))
    rrn.contains_rrn = real
    for name, times in results.items():
        check, baseline = statistics.median(times["check"]), statistics.median(times["baseline"])
        print(f"MEASURE free-text RRN check  {name:<22} {check * 1e6:9.1f} µs  baseline no check "
              f"{baseline * 1e6:9.1f} µs  ratio {check / baseline:5.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
