"""schemathesis against the served OpenAPI document: no input may cause a 5xx.

Bounded here (a few examples per operation and role, with a valid token so that requests get
past authentication); ``make fuzz`` runs the larger campaign recorded in SECURITY.md. Each
role reaches different code: an admin gets past every permission check, a nominator's answers
are scoped to its institution, a department's to its own programs.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from .conftest import Api

MAX_EXAMPLES = int(os.environ.get("SEONBYEOL_FUZZ_EXAMPLES", "8"))
ROLES = {"admin": "admin", "nominator": "haengdang", "department": "department"}
"""The role fuzzed → the token of the world fixture it uses."""


@pytest.fixture
def api_schema(api: Api, program: dict[str, Any]) -> Any:
    api.nominate("haengdang", "김순자")
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api.client.application)


@pytest.mark.parametrize("role", list(ROLES))
def test_no_server_errors(api: Api, api_schema: Any, role: str) -> None:
    """Every operation, positive and negative data: answers are < 500 and errors are problem+json."""
    token = f"Bearer {api.tokens[ROLES[role]]}"
    api_schema.config.headers = {"Authorization": token}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 12
    seen: list[tuple[str, str, int]] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
                  derandomize=True, database=None)  # fmt: skip
        def check(case: Any) -> None:
            response = case.call(headers={"Authorization": token})
            seen.append((case.method, case.path, response.status_code))
            assert response.status_code < 500, (role, case.method, case.formatted_path, response.status_code)
            if response.status_code >= 400:
                headers = {k.lower(): v for k, v in response.headers.items()}
                assert headers["content-type"][0].startswith("application/problem+json"), (case.method, case.path)

        check()
    assert len(seen) >= len(operations)
    statuses = Counter(status for _, _, status in seen)
    print(f"schemathesis ({role}): {len(seen)} requests over {len(operations)} operations, statuses {dict(statuses)}")
    assert any(200 <= s < 300 for s in statuses), "every request was refused: the fuzzing reached nothing"
