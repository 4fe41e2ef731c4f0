"""The admin UI in a real browser: Debian's headless Chromium driven by Playwright.

One browser for the module, a fresh context (cookies) per test, the app on a 127.0.0.1 port.
Every request the browser makes is recorded and must stay on 127.0.0.1 (every asset is
vendored); no asset may be missing and no Content-Security-Policy violation may be reported.
Every page visited is saved to ``artifacts/screenshots/`` (git-ignored) for a person to look at.

Skipped, loudly and with the reason, when /usr/bin/chromium is absent (``make test`` installs it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.ui.conftest import CHROMIUM, PASSWORD, Desk

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",  # a container's small /dev/shm would crash the renderer
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
TABLET = {"width": 820, "height": 1180}

SKIP_REASON = (
    "!!! CHROMIUM MISSING: /usr/bin/chromium is not installed, so the admin-UI BROWSER TESTS ARE SKIPPED "
    "(make test installs it with apt-get: apt-get install chromium fonts-nanum)"
)
if not CHROMIUM.exists():
    pytest.skip(SKIP_REASON, allow_module_level=True)

from playwright.sync_api import Browser, Page, Request, Response, expect, sync_playwright  # noqa: E402


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


@dataclass
class Officer:
    """One browser context: its page, every request it made, and what went wrong on the way."""

    page: Page
    base: str
    name: str
    requests: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    shots: int = 0

    def goto(self, path: str, label: str) -> Response | None:
        response = self.page.goto(self.base + path)
        self.snap(label)
        return response

    def snap(self, label: str) -> Path:
        """Save the page as it is now (full height) as artifacts/screenshots/<test>-<n>-<label>.png."""
        self.page.wait_for_load_state("load")
        self.page.evaluate("document.fonts.ready.then(() => true)")
        self.shots += 1
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{self.name}-{self.shots:02d}-{label}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def login(self, username: str, password: str = PASSWORD, label: str = "login") -> None:
        self.goto("/admin/login", f"{label}-form")
        self.page.get_by_label(re.compile("^(아이디|Username)$")).fill(username)
        self.page.get_by_label(re.compile("^(비밀번호|Password)$")).fill(password)
        self.page.get_by_role("button", name=re.compile("^(로그인|Log in)$")).click()
        self.snap(f"{label}-answer")


@pytest.fixture
def officer(browser: Browser, live_server: str, desk: Desk, request: pytest.FixtureRequest) -> Iterator[Officer]:
    """A fresh browser context at 1280 px; afterwards, no request may have left 127.0.0.1."""
    context = browser.new_context(viewport=DESKTOP, locale="ko-KR", timezone_id="Asia/Seoul", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    name = re.sub(r"[^a-z0-9_]+", "-", request.node.name.removeprefix("test_").lower()).strip("-")
    who = Officer(page, live_server, name)

    def on_request(req: Request) -> None:
        who.requests.append(req.url)

    def on_response(resp: Response) -> None:
        if resp.status >= 400 and "/admin/static/" in resp.url:
            who.failures.append(f"{resp.status} {resp.url}")

    def on_console(message: Any) -> None:
        if message.type == "error":
            who.console_errors.append(f"{message.text} @ {message.location}")

    context.on("request", on_request)
    context.on("response", on_response)
    page.on("console", on_console)
    try:
        yield who
    finally:
        context.close()
    foreign = [
        url
        for url in who.requests
        if urlsplit(url).scheme not in ("data", "blob", "about") and urlsplit(url).hostname != "127.0.0.1"
    ]
    assert who.requests, "the browser made no request at all"
    assert not foreign, f"requests left 127.0.0.1: {foreign}"
    assert not who.failures, f"missing assets: {who.failures}"
    csp = [m for m in who.console_errors if "Content Security Policy" in m]
    assert not csp, f"Content-Security-Policy violations: {csp}"


def test_login_failure_then_success_then_logout(officer: Officer) -> None:
    page = officer.page
    officer.login("senior", "not-the-password", label="wrong")
    expect(page.get_by_role("alert")).to_contain_text("아이디 또는 비밀번호가 올바르지 않습니다.")
    expect(page).to_have_url(re.compile(r"/admin/login"))
    officer.login("senior")
    expect(page).to_have_url(re.compile(r"/admin/programs$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("복지사업")
    expect(page.get_by_role("status").first).to_contain_text("senior님, 환영합니다.")
    row = page.get_by_role("row", name=re.compile("2026 김장김치 나눔"))
    expect(row).to_contain_text("진행 중")
    expect(row).to_contain_text("2026-11-01 ~ 2026-12-31")
    expect(row).to_contain_text("부적격 2")
    expect(row).to_contain_text("버전 1")
    page.get_by_role("button", name="로그아웃").click()
    officer.snap("logged-out")
    expect(page).to_have_url(re.compile(r"/admin/login$"))
    expect(page.get_by_role("status").first).to_contain_text("로그아웃했습니다.")
    officer.goto("/admin/programs", "after-logout")
    expect(page).to_have_url(re.compile(r"/admin/login\?next="))


def test_five_wrong_passwords_lock_the_account(officer: Officer) -> None:
    for attempt in range(1, 6):
        officer.login("locky", f"wrong-{attempt}", label=f"attempt{attempt}")
    expect(officer.page.get_by_role("alert")).to_contain_text("5회 연속 실패하여 계정이 잠겼습니다")
    officer.login("locky", label="right-while-locked")
    expect(officer.page.get_by_role("alert")).to_contain_text("계정이 잠겼습니다")
    expect(officer.page).to_have_url(re.compile(r"/admin/login"))


def test_a_nominator_cannot_open_the_threshold_page(officer: Officer, desk: Desk) -> None:
    officer.login("center")
    page = officer.page
    expect(page.get_by_role("row", name=re.compile("2026 김장김치 나눔"))).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("^기준값"))).to_have_count(0)
    response = officer.goto(f"/admin/programs/{desk.program}", "forbidden")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1)).to_contain_text("권한이 없습니다")
    expect(page.locator("input[name=household_limit]")).to_have_count(0)


def test_a_department_tunes_simulates_publishes_and_compares(officer: Officer, desk: Desk) -> None:
    page = officer.page
    officer.login("senior")
    page.get_by_role("link", name=re.compile("^기준값")).click()
    officer.snap("thresholds")
    expect(page.get_by_role("heading", level=1)).to_contain_text("2026 김장김치 나눔")
    limit = page.get_by_label("세대당 수혜 한도 (household_limit)")
    expect(limit).to_have_value("1")
    expect(page.get_by_text("허용 범위: 1–10 회 · 현재 값: 1 회")).to_be_visible()

    limit.fill("11")
    page.get_by_role("button", name="모의 적용").click()
    expect(page.locator("#household_limit-error")).to_contain_text("1–10")
    expect(page.locator("#simulation-panel")).to_contain_text("입력값을 확인하세요.")
    officer.snap("out-of-bounds")

    limit = page.get_by_label("세대당 수혜 한도 (household_limit)")
    limit.fill("3")
    page.get_by_role("button", name="모의 적용").click()
    result = page.locator("#simulation-result")
    expect(result).to_contain_text("진행 중·확정된 추천 3건 가운데 2건의 판정이 바뀝니다")
    expect(page.locator("#household_limit-error")).to_have_count(0)
    officer.snap("simulated")
    expect(result.locator('[data-from="ineligible"][data-to="eligible"]')).to_have_text("2")
    listed = result.locator("tr[data-nomination]")
    expect(listed).to_have_count(2)
    ids = sorted(int(x) for x in listed.evaluate_all("rows => rows.map(r => r.dataset.nomination)"))
    assert ids == sorted(desk.nominations[n] for n in ("오복동", "이철수"))
    expect(result).to_contain_text("381111-1******")
    expect(result).to_contain_text("900101-1******")
    assert "381111-1777777" not in page.content()
    expect(page).to_have_url(re.compile(rf"/admin/programs/{desk.program}$"))  # htmx swapped in place

    page.get_by_label("변경 사유").fill("쌀 지원사업과 겹치는 세대 허용 (복지정책과 협의)")
    page.get_by_role("button", name="게시", exact=True).click()
    officer.snap("published")
    expect(page.get_by_role("status").first).to_contain_text("버전 2을(를) 게시했습니다.")
    expect(page.get_by_label("세대당 수혜 한도 (household_limit)")).to_have_value("3")

    page.get_by_role("link", name="버전 기록 보기").click()
    officer.snap("versions")
    versions = page.locator("tr[data-version]")
    expect(versions).to_have_count(2)
    expect(versions.nth(0)).to_contain_text("쌀 지원사업과 겹치는 세대 허용 (복지정책과 협의)")
    expect(versions.nth(0)).to_contain_text("user:senior")
    expect(versions.nth(1)).to_contain_text("사업 생성")
    changed = page.locator('tr[data-parameter="household_limit"]')
    expect(changed).to_have_class(re.compile("is-changed"))
    expect(changed.locator("td").nth(0)).to_contain_text("1 회")
    expect(changed.locator("td").nth(1)).to_contain_text("3 회")
    expect(page.locator('tr[data-parameter="lookback_days"]')).not_to_have_class(re.compile("is-changed"))

    page.get_by_label("기준 버전").select_option("2")
    page.get_by_label("비교 버전").select_option("2")
    page.get_by_role("button", name="비교", exact=True).click()
    officer.snap("compare-same")
    expect(page.locator("tr.is-changed")).to_have_count(0)

    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("내려받기 — 버전 2")).click()
    assert download.value.suggested_filename == f"{desk.program}-v2.yaml"

    page.set_viewport_size(TABLET)
    officer.goto(f"/admin/programs/{desk.program}", "tablet-thresholds")
    expect(page.get_by_role("button", name="게시", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="로그아웃")).to_be_visible()  # KRDS would hide the utility links
    expect(page.get_by_role("link", name="English")).to_be_visible()


def test_simulate_works_without_javascript(browser: Browser, live_server: str, desk: Desk) -> None:
    context = browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    try:
        who = Officer(context.new_page(), live_server, "no-javascript")
        context.on("request", lambda req: who.requests.append(req.url))
        who.login("senior")
        who.goto(f"/admin/programs/{desk.program}", "thresholds")
        who.page.get_by_label("세대당 수혜 한도 (household_limit)").fill("2")
        who.page.get_by_role("button", name="모의 적용").click()
        who.snap("simulated")
        expect(who.page).to_have_url(re.compile(rf"/admin/programs/{desk.program}/simulate$"))
        expect(who.page.locator("#simulation-result")).to_contain_text("3건 가운데 1건의 판정이 바뀝니다")
        assert all(urlsplit(url).hostname == "127.0.0.1" for url in who.requests), who.requests
    finally:
        context.close()


def test_the_english_switch(officer: Officer, desk: Desk) -> None:
    page = officer.page
    officer.login("senior")
    page.get_by_role("link", name="English").click()
    officer.snap("programs-en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welfare programs")
    page.get_by_role("link", name=re.compile("^Thresholds")).click()
    officer.snap("thresholds-en")
    expect(page.get_by_label("receipts per household (household_limit)")).to_have_value("1")
    expect(page.get_by_role("button", name="Simulate")).to_be_visible()
    expect(page.get_by_role("button", name="Publish", exact=True)).to_be_visible()
    page.get_by_role("link", name="한국어").click()
    expect(page.get_by_role("button", name="모의 적용")).to_be_visible()
