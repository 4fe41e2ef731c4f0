"""Admin-UI fixtures: a small district with officers of every kind, a program with nominations,
a test client that logs in through the form, and (for the browser tests) a live server.

The district is tests/api's (its residents, receipts and program), plus one kimchi receipt for
이철수, so that raising ``household_limit`` changes two verdicts: 이철수 (one receipt) at 2,
and 오복동 (two receipts) at 3. 김순자's only receipt is outside the look-back window.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.test import TestResponse

from service import accounts, security
from tests.api.conftest import PROGRAM, RECEIPTS, RESIDENTS, RRN
from tests.factories import RECEIPT_COLUMNS, import_counts, receipt, write_csv, write_district

CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "correct-horse-battery"
USERS = {
    # username: (institution, role)
    "senior": ("senior-welfare", "department"),  # owns kimchi-2026
    "policy": ("welfare-policy", "admin"),
    "policy-dept": ("welfare-policy", "department"),  # a department that does not own it
    "center": ("haengdang1-center", "nominator"),
    "auditor": ("welfare-policy", "auditor"),
    "locky": ("senior-welfare", "department"),  # for the lock-out tests
}
TOKENS = {"admin": ("welfare-policy", "admin"), "center": ("haengdang1-center", "nominator")}
EXTRA_RECEIPTS = [receipt(RRN["이철수"], "kimchi", "2026-06-01", "사랑의열매")]
NOMINEES = ("김순자", "오복동", "이철수")
"""Nominated by 행당1동주민센터, in this order: eligible, ineligible (2 receipts), ineligible (1)."""
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
FAST_DUMMY = FAST_HASHER.hash("seonbyeol-no-such-user")


@pytest.fixture(autouse=True)
def fast_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at its production cost takes a quarter of a second per hash here; the login rules
    under test do not depend on the cost, so these tests hash cheaply."""
    monkeypatch.setattr(security, "_hasher", FAST_HASHER)
    monkeypatch.setattr(accounts, "_dummy_hash", lambda: FAST_DUMMY)


def pytest_report_header(config: pytest.Config) -> list[str]:
    if CHROMIUM.exists():
        return [f"admin UI: browser tests on {CHROMIUM} (headless)"]
    return ["!" * 78, f"!!! {CHROMIUM} MISSING: the admin-UI BROWSER TESTS will be SKIPPED (make ui-deps)", "!" * 78]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not CHROMIUM.exists():
        terminalreporter.write_sep("!", f"admin-UI browser tests SKIPPED: {CHROMIUM} missing (make ui-deps)", red=True)


@dataclass
class Desk:
    """The loaded district: API tokens, the program's code and the nominations' ids by name."""

    tokens: dict[str, str]
    program: str
    nominations: dict[str, int]


def _cli(runner: FlaskCliRunner, *args: str, stdin: str | None = None) -> str:
    result = runner.invoke(args=list(args), input=stdin)
    assert result.exit_code == 0, result.output
    return str(result.output)


@pytest.fixture
def desk(app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> Desk:
    """The district, the officers' logins, kimchi-2026 and three nominations made through the API."""
    _cli(runner, "load-district", str(write_district(tmp_path / "d.yaml")))
    out = _cli(runner, "import-residents", str(write_csv(tmp_path / "r.csv", RESIDENTS)))
    assert import_counts(out)["inserted"] == len(RESIDENTS)
    receipts = RECEIPTS + EXTRA_RECEIPTS
    out = _cli(runner, "import-receipts", str(write_csv(tmp_path / "c.csv", receipts, RECEIPT_COLUMNS)))
    assert import_counts(out)["inserted"] == len(receipts)
    for username, (institution, role) in USERS.items():
        _cli(
            runner,
            "create-user",
            username,
            "--institution",
            institution,
            "--role",
            role,
            "--password-stdin",
            stdin=PASSWORD + "\n",
        )
    tokens = {}
    for key, (institution, role) in TOKENS.items():
        tokens[key] = (
            _cli(runner, "create-token", "--institution", institution, "--role", role).strip().splitlines()[-1]
        )
    api = app.test_client()
    created = api.post("/api/v1/programs", json=PROGRAM, headers={"Authorization": f"Bearer {tokens['admin']}"})
    assert created.status_code == 201, created.get_json()
    nominations = {}
    for name in NOMINEES:
        answer = api.post(
            f"/api/v1/programs/{PROGRAM['code']}/nominations",
            json={"nominee": {"rrn": RRN[name], "name": name}},
            headers={"Authorization": f"Bearer {tokens['center']}"},
        )
        assert answer.status_code == 201, answer.get_json()
        nominations[name] = int(answer.get_json()["id"])
    outcomes = {
        name: api.get(f"/api/v1/nominations/{i}", headers={"Authorization": f"Bearer {tokens['admin']}"}).get_json()[
            "verdict"
        ]["outcome"]
        for name, i in nominations.items()
    }
    assert outcomes == {"김순자": "eligible", "오복동": "ineligible", "이철수": "ineligible"}, outcomes
    return Desk(tokens, str(PROGRAM["code"]), nominations)


def csrf_token(response: TestResponse) -> str:
    """The CSRF token of the first form on a page."""
    match = CSRF.search(response.get_data(as_text=True))
    assert match, "no csrf_token on the page"
    return match.group(1) or match.group(2)


def login(client: FlaskClient, username: str, password: str = PASSWORD) -> TestResponse:
    """Log in through the form, as a browser would (GET for the token, then POST)."""
    token = csrf_token(client.get("/admin/login"))
    return client.post("/admin/login", data={"csrf_token": token, "username": username, "password": password})


def page_text(response: TestResponse) -> str:
    """The page's text without tags and with collapsed spaces (for "says X" checks)."""
    text = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return re.sub(r"\s+", " ", text)


def form_post(client: FlaskClient, path: str, page: TestResponse, **fields: Any) -> TestResponse:
    """POST a form with the page's CSRF token and its hidden expected_version."""
    data = {"csrf_token": csrf_token(page)}
    version = re.search(r'name="expected_version" type="hidden" value="(\d+)"', page.get_data(as_text=True))
    if version:
        data["expected_version"] = version.group(1)
    data.update({k: str(v) for k, v in fields.items()})
    return client.post(path, data=data)


class _QuietHandler(WSGIRequestHandler):
    """No access log line per asset: a failing test's output shows the app's own log instead."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app on a free 127.0.0.1 port in a background thread (same process: the frozen clock holds)."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="ui-live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
