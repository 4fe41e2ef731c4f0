"""The shipped policies: the contract's base rules, every example passing, every rule covered."""

from __future__ import annotations

import shutil
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest

from rules import Example, RuleSet, evaluate, outcome_of, reference, with_example_defaults
from rules.testing import run_rule_tests
from tests.rules.helpers import POLICIES, shipped

ROOT = Path(__file__).resolve().parents[2]
CASES = [(rs, ex) for rs in shipped() for ex in rs.examples]


def test_base_screening_has_exactly_the_contract_rules() -> None:
    base = shipped().get("base-screening")
    assert [(r.id, r.severity) for r in base.rules] == [
        ("not_in_registry", "block"),
        ("name_mismatch", "review"),
        ("deceased", "block"),
        ("moved_out", "block"),
        ("out_of_district", "block"),
        ("duplicate_nomination", "block"),
        ("household_already_nominated", "review"),
        ("household_resource_limit", "block"),
        ("household_nominated_elsewhere", "review"),
    ]
    limit, days = base.parameters["household_limit"], base.parameters["lookback_days"]
    assert (limit.value, limit.min, limit.max) == (1, 1, 10)
    assert (days.value, days.min, days.max) == (365, 1, 1825)
    assert "{lookback_days}" in base.rule("household_resource_limit").message.ko
    assert "{person.first_institution_name}" in base.rule("duplicate_nomination").message.ko
    for lang in ("ko", "en"):
        assert "{household.other_program_name}" in getattr(base.rule("household_nominated_elsewhere").message, lang)
        assert "dong" not in getattr(base.rule("out_of_district").message, lang)
    assert base.rule("out_of_district").facts == ("resident.found", "resident.in_district")


def test_every_program_rule_set_extends_the_base() -> None:
    library = shipped()
    base_ids = library.get("base-screening").rule_ids
    others = [rs for rs in library if rs.name != "base-screening"]
    assert len(others) >= 2
    for ruleset in others:
        assert ruleset.extends == "base-screening"
        assert ruleset.rule_ids[: len(base_ids)] == base_ids


@pytest.mark.parametrize(("ruleset", "example"), CASES, ids=[f"{rs.name}: {ex.name}" for rs, ex in CASES])
def test_example(ruleset: RuleSet, example: Example) -> None:
    facts = with_example_defaults(example.facts)
    fired = evaluate(ruleset, facts)
    assert fired == reference.evaluate(ruleset, facts)
    if example.outcome is not None:
        assert outcome_of(ruleset, fired) == example.outcome
    if example.rules is not None:
        assert fired == example.rules


@pytest.mark.parametrize("ruleset", list(shipped()), ids=lambda rs: rs.name)
def test_every_rule_is_covered_firing_and_not_firing(ruleset: RuleSet) -> None:
    fired_sets = [evaluate(ruleset, with_example_defaults(ex.facts)) for ex in ruleset.examples]
    for rule_id in ruleset.rule_ids:
        assert any(rule_id in fired for fired in fired_sets), f"{rule_id} never fires"
        assert any(rule_id not in fired for fired in fired_sets), f"{rule_id} always fires"


def test_rules_test_passes_on_the_shipped_policies() -> None:
    out = StringIO()
    assert run_rule_tests([POLICIES], out) == 0
    assert "FAIL" not in out.getvalue() and "ERROR" not in out.getvalue()
    assert f"{len(CASES)} passed, 0 failed" in out.getvalue()


def test_python_dash_m_rules_test() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "rules", "test", str(POLICIES)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OK:" in done.stdout


def test_a_failing_example_names_file_line_and_field(tmp_path: Path) -> None:
    copy = tmp_path / "kimchi-winter.yaml"
    text = (POLICIES / "kimchi-winter.yaml").read_text(encoding="utf-8")
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "name: 64세 다인 가구는" in row)
    copy.write_text(
        text.replace(
            "expect: {outcome: ineligible, rules: [not_target_household]}",
            "expect: {outcome: eligible}",
        ),
        encoding="utf-8",
    )
    out = StringIO()
    assert run_rule_tests([copy], out) != 0  # base-screening comes from the project policies
    assert f"{copy}:{line}: examples[3].expect.outcome:" in out.getvalue()
    assert "expected eligible, got ineligible" in out.getvalue()


def test_a_broken_copy_fails_naming_file_line_and_field(tmp_path: Path) -> None:
    broken = tmp_path / "policies"
    shutil.copytree(POLICIES, broken)
    path = broken / "rice-support.yaml"
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    index = next(i for i, line in enumerate(lines) if "fact: household.size, lt:" in line)
    lines[index] = lines[index].replace("household.size", "household.income")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = StringIO()
    assert run_rule_tests([broken], out, fallback_dir=None) != 0
    assert f"{path}:{index + 1}: rules[0].when.all[2].fact: unknown fact 'household.income'" in (out.getvalue())
    done = subprocess.run(
        [sys.executable, "-m", "rules", "test", str(broken)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert f"{path}:{index + 1}: rules[0].when.all[2].fact" in done.stdout
