"""Small builders shared by the rules tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

from rules import Library

POLICIES = Path(__file__).resolve().parents[2] / "policies"

BASE_YAML = """\
ruleset: base
title: {ko: 기본, en: Base}
parameters:
  limit_a: {value: 1, min: 1, max: 10, unit: times, label: {ko: 한도, en: limit}}
rules:
  - id: not_found
    severity: block
    when: {fact: resident.found, eq: false}
    message: {ko: "없음", en: "not found"}
  - id: too_many
    severity: block
    when: {fact: household.receipts_same_category, gte: {param: limit_a}}
    message: {ko: "{household.receipts_same_category}회", en: "{limit_a} reached"}
"""


def write(directory: Path, name: str, text: str) -> Path:
    """Write a dedented YAML file and return its path."""
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def shipped() -> Library:
    """Load the project's policies/ directory."""
    return Library.from_directory(POLICIES)
