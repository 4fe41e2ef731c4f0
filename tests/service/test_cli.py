"""The command line as a user meets it: help, rule-set tests, wrong arguments."""

from pathlib import Path

from flask.testing import FlaskCliRunner

from service.config import PROJECT_ROOT


def test_rules_test_passes_on_shipped_policies(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["rules", "test"])
    assert result.exit_code == 0, result.output
    assert "base-screening" in result.output or "OK" in result.output


def test_rules_test_names_file_line_and_field_of_a_broken_copy(runner: FlaskCliRunner, tmp_path: Path) -> None:
    text = (PROJECT_ROOT / "policies" / "base-screening.yaml").read_text(encoding="utf-8")
    broken = text.replace("severity: review", "severity: maybe", 1)
    assert broken != text
    path = tmp_path / "base-screening.yaml"
    path.write_text(broken, encoding="utf-8")
    result = runner.invoke(args=["rules", "test", str(path)])
    assert result.exit_code != 0
    line = next(i for i, ln in enumerate(broken.splitlines(), start=1) if "severity: maybe" in ln)
    assert str(path) in result.output and f":{line}" in result.output and "severity" in result.output


def test_every_contract_command_is_registered(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["--help"])
    for command in ("init-db", "load-district", "import-residents", "import-receipts", "create-token",
                    "create-user", "demo", "rescreen", "serve", "rules"):  # fmt: skip
        assert command in result.output
