"""The `rules test` runner: validate rule-set files and run their examples through the engine.

Policy staff edit YAML, not Python; this is their test suite. Every failure names the file,
the line and the field so the fix is obvious, and the exit status gates CI.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from rules.engine import EngineError, evaluate
from rules.errors import FactsError, Problem, RuleSetError
from rules.facts import with_example_defaults
from rules.loader import load_paths_with_fallback
from rules.model import Example, RuleSet
from rules.verdict import outcome_of

DEFAULT_POLICIES_DIR = Path(__file__).resolve().parent.parent / "policies"
"""The project's shipped policies; bases missing from the tested paths are taken from here."""


def check_example(ruleset: RuleSet, example: Example) -> Problem | None:
    """Run one example through the engine; return what differs from its expectation.

    The loader already refuses what the engine cannot judge; should anything still be refused
    here, it is reported at the example like any failure, never as a traceback.
    """
    field = f"examples[{example.index}].expect"
    try:
        fired = evaluate(ruleset, with_example_defaults(example.facts))
    except (FactsError, RuleSetError, EngineError) as exc:
        message = "; ".join(p.message for p in exc.problems) if isinstance(exc, RuleSetError) else str(exc)
        return Problem(example.source, example.line, f"examples[{example.index}]", f"{example.name!r}: {message}")
    outcome = outcome_of(ruleset, fired)
    shown = ", ".join(r for r in ruleset.rule_ids if r in fired) or "none"
    if example.outcome is not None and outcome != example.outcome:
        return Problem(
            example.source,
            example.line,
            f"{field}.outcome",
            f"{example.name!r}: expected {example.outcome}, got {outcome} (fired: {shown})",
        )
    if example.rules is not None and fired != example.rules:
        want = ", ".join(r for r in ruleset.rule_ids if r in example.rules) or "none"
        return Problem(
            example.source,
            example.line,
            f"{field}.rules",
            f"{example.name!r}: expected rules [{want}], fired [{shown}]",
        )
    return None


def run_rule_tests(paths: Iterable[Path], out: TextIO, *, fallback_dir: Path | None = DEFAULT_POLICIES_DIR) -> int:
    """Validate the rule-set files under `paths` and run their examples; 0 when all pass."""
    rulesets, problems = load_paths_with_fallback(list(paths), fallback_dir)
    for problem in problems:
        out.write(f"ERROR {problem}\n")
    passed = failed = 0
    for ruleset in sorted(rulesets.values(), key=lambda r: (r.source, r.name)):
        out.write(f"{ruleset.name} ({ruleset.source}, {len(ruleset.rules)} rules)\n")
        if not ruleset.examples:
            out.write("  (no examples)\n")
        for example in ruleset.examples:
            failure = check_example(ruleset, example)
            if failure is None:
                passed += 1
                out.write(f"  ok    {example.name}\n")
            else:
                failed += 1
                out.write(f"  FAIL  {failure}\n")
    status = "FAILED" if failed or problems else "OK"
    out.write(
        f"{status}: {len(rulesets)} rule sets, {passed + failed} examples, {passed} passed, "
        f"{failed} failed, {len(problems)} validation errors\n"
    )
    return 1 if failed or problems else 0
