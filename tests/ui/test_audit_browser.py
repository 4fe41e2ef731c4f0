"""The auditor's desk in a real browser (Debian's Chromium through Playwright, the fixtures of
tests/ui/test_browser.py: every request on 127.0.0.1, no missing asset, no CSP violation):
the menu leads an auditor to last month's review, the flagged rows say why (a public holiday
counts as out of hours), the review is kept and its page shows the digest, a flagged actor's
entries open in the log search, and the export asks for a reason before it downloads.
The review's screenshot (artifacts/screenshots/...-03-review.png) is the README's docs/screenshots/audit.png.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from flask import Flask
from playwright.sync_api import expect  # noqa: I001 - imported after test_browser's skip

from tests.ui import test_browser as policy_desk  # skips this module too when Chromium is missing
from tests.ui.test_audit_views import _reads
from tests.ui.test_browser import Officer

backend, browser, officer = policy_desk.backend, policy_desk.browser, policy_desk.officer
pytestmark = pytest.mark.usefixtures("desk")


def test_an_auditor_reviews_last_month_keeps_it_and_exports_with_a_reason(officer: Officer, app: Flask) -> None:
    _reads(app, "2026-10-14T10:00:00+09:00", "user:haengdang-kim", range(0, 5))
    _reads(app, "2026-10-14T11:00:00+09:00", "user:eungbong-lee", range(5, 9), institution="eungbong-center")
    _reads(app, "2026-10-15T11:00:00+09:00", "user:eungbong-park", range(9, 15), institution="eungbong-center")
    _reads(app, "2026-10-16T14:00:00+09:00", "user:church-choi", range(100, 190), institution="hope-church")
    _reads(app, "2026-10-05T10:30:00+09:00", "user:haengdang-jung", range(0, 2))  # 개천절 대체 휴일
    _reads(app, "2026-10-21T22:10:00+09:00", "user:haengdang-jung", range(2, 3))  # a Wednesday night
    page = officer.page
    officer.login("auditor")
    page.get_by_role("navigation", name="주 메뉴").get_by_role("link", name="접속기록 점검").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("2026-10")
    expect(page.get_by_label("점검할 달")).to_have_value("2026-10")
    volume = page.locator('tr[data-flag="volume"]')
    expect(volume).to_contain_text("user:church-choi")
    expect(volume).to_contain_text("중앙값")
    late = page.locator('tr[data-flag="out_of_hours"]')
    expect(late).to_contain_text("user:haengdang-jung")
    expect(late).to_contain_text("공휴일·구 휴무일을 뺀 평일 08:00–20:00) 외 개인정보 접근 3건")
    expect(page.locator(".audit-rules")).to_contain_text("2026-10-05 개천절 대체 휴일")
    expect(page.locator('tr[data-actor="user:church-choi"] [data-count="people"]')).to_have_text("90")
    officer.snap("review")  # docs/screenshots/audit.png

    page.get_by_role("button", name="이 점검 보고서 보관").click()
    expect(page.get_by_role("status").first).to_contain_text("2026-10 점검 보고서를 보관했습니다")
    expect(page.get_by_role("heading", level=1)).to_contain_text("보관된 점검 보고서")
    expect(page.locator("[data-sha256]")).to_have_text(re.compile("^[0-9a-f]{64}$"))
    officer.snap("kept")

    page.goto(officer.base + "/admin/audit?month=2026-13")
    expect(page.get_by_role("alert").first).to_contain_text("월은 YYYY-MM 형식이어야 합니다")
    officer.snap("bad-month")

    page.goto(officer.base + "/admin/audit")
    page.locator('tr[data-flag="volume"]').get_by_role("link", name=re.compile("^기록 보기")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("90건")
    expect(page.get_by_label("행위자")).to_have_value("user:church-choi")
    expect(page.locator("tr[data-entry]").first).to_contain_text("450312-2******")
    officer.snap("log")
    page.get_by_role("button", name="내려받기", exact=True).click()
    expect(page.get_by_role("alert").first).to_contain_text("사유가 필요합니다")
    officer.snap("export-without-reason")
    page.get_by_label("내려받는 사유").fill("2026년 10월 정기 점검: 접근량 과다 확인")
    with page.expect_download() as caught:
        page.get_by_role("button", name="내려받기", exact=True).click()
    download = caught.value
    assert download.suggested_filename.endswith(".csv")
    path = download.path()
    assert path is not None
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))
    assert len(rows) == 1 + 90 and {r[2] for r in rows[1:]} == {"user:church-choi"}
