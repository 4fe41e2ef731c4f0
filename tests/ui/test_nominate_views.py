"""The nomination desk through Flask's test client (both databases): nominate, dry run, bulk
upload, my nominations, export, inbox and program browser, and every refusal on the way.

Every page these tests receive is checked for whole resident registration numbers.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import Workbook
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from service.db import get_db
from service.models import AuditEntry, Nomination
from tests.ui.conftest import csrf_token, login, page_text
from tests.ui.nominate_world import ALL_RRN, BAD_DATE, BULK_GOOD, World, bulk_csv, death, whole_numbers_in, world

__all__ = ["world"]  # the fixture, imported for these tests

PROGRAM = "kimchi-2026"
SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])
"""For checks of the pages alone; whatever the database decides runs on both."""


class Clerk:
    """A logged-in officer's test client that checks every page for whole RRNs."""

    def __init__(self, client: FlaskClient, username: str) -> None:
        self.client = client
        self.pages: list[str] = []
        assert login(client, username).status_code == 302

    def _seen(self, response: TestResponse) -> TestResponse:
        if response.mimetype in ("text/html", "text/csv", "application/json"):
            text = response.get_data(as_text=True)
            found = whole_numbers_in(text)
            assert not found, f"whole RRN in {response.request.path}: {found}"
            scripts = re.findall(r'<script src="([^"]+)"', text)
            assert len(scripts) == len(set(scripts)), f"a script twice in {response.request.path}: {scripts}"
            assert "<script" not in text.split("<title>", 1)[-1].split("</title>", 1)[0]
            self.pages.append(text)
        return response

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self._seen(self.client.get(path, **kwargs))

    def post(self, path: str, page: TestResponse | None = None, **data: Any) -> TestResponse:
        token = csrf_token(page or self.client.get("/admin/nominate"))
        return self._seen(self.client.post(path, data={"csrf_token": token, **data}))

    def nominate(
        self, name: str, rrn: str | None = None, action: str = "/admin/nominate", **extra: Any
    ) -> TestResponse:
        page = self.get("/admin/nominate")
        form_id = re.search(r'name="form_id" type="hidden" value="([^"]*)"', page.get_data(as_text=True))
        fields = {"program": PROGRAM, "rrn": ALL_RRN[name] if rrn is None else rrn, "name": name, "note": "", **extra}
        if form_id and "form_id" not in extra:
            fields["form_id"] = form_id.group(1)
        return self.post(action, page, **fields)


@pytest.fixture
def center(client: FlaskClient, world: World) -> Clerk:
    return Clerk(client, "center")


@pytest.fixture
def welfare(app: Flask, world: World) -> Clerk:
    return Clerk(app.test_client(), "welfare")


def _count(app: Flask) -> int:
    with get_db(app).session() as session:
        return int(session.scalar(select(func.count(Nomination.id))) or 0)


def _audit(app: Flask, action: str) -> list[AuditEntry]:
    with get_db(app).session() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


# --------------------------------------------------------------------------- one nominee


def test_the_form_needs_a_login_and_a_role_that_nominates(client: FlaskClient, world: World) -> None:
    for path in ("/admin/nominate", "/admin/nominate/upload", "/admin/nominations", "/admin/inbox", "/admin/browse"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/admin/login?next="), path
    login(client, "auditor")
    assert client.get("/admin/nominate").status_code == 403
    assert "추천하기" not in page_text(client.get("/admin/programs"))  # no menu entry either


@SQLITE_ONLY
def test_the_form_lists_open_programs_and_keeps_no_number(center: Clerk) -> None:
    page = center.get("/admin/nominate")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<option selected value="kimchi-2026">2026 김장김치 나눔 (kimchi-2026)</option>' in html
    for name in ("program", "rrn", "name", "note"):
        assert f'name="{name}"' in html
    assert re.search(r'<input[^>]*name="rrn"[^>]*value=""', html), "the RRN input starts empty"
    assert "rrn.js" in html and "<script>" not in html


def test_an_eligible_resident_is_registered_and_the_verdict_shown(app: Flask, center: Clerk) -> None:
    before = _count(app)
    answer = center.nominate("윤지민", note="혼자 사는 청년, 겨울 난방비 부담")
    text = page_text(answer)
    assert answer.status_code == 200
    assert "등록한 추천의 판정 적격" in text and "윤지민 010203-4******" in text
    assert "이 사업의 규칙 9개를 모두 확인했고 걸리는 것이 없습니다." in text
    assert re.search(r"추천 #\d+\(으\)로 등록했습니다", text)
    assert _count(app) == before + 1
    html = answer.get_data(as_text=True)
    assert re.search(r'<input[^>]*name="rrn"[^>]*value=""', html), "the next nominee's form is empty"
    assert 'value="윤지민"' not in html


def test_the_same_person_from_a_welfare_center_is_ineligible_naming_the_first(center: Clerk, welfare: Clerk) -> None:
    assert "적격" in page_text(center.nominate("윤지민"))
    answer = page_text(welfare.nominate("윤지민"))
    assert "등록한 추천의 판정 부적격" in answer
    assert "부적격 사유 행당1동주민센터에서 이미 이 사업에 추천한 대상자입니다" in answer
    assert "본인의 기존 추천 건수 1" in answer and "최초 추천 기관명 행당1동주민센터" in answer


def test_an_out_of_district_resident_gets_the_reason_in_korean(center: Clerk) -> None:
    text = page_text(center.nominate("정대한"))
    assert "부적격 사유 주소지가 관할 구역 밖입니다" in text
    assert "관내 거주 여부 아니오" in text and "주민등록 확인 여부 예" in text
    assert "1121500000" not in text  # the rule compares in_district; the dong itself is not shown


def test_the_household_limit_shows_its_threshold_with_label_and_unit(center: Clerk, app: Flask) -> None:
    text = page_text(center.nominate("오복동", rrn=ALL_RRN["오복동"].replace("-", "")))  # 13 digits work too
    assert "최근 365일 동안 세대가 같은 품목을 2회 받아 세대당 한도(1회)에 이르렀습니다" in text
    assert "세대의 동일 품목 수혜 횟수 2" in text
    assert "기준: 세대당 수혜 한도 1 회" in text and "기준: 수혜 이력 조회 기간 365 일" in text


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("typed", "message"),
    [
        (BAD_DATE, "생년월일이 올바른 날짜가 아닙니다"),
        ("90010112345", "주민등록번호 형식이 아닙니다"),
        ("", "주민등록번호를 입력하세요."),
    ],
    ids=["bad-date", "too-short", "empty"],
)
def test_a_bad_number_is_refused_and_never_echoed(center: Clerk, app: Flask, typed: str, message: str) -> None:
    before = _count(app)
    answer = center.nominate("이영희", rrn=typed)
    text = page_text(answer)
    assert answer.status_code == 422 and message in text
    assert "다시 입력해 주세요" in text
    if typed:
        assert typed not in answer.get_data(as_text=True)
    assert 'value="이영희"' in answer.get_data(as_text=True)  # the name is kept, the number is not
    assert _count(app) == before


@SQLITE_ONLY
def test_a_good_number_with_a_missing_name_asks_for_the_number_again_masked(center: Clerk) -> None:
    answer = center.nominate("", rrn=ALL_RRN["윤지민"])
    text = page_text(answer)
    assert answer.status_code == 422 and "성명을 입력하세요." in text
    assert "방금 입력한 번호: 010203-4******" in text and "다시 입력해 주세요" in text


def test_the_dry_run_stores_nothing_and_registers_the_checked_person_once(app: Flask, center: Clerk) -> None:
    before = _count(app)
    sent = center.nominate("이철수", action="/admin/nominate/check", note="응봉동 독거")
    assert sent.status_code == 303 and sent.headers["Location"] == "/admin/nominate/checked"
    checked = center.get("/admin/nominate/checked")
    text = page_text(checked)
    assert "미리 확인 결과 부적격" in text and "아직 저장하지 않았습니다" in text
    assert "행당1동주민센터에서 이미 이 사업에 추천한 대상자입니다" not in text  # the first is ineligible itself
    assert "세대당 한도(1회)에 이르렀습니다" in text
    assert _count(app) == before
    assert 'value="이철수"' in checked.get_data(as_text=True) and "응봉동 독거" in checked.get_data(as_text=True)
    token = re.search(r'name="token" value="([^"]+)"', checked.get_data(as_text=True))
    assert token
    done = center.post("/admin/nominate/confirm", checked, token=token.group(1))
    assert done.status_code == 200 and "등록한 추천의 판정 부적격" in page_text(done)
    assert _count(app) == before + 1
    again = center.post("/admin/nominate/confirm", checked, token=token.group(1))
    assert again.status_code == 409 and "이미 등록했습니다" in page_text(again)
    assert _count(app) == before + 1
    assert center.get("/admin/nominate/checked").headers["Location"] == "/admin/nominate"


def test_sending_the_same_form_twice_registers_once(app: Flask, center: Clerk) -> None:
    page = center.get("/admin/nominate")
    form_id = re.search(r'name="form_id" type="hidden" value="([^"]+)"', page.get_data(as_text=True))
    assert form_id
    fields = {"program": PROGRAM, "rrn": ALL_RRN["윤지민"], "name": "윤지민", "form_id": form_id.group(1)}
    before = _count(app)
    first, second = center.post("/admin/nominate", page, **fields), center.post("/admin/nominate", page, **fields)
    assert "적격" in page_text(first) and "적격" in page_text(second)
    assert _count(app) == before + 1


def test_a_replacement_names_what_it_replaces_and_only_once(
    app: Flask, world: World, center: Clerk, welfare: Clerk
) -> None:
    death(app, world, "김순자")
    old = _nomination_of(app, "김순자")
    form = center.get(f"/admin/nominate?replaces={old}")
    text = page_text(form)
    assert f"추천 #{old}을(를) 대신할 대상자를 추천합니다." in text and "사망자로 등록된 주민입니다" in text
    assert f'name="replaces" type="hidden" value="{old}"' in form.get_data(as_text=True)
    assert welfare.get(f"/admin/nominate?replaces={old}").status_code == 404  # another institution's
    done = center.nominate("박영수", replaces=str(old))
    assert "등록한 추천의 판정 적격" in page_text(done)
    twice = center.nominate("윤지민", replaces=str(old))
    assert twice.status_code == 409 and "이미 추천" in page_text(twice) and "대체되었습니다" in page_text(twice)


def _nomination_of(app: Flask, name: str) -> int:
    with get_db(app).session() as session:
        return int(session.scalar(select(Nomination.id).where(Nomination.nominee_name == name).order_by(Nomination.id)))


def test_a_closed_program_is_not_offered_and_refuses(app: Flask, center: Clerk, world: World) -> None:
    closed = app.test_client().post(
        f"/api/v1/programs/{PROGRAM}/status",
        json={"status": "closed"},
        headers={"Authorization": f"Bearer {world.desk.tokens['admin']}"},
    )
    assert closed.status_code == 200, closed.get_json()
    page = center.get("/admin/nominate")
    assert "kimchi-2026" not in page.get_data(as_text=True).split('name="program"')[1].split("</select>")[0]
    refused = center.nominate("윤지민")
    assert refused.status_code == 422 and "접수 중인 사업을 고르세요." in page_text(refused)


# --------------------------------------------------------------------------- a file of nominees


def _upload(clerk: Clerk, data: bytes, filename: str = "추천명단.csv", program: str = PROGRAM) -> TestResponse:
    page = clerk.get("/admin/nominate/upload")
    body = {"csrf_token": csrf_token(page), "program": program, "file": (io.BytesIO(data), filename)}
    return clerk._seen(clerk.client.post("/admin/nominate/upload", data=body, content_type="multipart/form-data"))


def _kept_files(app: Flask) -> list[Path]:
    folder = Path(app.instance_path) / "uploads"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def test_a_file_is_previewed_row_by_row_then_registered_in_one_step(app: Flask, center: Clerk) -> None:
    before = _count(app)
    sent = _upload(center, bulk_csv())
    assert sent.status_code == 303 and sent.headers["Location"] == "/admin/nominate/upload/preview"
    preview = center.get("/admin/nominate/upload/preview")
    html, text = preview.get_data(as_text=True), page_text(preview)
    assert _count(app) == before  # nothing registered yet
    assert re.findall(r'data-count="(\w+)">([^<]+)<', html) == [
        ("rows", "18명"), ("eligible", "15"), ("review", "1"), ("ineligible", "2"), ("problems", "2"),
    ]  # fmt: skip
    assert "6번째 줄 주민등록번호 생년월일이 올바른 날짜가 아닙니다" in text
    assert "13번째 줄 성명 성명이 비어 있습니다" in text
    assert "박영수 430102-1****** 박영수 님 추천 (동 복지팀) 검토 필요 같은 세대의 다른 세대원이 이미" in text
    assert "최말순 400203-2****** 최말순 님 추천 (동 복지팀) 부적격 사망자로 등록된 주민입니다" in text
    token = re.search(r'name="token" value="([^"]+)"', html)
    assert token and len(_kept_files(app)) == 1
    done = center.post("/admin/nominate/upload/confirm", preview, token=token.group(1))
    assert done.status_code == 302 and done.headers["Location"] == "/admin/nominations?program=kimchi-2026"
    assert _count(app) == before + 18
    listed = center.get(done.headers["Location"])
    assert "18명을 추천 등록했습니다." in page_text(listed) and "21건" in page_text(listed)
    assert not _kept_files(app)  # the kept rows are gone once registered
    again = center.post("/admin/nominate/upload/confirm", preview, token=token.group(1))
    assert again.status_code == 302 and _count(app) == before + 18
    assert "이미 등록했습니다" in page_text(center.get(again.headers["Location"]))
    with get_db(app).session() as session:
        names = set(session.scalars(select(Nomination.nominee_name).where(Nomination.id > 3)))
    assert names == set(BULK_GOOD)


def test_a_refused_registration_stores_nothing_and_may_be_confirmed_again(
    app: Flask, world: World, center: Clerk
) -> None:
    before = _count(app)
    _upload(center, bulk_csv())
    preview = center.get("/admin/nominate/upload/preview")
    token = re.search(r'name="token" value="([^"]+)"', preview.get_data(as_text=True))
    assert token
    admin = {"Authorization": f"Bearer {world.desk.tokens['admin']}"}
    client = app.test_client()
    assert (
        client.post(f"/api/v1/programs/{PROGRAM}/status", json={"status": "closed"}, headers=admin).status_code == 200
    )
    refused = center.post("/admin/nominate/upload/confirm", preview, token=token.group(1))
    assert "아무것도 등록하지 않았습니다: 마감된 사업입니다" in page_text(center.get(refused.headers["Location"]))
    assert _count(app) == before and len(_kept_files(app)) == 1
    assert client.post(f"/api/v1/programs/{PROGRAM}/status", json={"status": "open"}, headers=admin).status_code == 200
    center.post("/admin/nominate/upload/confirm", preview, token=token.group(1))
    assert _count(app) == before + 18


@SQLITE_ONLY
def test_the_kept_file_holds_no_number_or_name_in_the_clear(app: Flask, center: Clerk) -> None:
    _upload(center, bulk_csv())
    (kept,) = _kept_files(app)
    raw = kept.read_bytes()
    for name, number in ALL_RRN.items():
        assert number.encode() not in raw and number.replace("-", "").encode() not in raw
        assert name.encode() not in raw
    assert oct(kept.stat().st_mode & 0o777) == "0o600"
    cancel = center.get("/admin/nominate/upload/preview")
    token = re.search(r'name="token" value="([^"]+)"', cancel.get_data(as_text=True))
    assert token
    done = center.post("/admin/nominate/upload/cancel", cancel, token=token.group(1))
    assert done.headers["Location"] == "/admin/nominate/upload" and not _kept_files(app)
    assert "아무것도 등록하지 않았습니다" in page_text(center.get("/admin/nominate/upload"))


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"\xef\xbb\xbfnumber,name\r\n900101-1234567,x\r\n", "a.csv", "머리글에 rrn 열이 없습니다"),
        (b"rrn,name\r\n", "a.csv", "머리글 아래에 대상자가 없습니다"),
        (b"\xd0\xcf\x11\xe0 old excel", "a.xls", "CSV 또는 XLSX 파일만 올릴 수 있습니다"),
        (b"PK\x03\x04 not really a zip", "a.xlsx", "XLSX 파일을 읽을 수 없습니다"),
    ],
    ids=["no-rrn-column", "no-rows", "xls", "broken-xlsx"],
)
def test_a_file_unreadable_as_a_whole_is_refused(
    app: Flask, center: Clerk, data: bytes, filename: str, message: str
) -> None:
    answer = _upload(center, data, filename)
    assert answer.status_code == 422 and message in page_text(answer)
    assert not _kept_files(app)


@SQLITE_ONLY
def test_an_xlsx_with_korean_headers_and_a_number_excel_shortened(app: Flask, center: Clerk) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["주민등록번호", "성명", "비고", "연락처"])
    sheet.append([int(ALL_RRN["윤지민"].replace("-", "")), "윤지민", "왕십리2동 청년 1인 가구", "010-0000-0000"])
    buffer = io.BytesIO()
    book.save(buffer)
    assert _upload(center, buffer.getvalue(), "명단.xlsx").status_code == 303
    text = page_text(center.get("/admin/nominate/upload/preview"))
    assert "윤지민 010203-4****** 왕십리2동 청년 1인 가구 적격" in text
    assert "읽지 않은 열: 연락처" in text


# --------------------------------------------------------------------------- my nominations, export, detail


def test_my_nominations_are_my_institutions_and_filter(app: Flask, center: Clerk, welfare: Clerk) -> None:
    text = page_text(center.get("/admin/nominations"))
    assert "3건" in text and all(name in text for name in ("김순자", "오복동", "이철수"))
    assert "450312-2******" in text
    assert "0건" in page_text(welfare.get("/admin/nominations"))
    welfare.nominate("윤지민")
    mine = page_text(welfare.get("/admin/nominations"))
    assert "1건" in mine and "윤지민" in mine and "김순자" not in mine
    assert "윤지민" not in page_text(center.get("/admin/nominations"))
    other = _nomination_of(app, "김순자")
    assert welfare.get(f"/admin/nominations/{other}").status_code == 404
    only = page_text(center.get("/admin/nominations?outcome=ineligible"))
    assert "2건" in only and "김순자" not in only
    assert "3건" in page_text(
        center.get(f"/admin/nominations?program={PROGRAM}&date_from=2026-11-25&date_to=2026-11-25")
    )
    assert "0건" in page_text(center.get("/admin/nominations?date_from=2026-11-26"))
    bad = page_text(center.get("/admin/nominations?date_from=2026-13-01"))
    assert "날짜를 YYYY-MM-DD 형식으로 입력하세요." in bad and "3건" in bad
    listed = [e for e in _audit(app, "nomination.list") if e.actor == "user:center"]
    assert {e.subject_masked for e in listed} >= {"450312-2******", "381111-1******", "900101-1******"}


def test_a_download_needs_a_reason_which_is_recorded(app: Flask, center: Clerk) -> None:
    page = center.get("/admin/nominations")
    refused = center.post("/admin/nominations/export?outcome=ineligible", page, reason=" ", format="csv")
    assert refused.status_code == 422 and "내려받는 사유를 적어 주세요" in page_text(refused)
    assert not _audit(app, "nomination.export")
    csv_file = center.post(
        "/admin/nominations/export?outcome=ineligible", page, reason="동 복지협의체 회의 자료", format="csv"
    )
    assert csv_file.mimetype == "text/csv" and "attachment" in csv_file.headers["Content-Disposition"]
    lines = csv_file.get_data(as_text=True).lstrip("\ufeff").strip().splitlines()
    assert lines[0].startswith("추천 번호 (id),사업 (program)") and len(lines) == 3
    assert "381111-1******" in lines[1] + lines[2]
    (entry, *_rest) = _audit(app, "nomination.export")
    assert entry.detail["reason"] == "동 복지협의체 회의 자료" and entry.detail["rows"] == 2
    xlsx = center.post("/admin/nominations/export", page, reason="연말 보고", format="xlsx")
    assert xlsx.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_the_detail_shows_the_story_replays_and_replacement(app: Flask, world: World, center: Clerk) -> None:
    old = _nomination_of(app, "김순자")
    text = page_text(center.get(f"/admin/nominations/{old}"))
    assert "지금의 판정 적격" in text and "재현됨 (replayed: identical)" in text and "대체 추천" not in text
    death(app, world, "김순자")
    page = center.get(f"/admin/nominations/{old}")
    text = page_text(page)
    assert "지금의 판정 부적격" in text and "사망자로 등록된 주민입니다" in text and "주민 상태 사망" in text
    assert text.count("재현됨 (replayed: identical)") == 2 and "모두 재현됨" in text
    assert f'href="/admin/nominate?replaces={old}"' in page.get_data(as_text=True)
    center.nominate("박영수", replaces=str(old))
    new = _nomination_of(app, "박영수")
    chain = center.get(f"/admin/nominations/{old}").get_data(as_text=True)
    assert re.search(
        rf'data-nomination="{old}"[^>]*>\s*<strong>#{old}</strong>', chain.replace(' aria-current="true"', "")
    )
    assert f'href="/admin/nominations/{new}">#{new}</a>' in chain
    assert f'href="/admin/nominate?replaces={old}"' not in chain  # replaced once, no more
    assert f"#{old} 대체" in page_text(center.get("/admin/nominations"))


# --------------------------------------------------------------------------- inbox and program browser


def test_the_inbox_is_the_institutions_own_unread_first(
    app: Flask, world: World, center: Clerk, welfare: Clerk
) -> None:
    death(app, world, "김순자")
    center.nominate("박영수")
    death(app, world, "박영수", on="2026-11-24")
    inbox = center.get("/admin/inbox")
    ids = [int(i) for i in re.findall(r'data-notification="(\d+)"', inbox.get_data(as_text=True))]
    assert len(ids) == 2 and "읽지 않음 2" in page_text(inbox)
    newer = max(ids)
    opened = center.post(f"/admin/inbox/{newer}/open", inbox, go="nomination")
    assert opened.headers["Location"] == f"/admin/nominations/{_nomination_of(app, '박영수')}"
    inbox = center.get("/admin/inbox")
    assert [int(i) for i in re.findall(r'data-notification="(\d+)"', inbox.get_data(as_text=True))] == [min(ids), newer]
    assert "읽지 않음 1" in page_text(inbox)
    assert re.search(r'알림<span class="krds-badge bg-danger admin-nav-count">1', inbox.get_data(as_text=True))
    assert "사망자로 등록된 주민입니다" in page_text(inbox) and "450312-2******" in page_text(inbox)
    assert "알림이 없습니다." in page_text(welfare.get("/admin/inbox"))
    assert welfare.post(f"/admin/inbox/{min(ids)}/open", welfare.get("/admin/inbox"), go="replace").status_code == 404
    replace = center.post(f"/admin/inbox/{min(ids)}/open", inbox, go="replace")
    assert replace.headers["Location"] == f"/admin/nominate?replaces={_nomination_of(app, '김순자')}"
    assert "읽지 않음 0" in page_text(center.get("/admin/inbox"))


@SQLITE_ONLY
def test_the_program_browser_says_what_the_rules_check(center: Clerk) -> None:
    listing = page_text(center.get("/admin/browse"))
    assert "2026 김장김치 나눔" in listing and "2026-11-01 ~ 2026-12-31" in listing
    assert "김장김치" in listing and "어르신복지과" in listing and "100명 / 100" in listing
    page = center.get(f"/admin/browse/{PROGRAM}")
    text = page_text(page)
    assert "부적격 사망자로 등록된 주민입니다" in text
    assert "부적격 최근 365일 동안 세대가 같은 품목을 …회 받아 세대당 한도(1회)에 이르렀습니다" in text
    assert "세대당 수혜 한도: 1 회" in text and "검토 필요 입력한 성명이 주민등록상 성명과 다릅니다" in text
    assert f'href="/admin/nominate?program={PROGRAM}"' in page.get_data(as_text=True)
    menu = page.get_data(as_text=True).split('class="admin-nav"')[1].split("</nav>")[0]
    assert [m for m in re.findall(r">([^<>]+)<", menu) if m.strip()] == [
        "사업 목록",
        "추천하기",
        "추천 내역",
        "알림",
        "사업 안내",
    ]


@SQLITE_ONLY
def test_a_file_above_the_request_limit_is_refused_on_the_form(app: Flask, center: Clerk) -> None:
    token = csrf_token(center.get("/admin/nominate/upload"))
    parts = [("csrf_token", None, token.encode()), ("program", None, PROGRAM.encode()),
             ("file", "big.csv", b"rrn,name\r\n" + b"0" * (1024 * 1024))]  # fmt: skip
    body = b"".join(
        b'--cut\r\nContent-Disposition: form-data; name="%s"%s\r\n\r\n%s\r\n'
        % (name.encode(), f'; filename="{filename}"'.encode() if filename else b"", value)
        for name, filename, value in parts
    )  # built by hand: the test client would spool a body this large to a file it never closes
    answer = center._seen(
        center.client.post(
            "/admin/nominate/upload", data=body + b"--cut--\r\n", content_type="multipart/form-data; boundary=cut"
        )
    )
    assert answer.status_code == 413 and "파일이 너무 큽니다. 1MB까지 올릴 수 있습니다." in page_text(answer)
    assert 'name="file"' in answer.get_data(as_text=True) and not _kept_files(app)
