"""Per-token rate limits on evaluate, batch and nominate (memory storage, and the local Redis)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service import create_app
from service.config import ConfigError
from service.db import get_db
from tests.api.conftest import RRN
from tests.api.live_server import free_port
from tests.conftest import TEST_DATA_KEY

from .conftest import Api, problem, redis_or_skip

EVALUATE = {"program": "kimchi-2026", "nominee": {"rrn": RRN["김순자"], "name": "김순자"}}
BATCH = {"program": "kimchi-2026", "nominees": [{"rrn": RRN["박영수"], "name": "박영수"}]}


def _calls(api: Api, who: str) -> list[Any]:
    """One call of each limited kind, in turn (the three share one budget per token)."""
    return [
        lambda: api.call("POST", "/api/v1/evaluate", who, EVALUATE),
        lambda: api.call("POST", "/api/v1/evaluate/batch", who, BATCH),
        lambda: api.nominate(who, "이철수"),
    ]


def test_one_budget_per_token_over_evaluate_batch_and_nominate(app: Flask, api: Api, program: dict[str, Any]) -> None:
    app.config["RATE_LIMIT"] = "3/minute"
    evaluate, batch, nominate = _calls(api, "haengdang")
    assert [evaluate().status_code, batch().status_code, nominate().status_code] == [200, 200, 201]
    for call in (evaluate, batch, nominate):
        data = problem(call(), 429)
        assert data["title"] == "요청이 너무 많습니다" and "3 per 1 minute" in data["detail"]
    response = api.call("POST", "/api/v1/evaluate", "haengdang", EVALUATE, headers={"Accept-Language": "en"})
    english = problem(response, 429)
    assert english["title"] == "Too many requests" and "rate limit" in english["detail"]
    retry = int(response.headers["Retry-After"])
    assert 1 <= retry <= 60 and english["retry_after"] == retry
    assert response.headers["Cache-Control"] == "no-store"
    # Another token (same client address) has its own budget; other endpoints are not limited.
    assert api.call("POST", "/api/v1/evaluate", "eungbong", EVALUATE).status_code == 200
    assert api.call("GET", "/api/v1/programs/kimchi-2026/nominations", "haengdang").status_code == 200
    assert api.call("GET", "/api/v1/programs/kimchi-2026", "haengdang").status_code == 200
    # No token, or a bad one: the caller is not counted against anyone's budget and gets its 401.
    problem(api.call("POST", "/api/v1/evaluate", None, EVALUATE), 401)


def test_a_bad_token_cannot_spend_a_good_tokens_budget(app: Flask, api: Api, program: dict[str, Any]) -> None:
    app.config["RATE_LIMIT"] = "2/minute"
    wrong = {"Authorization": f"Bearer {api.tokens['haengdang']}x"}
    for _ in range(5):
        assert api.client.post("/api/v1/evaluate", json=EVALUATE, headers=wrong).status_code in (401, 429)
    assert api.call("POST", "/api/v1/evaluate", "haengdang", EVALUATE).status_code == 200


def test_off_disables_the_limit(app: Flask, api: Api, program: dict[str, Any]) -> None:
    app.config["RATE_LIMIT"] = "2/minute"
    evaluate = _calls(api, "admin")[0]
    assert [evaluate().status_code for _ in range(3)] == [200, 200, 429]
    app.config["RATE_LIMIT"] = "off"
    assert {evaluate().status_code for _ in range(25)} == {200}


def test_default_is_600_a_minute(app: Flask) -> None:
    assert app.config["RATE_LIMIT"] == "600/minute"


@pytest.mark.parametrize("setting", ["lots", "600/fortnight", "-1/minute"])
def test_a_bad_setting_stops_start_up(tmp_path: Path, setting: str) -> None:
    with pytest.raises(ConfigError, match="SEONBYEOL_RATE_LIMIT"):
        create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "INSTANCE_PATH": str(tmp_path),
                    "SECRET_KEY": "x", "DATA_KEY": TEST_DATA_KEY, "RATE_LIMIT": setting})  # fmt: skip


@pytest.fixture
def second_app(app: Flask) -> Iterator[Callable[..., FlaskClient]]:
    """Other processes' apps on the same database (other workers, or other hosts)."""
    made: list[Flask] = []

    def make(**config: Any) -> FlaskClient:
        other = create_app({**{k: app.config[k] for k in ("DATABASE_URL", "SECRET_KEY", "DATA_KEY")},
                            "TESTING": True, "INSTANCE_PATH": app.instance_path, **config})  # fmt: skip
        made.append(other)
        return other.test_client()

    yield make
    for other in made:
        get_db(other).engine.dispose()


def test_redis_storage_shares_the_count_between_processes(
    api: Api, program: dict[str, Any], second_app: Callable[..., FlaskClient]
) -> None:
    redis = redis_or_skip()
    prefix = f"seonbyeol-test-{uuid.uuid4().hex[:12]}"
    shared = {"RATE_LIMIT": "3/minute", "RATE_LIMIT_STORAGE": "redis://127.0.0.1:6379/0",
              "RATE_LIMIT_KEY_PREFIX": prefix}  # fmt: skip
    try:
        first = Api(second_app(**shared), api.tokens)
        second = Api(second_app(**shared), api.tokens)
        assert first.call("POST", "/api/v1/evaluate", "haengdang", EVALUATE).status_code == 200
        assert second.call("POST", "/api/v1/evaluate", "haengdang", EVALUATE).status_code == 200
        assert first.call("POST", "/api/v1/evaluate", "haengdang", EVALUATE).status_code == 200
        limited = second.call("POST", "/api/v1/evaluate", "haengdang", EVALUATE)  # the 4th, on the other one
        problem(limited, 429)
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        assert redis.keys(f"*{prefix}*"), "the counters are in Redis"
        tokens = b"".join(redis.keys(f"*{prefix}*"))
        assert all(t.encode() not in tokens for t in api.tokens.values()), "keys name a digest, not the token"
    finally:
        for key in redis.scan_iter(f"*{prefix}*"):
            redis.delete(key)
        redis.close()


def test_unreachable_redis_falls_back_to_memory_not_to_500(
    api: Api, program: dict[str, Any], second_app: Callable[..., FlaskClient]
) -> None:
    nowhere = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    client = Api(second_app(RATE_LIMIT="2/minute", RATE_LIMIT_STORAGE=nowhere), api.tokens)
    statuses = [client.call("POST", "/api/v1/evaluate", "haengdang", EVALUATE).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
