"""schemathesis against the served OpenAPI document: no input may cause a 5xx.

Bounded here (a few examples per operation, with a valid admin token so that requests get
past authentication); ``make fuzz`` runs the larger campaign recorded in SECURITY.md.
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


@pytest.fixture
def api_schema(api: Api, program: dict[str, Any]) -> Any:
    api.nominate("haengdang", "김순자")
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api.client.application)
    schema.config.headers = {"Authorization": f"Bearer {api.tokens['admin']}"}
    return schema


def test_no_server_errors(api_schema: Any) -> None:
    """Every operation, positive and negative data: answers are < 500 and errors are problem+json."""
    token = api_schema.config.headers["Authorization"]
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
            assert response.status_code < 500, (case.method, case.formatted_path, response.status_code)
            if response.status_code >= 400:
                headers = {k.lower(): v for k, v in response.headers.items()}
                assert headers["content-type"][0].startswith("application/problem+json"), (case.method, case.path)

        check()
    assert len(seen) >= len(operations)
    statuses = Counter(status for _, _, status in seen)
    print(f"schemathesis: {len(seen)} requests over {len(operations)} operations, statuses {dict(statuses)}")
    assert any(200 <= s < 300 for s in statuses), "every request was refused: the fuzzing reached nothing"
