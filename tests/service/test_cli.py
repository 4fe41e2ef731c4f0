"""The command line as a user meets it: help, rule-set tests, wrong arguments."""

import re
from pathlib import Path

from flask.testing import FlaskCliRunner

from service.config import PROJECT_ROOT

CONTRACT_COMMANDS = {"init-db", "load-district", "import-residents", "import-receipts", "create-token",
                     "create-user", "demo", "rescreen", "serve", "rules"}  # fmt: skip
SUMMARY = re.compile(
    r"^(OK|FAILED): (\d+) rule sets, (\d+) examples, (\d+) passed, (\d+) failed, (\d+) validation errors$"
)


def _commands(help_text: str) -> set[str]:
    """The names listed under ``Commands:`` in click's help (one per line: name, spaces, summary)."""
    lines = help_text.splitlines()
    start = lines.index("Commands:") + 1
    names = set()
    for line in lines[start:]:
        if not line.startswith("  "):
            break
        names.add(line.split()[0])
    return names


def test_rules_test_passes_on_shipped_policies(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["rules", "test"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    shipped = {p.stem for p in (PROJECT_ROOT / "policies").glob("*.yaml")}
    headers = {m.group(1) for ln in lines if (m := re.match(r"^(\S+) \((.+), (\d+) rules\)$", ln))}
    assert headers == shipped
    examples = [ln for ln in lines if ln.startswith("  ")]
    assert examples and all(ln.startswith("  ok    ") for ln in examples), result.output
    summary = SUMMARY.match(lines[-1])
    assert summary, lines[-1]
    status, rulesets, total, passed, failed, problems = summary.groups()
    assert (status, int(rulesets), int(failed), int(problems)) == ("OK", len(shipped), 0, 0)
    assert int(total) == int(passed) == len(examples)


def test_rules_test_names_file_line_and_field_of_a_broken_copy(runner: FlaskCliRunner, tmp_path: Path) -> None:
    text = (PROJECT_ROOT / "policies" / "base-screening.yaml").read_text(encoding="utf-8")
    broken = text.replace("severity: review", "severity: maybe", 1)
    assert broken != text
    path = tmp_path / "base-screening.yaml"
    path.write_text(broken, encoding="utf-8")
    result = runner.invoke(args=["rules", "test", str(path)])
    assert result.exit_code != 0
    line = next(i for i, ln in enumerate(broken.splitlines(), start=1) if "severity: maybe" in ln)
    errors = [ln for ln in result.output.splitlines() if ln.startswith("ERROR ")]
    assert len(errors) == 1, result.output
    assert errors[0].startswith(f"ERROR {path}:{line}: ") and ".severity:" in errors[0] and "'maybe'" in errors[0]
    summary = SUMMARY.match(result.output.splitlines()[-1])
    assert summary and summary.group(1) == "FAILED", result.output


def test_every_contract_command_is_registered(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["--help"])
    assert result.exit_code == 0, result.output
    commands = _commands(result.output)
    assert commands >= CONTRACT_COMMANDS, CONTRACT_COMMANDS - commands
    rules = runner.invoke(args=["rules", "--help"])
    assert rules.exit_code == 0 and "test" in _commands(rules.output)
