"""The department desk through Flask's test client: who may open what, the progress monitor,
opening and closing, the merged list (re-screen, confirm and deliver, overrides, all or nothing),
pools, statistics and their downloads. On SQLite and PostgreSQL like the other view tests.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from service import accounts, clock, stats
from service.db import get_db, get_session
from service.models import AuditEntry, Nomination, User
from tests.api.conftest import PROGRAM, RRN
from tests.ui.conftest import Desk, csrf_token, login, page_text

pytestmark = pytest.mark.usefixtures("desk")

MY_PAGES = ("/admin/desk", "/admin/programs/kimchi-2026/progress", "/admin/programs/kimchi-2026/candidates",
            "/admin/pools", "/admin/stats", "/admin/stats?by=institution", "/admin/stats/households")  # fmt: skip


def _api(client: FlaskClient, desk: Desk, method: str, path: str, body: object = None, who: str = "admin") -> Any:
    response = client.open(path, method=method, json=body, headers={"Authorization": f"Bearer {desk.tokens[who]}"})
    assert response.status_code < 300, response.get_json()
    return response.get_json()


def _post(client: FlaskClient, path: str, data: dict[str, Any] | None = None, page: str = "/admin/desk") -> Any:
    """A form POST with the session's CSRF token (taken from a desk page)."""
    fields: dict[str, Any] = {"csrf_token": csrf_token(client.get(page))}
    fields.update(data or {})
    return client.post(path, data=fields)


def _nomination(app: Flask, nomination_id: int) -> Nomination:
    with get_db(app).session() as session:
        found = session.get(Nomination, nomination_id)
        assert found is not None
        session.expunge(found)
        return found


def _death(client: FlaskClient, desk: Desk, name: str, on: str) -> None:
    """A death reported (on ``on``, by the frozen clock of that morning): the nominee turns ineligible."""
    with clock.frozen(f"{on}T09:00:00+09:00"):
        answer = _api(client, desk, "POST", "/api/v1/registry/events", {"type": "death", "rrn": RRN[name], "date": on})
    assert answer["applied"] is True


def _review_nominee(client: FlaskClient, desk: Desk) -> int:
    """박영수 lives with 김순자, who is already nominated: a ``review`` verdict."""
    answer = client.post(
        f"/api/v1/programs/{desk.program}/nominations",
        json={"nominee": {"rrn": RRN["박영수"], "name": "박영수"}},
        headers={"Authorization": f"Bearer {desk.tokens['center']}"},
    ).get_json()
    assert answer["verdict"]["outcome"] == "review", answer
    return int(answer["id"])


# --------------------------------------------------------------------------- who may open what


def test_the_desk_needs_a_login_and_a_role_that_may(client: FlaskClient) -> None:
    for path in MY_PAGES:
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/admin/login?next="), path
    login(client, "center")  # a nominator: none of the department's screens, no link to them
    for path in MY_PAGES:
        assert client.get(path).status_code == 403, path
    html = client.get("/admin/programs").get_data(as_text=True)
    assert 'href="/admin/desk"' not in html and 'href="/admin/stats"' not in html


def test_a_department_runs_only_its_own_programs(client: FlaskClient, desk: Desk) -> None:
    login(client, "policy-dept")  # a department that does not own kimchi-2026
    home = client.get("/admin/desk")
    assert home.status_code == 200 and "운영하는 사업이 없습니다." in page_text(home)
    for page in ("progress", "candidates"):
        assert client.get(f"/admin/programs/{desk.program}/{page}").status_code == 403, page
    refused = _post(client, f"/admin/programs/{desk.program}/status", {"status": "closed"})
    assert refused.status_code == 403
    assert _api(client, desk, "GET", f"/api/v1/programs/{desk.program}")["status"] == "open"


def test_an_auditor_follows_progress_but_changes_nothing(client: FlaskClient, desk: Desk) -> None:
    login(client, "auditor")
    page = client.get(f"/admin/programs/{desk.program}/progress")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "기관별 추천 현황" in page_text(page)
    assert "/reminders" not in html and "/status" not in html  # no reminder, no open/close form
    assert client.get(f"/admin/programs/{desk.program}/candidates").status_code == 403
    assert _post(client, f"/admin/programs/{desk.program}/reminders", page="/admin/desk").status_code == 403
    home = client.get("/admin/desk").get_data(as_text=True)
    assert f'href="/admin/programs/{desk.program}/progress"' in home
    assert f'href="/admin/programs/{desk.program}/candidates"' not in home


def test_desk_pages_allow_no_inline_script_and_have_unique_ids(client: FlaskClient) -> None:
    login(client, "senior")
    for path in MY_PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        assert response.headers["Cache-Control"] == "no-store"
        html = response.get_data(as_text=True)
        ids = re.findall(r'\sid="([^"]+)"', html)
        assert len(ids) == len(set(ids)), f"duplicate ids on {path}: {sorted(i for i in ids if ids.count(i) > 1)}"
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), f"inline script on {path}"
        assert not re.search(r"\son[a-z]+\s*=", html), f"inline event handler on {path}"
        assert not re.search(r"\sstyle\s*=", html), f"inline style on {path}"
        assert not re.search(r"(src|href)=\"(https?:)?//", html), f"foreign resource on {path}"
        for rrn in RRN.values():
            assert rrn not in html, f"a whole RRN on {path}"
    nav = client.get("/admin/desk").get_data(as_text=True)
    assert re.search(r'href="/admin/desk" class="krds-btn medium text" aria-current="page">사업 운영<', nav)


# --------------------------------------------------------------------------- the progress monitor


def test_the_monitor_shows_owed_replacements_with_days_waiting(client: FlaskClient, app: Flask, desk: Desk) -> None:
    _death(client, desk, "김순자", "2026-11-20")
    login(client, "senior")
    page = client.get(f"/admin/programs/{desk.program}/progress")
    html, text = page.get_data(as_text=True), page_text(page)
    row = re.search(r'<tr data-institution="haengdang1-center" class="desk-owes">(.*?)</tr>', html, re.S)
    assert row, html
    counts = dict(re.findall(r'data-count="(\w+)">(?:<span[^>]*>)?(\d+)', row.group(1)))
    assert counts == {"nominations": "3", "eligible": "0", "review": "0", "ineligible": "3", "confirmed": "0",
                      "delivered": "0", "owed": "3"}  # fmt: skip
    waited = dict(re.findall(r'<tr data-nomination="(\d+)">.*?data-days="(\d+)"', html, re.S))
    assert waited == {str(desk.nominations["김순자"]): "5", str(desk.nominations["오복동"]): "0",
                      str(desk.nominations["이철수"]): "0"}  # fmt: skip
    assert "450312-2******" in text and "재추천을 기다리는 추천 3건" in text

    sent = _post(client, f"/admin/programs/{desk.program}/reminders", {"institution": "haengdang1-center"})
    assert sent.status_code == 302 and sent.headers["Location"] == f"/admin/programs/{desk.program}/progress"
    assert "재추천 요청 알림 3건을 보냈습니다." in page_text(client.get(sent.headers["Location"]))
    inbox = _api(client, desk, "GET", "/api/v1/notifications", who="center")["items"]
    assert sorted(n["kind"] for n in inbox).count("replacement_requested") == 3
    without_token = client.post(f"/admin/programs/{desk.program}/reminders", data={})
    assert without_token.status_code == 400


def test_a_replacement_clears_the_owed_row(client: FlaskClient, desk: Desk) -> None:
    client.post(
        f"/api/v1/programs/{desk.program}/nominations",
        json={"nominee": {"rrn": RRN["윤지민"], "name": "윤지민"}, "replaces": desk.nominations["오복동"]},
        headers={"Authorization": f"Bearer {desk.tokens['center']}"},
    )
    login(client, "senior")
    html = client.get(f"/admin/programs/{desk.program}/progress").get_data(as_text=True)
    owed = re.findall(r'<tr data-nomination="(\d+)">', html)
    assert owed == [str(desk.nominations["이철수"])]


def test_closing_a_program_refuses_nominations_until_it_reopens(client: FlaskClient, desk: Desk) -> None:
    login(client, "senior")
    closed = _post(client, f"/admin/programs/{desk.program}/status", {"status": "closed", "back": "progress"})
    assert closed.status_code == 302
    page = client.get(closed.headers["Location"])
    assert "2026 김장김치 나눔 사업을 마감했습니다." in page_text(page) and "다시 열기" in page_text(page)
    refused = client.post(
        f"/api/v1/programs/{desk.program}/nominations",
        json={"nominee": {"rrn": RRN["윤지민"], "name": "윤지민"}},
        headers={"Authorization": f"Bearer {desk.tokens['center']}"},
    )
    assert refused.status_code == 409
    reopened = _post(client, f"/admin/programs/{desk.program}/status", {"status": "open", "back": "desk"})
    assert reopened.headers["Location"] == "/admin/desk"
    assert "다시 열었습니다" in page_text(client.get("/admin/desk"))
    assert _post(client, f"/admin/programs/{desk.program}/status", {"status": "archived"}).status_code == 400
    assert _api(client, desk, "GET", f"/api/v1/programs/{desk.program}")["status"] == "open"


# --------------------------------------------------------------------------- the merged candidates


def test_candidates_show_verdicts_reasons_and_household_flags(client: FlaskClient, desk: Desk) -> None:
    review = _review_nominee(client, desk)
    login(client, "senior")
    html = client.get(f"/admin/programs/{desk.program}/candidates").get_data(as_text=True)
    rows = dict(re.findall(r'<tr data-nomination="(\d+)" data-outcome="(\w+)"', html))
    assert rows == {str(desk.nominations["김순자"]): "eligible", str(desk.nominations["오복동"]): "ineligible",
                    str(desk.nominations["이철수"]): "ineligible", str(review): "review"}  # fmt: skip
    row = re.search(rf'<tr data-nomination="{review}".*?</tr>', html, re.S)
    assert row and "세대원 추천 있음" in row.group(0) and "<code>household_already_nominated</code>" in row.group(0)
    assert "확정하려면 사유 필요" in row.group(0)
    ineligible = re.search(rf'<tr data-nomination="{desk.nominations["오복동"]}".*?</tr>', html, re.S)
    assert ineligible and "세대 수혜 한도" in ineligible.group(0) and 'value="confirmed"' not in ineligible.group(0)
    filtered = client.get(f"/admin/programs/{desk.program}/candidates?outcome=review").get_data(as_text=True)
    assert re.findall(r'<tr data-nomination="(\d+)"', filtered) == [str(review)]


def test_confirming_a_review_verdict_needs_a_note_that_is_kept(client: FlaskClient, app: Flask, desk: Desk) -> None:
    review = _review_nominee(client, desk)
    login(client, "senior")
    path = f"/admin/programs/{desk.program}/candidates/{review}/status"
    page = f"/admin/programs/{desk.program}/candidates"
    refused = _post(client, path, {"status": "confirmed", "note": "  "}, page=page)
    assert refused.status_code == 422
    error = re.search(r'<div class="admin-hints" id="note-error">(.*?)</div>', refused.get_data(as_text=True), re.S)
    assert error and f"#{review}" in error.group(1)
    assert _nomination(app, review).status == "open"
    done = _post(client, path, {"status": "confirmed", "note": "동거 가족이지만 따로 생계 (현장 확인)"}, page=page)
    assert done.status_code == 302 and done.headers["Location"] == page
    assert "추천 1건을 확정했습니다." in page_text(client.get(page))
    stored = _nomination(app, review)
    assert stored.status == "confirmed" and stored.status_note == "동거 가족이지만 따로 생계 (현장 확인)"
    with get_db(app).session() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "nomination.confirmed")).one()
        assert entry.target == f"nomination:{review}" and entry.actor == "user:senior"
        assert entry.detail == {"note": "동거 가족이지만 따로 생계 (현장 확인)", "override": "review"}
    # an eligible nomination needs no note
    plain = _post(client, f"/admin/programs/{desk.program}/candidates/{desk.nominations['김순자']}/status",
                  {"status": "confirmed"}, page=page)  # fmt: skip
    assert plain.status_code == 302 and _nomination(app, desk.nominations["김순자"]).status_note is None


def test_bulk_changes_are_all_or_nothing(client: FlaskClient, app: Flask, desk: Desk) -> None:
    review = _review_nominee(client, desk)
    login(client, "senior")
    page = f"/admin/programs/{desk.program}/candidates"
    bulk = f"{page}/status"
    eligible, ineligible = desk.nominations["김순자"], desk.nominations["오복동"]
    mixed = _post(client, bulk, {"status": "confirmed", "ids": [eligible, ineligible]}, page=page)
    assert mixed.status_code == 409
    html = mixed.get_data(as_text=True)
    assert "고른 추천 가운데 1건은 바꿀 수 없어 아무것도 바꾸지 않았습니다" in page_text(mixed)
    assert re.search(rf'<tr data-nomination="{ineligible}"[^>]*class="is-error"', html)
    assert re.search(rf'id="pick-{eligible}" checked', html)  # the choice is kept
    assert _nomination(app, eligible).status == "open"
    no_note = _post(client, bulk, {"status": "confirmed", "ids": [eligible, review]}, page=page)
    assert no_note.status_code == 422 and _nomination(app, eligible).status == "open"
    nothing = _post(client, bulk, {"status": "confirmed"}, page=page)
    assert nothing.status_code == 422 and "바꿀 추천을 하나 이상 고르세요" in page_text(nothing)
    done = _post(client, bulk, {"status": "confirmed", "ids": [eligible, review], "note": "현장 확인"}, page=page)
    assert done.status_code == 302
    assert "추천 2건을 확정했습니다." in page_text(client.get(page))
    delivered = _post(client, bulk + "?outcome=eligible", {"status": "delivered", "ids": [eligible]}, page=page)
    assert delivered.headers["Location"] == f"{page}?outcome=eligible"  # back to the same filters
    assert [_nomination(app, i).status for i in (eligible, review)] == ["delivered", "confirmed"]
    assert _nomination(app, review).status_note == "현장 확인"
    with get_db(app).session() as session:
        details = [
            e.detail for e in session.scalars(select(AuditEntry).where(AuditEntry.action == "nomination.confirmed"))
        ]
    assert sorted(d.get("override", "") for d in details) == ["", "review"] and all(d["bulk"] == 2 for d in details)


def test_bulk_confirmation_stops_at_the_quota(client: FlaskClient, app: Flask, desk: Desk) -> None:
    _api(client, desk, "POST", "/api/v1/programs", {**PROGRAM, "code": "kimchi-small", "quota": 1})
    ids = [
        int(_api(client, desk, "POST", "/api/v1/programs/kimchi-small/nominations",
                 {"nominee": {"rrn": RRN[name], "name": name}}, who="center")["id"])
        for name in ("김순자", "윤지민")
    ]  # fmt: skip
    login(client, "policy")  # the coordinating department manages every program
    page = "/admin/programs/kimchi-small/candidates"
    full = _post(client, f"{page}/status", {"status": "confirmed", "ids": ids}, page=page)
    assert full.status_code == 409 and "정원(1명)을 넘습니다: 남은 자리 1명, 고른 추천 2건" in page_text(full)
    assert [_nomination(app, i).status for i in ids] == ["open", "open"]
    other = _post(client, f"{page}/status", {"status": "confirmed", "ids": [desk.nominations["김순자"]]}, page=page)
    assert other.status_code == 404  # a nomination of another program is not on this list


def test_rescreening_shows_its_summary(client: FlaskClient, desk: Desk) -> None:
    _api(client, desk, "PUT", f"/api/v1/programs/{desk.program}/parameters",
         {"parameters": {"household_limit": 3}, "reason": "한도 3"})  # fmt: skip
    login(client, "senior")
    page = f"/admin/programs/{desk.program}/candidates"
    answer = _post(client, f"/admin/programs/{desk.program}/rescreen", page=page)
    assert answer.status_code == 200
    text = page_text(answer)
    assert (
        "진행 중·확정된 추천 3건을 다시 판정했습니다. 2건의 판정이 바뀌었고, 그 가운데 0건이 부적격이 되었습니다."
        in text
    )
    html = answer.get_data(as_text=True)
    assert 'data-outcome="eligible">3<' in html
    assert len(re.findall(r'<tr data-nomination="\d+" data-outcome="eligible"', html)) == 3  # the list is fresh
    assert client.get(f"/admin/programs/{desk.program}/rescreen").status_code == 302  # the language switch's GET


def test_the_merged_list_downloads_with_a_reason(client: FlaskClient, desk: Desk) -> None:
    login(client, "senior")
    page = f"/admin/programs/{desk.program}/candidates"
    refused = _post(client, f"/admin/programs/{desk.program}/candidates/export", {"format": "csv"}, page=page)
    assert refused.status_code == 422
    assert re.search(r'id="reason-error">.*?사유', refused.get_data(as_text=True), re.S)
    export = f"/admin/programs/{desk.program}/candidates/export?outcome=ineligible"
    answer = _post(client, export, {"format": "csv", "reason": "중복 수혜 점검"}, page=page)
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "추천 번호 (id)" and sorted(r[3] for r in rows[1:]) == ["오복동", "이철수"]
    book = _post(client, export, {"format": "xlsx", "reason": "중복 수혜 점검"}, page=page)
    sheet = openpyxl.load_workbook(io.BytesIO(book.get_data())).active
    assert sheet is not None and sheet.max_row == 3


# --------------------------------------------------------------------------- pools


def test_pools_are_registered_and_allocated_by_the_coordinating_department(client: FlaskClient, desk: Desk) -> None:
    login(client, "policy")
    fields = {
        "code": "redcross-kimchi",
        "name": "적십자 김장김치",
        "sponsor": "red-cross",
        "resource_category": "kimchi",
    }
    created = _post(client, "/admin/pools", {**fields, "quantity": "100"})
    assert created.status_code == 302 and created.headers["Location"] == "/admin/pools/redcross-kimchi"
    taken = _post(client, "/admin/pools", {"code": "redcross-kimchi", "name": "다시", "sponsor": "",
                                           "resource_category": "rice", "quantity": "5"})  # fmt: skip
    assert taken.status_code == 409 and re.search(
        r'id="code-error">.*?이미 있습니다', taken.get_data(as_text=True), re.S
    )
    bad = _post(
        client, "/admin/pools", {"code": "Bad Code", "name": "", "resource_category": "kimchi", "quantity": "0"}
    )
    assert bad.status_code == 422
    assert all(f'id="{f}-error"' in bad.get_data(as_text=True) for f in ("code", "name", "quantity"))

    pool = "/admin/pools/redcross-kimchi"
    over = _post(client, f"{pool}/allocations", {"program": desk.program, "quantity": "150"}, page=pool)
    assert over.status_code == 409
    error = re.search(r'<div class="admin-hints" id="quantity-error">(.*?)</div>', over.get_data(as_text=True), re.S)
    assert error and "100" in error.group(1)
    done = _post(client, f"{pool}/allocations", {"program": desk.program, "quantity": "60"}, page=pool)
    assert done.status_code == 302
    html = client.get(pool).get_data(as_text=True)
    facts = dict(re.findall(r'<dd data-count="(\w+)">(\d+)</dd>', html))
    assert facts == {"quantity": "100", "allocated": "60", "unallocated": "40", "delivered": "0", "remaining": "100"}
    assert re.search(rf'<tr data-program="{desk.program}">.*?2026 김장김치 나눔.*?어르신복지과', html, re.S)
    client.post("/admin/logout", data={"csrf_token": csrf_token(client.get("/admin/pools"))})

    login(client, "senior")  # a department reads pools, registers none
    listing = client.get("/admin/pools")
    assert listing.status_code == 200 and 'data-pool="redcross-kimchi"' in listing.get_data(as_text=True)
    assert 'name="quantity"' not in listing.get_data(as_text=True)
    forbidden = _post(
        client, "/admin/pools", {"code": "x", "name": "x", "resource_category": "kimchi", "quantity": "1"}
    )
    assert forbidden.status_code == 403
    assert (
        _post(client, f"{pool}/allocations", {"program": desk.program, "quantity": "1"}, page=pool).status_code == 403
    )


# --------------------------------------------------------------------------- statistics


def _expected(app: Flask, by: str, username: str = "senior") -> dict[str, Any]:
    """What ``service.stats.statistics`` answers the officer (the API's JSON holds the same)."""
    with app.app_context():
        session = get_session()
        user = session.scalars(select(User).where(User.username == username)).one()
        principal = accounts.load_principal(session, user.id)
        assert principal is not None
        return stats.statistics(session, by, principal)


def test_the_dong_table_lists_every_dong_and_downloads_hold_the_same_numbers(client: FlaskClient, app: Flask) -> None:
    login(client, "senior")
    page = client.get("/admin/stats?by=dong")
    html = page.get_data(as_text=True)
    keys = re.findall(r'<tr data-key="(\d+)"', html)
    assert keys == ["1120056000", "1120058000", "1120052000"]  # ranked: 2, 1, then the dong nobody nominated from
    assert html.count('class="chart-row"') == 3 and '<title id="stats-chart-title">행정동별 추천</title>' in html
    expected = _expected(app, "dong")
    assert {r["key"]: r["nominations"] for r in expected["rows"]} == {"1120056000": 2, "1120058000": 1}
    book = client.get("/admin/stats/export?by=dong&format=xlsx")
    assert book.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert book.headers["Content-Disposition"] == "attachment; filename=stats-dong.xlsx"
    sheet = openpyxl.load_workbook(io.BytesIO(book.get_data())).active
    assert sheet is not None
    header, *body = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert header[:3] == ["행정동 코드 (dong)", "행정동 (label)", "추천 (nominations)"]
    by_key = {row[0]: row for row in body}
    for row in expected["rows"]:
        assert by_key[row["key"]][2:] == [row[m] for m in stats.METRICS]
    assert by_key["1120052000"][2:] == [0] * len(stats.METRICS)
    table = list(csv.reader(io.StringIO(client.get("/admin/stats/export?by=dong&format=csv").get_data(as_text=True))))
    assert [r[0] for r in table[1:]] == keys
    for by in ("institution", "sponsor", "category", "program"):
        answer = client.get(f"/admin/stats?by={by}&program=kimchi-2026&metric=ineligible")
        assert answer.status_code == 200 and 'data-key="total"' in answer.get_data(as_text=True), by
    assert client.get("/admin/stats/export?by=dong&format=pdf").status_code == 404


def test_household_concentration_needs_a_reason(client: FlaskClient, app: Flask) -> None:
    login(client, "policy")
    refused = _post(client, "/admin/stats/households", {"reason": " ", "days": "365"}, page="/admin/stats/households")
    assert refused.status_code == 422 and 'id="reason-error"' in refused.get_data(as_text=True)
    assert "381111-1" not in refused.get_data(as_text=True)
    shown = _post(client, "/admin/stats/households", {"reason": "김장 중복 점검", "days": "365"}, page="/admin/stats")
    assert shown.status_code == 200 and "381111-1******" in page_text(shown) and "1세대" in page_text(shown)
    book = _post(client, "/admin/stats/households", {"reason": "김장 중복 점검", "days": "365", "format": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(book.get_data())).active
    assert sheet is not None and sheet.cell(2, 3).value == "381111-1******" and sheet.cell(2, 8).value == 2
    with get_db(app).session() as session:
        reasons = [e.detail["reason"] for e in session.scalars(select(AuditEntry).where(
            AuditEntry.action == "stats.household"))]  # fmt: skip
    assert reasons == ["김장 중복 점검", "김장 중복 점검"]


def test_the_desk_in_english(client: FlaskClient, desk: Desk) -> None:
    login(client, "senior")
    text = page_text(client.get(f"/admin/programs/{desk.program}/progress?lang=en"))
    assert "Nominations by institution" in text and "Close nominations" in text and "Candidates" in text
    assert "Statistics" in page_text(client.get("/admin/stats"))
