"""The fast batch path says exactly what the general one says.

Batch evaluation skips marshmallow for a plainly valid body, encodes the answer itself, keeps
the engine-call memo from one request to the next and inserts the audit entries with Core.
Each must be invisible from outside: every verdict equals the single evaluation's (random demo
nominees, both backends), bad bodies get marshmallow's own errors, the answer is the bytes the
schema path gives, and the access log holds what ``audit.record`` would have written.
"""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from marshmallow import Schema, ValidationError
from sqlalchemy import select

from service import batch
from service.api import nominations, schemas
from service.db import get_db
from service.demo.synthetic import generate_residents
from service.models import AuditEntry

from .conftest import Api

DEMO_RESIDENTS = 1500


@pytest.fixture
def demo(app: Flask, runner: FlaskCliRunner, client: FlaskClient) -> tuple[Api, list[dict[str, str]]]:
    """The Seongdong-gu demo (a small one) with nominator and admin tokens, and the residents it holds."""
    result = runner.invoke(args=["demo", "--residents", str(DEMO_RESIDENTS)])
    assert result.exit_code == 0, result.output
    tokens = {}
    for key, institution, role in (
        ("nominator", "haengdang1-center", "nominator"),
        ("admin", "welfare-policy", "admin"),
    ):
        out = runner.invoke(args=["create-token", "--institution", institution, "--role", role])
        assert out.exit_code == 0, out.output
        tokens[key] = out.output.strip().splitlines()[-1]
    return Api(client, tokens), list(generate_residents(DEMO_RESIDENTS))


def _nominees(residents: list[dict[str, str]], seed: int) -> list[dict[str, str]]:
    """Random demo residents, with some names mistyped, some repeated and some not in the registry."""
    rng = random.Random(seed)
    picked = [{"rrn": r["rrn"], "name": r["name"]} for r in rng.sample(residents, 150)]
    for n in rng.sample(range(len(picked)), 10):
        picked[n] = {**picked[n], "name": picked[n]["name"][:-1] + "철"}
    picked += rng.sample(picked, 10)  # repeated within the batch
    picked += [{"rrn": "450312-2000001", "name": "홍길순"}, {"rrn": "4503122000002", "name": "홍길동"}]
    rng.shuffle(picked)
    return picked


CODE = "kimchi-2026"  # the demo's program of elderly people: ages, households, receipts all matter


def test_every_batch_verdict_is_the_single_evaluation_of_random_demo_nominees(
    demo: tuple[Api, list[dict[str, str]]],
) -> None:
    api, residents = demo
    code = CODE
    for seed in (1, 2):  # the second batch meets a warm engine-call memo
        nominees = _nominees(residents, seed)
        answer = api.call("POST", "/api/v1/evaluate/batch", "nominator", {"program": code, "nominees": nominees})
        assert answer.status_code == 200, answer.get_json()
        items = answer.get_json()["items"]
        assert len(items) == len(nominees)
        outcomes = set()
        for nominee, item in zip(nominees, items, strict=True):
            single = api.call("POST", "/api/v1/evaluate", "nominator", {"program": code, "nominee": nominee})
            assert single.status_code == 200, single.get_json()
            assert item == {"nominee": single.get_json()["nominee"], "verdict": single.get_json()["verdict"]}
            outcomes.add(item["verdict"]["outcome"])
        assert {"eligible", "review"} <= outcomes, outcomes  # the sample is not all alike


def test_a_published_version_is_judged_afresh_despite_the_memo(demo: tuple[Api, list[dict[str, str]]]) -> None:
    api, residents = demo
    code = CODE
    nominees = _nominees(residents, 3)[:60]
    before = api.call("POST", "/api/v1/evaluate/batch", "nominator", {"program": code, "nominees": nominees})
    assert before.status_code == 200
    changed = api.call("PUT", f"/api/v1/programs/{code}/parameters", "admin", {"parameters": {"min_age": 20}})
    assert changed.status_code == 200, changed.get_json()
    after = api.call("POST", "/api/v1/evaluate/batch", "nominator", {"program": code, "nominees": nominees})
    assert after.status_code == 200
    version = before.get_json()["items"][0]["verdict"]["ruleset"]["version"] + 1
    for nominee, item in zip(nominees, after.get_json()["items"], strict=True):
        single = api.call("POST", "/api/v1/evaluate", "nominator", {"program": code, "nominee": nominee})
        assert item["verdict"] == single.get_json()["verdict"]
        assert item["verdict"]["ruleset"]["version"] == version
    was = [i["verdict"]["outcome"] for i in before.get_json()["items"]]
    now = [i["verdict"]["outcome"] for i in after.get_json()["items"]]
    assert was != now  # the new threshold changed some verdicts: no stale memo answered


def test_the_answer_is_the_schema_paths_bytes(app: Flask, demo: tuple[Api, list[dict[str, str]]]) -> None:
    api, residents = demo
    code = CODE
    nominees = _nominees(residents, 4)[:60]
    for language in ("ko", "en"):
        answer = api.call("POST", "/api/v1/evaluate/batch", "nominator", {"program": code, "nominees": nominees},
                          headers={"Accept-Language": language})  # fmt: skip
        assert answer.status_code == 200
        data = answer.get_json()
        assert data == schemas.BatchEvaluateOut().dump(data)
        with app.test_request_context(headers={"Accept-Language": language}):
            general = nominations._json_response(schemas.BatchEvaluateOut, data)
            assert answer.get_data() == general.get_data()
        assert "\\u" not in answer.get_data(as_text=True)


def test_the_batch_audit_entries_are_what_record_writes(app: Flask, demo: tuple[Api, list[dict[str, str]]]) -> None:
    api, residents = demo
    code = CODE
    nominees = _nominees(residents, 5)[:30]
    answer = api.call("POST", "/api/v1/evaluate/batch", "nominator", {"program": code, "nominees": nominees})
    assert answer.status_code == 200
    with app.app_context(), get_db(app).session() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "evaluate")).all()
    assert len(entries) == len(nominees)
    masked = sorted(i["nominee"]["rrn"] for i in answer.get_json()["items"])
    assert sorted(e.subject_masked for e in entries) == masked
    assert {(e.actor, e.role, e.institution_code, e.target, json.dumps(e.detail)) for e in entries} == {
        (entries[0].actor, "nominator", "haengdang1-center", f"program:{code}", json.dumps({"batch": len(nominees)}))
    }
    assert all(e.subject_index and len(e.subject_index) == 64 and e.at is not None for e in entries)
    assert len({e.request_id for e in entries}) == 1 and entries[0].request_id


# --------------------------------------------------------------------------- request parsing


def _load(data: Any) -> tuple[str, Any]:
    """("ok", loaded) or ("error", messages) from the schema's load (fast path first)."""
    try:
        return "ok", schemas.BatchEvaluateIn().load(data)
    except ValidationError as exc:
        return "error", exc.messages


def _marshmallow(data: Any) -> tuple[str, Any]:
    """The same from marshmallow's own load, without the fast path."""
    try:
        return "ok", Schema.load(schemas.BatchEvaluateIn(), data)
    except ValidationError as exc:
        return "error", exc.messages


GOOD = {"program": "kimchi-2026", "nominees": [{"rrn": "450312-2000001", "name": "홍길순"},
                                               {"rrn": "4503122000002", "name": "홍 길동"}]}  # fmt: skip


def _variants() -> list[Any]:
    bad_values: list[Any] = [None, True, 0, 1.5, "", "x" * 101, [], {}, "\x00", "a\x00b", ["x"], {"a": 1}]
    out: list[Any] = [GOOD, None, [], "body", 3, {}, {"program": "x"}, {"nominees": GOOD["nominees"]}]
    for key in ("program", "nominees"):
        out += [{**GOOD, key: value} for value in bad_values]
    out += [{**GOOD, "extra": 1}, {**GOOD, "program\x00": 1}, {**GOOD, "program": "p" * 64},
            {**GOOD, "program": "p" * 65}, {**GOOD, "nominees": GOOD["nominees"] * 500},
            {**GOOD, "nominees": GOOD["nominees"] * 500 + GOOD["nominees"][:1]}]  # fmt: skip
    rrns = ["991399-1234567", "450231-2000001", "450312-X000001", " 450312-2000001 ", "450312-2000001\n",
            "4503122000001", "450312--2000001", "450312-20000011", "", "\x00", "450312-\x002000001"]  # fmt: skip
    names = ["a", "n" * 100, "n" * 101, "", " ", "김\x00", "\ud800", "홍길순", "홍길순 900101-1234567",
             "홍길순 9001011234567"]  # fmt: skip
    for field, values in (("rrn", rrns + bad_values), ("name", names + bad_values)):
        for value in values:
            body = copy.deepcopy(GOOD)
            body["nominees"][1][field] = value
            out.append(body)
    for item in (None, [], "x", {"rrn": "450312-2000001"}, {"name": "x"}, {**GOOD["nominees"][0], "note": "x"},
                 {**GOOD["nominees"][0], "rrn\x00": "x"}):  # fmt: skip
        body = copy.deepcopy(GOOD)
        body["nominees"].insert(1, item)
        out.append(body)
    return out


@pytest.mark.parametrize("data", _variants(), ids=lambda d: repr(d)[:60])
def test_the_fast_parse_gives_what_marshmallow_gives(data: Any) -> None:
    fast, general = _load(copy.deepcopy(data)), _marshmallow(copy.deepcopy(data))
    assert fast == general


def test_plainly_valid_bodies_take_the_fast_path() -> None:
    assert schemas._plain_batch(copy.deepcopy(GOOD)) == _marshmallow(copy.deepcopy(GOOD))[1]
    assert schemas._plain_batch({**GOOD, "extra": 1}) is None
    assert batch.MAX_BATCH == 1000  # the fast path's bound is the schema's and the service's
