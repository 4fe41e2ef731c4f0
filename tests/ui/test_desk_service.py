"""The service additions behind the department desk: the SVG chart (accessible, escaped, no
script), the dong table's zero rows, and bulk status changes (all or nothing, the allocation,
the override note) — called directly, without a page in between.
"""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree import ElementTree

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from service import charts, lifecycle, nominating, pools, rrn, stats
from service.db import get_session
from service.errors import Conflict, Forbidden, Invalid, NotFound
from service.models import Institution, Nomination, Receipt
from service.programs import get_program
from service.security import Principal, get_cipher
from tests.api.conftest import RRN
from tests.ui.conftest import Desk

SVG = "{http://www.w3.org/2000/svg}"

# --------------------------------------------------------------------------- charts (no database)


def test_a_chart_is_an_image_named_and_described_with_every_value_as_text() -> None:
    svg = charts.bar_chart(
        [charts.Bar("행당1동", 12, "1120056000"), charts.Bar("<script>", 3), charts.Bar("용답동", 0)],
        title="행정동별 추천",
        description="추천 수, 많은 순 & 모든 동",
        id_prefix="dong-chart",
        value_format="{value}건",
    )
    root = ElementTree.fromstring(svg)  # well-formed XML: every text is escaped
    assert root.get("role") == "img" and root.get("aria-labelledby") == "dong-chart-title dong-chart-desc"
    assert root.find(f"{SVG}title").text == "행정동별 추천"  # type: ignore[union-attr]
    assert root.find(f"{SVG}desc").text == "추천 수, 많은 순 & 모든 동"  # type: ignore[union-attr]
    rows = root.findall(f"{SVG}g[@class='chart-row']")
    assert [r.get("data-value") for r in rows] == ["12", "3", "0"] and rows[0].get("data-key") == "1120056000"
    texts = [[t.text for t in r.findall(f"{SVG}text")] for r in rows]
    assert texts == [["1.", "행당1동", "12건"], ["2.", "<script>", "3건"], ["3.", "용답동", "0건"]]
    assert rows[2].find(f"{SVG}rect") is None  # a zero is a number, not a sliver of bar
    widths = [float(r.find(f"{SVG}rect").get("width")) for r in rows[:2]]  # type: ignore[union-attr,arg-type]
    assert widths[0] == pytest.approx(widths[1] * 4, rel=0.01)
    assert "<script" not in svg and "style=" not in svg and "&lt;script&gt;" in svg


def test_chart_ticks_are_round_and_ids_must_be_ids() -> None:
    assert [charts.nice_step(n) for n in (0, 3, 5, 7, 12, 48, 230, 1999)] == [1, 1, 1, 2, 5, 10, 50, 500]
    empty = ElementTree.fromstring(charts.bar_chart([], title="t", description="d", id_prefix="c"))
    assert empty.findall(f"{SVG}g[@class='chart-row']") == []
    with pytest.raises(ValueError):
        charts.bar_chart([], title="t", description="d", id_prefix='x" onload="alert(1)')


# --------------------------------------------------------------------------- with the district


@pytest.fixture
def session(app: Flask, desk: Desk) -> Iterator[Session]:
    with app.app_context():
        yield get_session()


def _principal(session: Session, code: str, role: str) -> Principal:
    institution = session.scalars(select(Institution).where(Institution.code == code)).one()
    return Principal(f"test:{code}", institution.id, institution.code, institution.name, role)


def test_the_dong_table_has_every_dong_of_the_officers_district(session: Session, desk: Desk) -> None:
    senior = _principal(session, "senior-welfare", "department")
    table = stats.dong_table(session, senior)
    assert [(r["key"], r["nominations"], r["in_district"]) for r in table["rows"]] == [
        ("1120052000", 0, True), ("1120056000", 2, True), ("1120058000", 1, True),
    ]  # fmt: skip
    assert table["totals"] == stats.statistics(session, "dong", senior)["totals"]
    ranked = [r["key"] for r in stats.ranked(table["rows"], "ineligible")]
    assert ranked == ["1120058000", "1120056000", "1120052000"]  # 1, 1 (ties by name: 응봉동, 행당1동), 0
    rows = stats.export_rows(table)
    assert stats.export_headers("dong")[:2] == ["행정동 코드 (dong)", "행정동 (label)"] and rows[0][:3] == [
        "1120052000", "왕십리2동", 0,
    ]  # fmt: skip
    other = _principal(session, "welfare-policy", "department")  # owns no program: every dong at zero
    assert {r["nominations"] for r in stats.dong_table(session, other)["rows"]} == {0}


def test_bulk_delivery_stays_within_the_allocation(session: Session, desk: Desk) -> None:
    admin = _principal(session, "welfare-policy", "admin")
    senior = _principal(session, "senior-welfare", "department")
    center = _principal(session, "haengdang1-center", "nominator")
    program = get_program(session, desk.program)
    second = nominating.nominate(session, get_cipher(), program, rrn.parse(RRN["윤지민"]), "윤지민", None, None, center)
    session.commit()
    ids = [desk.nominations["김순자"], second.id]
    pools.create_pool(session, {"code": "p", "name": "풀", "sponsor": None, "resource_category": "kimchi",
                                "quantity": 10}, admin)  # fmt: skip
    pools.allocate(session, "p", desk.program, 1, admin)
    assert [n.status for n in lifecycle.change_status_many(session, ids, "confirmed", None, senior)] == [
        "confirmed"
    ] * 2
    with pytest.raises(Conflict) as refused:
        lifecycle.change_status_many(session, ids, "delivered", None, senior)
    session.rollback()
    assert refused.value.ko == "배분받은 수량(1)을 넘습니다: 남은 수량 1, 고른 추천 2건"
    assert {n.status for n in session.scalars(select(Nomination).where(Nomination.id.in_(ids)))} == {"confirmed"}
    delivered = lifecycle.change_status_many(session, ids[:1], "delivered", "전달 완료", senior)
    assert [(n.status, n.status_note) for n in delivered] == [("delivered", "전달 완료")]
    receipt = session.scalars(select(Receipt).where(Receipt.nomination_id == ids[0])).one()
    assert receipt.provider == f"대한적십자사 ({desk.program} #{ids[0]})"


def test_bulk_changes_check_scope_before_anything(session: Session, desk: Desk) -> None:
    center = _principal(session, "haengdang1-center", "nominator")
    other = _principal(session, "welfare-policy", "department")
    ids = list(desk.nominations.values())
    with pytest.raises(Forbidden):
        lifecycle.change_status_many(session, ids, "confirmed", None, center)
    session.rollback()
    with pytest.raises(NotFound):  # another department's program: not even visible
        lifecycle.change_status_many(session, ids, "confirmed", None, other)
    session.rollback()
    with pytest.raises(Invalid) as empty:
        lifecycle.change_status_many(
            session, [], "confirmed", None, _principal(session, "senior-welfare", "department")
        )
    assert empty.value.errors == {"ids": ["추천을 고르세요 (choose)"]}
    with pytest.raises(Invalid) as long_note:
        lifecycle.change_status_many(session, ids, "confirmed", "가" * 1001, other)
    assert "note" in (long_note.value.errors or {})
    assert {n.status for n in session.scalars(select(Nomination))} == {"open"}


def test_allowed_changes_follow_the_lifecycle() -> None:
    assert lifecycle.allowed_changes("open", "eligible") == ["confirmed", "cancelled"]
    assert lifecycle.allowed_changes("open", "ineligible") == ["cancelled"]
    assert lifecycle.allowed_changes("confirmed", "review") == ["delivered", "cancelled"]
    assert lifecycle.allowed_changes("delivered", "eligible") == []
    assert lifecycle.needs_note("review", "confirmed") and not lifecycle.needs_note("review", "delivered")
