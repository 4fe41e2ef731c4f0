"""schemathesis against the served OpenAPI document: no input may cause a 5xx, and every answer
is what the document says it is.

Bounded here (a few examples per operation and role, with a valid token so that requests get
past authentication); ``make fuzz`` runs the larger campaign recorded in SECURITY.md. Each
role reaches different code: an admin gets past every permission check, a nominator's answers
are scoped to its institution, a department's to its own programs.

Besides "no 5xx", every answer is checked against the document: its status is declared, its
media type is the declared one (``application/problem+json`` for every error), its body
matches the declared schema (the problem schema for errors) and its declared headers are
there (``Retry-After`` on a 429 or 503).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .conftest import Api

MAX_EXAMPLES = int(os.environ.get("SEONBYEOL_FUZZ_EXAMPLES", "8"))
ROLES = {"admin": "admin", "nominator": "haengdang", "department": "department"}
"""The role fuzzed → the token of the world fixture it uses."""
TRUTH = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
         response_schema_conformance]  # fmt: skip
_TOTALS: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _report_totals() -> Iterator[None]:
    yield
    for backend, count in sorted(_TOTALS.items()):
        print(f"schemathesis total on {backend}: {count} requests, {MAX_EXAMPLES} examples per operation and role")


@pytest.fixture
def api_schema(app: Flask, api: Api, program: dict[str, Any]) -> Any:
    app.config["RATE_LIMIT"] = "off"  # the campaign sends thousands of requests with one token
    api.nominate("haengdang", "김순자")
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api.client.application)


@pytest.mark.parametrize("role", list(ROLES))
def test_no_server_errors(api: Api, api_schema: Any, role: str, backend: str) -> None:
    """Every operation, positive and negative data: answers are < 500 and what the document says."""
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
            case.validate_response(response, checks=TRUTH)

        check()
    assert len(seen) >= len(operations)
    statuses = Counter(status for _, _, status in seen)
    _TOTALS[backend] += len(seen)
    print(f"schemathesis ({role}, {backend}): {len(seen)} requests over {len(operations)} operations, "
          f"statuses {dict(sorted(statuses.items()))}")  # fmt: skip
    assert any(200 <= s < 300 for s in statuses), "every request was refused: the fuzzing reached nothing"


def test_the_document_declares_problem_json_errors(api: Api) -> None:
    """Error responses are ``application/problem+json`` with the problem schema; limited calls
    declare their 429, every call its 401 and 503; request strings state what they refuse."""
    spec = api.client.get("/api/v1/openapi.json").get_json()
    responses = spec["components"]["responses"]
    problem_schema = spec["components"]["schemas"]["ProblemOut"]
    assert set(problem_schema["required"]) == {"status", "title", "detail"}
    assert {"type", "errors"} <= set(problem_schema["properties"])
    checked = 0
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            codes = operation["responses"]
            assert {"401", "503", "default"} <= set(codes), (method, path)
            limited = (method, path) in {("post", "/api/v1/evaluate"), ("post", "/api/v1/evaluate/batch"),
                                         ("post", "/api/v1/programs/{code}/nominations")}  # fmt: skip
            assert ("429" in codes) == limited, (method, path)
            for code, response in codes.items():
                if code != "default" and int(code) < 400:
                    continue
                name = response["$ref"].rsplit("/", 1)[-1]
                assert list(responses[name]["content"]) == ["application/problem+json"], (method, path, code)
                assert responses[name]["content"]["application/problem+json"]["schema"]["$ref"].endswith("/ProblemOut")
                checked += 1
    assert checked > 100
    assert responses["TOO_MANY_REQUESTS"]["headers"]["Retry-After"]["required"] is True
    nominee = spec["components"]["schemas"]["NomineeIn"]["properties"]
    assert nominee["name"]["pattern"] == "^[^\\x00]*$" and "\\d" not in nominee["name"]["pattern"]
    assert nominee["rrn"]["pattern"].startswith("^[0-9]{2}(0[1-9]|1[0-2])")
    assert spec["components"]["schemas"]["ParametersIn"]["properties"]["parameters"]["minProperties"] == 1
    stats_ok = spec["paths"]["/api/v1/stats"]["get"]["responses"]["200"]["content"]
    assert {"application/json", "text/csv"} <= set(stats_ok)
