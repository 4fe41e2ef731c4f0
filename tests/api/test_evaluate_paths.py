"""The fast evaluate path says exactly what the general one says.

One statement gathers one person's facts (service.facts.person_facts) where bulk runs use
set-based queries; the program's scope is cached per process and checked in that statement;
the answer is serialised without marshmallow; the reads run in a read-only transaction. Each
of these must be invisible from outside: same facts, same verdicts, same JSON, new versions seen
at once, and no write can slip into a read-only transaction.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from flask import Flask
from marshmallow import ValidationError
from sqlalchemy import text

from service import clock, facts, policies
from service.api import schemas
from service.api.nominations import _dump, _plan
from service.db import get_db, read_only, write_after_read
from service.programs import get_program
from service.security import get_cipher

from .conftest import RRN, Api

UNKNOWN = "450312-2000001"  # a valid RRN nobody in the registry has


def test_one_person_facts_equal_the_set_based_facts(app: Flask, api: Api, program: dict[str, Any]) -> None:
    api.nominate("haengdang", "김순자")  # a duplicate for 김순자, a household case for 박영수
    api.nominate("eungbong", "이철수", note="again")
    today = clock.now().date()
    with app.app_context(), get_db(app).session() as session:
        target = get_program(session, "kimchi-2026")
        cipher = get_cipher(app)
        numbers = [*RRN.values(), UNKNOWN]
        candidates = [facts.Candidate(cipher.blind_index(n.replace("-", "")), "김순자") for n in numbers]
        registry = facts.registry_facts(session, target, candidates, 365, today)
        households = sorted({r.household_key for r in registry.values() if r.household_key})
        state = facts.load_nomination_state(session, target, [c.rrn_index for c in candidates], households)
        scope = policies.program_scope(session, "kimchi-2026")
        for candidate in candidates:
            one, one_state = facts.person_facts(session, scope, candidate, 365, today)
            assert one == registry[candidate.rrn_index]
            assert facts.assemble_facts(candidate, one, one_state) == facts.assemble_facts(
                candidate, registry[candidate.rrn_index], state
            )


def test_the_answer_is_the_schemas_dump_in_utf8(api: Api, program: dict[str, Any]) -> None:
    api.nominate("haengdang", "김순자")
    for language in ("ko", "en"):
        for name in ("김순자", "박영수", "오복동", "이철수"):
            body = {"program": "kimchi-2026", "nominee": {"rrn": RRN[name], "name": name}}
            answer = api.call("POST", "/api/v1/evaluate", "eungbong", body, headers={"Accept-Language": language})
            assert answer.status_code == 200
            data = answer.get_json()
            assert data == schemas.EvaluateOut().dump(data) == _dump(_plan(schemas.EvaluateOut), data, {})
            assert "\\u" not in answer.get_data(as_text=True) and name in answer.get_data(as_text=True)


def test_a_published_version_is_seen_by_the_next_evaluation(api: Api, program: dict[str, Any]) -> None:
    body = {"program": "kimchi-2026", "nominee": {"rrn": RRN["오복동"], "name": "오복동"}}
    before = api.call("POST", "/api/v1/evaluate", "eungbong", body).get_json()["verdict"]
    changed = api.call("PUT", "/api/v1/programs/kimchi-2026/parameters", "admin", {"parameters": {"lookback_days": 30}})
    assert changed.status_code == 200, changed.get_json()
    after = api.call("POST", "/api/v1/evaluate", "eungbong", body).get_json()["verdict"]
    assert after["ruleset"]["version"] == before["ruleset"]["version"] + 1
    assert after["ruleset"]["sha256"] != before["ruleset"]["sha256"]


def test_a_read_only_transaction_refuses_writes_until_it_is_ended(app: Flask, backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("the guard is SQLite's: a PostgreSQL reader may write (MVCC, nothing to upgrade)")
    with app.app_context(), get_db(app).session() as session:
        read_only(session)
        session.execute(text("SELECT 1"))
        with pytest.raises(RuntimeError, match="read_only"):
            session.execute(text("INSERT INTO districts (code, name) VALUES ('x', 'x')"))
        session.rollback()
        read_only(session)
        write_after_read(session)
        session.execute(text("INSERT INTO districts (code, name) VALUES ('x', 'x')"))
        session.rollback()


def test_the_verdict_memo_gives_what_building_each_gives(app: Flask, api: Api, program: dict[str, Any]) -> None:
    """VerdictMaker memoises built verdicts on the fired rules and the facts their reasons quote."""
    import rules
    from service.screening import VerdictMaker

    with app.app_context(), get_db(app).session() as session:
        ruleset = policies.program_scope(session, "kimchi-2026").ruleset
    assert ruleset is not None
    now = clock.now()
    maker = VerdictMaker(ruleset, now)
    base = rules.with_example_defaults({"resident.found": True, "resident.age": 70, "resident.in_district": True})
    variants = [
        {**base, "person.earlier_open_nominations": 1, "person.first_institution_name": name}
        for name in ("행당1동", "응봉동", "행당1동")
    ] + [{**base, "resident.age": age} for age in (30, 31, 70, 30)]
    for vector in variants:
        expected = dict(rules.build_verdict(ruleset, vector, rules.evaluate(ruleset, vector), now))
        assert maker.verdict(vector) == expected


def _random_evaluate_body(rng: random.Random) -> Any:
    """Bodies around the valid shape: each field valid, missing, of another type, too long, with a
    NUL, plus notes and unknown keys, so that the fast load meets every case it must decline."""
    texts = ["kimchi-2026", "", "k" * 64, "k" * 65, "a\x00b", 7, None, ["x"], "김장"]
    names = ["김순자", "", "가" * 100, "가" * 101, "김\x00", 3, None, {"a": 1}, " 김순자 ",
             f"김순자 {RRN['김순자']}", "4503122345678", "김순자 010-1234-5678"]  # fmt: skip
    numbers = [*RRN.values(), UNKNOWN, "4503122000001", " 450312-2000001 ", "450312-2000002", "450312-9000001",
               "450399-2000001", "", "45031220000011", 450312, None, "450312-200000\x001", "0" * 21]  # fmt: skip

    def pick(values: list[Any]) -> Any:  # mostly the valid first value, so that the fast load is met often
        return values[0] if rng.random() < 0.6 else rng.choice(values)

    nominee: dict[str, Any] = {"rrn": pick(numbers), "name": pick(names)}
    for key in ("rrn", "name"):
        if rng.random() < 0.1:
            del nominee[key]
    if rng.random() < 0.1:
        nominee["extra"] = 1
    body: dict[str, Any] = {"program": pick(texts), "nominee": nominee}
    roll = rng.random()
    if roll < 0.1:
        body["note"] = rng.choice(["메모", None, "", "x" * 1001, 5, f"모친 {RRN['박영수']}"])
    elif roll < 0.15:
        body["unknown"] = True
    elif roll < 0.2:
        del body["program"]
    elif roll < 0.25:
        body["nominee"] = rng.choice([None, "450312-2000001", [nominee]])
    return body if rng.random() > 0.02 else rng.choice([[body], "body", None])


def test_the_fast_body_load_gives_what_the_full_load_gives() -> None:
    """``EvaluateIn.load`` takes a plainly valid body without marshmallow's field-by-field load:
    on thousands of random bodies it returns exactly the full load's result, and declines (so
    that the full load answers with its errors) every body the full load refuses."""
    rng = random.Random(20261201)
    schema, full = schemas.EvaluateIn(), schemas.StrictSchema.load
    taken = refused = 0
    for _ in range(5000):
        body = _random_evaluate_body(rng)
        fast = schemas._plainly_valid_evaluation(body)
        try:
            expected = full(schema, body)
        except ValidationError:
            assert fast is None, body
            refused += 1
            continue
        if fast is not None:
            assert fast == expected and type(fast["nominee"]["rrn"]) is type(expected["nominee"]["rrn"])
            taken += 1
        assert schema.load(body) == expected
    assert taken > 500 and refused > 1000  # both sides were exercised
