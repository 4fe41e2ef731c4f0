"""The department desk in a real browser (Debian's Chromium through Playwright), as
tests/ui/test_browser.py drives the policy desk: the same fixtures (one browser for the module,
a fresh context per test, every request on 127.0.0.1, no missing asset, no CSP violation) and
a screenshot of every page visited in ``artifacts/screenshots/``.

- the progress monitor shows the replacement a death makes owed, and one click asks for it;
- the merged list re-screens in place (htmx) and confirms in bulk, an override with its note;
- the dong dashboard draws all 17 dongs of the Seongdong-gu demo district, and its XLSX
  download holds the numbers ``service.stats.statistics`` answers;
- the coordinating department registers a pool and allocates from it (over-allocation refused).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from playwright.sync_api import Page, expect  # noqa: I001 - imported after test_browser's skip
from sqlalchemy import select

from service import accounts, clock, stats
from service.db import get_session
from service.models import User
from tests.api.conftest import RRN
from tests.factories import import_counts, resident, write_csv
from tests.ui import test_browser as policy_desk  # skips this module too when Chromium is missing
from tests.ui.conftest import Desk
from tests.ui.test_browser import Officer

backend, browser, officer = policy_desk.backend, policy_desk.browser, policy_desk.officer
"""The policy desk's fixtures: SQLite, one Chromium for the module, a checked context per test."""
pytestmark = pytest.mark.usefixtures("desk")

DEMO_DISTRICT = Path(__file__).resolve().parents[2] / "service" / "demo" / "seongdong.yaml"
DEMO_NOMINEES = [
    # (rrn, name, household, dong): residents of other dongs, nominated by 행당1동주민센터; 강말례 and
    # 조판석 share a household, so the second is a review and the household a concentration
    ("410203-2000011", "강말례", "D1", "1120065000"), ("420304-1000012", "조판석", "D1", "1120065000"),
    ("430405-2000013", "윤복순", "D2", "1120065000"), ("440506-1000014", "장만복", "D3", "1120069000"),
    ("450607-2000015", "임순덕", "D4", "1120069000"), ("460708-1000016", "한기춘", "D5", "1120054000"),
    ("470809-2000017", "오영자", "D6", "1120072000"), ("480910-2000018", "서옥분", "D7", "1120064500"),
    ("491011-1000019", "신덕배", "D8", "1120064500"), ("501112-2000020", "권정희", "D9", "1120052000"),
]  # fmt: skip


def _api(app: Flask, token: str, method: str, path: str, body: Any = None) -> Any:
    answer = app.test_client().open(path, method=method, json=body, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code < 300, answer.get_json()
    return answer.get_json()


def _token(runner: FlaskCliRunner, institution: str, role: str) -> str:
    result = runner.invoke(args=["create-token", "--institution", institution, "--role", role])
    assert result.exit_code == 0, result.output
    return str(result.output.strip().splitlines()[-1])


def test_the_monitor_shows_the_replacement_a_death_makes_owed(
    officer: Officer, app: Flask, runner: FlaskCliRunner, desk: Desk
) -> None:
    system = _token(runner, "welfare-policy", "system")
    for institution, name in (("eungbong-center", "박영수"), ("seongdong-welfare", "윤지민")):  # two more institutions
        _api(app, _token(runner, institution, "nominator"), "POST", f"/api/v1/programs/{desk.program}/nominations",
             {"nominee": {"rrn": RRN[name], "name": name}})  # fmt: skip
    with clock.frozen("2026-11-20T09:30:00+09:00"):  # the registry reports the death five days ago
        event = _api(app, system, "POST", "/api/v1/registry/events",
                     {"type": "death", "rrn": RRN["김순자"], "date": "2026-11-20"})  # fmt: skip
    assert event["rescreened"][0]["turned_ineligible"] == 1
    page = officer.page
    officer.login("senior")
    page.get_by_role("navigation", name="주 메뉴").get_by_role("link", name="사업 운영").click()
    officer.snap("desk")
    row = page.get_by_role("row", name=re.compile("2026 김장김치 나눔"))
    expect(row).to_contain_text("부적격 3")
    expect(row).to_contain_text("5건")
    row.get_by_role("link", name=re.compile("^진행 현황")).click()
    officer.snap("progress")
    expect(page.get_by_role("heading", level=1)).to_contain_text("2026 김장김치 나눔")
    owed = page.locator(f'tr[data-nomination="{desk.nominations["김순자"]}"]')
    expect(owed).to_contain_text("김순자")
    expect(owed).to_contain_text("450312-2******")
    expect(owed).to_contain_text("5일")
    expect(owed).to_contain_text("2026-11-20 09:30")
    center = page.locator('tr[data-institution="haengdang1-center"]')
    expect(center.locator('[data-count="owed"]')).to_have_text("3건")
    assert "450312-2345678" not in page.content()

    page.get_by_role("button", name="재추천 요청 — 행당1동주민센터").click()
    officer.snap("reminded")
    expect(page.get_by_role("status").first).to_contain_text("재추천 요청 알림 3건을 보냈습니다.")
    inbox = _api(app, desk.tokens["center"], "GET", "/api/v1/notifications")["items"]
    assert [n["kind"] for n in inbox].count("replacement_requested") == 3

    page.get_by_role("button", name="추천 마감").click()
    officer.snap("closed")
    expect(page.get_by_role("status").first).to_contain_text("사업을 마감했습니다")
    expect(page.locator(".admin-heading")).to_contain_text("마감")
    page.get_by_role("button", name="다시 열기").click()
    expect(page.get_by_role("button", name="추천 마감")).to_be_visible()
    page.get_by_role("link", name="English").click()
    officer.snap("progress-en")
    expect(page.get_by_role("heading", name="Nominations by institution")).to_be_visible()
    expect(owed).to_contain_text("5 days")


def test_the_merged_list_rescreens_in_place_and_confirms_in_bulk(officer: Officer, app: Flask, desk: Desk) -> None:
    review = _api(app, desk.tokens["center"], "POST", f"/api/v1/programs/{desk.program}/nominations",
                  {"nominee": {"rrn": RRN["박영수"], "name": "박영수"}})  # fmt: skip
    assert review["verdict"]["outcome"] == "review"
    _api(app, desk.tokens["admin"], "PUT", f"/api/v1/programs/{desk.program}/parameters",
         {"parameters": {"household_limit": 3}, "reason": "다른 사업 수혜 허용"})  # fmt: skip
    page = officer.page
    officer.login("senior")
    officer.goto(f"/admin/programs/{desk.program}/candidates", "candidates")
    expect(page.locator("tr[data-nomination]")).to_have_count(4)
    flagged = page.locator(f'tr[data-nomination="{review["id"]}"]')
    expect(flagged).to_contain_text("세대원 추천 있음")
    expect(flagged).to_contain_text("household_already_nominated")

    page.get_by_role("button", name="재심사하기").click()
    result = page.locator("#rescreen-result")
    expect(result).to_contain_text("2건의 판정이 바뀌었고")
    expect(page.get_by_role("button", name="재심사하기")).to_be_enabled()  # htmx gives it back
    officer.snap("rescreened")
    expect(page).to_have_url(re.compile(rf"/admin/programs/{desk.program}/candidates$"))  # swapped in place
    expect(page.locator('tr[data-nomination][data-outcome="eligible"]')).to_have_count(3)

    _tick(page, f"추천 {desk.nominations['김순자']} 선택: 김순자")
    _tick(page, f"추천 {review['id']} 선택: 박영수")
    page.get_by_role("button", name="선택 확정").click()
    officer.snap("override-without-note")
    expect(page.locator("#note-error")).to_contain_text(f"#{review['id']}")
    expect(page.get_by_label(f"추천 {review['id']} 선택: 박영수")).to_be_checked()

    page.get_by_label("처리 사유").fill("같은 세대지만 따로 생계 (현장 확인)")
    page.get_by_role("button", name="선택 확정").click()
    officer.snap("confirmed")
    expect(page.get_by_role("status").first).to_contain_text("추천 2건을 확정했습니다.")
    expect(flagged).to_contain_text("사유: 같은 세대지만 따로 생계 (현장 확인)")
    expect(page.locator('[data-count="confirmed"]')).to_have_text("2")

    pick_all = page.get_by_role("button", name="이 페이지 모두 선택")
    pick_all.click()
    expect(page.locator("input[data-pick]:not(:checked)")).to_have_count(0)
    pick_all.click()
    expect(page.locator("input[data-pick]:checked")).to_have_count(0)


def _tick(page: Page, label: str) -> None:
    """Tick a KRDS checkbox as a person does: on its drawn box, the label (the input is hidden)."""
    page.locator("label", has_text=label).click()
    expect(page.get_by_label(label)).to_be_checked()


def _principal(app: Flask, username: str) -> Any:
    session = get_session()
    user = session.scalars(select(User).where(User.username == username)).one()
    return accounts.load_principal(session, user.id)


def test_the_dong_dashboard_draws_every_dong_and_its_xlsx_holds_the_numbers(
    officer: Officer, app: Flask, runner: FlaskCliRunner, desk: Desk, tmp_path: Path
) -> None:
    result = runner.invoke(args=["load-district", str(DEMO_DISTRICT)])
    assert result.exit_code == 0, result.output
    rows = [
        resident(rrn, name, household, "member" if name == "조판석" else "head", dong=dong)
        for rrn, name, household, dong in DEMO_NOMINEES
    ]
    result = runner.invoke(args=["import-residents", str(write_csv(tmp_path / "more.csv", rows))])
    assert result.exit_code == 0 and import_counts(result.output)["inserted"] == len(rows), result.output
    for rrn, name, _household, _dong in DEMO_NOMINEES:
        _api(app, desk.tokens["center"], "POST", f"/api/v1/programs/{desk.program}/nominations",
             {"nominee": {"rrn": rrn, "name": name}})  # fmt: skip

    page = officer.page
    officer.login("senior")
    page.get_by_role("navigation", name="주 메뉴").get_by_role("link", name="통계").click()
    officer.snap("dashboard-dong")
    chart = page.get_by_role("img", name="행정동별 추천")
    expect(chart).to_be_visible()
    expect(chart.locator(".chart-row")).to_have_count(17)
    expect(chart.locator(".chart-row").first).to_have_attribute("data-key", "1120065000")  # 성수1가1동, 3
    expect(page.locator("table.tbl tr[data-key]")).to_have_count(18)  # 17 dongs and the total
    expect(page.locator('tr[data-key="1120079000"] [data-metric="nominations"]')).to_have_text("0")  # 용답동

    with app.app_context():
        expected = stats.statistics(get_session(), "dong", _principal(app, "senior"))
    with page.expect_download() as download:
        page.get_by_role("link", name="XLSX 내려받기").click()
    assert download.value.suggested_filename == "stats-dong.xlsx"
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    sheet = openpyxl.load_workbook(saved).active
    assert sheet is not None
    header, *body = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert header[1:3] == ["행정동 (label)", "추천 (nominations)"] and len(body) == 17
    found = {row[0]: row[2:] for row in body}
    for row in expected["rows"]:
        assert found[row["key"]] == [row[m] for m in stats.METRICS], row
    assert sum(r[0] for r in found.values()) == expected["totals"]["nominations"] == 13
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV 내려받기").click()
    assert Path(download.value.path()).read_bytes().startswith("\ufeff행정동 코드 (dong)".encode())

    page.get_by_role("link", name="추천 기관").click()
    officer.snap("dashboard-institution")
    expect(page.get_by_role("img", name="추천 기관별 추천")).to_be_visible()
    page.get_by_role("link", name="세대 집중").click()
    page.get_by_label("내려받는 사유").fill("2026 김장 중복 수혜 점검")
    page.get_by_role("button", name="세대 보기").click()
    officer.snap("households")
    expect(page.get_by_role("table", name=re.compile("집중된 세대"))).to_contain_text("410203-2******")


def test_the_coordinating_department_registers_a_pool_and_allocates(officer: Officer, desk: Desk) -> None:
    page = officer.page
    officer.login("policy")
    page.get_by_role("navigation", name="주 메뉴").get_by_role("link", name="자원 풀").click()
    officer.snap("pools")
    page.get_by_label("풀 코드").fill("redcross-kimchi-2026")
    page.get_by_label("풀 이름").fill("적십자 김장김치 2026")
    page.get_by_label("후원처").select_option("red-cross")
    page.get_by_label("자원 분류").select_option("kimchi")
    page.get_by_label("수량").fill("500")
    page.get_by_role("button", name="등록").click()
    officer.snap("pool")
    expect(page.get_by_role("status").first).to_contain_text("적십자 김장김치 2026")
    expect(page.get_by_role("heading", level=1)).to_contain_text("적십자 김장김치 2026")

    page.get_by_label("배분 수량").fill("600")
    page.get_by_role("button", name="배분", exact=True).click()
    officer.snap("over-allocated")
    expect(page.locator("#quantity-error")).to_contain_text("500")
    expect(page.get_by_label("배분 수량")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("배분 수량").fill("300")
    page.get_by_role("button", name="배분", exact=True).click()
    officer.snap("allocated")
    allocation = page.locator(f'tr[data-program="{desk.program}"]')
    expect(allocation).to_contain_text("2026 김장김치 나눔")
    expect(allocation.locator('[data-count="quantity"]')).to_have_text("300")
    expect(page.locator('dd[data-count="unallocated"]')).to_have_text("200")
