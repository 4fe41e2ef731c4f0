"""Bad rule-set YAML, through ``seonbyeol rules test`` and through the policy loader at start-up:
each refusal names the file, the line (marked ``#<`` below) and the field; the database is untouched."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rules import RuleSetError
from service import create_app
from service.config import PROJECT_ROOT
from tests.badinput.conftest import World
from tests.conftest import TEST_DATA_KEY

HEAD = "ruleset: child\nextends: base-screening\ntitle: {ko: 자식, en: Child}\n"
RULE = "rules:\n  - id: r\n    severity: block\n    when: {fact: resident.found, eq: false}\n"
MESSAGE = "    message: {ko: 없음, en: none}\n"

# (case id, YAML with the offending line marked #<, field path, fragment of the message)
CASES: list[tuple[str, str, str, str]] = [
    ("unknown top-level key", HEAD + "colour: blue #<\n", "colour", "unknown key"),
    ("parameter outside the base bounds", HEAD + "parameters:\n  household_limit:\n    value: 11 #<\n",
     "parameters.household_limit.value", "outside the bounds 1–10"),
    ("override of a bound", HEAD + "parameters:\n  household_limit:\n    value: 2\n    max: 20 #<\n",
     "parameters.household_limit.max", "only its value may be overridden"),
    ("duplicate YAML key", HEAD + "parameters:\n  p: {value: 1, min: 0, max: 2}\n  p: {value: 1, min: 0, max: 2} #<\n",
     "parameters.p", "duplicate key"),
    ("unknown fact", HEAD + "rules:\n  - id: r\n    severity: block\n    when: {fact: resident.income, lt: 5} #<\n"
     + MESSAGE, "rules[0].when.fact", "unknown fact 'resident.income'"),
    ("unknown parameter", HEAD + "rules:\n  - id: r\n    severity: block\n"
     "    when: {fact: resident.age, lt: {param: max_age}} #<\n" + MESSAGE, "rules[0].when.lt.param",
     "unknown parameter 'max_age'"),
    ("bad severity", HEAD + "rules:\n  - id: r\n    severity: warn #<\n    when: {fact: resident.found, eq: false}\n"
     + MESSAGE, "rules[0].severity", "block or review"),
    ("rule id of the base", HEAD + "rules:\n  - id: deceased #<\n    severity: block\n"
     "    when: {fact: resident.found, eq: false}\n" + MESSAGE, "rules[0].id", "already defined"),
    ("unknown placeholder", HEAD + RULE + "    message:\n      ko: '{resident.income}원' #<\n      en: income\n",
     "rules[0].message.ko", "unknown placeholder"),
    ("a string compared with lt", HEAD + "rules:\n  - id: r\n    severity: block\n    when:\n"
     "      fact: resident.status\n      lt: active #<\n" + MESSAGE, "rules[0].when.lt", "compares numbers"),
    ("min above max", HEAD + "parameters:\n  p:\n    value: 5\n    min: 9 #<\n    max: 3\n", "parameters.p.min",
     "greater than max"),
]  # fmt: skip


def _write(directory: Path, text: str) -> tuple[Path, int]:
    """The child file (the base beside it) and the marked line's number."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT_ROOT / "policies" / "base-screening.yaml", directory / "base-screening.yaml")
    lines = text.splitlines()
    marked = next((i for i, line in enumerate(lines, start=1) if line.endswith("#<")), 0)
    path = directory / "child.yaml"
    path.write_text(text, encoding="utf-8")
    return path, marked


@pytest.mark.parametrize(("text", "field", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rules_test_names_file_line_and_field(
    world: World, tmp_path: Path, text: str, field: str, fragment: str
) -> None:
    path, line = _write(tmp_path / "policies", text)
    with world.unchanged():
        result = world.app.test_cli_runner().invoke(args=["rules", "test", str(path.parent)])
        assert result.exit_code == 1, result.output
        assert f"{path}:{line}: {field}" in result.output, result.output
        assert fragment in result.output, result.output


def test_invalid_yaml_names_the_file(world: World, tmp_path: Path) -> None:
    path, _line = _write(tmp_path / "policies", HEAD + "rules: [\n  - id: 1 #<\n")
    with world.unchanged():
        result = world.app.test_cli_runner().invoke(args=["rules", "test", str(path)])
        assert result.exit_code == 1 and str(path) in result.output and "invalid YAML" in result.output


def test_a_failing_example_is_reported(world: World, tmp_path: Path) -> None:
    text = (HEAD + "examples:\n  - name: {ko: 틀린 기대, en: wrong expectation}\n"
            "    facts: {resident.found: false}\n    expect: eligible\n")  # fmt: skip
    path, _ = _write(tmp_path / "policies", text)
    with world.unchanged():
        result = world.app.test_cli_runner().invoke(args=["rules", "test", str(path.parent)])
        assert result.exit_code == 1 and "child" in result.output and "FAILED" in result.output, result.output


@pytest.mark.parametrize(("text", "field", "fragment"), [c[1:] for c in CASES[:4]], ids=[c[0] for c in CASES[:4]])
def test_the_policy_loader_refuses_to_start(world: World, tmp_path: Path, text: str, field: str, fragment: str) -> None:
    path, line = _write(tmp_path / "policies", text)
    with world.unchanged(), pytest.raises(RuleSetError) as refused:
        create_app({"TESTING": True, "DATABASE_URL": world.app.config["DATABASE_URL"], "SECRET_KEY": "s",
                    "DATA_KEY": TEST_DATA_KEY, "INSTANCE_PATH": str(tmp_path / "i"),
                    "POLICIES_DIR": str(path.parent)})  # fmt: skip
    message = str(refused.value)
    assert f"{path}:{line}: {field}" in message and fragment in message, message
