"""Batch evaluation for other systems, and all-or-nothing bulk nomination."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from service import batch, rrn
from service.db import get_db
from service.errors import Conflict
from service.models import Nomination
from service.programs import get_program
from service.security import get_cipher, principal_for_token

from .conftest import RRN, Api


def test_each_batch_verdict_is_the_single_evaluation(api: Api, program: dict[str, Any]) -> None:
    api.nominate("haengdang", "김순자")  # so that 김순자 is a duplicate and 박영수 a household case
    names = ["김순자", "박영수", "이철수", "최말순", "정대한", "한옥자", "오복동", "윤지민"]
    nominees = [{"rrn": RRN[n], "name": n} for n in names] + [{"rrn": "450312-2000001", "name": "홍길순"}]
    nominees.append({"rrn": RRN["이철수"], "name": "이철희"})  # a name mismatch
    answer = api.call("POST", "/api/v1/evaluate/batch", "eungbong", {"program": "kimchi-2026", "nominees": nominees})
    assert answer.status_code == 200, answer.get_json()
    items = answer.get_json()["items"]
    assert len(items) == len(nominees)
    for nominee, item in zip(nominees, items, strict=True):
        single = api.call("POST", "/api/v1/evaluate", "eungbong", {"program": "kimchi-2026", "nominee": nominee})
        assert item["verdict"] == single.get_json()["verdict"], nominee["name"]
        assert item["nominee"] == single.get_json()["nominee"]
    outcomes = [i["verdict"]["outcome"] for i in items]
    assert outcomes[:3] == ["ineligible", "review", "eligible"] and outcomes[-1] == "review"


def test_a_bad_entry_names_its_index_and_nothing_is_evaluated(app: Flask, api: Api, program: dict[str, Any]) -> None:
    nominees = [{"rrn": RRN["이철수"], "name": "이철수"}] * 3 + [{"rrn": "991399-1234567", "name": "x"}]
    answer = api.call("POST", "/api/v1/evaluate/batch", "eungbong", {"program": "kimchi-2026", "nominees": nominees})
    assert answer.status_code == 422 and "nominees.3.rrn" in answer.get_json()["errors"], answer.get_json()
    too_many = [{"rrn": RRN["이철수"], "name": "이철수"}] * 1001
    assert api.call("POST", "/api/v1/evaluate/batch", "eungbong",
                    {"program": "kimchi-2026", "nominees": too_many}).status_code == 422  # fmt: skip
    assert api.call("POST", "/api/v1/evaluate/batch", "auditor",
                    {"program": "kimchi-2026", "nominees": nominees[:1]}).status_code == 403  # fmt: skip


def test_bulk_nomination_sees_earlier_rows_and_matches_the_single_path(
    app: Flask, api: Api, program: dict[str, Any]
) -> None:
    rows = [("김순자", None), ("박영수", None), ("김순자", "again"), ("최말순", None)]
    with app.app_context(), get_db(app).session() as session:
        principal = principal_for_token(session, api.tokens["haengdang"])
        assert principal is not None
        target = get_program(session, "kimchi-2026")
        nominees = [batch.Nominee(rrn.parse(RRN[n]), n, note) for n, note in rows]
        preview = batch.preview_batch(session, get_cipher(app), target, nominees, principal)
        ids = batch.nominate_batch(session, get_cipher(app), target, nominees, principal)
    assert [j.verdict["outcome"] for j in preview] == ["eligible", "review", "ineligible", "ineligible"]
    stored = [api.call("GET", f"/api/v1/nominations/{i}", "haengdang").get_json() for i in ids]
    assert [s["verdict"]["outcome"] for s in stored] == ["eligible", "review", "ineligible", "ineligible"]
    duplicate = next(r for r in stored[2]["verdict"]["reasons"] if r["rule"] == "duplicate_nomination")
    assert duplicate["facts"]["person.first_institution_name"] == "행당1동주민센터"
    # the single path agrees with what the batch stored: the same person again is a duplicate
    again = api.nominate("eungbong", "박영수").get_json()
    assert again["verdict"]["outcome"] == "ineligible"


def test_bulk_nomination_is_all_or_nothing(app: Flask, api: Api, program: dict[str, Any]) -> None:
    api.call("POST", "/api/v1/programs/kimchi-2026/status", "admin", {"status": "closed"})
    with app.app_context(), get_db(app).session() as session:
        principal = principal_for_token(session, api.tokens["haengdang"])
        assert principal is not None
        target = get_program(session, "kimchi-2026")
        nominees = [batch.Nominee(rrn.parse(RRN["김순자"]), "김순자")]
        with pytest.raises(Conflict):
            batch.nominate_batch(session, get_cipher(app), target, nominees, principal)
    with get_db(app).session() as session:
        assert session.scalar(select(func.count()).select_from(Nomination)) == 0
