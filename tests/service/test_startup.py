"""A policy file that fails validation stops start-up with its file, line and field."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rules import RuleSetError
from service import create_app
from service.config import PROJECT_ROOT
from tests.conftest import TEST_DATA_KEY


def _broken_policies(tmp_path: Path) -> Path:
    folder = tmp_path / "policies"
    folder.mkdir()
    for source in (PROJECT_ROOT / "policies").glob("*.yaml"):
        (folder / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    path = folder / "rice-support.yaml"
    text = path.read_text(encoding="utf-8")
    broken = text.replace("severity: block", "severity: blocker", 1)
    assert broken != text
    path.write_text(broken, encoding="utf-8")
    return folder


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line)


def test_create_app_refuses_a_broken_policy_file(tmp_path: Path) -> None:
    folder = _broken_policies(tmp_path)
    with pytest.raises(RuleSetError) as caught:
        create_app({"POLICIES_DIR": str(folder), "INSTANCE_PATH": str(tmp_path / "i"), "DATA_KEY": TEST_DATA_KEY,
                    "SECRET_KEY": "t", "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})  # fmt: skip
    line = _line_of(folder / "rice-support.yaml", "severity: blocker")
    assert f"rice-support.yaml:{line}:" in str(caught.value) and "severity" in str(caught.value)


def _cli(tmp_path: Path, folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SEONBYEOL_POLICIES_DIR": str(folder), "DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
           "SEONBYEOL_DATA_KEY": TEST_DATA_KEY, "SEONBYEOL_SECRET_KEY": "t"}  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args], env=env, cwd=tmp_path, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip


def test_serve_stops_before_starting_and_names_the_file(tmp_path: Path) -> None:
    folder = _broken_policies(tmp_path)
    result = _cli(tmp_path, folder, "serve", "--bind", "127.0.0.1:1")
    assert result.returncode != 0
    line = _line_of(folder / "rice-support.yaml", "severity: blocker")
    assert f"rice-support.yaml:{line}:" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_rules_test_without_a_path_reads_the_configured_directory(tmp_path: Path) -> None:
    folder = _broken_policies(tmp_path)
    result = _cli(tmp_path, folder, "rules", "test")
    assert result.returncode != 0
    line = _line_of(folder / "rice-support.yaml", "severity: blocker")
    assert f"rice-support.yaml:{line}:" in result.stdout + result.stderr
