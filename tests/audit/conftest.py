"""Fixtures of the access-log and key-rotation tests: tests/api's district, tokens and program."""

from __future__ import annotations

from tests.api.conftest import api, program, world  # noqa: F401 - fixtures re-exported for tests/audit
