"""The nomination desk in a real browser (Debian's headless Chromium, as tests/ui/test_browser.py).

One browser for the module, a context per officer. Besides test_browser's checks (no request
leaves 127.0.0.1, no missing asset, no Content-Security-Policy violation), every response the
server sends to the browser (pages, htmx fragments, downloads) is captured on the server side,
and so is every page as the browser shows it when it is screenshotted: none may hold a whole
resident registration number. Screenshots go to ``artifacts/screenshots/`` (git-ignored).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask

from tests.ui.conftest import CHROMIUM, PASSWORD
from tests.ui.nominate_world import ALL_RRN, BAD_DATE, World, bulk_csv, death, whole_numbers_in, world

if not CHROMIUM.exists():
    pytest.skip(
        "!!! CHROMIUM MISSING: /usr/bin/chromium is not installed, so the nomination desk's BROWSER TESTS ARE "
        "SKIPPED (make test installs it: apt-get install chromium fonts-nanum)",
        allow_module_level=True,
    )

from playwright.sync_api import Browser, Locator, expect, sync_playwright  # noqa: E402

from tests.ui.test_browser import CHROMIUM_ARGS, DESKTOP, TABLET, Officer  # noqa: E402

__all__ = ["world"]  # the fixture, imported for these tests

PROGRAM = "kimchi-2026"


@pytest.fixture
def backend() -> str:
    """SQLite alone: the browser checks the pages; the view tests cover both databases."""
    return "sqlite"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class Recorder:
    """WSGI middleware that keeps every text answer the server gives (HTML, CSV, JSON)."""

    KEPT = ("text/html", "text/csv", "application/json", "application/problem+json")

    def __init__(self, app: Any) -> None:
        self.app = app
        self.answers: list[tuple[str, str]] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        kind: list[str] = []

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            kind.append(dict(headers).get("Content-Type", ""))
            return start_response(status, headers, exc_info)

        body = self.app(environ, start)
        if not kind or not kind[0].startswith(self.KEPT):
            return body
        try:
            data = b"".join(body)
        finally:
            getattr(body, "close", lambda: None)()
        self.answers.append((environ.get("PATH_INFO", ""), data.decode("utf-8", "replace")))
        return [data]


@dataclass
class Clerks:
    """The officers of one test (a browser context each) and every page they were shown."""

    browser: Browser
    base: str
    test: str
    recorder: Recorder
    officers: list[Officer] = field(default_factory=list)
    shown: list[tuple[str, str]] = field(default_factory=list)

    def officer(self, username: str, javascript: bool = True) -> Officer:
        """A fresh context logged in as ``username``; its screenshots are named after the test and user."""
        context = self.browser.new_context(
            viewport=DESKTOP, locale="ko-KR", timezone_id="Asia/Seoul", accept_downloads=True,
            java_script_enabled=javascript,
        )  # fmt: skip
        page = context.new_page()
        page.set_default_timeout(15_000)
        who = Shown(page, self.base, f"{self.test}-{username}", clerks=self)
        context.on("request", lambda req: who.requests.append(req.url))
        context.on("response", lambda r: who.failures.append(f"{r.status} {r.url}") if _missing(r) else None)
        page.on("console", lambda m: who.console_errors.append(m.text) if m.type == "error" else None)
        self.officers.append(who)
        who.login(username)
        return who


def _missing(response: Any) -> bool:
    return bool(response.status >= 400 and "/admin/static/" in response.url)


@dataclass
class Shown(Officer):
    """test_browser's Officer that also keeps the page as shown at every screenshot."""

    clerks: Clerks | None = None

    def login(self, username: str, password: str = PASSWORD, label: str = "login") -> None:
        """test_browser's login, waiting for the answer page before anything else happens."""
        self.goto("/admin/login", f"{label}-form")
        self.page.get_by_label("아이디").fill(username)
        self.page.get_by_label("비밀번호").fill(password)
        self.click(self.page.get_by_role("button", name="로그인"), f"{label}-answer")

    def click(self, target: Locator, label: str) -> None:
        """Click something that loads a page, wait for that page, then screenshot it (a bare click
        returns before the navigation starts, and on a busy machine the next page takes seconds)."""
        with self.page.expect_navigation(timeout=60_000):
            target.click()
        self.snap(label)

    def snap(self, label: str) -> Path:
        path = super().snap(label)
        assert self.clerks is not None
        self.clerks.shown.append((f"{self.name} {label}", self.page.content()))
        return path


@pytest.fixture
def clerks(browser: Browser, app: Flask, world: World, request: pytest.FixtureRequest) -> Iterator[Clerks]:
    """Officers on a live server whose every answer is recorded; afterwards every check holds."""
    recorder = Recorder(app.wsgi_app)
    app.wsgi_app = recorder  # type: ignore[method-assign]
    live = request.getfixturevalue("live_server")
    name = re.sub(r"[^a-z0-9_]+", "-", request.node.name.removeprefix("test_").lower()).strip("-")[:40]
    clerks = Clerks(browser, live, name, recorder)
    try:
        yield clerks
    finally:
        for who in clerks.officers:
            who.page.context.close()
        app.wsgi_app = recorder.app  # type: ignore[method-assign]
    assert recorder.answers and clerks.shown, "no page was recorded"
    leaks = [(where, found) for where, text in [*recorder.answers, *clerks.shown] if (found := whole_numbers_in(text))]
    assert not leaks, f"whole RRNs in pages: {leaks}"
    for who in clerks.officers:
        foreign = [u for u in who.requests if urlsplit(u).scheme not in ("data", "blob", "about")
                   and urlsplit(u).hostname != "127.0.0.1"]  # fmt: skip
        assert not foreign, f"requests left 127.0.0.1: {foreign}"
        assert not who.failures, f"missing assets: {who.failures}"
        csp = [m for m in who.console_errors if "Content Security Policy" in m]
        assert not csp, f"Content-Security-Policy violations: {csp}"


def _nominate(who: Shown, name: str, label: str, note: str = "", button: str = "추천 등록") -> None:
    """Fill the form for ``name`` and press ``button``; screenshot the answer as ``label``."""
    page = who.page
    page.get_by_label("주민등록번호").fill(ALL_RRN[name])
    page.get_by_label("성명").fill(name)
    if note:
        page.get_by_label("비고").fill(note)
    who.click(page.get_by_role("button", name=button, exact=True), label)


# --------------------------------------------------------------------------- the tests


def test_a_center_nominates_an_eligible_resident_and_a_welfare_center_the_same_one(clerks: Clerks) -> None:
    center = clerks.officer("center")
    page = center.page
    center.click(page.get_by_role("link", name="추천하기", exact=True), "form")
    expect(page.get_by_label("사업")).to_have_value(PROGRAM)
    page.get_by_label("주민등록번호").press_sequentially(ALL_RRN["윤지민"])
    expect(page.locator(".admin-rrn-live")).to_have_text("형식이 올바릅니다.")
    page.get_by_label("성명").fill("윤지민")
    page.get_by_label("비고").fill("왕십리2동 청년 1인 가구, 겨울 난방비 부담 (동 맞춤형복지팀 방문 상담)")
    center.click(page.get_by_role("button", name="추천 등록", exact=True), "registered")
    verdict = page.locator(".admin-verdict")
    expect(verdict).to_have_attribute("data-outcome", "eligible")
    expect(verdict.locator(".admin-verdict-outcome")).to_have_text("적격")
    expect(verdict).to_contain_text("윤지민 010203-4******")
    expect(verdict).to_contain_text("이 사업의 규칙 9개를 모두 확인했고 걸리는 것이 없습니다.")
    expect(page.get_by_label("주민등록번호")).to_have_value("")
    expect(page.get_by_label("성명")).to_have_value("")

    welfare = clerks.officer("welfare")
    welfare.goto(f"/admin/nominate?program={PROGRAM}", "form")
    _nominate(welfare, "윤지민", "duplicate", "복지관 사례관리 대상자")
    verdict = welfare.page.locator(".admin-verdict")
    expect(verdict).to_have_attribute("data-outcome", "ineligible")
    expect(verdict.locator(".admin-verdict-outcome")).to_have_text("부적격")
    reason = verdict.locator('[data-rule="duplicate_nomination"]')
    expect(reason).to_contain_text("행당1동주민센터에서 이미 이 사업에 추천한 대상자입니다")
    expect(reason).to_contain_text("최초 추천 기관명")


def test_an_out_of_district_resident_is_checked_then_registered_with_the_reason_in_korean(clerks: Clerks) -> None:
    center = clerks.officer("center")
    page = center.page
    center.goto("/admin/nominate", "form")
    rrn = page.get_by_label("주민등록번호")
    rrn.press_sequentially(BAD_DATE[:6])
    expect(page.locator(".admin-rrn-live")).to_have_text("앞 6자리가 올바른 생년월일이 아닙니다.")
    expect(rrn).to_have_attribute("aria-invalid", "true")
    center.snap("typing-a-bad-date")
    _nominate(center, "정대한", "checked", "관외 전입 예정 여부 확인 필요", button="미리 확인")
    expect(page).to_have_url(re.compile(r"/admin/nominate/checked$"))
    verdict = page.locator(".admin-verdict")
    expect(verdict.locator(".admin-verdict-outcome")).to_have_text("부적격")
    expect(verdict).to_contain_text("미리 확인 결과")
    reason = verdict.locator('[data-rule="out_of_district"]')
    expect(reason).to_contain_text("주소지가 관할 구역 밖입니다")
    expect(reason.locator("div", has_text="관내 거주 여부")).to_contain_text("아니오")
    expect(page.get_by_label("주민등록번호")).to_have_value("")
    expect(page.get_by_text("방금 입력한 번호: 550505-1******")).to_be_visible()
    center.click(page.get_by_role("link", name="English"), "checked-en")
    expect(page.locator(".admin-verdict-outcome")).to_have_text("Ineligible")
    expect(page.locator('[data-rule="out_of_district"]')).to_contain_text(
        "The resident's address is outside the district"
    )
    center.click(page.get_by_role("link", name="한국어"), "checked-ko")
    center.click(page.get_by_role("button", name="이 대상자로 추천 등록"), "registered")
    expect(page.locator(".admin-verdict")).to_contain_text("등록한 추천의 판정")
    expect(page.locator('[data-rule="out_of_district"]')).to_contain_text("주소지가 관할 구역 밖입니다")


def test_a_file_of_20_rows_with_2_bad_ones_registers_the_18(clerks: Clerks, tmp_path: Path) -> None:
    center = clerks.officer("center")
    page = center.page
    center.goto("/admin/nominate/upload", "upload-form")
    upload = tmp_path / "행당1동-김장김치-추천.csv"
    bulk_csv(upload)
    page.get_by_label("대상자 파일 (CSV 또는 XLSX)").set_input_files(str(upload))
    center.click(page.get_by_role("button", name="올리고 판정 미리 보기"), "preview")
    expect(page).to_have_url(re.compile(r"/admin/nominate/upload/preview$"))
    problems = page.locator(".admin-problem-rows tbody tr")
    expect(problems).to_have_count(2)
    expect(problems.nth(0)).to_contain_text("6번째 줄")
    expect(problems.nth(0)).to_contain_text("생년월일이 올바른 날짜가 아닙니다")
    expect(problems.nth(1)).to_contain_text("13번째 줄")
    expect(problems.nth(1)).to_contain_text("성명이 비어 있습니다")
    expect(page.locator(".admin-preview-rows tbody tr")).to_have_count(18)
    expect(page.locator('.admin-preview-rows tr[data-outcome="ineligible"]')).to_have_count(2)
    expect(page.locator('.admin-preview-rows tr[data-outcome="review"]')).to_contain_text("박영수")
    center.click(page.get_by_role("button", name="18명 추천 등록"), "registered")
    expect(page).to_have_url(re.compile(r"/admin/nominations\?program=kimchi-2026$"))
    expect(page.get_by_role("status").first).to_contain_text("18명을 추천 등록했습니다.")
    expect(page.locator(".admin-count")).to_have_text("21건")
    expect(page.locator('tr[data-nomination][data-outcome="ineligible"]')).to_have_count(4)


def test_a_death_turns_a_nominee_ineligible_and_the_inbox_leads_to_a_replacement(
    clerks: Clerks, app: Flask, world: World
) -> None:
    death(app, world, "김순자")
    center = clerks.officer("center")
    page = center.page
    inbox = page.get_by_role("link", name=re.compile("^알림"))
    expect(inbox).to_contain_text("1")
    center.click(inbox, "inbox")
    notice = page.locator(".admin-notice.is-unread")
    expect(notice).to_have_count(1)
    expect(notice).to_contain_text(
        "김순자(450312-2******) 님이 재심사에서 부적격으로 판정되었습니다: 사망자로 등록된 주민입니다"
    )
    center.click(notice.get_by_role("button", name="대체 추천"), "replacement-form")
    old = world.desk.nominations["김순자"]
    expect(page).to_have_url(re.compile(rf"/admin/nominate\?replaces={old}$"))
    expect(page.get_by_role("status").first).to_contain_text(f"추천 #{old}을(를) 대신할 대상자를 추천합니다.")
    expect(page.locator('input[name="replaces"]')).to_have_value(str(old))
    _nominate(center, "박영수", "replacement-registered", "김순자 님 세대의 배우자, 같은 주소에 거주")
    expect(page.locator(".admin-verdict-outcome")).to_have_text("적격")
    center.click(page.get_by_role("link", name="추천 상세 보기"), "replacement-detail")
    chain = page.locator(".admin-chain li")
    expect(chain).to_have_count(2)
    expect(chain.nth(0)).to_contain_text(f"#{old}")
    expect(chain.nth(0)).to_contain_text("부적격")
    expect(page.locator(".admin-history")).to_contain_text("재현됨 (replayed: identical)")
    center.click(page.get_by_role("link", name=f"#{old}", exact=True), "replaced-detail")
    expect(page.locator(".admin-history tbody tr")).to_have_count(2)
    expect(page.locator(".admin-history")).to_contain_text("사망자로 등록된 주민입니다")
    expect(page.get_by_role("link", name="대체 추천")).to_have_count(0)
    expect(page.get_by_role("link", name=re.compile("^알림"))).not_to_contain_text("1")


def test_staff_read_the_rules_then_find_and_download_their_nominations(clerks: Clerks) -> None:
    center = clerks.officer("center")
    page = center.page
    center.click(page.get_by_role("link", name="사업 안내"), "programs")
    card = page.locator(f'[data-program="{PROGRAM}"]')
    expect(card).to_contain_text("2026-11-01 ~ 2026-12-31")
    center.click(card.get_by_role("link", name=re.compile("^규칙 보기")), "rules")
    limit = page.locator('tr[data-rule="household_resource_limit"]')
    expect(limit).to_contain_text("세대당 한도(1회)에 이르렀습니다")
    expect(limit).to_contain_text("세대당 수혜 한도: 1 회")
    center.click(page.get_by_role("link", name="추천 내역"), "nominations")
    page.get_by_label("판정").select_option("ineligible")
    center.click(page.get_by_role("button", name="찾기"), "ineligible")
    expect(page.locator("tr[data-nomination]")).to_have_count(2)
    page.get_by_label("내려받는 사유").fill("동 복지협의체 12월 회의: 부적격 사유 검토")
    with page.expect_download() as download:
        page.get_by_role("button", name="내려받기", exact=True).click()
    body = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert download.value.suggested_filename == "nominations.csv"
    assert body.count("\n") == 3 and "381111-1******" in body and not whole_numbers_in(body)
    page.set_viewport_size(TABLET)
    center.goto("/admin/nominate", "tablet-form")
    expect(page.get_by_role("button", name="추천 등록", exact=True)).to_be_visible()


def test_the_desk_works_without_javascript(clerks: Clerks) -> None:
    clerk = clerks.officer("church", javascript=False)
    page = clerk.page
    clerk.goto("/admin/nominate", "form")
    _nominate(clerk, "강말녀", "checked", "교회 나눔 대상 어르신", button="미리 확인")
    expect(page.locator(".admin-verdict-outcome")).to_have_text("적격")
    clerk.click(page.get_by_role("button", name="이 대상자로 추천 등록"), "registered")
    expect(page.locator(".admin-verdict")).to_contain_text("추천 #")
    expect(page.locator(".admin-rrn-live")).to_have_count(0)  # nothing was added by script
