"""The operator's documents stay true: one README table of every environment variable, and an
adoption guide whose commands exist."""

from __future__ import annotations

import re

from flask.testing import FlaskCliRunner

from service.config import PROJECT_ROOT

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
GUIDE = (PROJECT_ROOT / "docs" / "adopting.md").read_text(encoding="utf-8")
TESTS_ONLY = {"SEONBYEOL_TEST_PG"}  # read by tests/conftest.py, documented all the same


def _configuration_table() -> set[str]:
    section = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"(?m)^\| `([A-Z][A-Z0-9_]*)` \|", section))


def test_the_readme_table_names_every_environment_variable_the_service_reads() -> None:
    read = {"DATABASE_URL"}
    for folder in ("service", "rules", "admin_ui"):
        for path in (PROJECT_ROOT / folder).rglob("*.py"):
            read |= set(re.findall(r"\bSEONBYEOL_[A-Z][A-Z0-9_]*[A-Z0-9]\b", path.read_text(encoding="utf-8")))
    table = _configuration_table()
    assert read <= table, f"missing from README's Configuration table: {sorted(read - table)}"
    assert table - read <= TESTS_ONLY, f"documented but never read: {sorted(table - read - TESTS_ONLY)}"
    assert README.count("## Configuration") == 1


def test_the_adoption_guide_covers_what_a_district_needs(runner: FlaskCliRunner) -> None:
    help_text = runner.invoke(args=["--help"]).output
    commands = {line.split()[0] for line in help_text.split("Commands:")[1].splitlines() if line.startswith("  ")}
    code = "\n".join(re.findall(r"(?s)```.*?```", GUIDE) + re.findall(r"`[^`\n]+`", GUIDE))  # blocks, spans
    mentioned = set(re.findall(r"seonbyeol ([a-z][a-z-]+)", code))
    assert mentioned <= commands, sorted(mentioned - commands)
    for needed in ("load-district", "import-residents", "import-receipts", "create-user", "create-token",
                   "init-db", "smoke", "rules", "demo"):  # fmt: skip
        assert needed in mentioned, needed
    # the contract's CSV columns, exactly
    assert "rrn,name,birth_date,sex,household_id,relation,dong_code,address,status,status_date" in GUIDE
    assert "rrn,resource_category,received_on,provider,quantity" in GUIDE
    for words in ("pg_dump -Fc", "pg_restore", "따로 보관", "apart from the database backups", "CHANGELOG.md",
                  "docker compose up -d --build", "SEONBYEOL_POLICIES_DIR"):  # fmt: skip
        assert words in GUIDE, words
