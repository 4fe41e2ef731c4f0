"""Security and operations tests: the API fixtures of tests/api, and a loud skip for Redis."""

from __future__ import annotations

import os
from typing import Any

import pytest
from werkzeug.test import TestResponse

from tests.api.conftest import Api, api, program, world  # noqa: F401 - fixtures shared with tests/api

REDIS_URL = os.environ.get("SEONBYEOL_TEST_REDIS", "redis://127.0.0.1:6379/0")


def redis_or_skip() -> Any:
    """A client of the local Redis, or a loud skip saying it is unreachable."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"!!! REDIS UNREACHABLE at {REDIS_URL} ({type(exc).__name__}): shared rate-limit test SKIPPED")
    return client


def problem(response: TestResponse, status: int) -> dict[str, Any]:
    """The problem+json body of an error answer, after checking its status and media type."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.headers["Content-Type"].startswith("application/problem+json")
    data = response.get_json(force=True)
    assert data["status"] == status and data["title"] and data["detail"]
    return dict(data)
