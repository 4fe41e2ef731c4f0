"""The admin UI's views through Flask's test client: logins, guards, and every error path.

Fast (no browser), on SQLite and PostgreSQL like the rest of the database tests.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service import create_app
from tests.conftest import TEST_DATA_KEY
from tests.ui.conftest import PASSWORD, Desk, csrf_token, form_post, login, page_text

pytestmark = pytest.mark.usefixtures("desk")


def _api(client: FlaskClient, desk: Desk, method: str, path: str, body: object = None) -> dict[str, object]:
    response = client.open(path, method=method, json=body, headers={"Authorization": f"Bearer {desk.tokens['admin']}"})
    assert response.status_code < 300, response.get_json()
    return dict(response.get_json())


# --------------------------------------------------------------------------- logging in and out


def test_every_page_but_login_needs_a_login(client: FlaskClient) -> None:
    for path in ("/admin/", "/admin/programs", "/admin/programs/kimchi-2026", "/admin/programs/kimchi-2026/versions"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/admin/login?next=")
    assert client.get("/admin/login").status_code == 200
    with client.get("/admin/static/admin.css") as css:
        assert css.status_code == 200 and css.mimetype == "text/css"


def test_login_then_the_program_list(client: FlaskClient) -> None:
    response = login(client, "senior")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/programs"
    page = client.get("/admin/programs")
    text = page_text(page)
    assert "senior님, 환영합니다." in text
    assert "2026 김장김치 나눔" in text and "kimchi-2026 버전 1" in text
    # counts by outcome: one eligible, two ineligible; the quota of 100 is untouched
    assert "3건" in text and "적격 1" in text and "검토 필요 0" in text and "부적격 2" in text
    assert "남은 100" in text
    assert 'href="/admin/programs/kimchi-2026"' in page.get_data(as_text=True)


def test_login_goes_on_to_next_but_never_off_site(client: FlaskClient) -> None:
    token = csrf_token(client.get("/admin/login"))
    data = {"csrf_token": token, "username": "senior", "password": PASSWORD}
    response = client.post("/admin/login?next=/admin/programs/kimchi-2026/versions", data=data)
    assert response.headers["Location"] == "/admin/programs/kimchi-2026/versions"
    client.post("/admin/logout", data={"csrf_token": csrf_token(client.get("/admin/programs"))})
    for target in ("https://evil.example/", "//evil.example/admin/", "/api/v1/programs", "/\\evil.example"):
        token = csrf_token(client.get("/admin/login"))
        response = client.post("/admin/login", query_string={"next": target}, data={**data, "csrf_token": token})
        assert response.headers["Location"] == "/admin/programs", target
        client.post("/admin/logout", data={"csrf_token": csrf_token(client.get("/admin/programs"))})


def test_wrong_password_and_unknown_user_get_the_same_answer(client: FlaskClient) -> None:
    wrong = page_text(login(client, "senior", "not-the-password"))
    unknown = page_text(login(client, "nobody-here", "not-the-password"))
    message = "아이디 또는 비밀번호가 올바르지 않습니다."
    assert message in wrong and message in unknown
    assert client.get("/admin/programs").status_code == 302  # still logged out


def test_five_wrong_passwords_lock_the_account(client: FlaskClient) -> None:
    for attempt in range(1, 5):
        assert "올바르지 않습니다" in page_text(login(client, "locky", f"wrong-{attempt}"))
    fifth = page_text(login(client, "locky", "wrong-5"))
    assert "5회 연속 실패하여 계정이 잠겼습니다" in fifth and "15분" in fifth
    # even the right password is refused while the lock holds
    assert "계정이 잠겼습니다" in page_text(login(client, "locky"))
    assert client.get("/admin/programs").status_code == 302
    # other accounts are not affected
    assert login(client, "senior").status_code == 302


def test_unknown_usernames_lock_too(client: FlaskClient) -> None:
    """Five failures for a name nobody has say "locked", as they would for a real account."""
    for attempt in range(1, 5):
        assert "올바르지 않습니다" in page_text(login(client, "ghost", f"wrong-{attempt}"))
    assert "계정이 잠겼습니다" in page_text(login(client, "ghost", "wrong-5"))
    assert "계정이 잠겼습니다" in page_text(login(client, "ghost", "wrong-6"))


def test_logout_is_a_post_with_the_token(client: FlaskClient) -> None:
    login(client, "senior")
    page = client.get("/admin/programs")
    assert client.get("/admin/logout").status_code == 405  # a link cannot log anyone out
    refused = client.post("/admin/logout", data={})
    assert refused.status_code == 400 and "보안 토큰" in page_text(refused)
    assert client.get("/admin/programs").status_code == 200  # still logged in
    done = client.post("/admin/logout", data={"csrf_token": csrf_token(page)})
    assert done.status_code == 302 and done.headers["Location"] == "/admin/login"
    assert "로그아웃했습니다." in page_text(client.get("/admin/login"))
    assert client.get("/admin/programs").status_code == 302


def test_csrf_is_refused_without_the_token(client: FlaskClient, desk: Desk) -> None:
    no_token = client.post("/admin/login", data={"username": "senior", "password": PASSWORD})
    assert no_token.status_code == 400 and "보안 토큰이 없거나 만료되었습니다" in page_text(no_token)
    forged = client.post("/admin/login", data={"csrf_token": "forged", "username": "senior", "password": PASSWORD})
    assert forged.status_code == 400
    login(client, "senior")
    page = client.get(f"/admin/programs/{desk.program}")
    without = client.post(
        f"/admin/programs/{desk.program}/publish",
        data={"household_limit": "3", "lookback_days": "365", "reason": "토큰 없이", "expected_version": "1"},
    )
    assert without.status_code == 400
    assert form_post(client, f"/admin/programs/{desk.program}/simulate", page, household_limit=3, lookback_days=365)
    assert _api(client, desk, "GET", f"/api/v1/programs/{desk.program}")["ruleset"]["version"] == 1  # type: ignore[index]


def test_session_cookie_flags(client: FlaskClient, app: Flask, tmp_path: object) -> None:
    response = login(client, "senior")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # tests and development speak plain HTTP
    production = create_app(
        {
            "ENV": "production",
            "SECRET_KEY": "s" * 32,
            "DATA_KEY": TEST_DATA_KEY,
            "DATABASE_URL": app.config["DATABASE_URL"],
            "INSTANCE_PATH": str(tmp_path),
        }
    )
    assert production.config["SESSION_COOKIE_SECURE"] is True
    assert production.config["SESSION_COOKIE_HTTPONLY"] is True
    assert production.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_pages_allow_no_inline_script_and_no_foreign_origin(client: FlaskClient, desk: Desk) -> None:
    pages = [client.get("/admin/login")]
    login(client, "senior")
    paths = ("/admin/programs", f"/admin/programs/{desk.program}", f"/admin/programs/{desk.program}/versions")
    pages += [client.get(path) for path in paths]
    for path, response in zip(("/admin/login", *paths), pages, strict=True):
        assert response.status_code == 200, path
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert response.headers["Cache-Control"] == "no-store"
        html = response.get_data(as_text=True)
        ids = re.findall(r'\sid="([^"]+)"', html)
        assert len(ids) == len(set(ids)), f"duplicate ids on {path}: {sorted(i for i in ids if ids.count(i) > 1)}"
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), f"inline script on {path}"
        assert not re.search(r"\son[a-z]+\s*=", html), f"inline event handler on {path}"
        assert not re.search(r"\sstyle\s*=", html), f"inline style on {path}"
        assert not re.search(r"(src|href)=\"(https?:)?//", html), f"foreign resource on {path}"


# --------------------------------------------------------------------------- who may open what


def test_a_nominator_gets_no_threshold_page_nor_a_link_to_it(client: FlaskClient, desk: Desk) -> None:
    login(client, "center")
    listing = client.get("/admin/programs")
    assert listing.status_code == 200
    assert f'href="/admin/programs/{desk.program}"' not in listing.get_data(as_text=True)
    assert "기준값" not in page_text(listing).replace("기준값을", "")
    page = client.get(f"/admin/programs/{desk.program}")
    assert page.status_code == 403
    assert "권한이 없습니다" in page_text(page) and "이 사업을 관리하는 부서만" in page_text(page)
    assert 'name="household_limit"' not in page.get_data(as_text=True)
    token = csrf_token(listing)
    for action in ("simulate", "publish"):
        response = client.post(
            f"/admin/programs/{desk.program}/{action}",
            data={"csrf_token": token, "household_limit": "3", "lookback_days": "365", "reason": "권한 없음"},
        )
        assert response.status_code == 403, action


def test_a_department_opens_only_its_own_programs(client: FlaskClient, desk: Desk) -> None:
    login(client, "policy-dept")
    listing = client.get("/admin/programs")
    assert f'href="/admin/programs/{desk.program}"' not in listing.get_data(as_text=True)
    assert client.get(f"/admin/programs/{desk.program}").status_code == 403
    client.post("/admin/logout", data={"csrf_token": csrf_token(listing)})
    login(client, "policy")  # the coordinating department (admin) manages every program
    assert client.get(f"/admin/programs/{desk.program}").status_code == 200


def test_an_unknown_program_is_a_404_page(client: FlaskClient) -> None:
    login(client, "senior")
    for path in (
        "/admin/programs/no-such",
        "/admin/programs/no-such/versions",
        "/admin/programs/kimchi-2026/versions/9.yaml",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "찾을 수 없습니다" in page_text(response)
        assert response.mimetype == "text/html"
    assert client.get("/admin/no/such/page").status_code == 404


# --------------------------------------------------------------------------- the threshold form


def test_the_threshold_page_shows_each_parameter(client: FlaskClient, desk: Desk) -> None:
    login(client, "senior")
    page = client.get(f"/admin/programs/{desk.program}")
    html, text = page.get_data(as_text=True), page_text(page)
    assert re.search(r'<input[^>]*name="household_limit"[^>]*value="1"', html)
    assert re.search(r'<input[^>]*name="lookback_days"[^>]*value="365"', html)
    assert 'name="reason"' in html
    assert "세대당 수혜 한도 (household_limit)" in text and "수혜 이력 조회 기간 (lookback_days)" in text
    assert "허용 범위: 1–10 회 · 현재 값: 1 회" in text and "허용 범위: 1–1825 일" in text
    assert "적용 규칙: household_resource_limit" in text
    assert "모의 적용" in text and "게시" in text


def test_out_of_bounds_is_refused_next_to_the_field(client: FlaskClient, desk: Desk) -> None:
    login(client, "senior")
    page = client.get(f"/admin/programs/{desk.program}")
    for action in ("simulate", "publish"):
        response = form_post(
            client,
            f"/admin/programs/{desk.program}/{action}",
            page,
            household_limit=99,
            lookback_days=365,
            reason="범위 밖",
        )
        assert response.status_code == 422, action
        html = response.get_data(as_text=True)
        error = re.search(r'<div class="admin-hints" id="household_limit-error">(.*?)</div>', html, re.S)
        assert error and "1–10" in error.group(1), action
        assert re.search(
            r'<input[^>]*aria-invalid="true"[^>]*name="household_limit"|<input[^>]*name="household_limit"'
            r'[^>]*aria-invalid="true"',
            html,
        )
        assert re.search(r'<input[^>]*name="household_limit"[^>]*value="99"', html)  # the typed value stays
        assert "입력값을 확인하세요." in page_text(response)  # announced in the live region too
    assert _api(client, desk, "GET", f"/api/v1/programs/{desk.program}")["ruleset"]["version"] == 1  # type: ignore[index]


def test_a_value_that_is_no_number_is_refused_in_korean(client: FlaskClient, desk: Desk) -> None:
    login(client, "senior")
    page = client.get(f"/admin/programs/{desk.program}")
    response = form_post(
        client, f"/admin/programs/{desk.program}/simulate", page, household_limit="세 번", lookback_days=""
    )
    assert response.status_code == 422
    text = page_text(response)
    assert "정수를 입력하세요." in text and "값을 입력하세요." in text


def test_publishing_needs_a_reason(client: FlaskClient, desk: Desk) -> None:
    login(client, "senior")
    page = client.get(f"/admin/programs/{desk.program}")
    response = form_post(
        client, f"/admin/programs/{desk.program}/publish", page, household_limit=3, lookback_days=365, reason="   "
    )
    assert response.status_code == 422
    assert "게시하려면 변경 사유를 적어 주세요." in page_text(response)
    assert _api(client, desk, "GET", f"/api/v1/programs/{desk.program}")["ruleset"]["version"] == 1  # type: ignore[index]


def test_simulate_lists_what_would_change_and_stores_nothing(client: FlaskClient, desk: Desk) -> None:
    login(client, "senior")
    page = client.get(f"/admin/programs/{desk.program}")
    response = form_post(client, f"/admin/programs/{desk.program}/simulate", page, household_limit=2, lookback_days=365)
    assert response.status_code == 200
    html, text = response.get_data(as_text=True), page_text(response)
    assert "진행 중·확정된 추천 3건 가운데 1건의 판정이 바뀝니다" in text
    assert 'data-from="ineligible" data-to="eligible">1<' in html
    rows = re.findall(r'<tr data-nomination="(\d+)">', html)
    assert rows == [str(desk.nominations["이철수"])]
    assert "900101-1******" in text and "900101-1234567" not in html
    assert _api(client, desk, "GET", f"/api/v1/programs/{desk.program}")["ruleset"]["version"] == 1  # type: ignore[index]


def test_simulate_answers_htmx_with_the_same_page(client: FlaskClient, desk: Desk) -> None:
    """htmx picks #simulation-result (and #parameter-fields) out of the ordinary page."""
    login(client, "senior")
    page = client.get(f"/admin/programs/{desk.program}")
    data = {"csrf_token": csrf_token(page), "household_limit": "3", "lookback_days": "365", "expected_version": "1"}
    response = client.post(f"/admin/programs/{desk.program}/simulate", data=data, headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="simulation-result"' in html and 'id="parameter-fields"' in html
    assert sorted(re.findall(r'<tr data-nomination="(\d+)">', html)) == sorted(
        str(desk.nominations[n]) for n in ("오복동", "이철수")
    )


def test_publish_then_the_versions(client: FlaskClient, desk: Desk) -> None:
    login(client, "senior")
    page = client.get(f"/admin/programs/{desk.program}")
    response = form_post(
        client,
        f"/admin/programs/{desk.program}/publish",
        page,
        household_limit=3,
        lookback_days=365,
        reason="쌀 지원과 중복 허용 (복지정책과 협의)",
    )
    assert response.status_code == 302 and response.headers["Location"] == f"/admin/programs/{desk.program}"
    after = client.get(response.headers["Location"])
    assert "버전 2을(를) 게시했습니다." in page_text(after)
    assert re.search(r'<input[^>]*name="household_limit"[^>]*value="3"', after.get_data(as_text=True))
    versions = client.get(f"/admin/programs/{desk.program}/versions")
    html, text = versions.get_data(as_text=True), page_text(versions)
    assert re.findall(r'<tr data-version="(\d+)">', html) == ["2", "1"]
    assert "쌀 지원과 중복 허용 (복지정책과 협의)" in text and "user:senior" in text
    changed = re.search(r'<tr data-parameter="household_limit" class="is-changed">(.*?)</tr>', html, re.S)
    assert changed and re.findall(r">\s*(\d+) 회", changed.group(1)) == ["1", "3"]
    assert '<tr data-parameter="lookback_days">' in html  # unchanged rows are not marked
    download = client.get(f"/admin/programs/{desk.program}/versions/2.yaml")
    assert download.status_code == 200 and download.mimetype == "application/yaml"
    assert download.headers["Content-Disposition"] == "attachment; filename=kimchi-2026-v2.yaml"
    assert "household_limit" in download.get_data(as_text=True)


def test_choose_two_versions_to_compare(client: FlaskClient, desk: Desk) -> None:
    for value in (2, 3):
        _api(
            client,
            desk,
            "PUT",
            f"/api/v1/programs/{desk.program}/parameters",
            {"parameters": {"household_limit": value}, "reason": f"한도 {value}"},
        )
    login(client, "auditor")  # an auditor reads the history (and may not change anything)
    response = client.get(f"/admin/programs/{desk.program}/versions", query_string={"a": 1, "b": 3})
    html = response.get_data(as_text=True)
    changed = re.search(r'<tr data-parameter="household_limit" class="is-changed">(.*?)</tr>', html, re.S)
    assert changed and re.findall(r">\s*(\d+) 회", changed.group(1)) == ["1", "3"]
    bad = client.get(f"/admin/programs/{desk.program}/versions", query_string={"a": 1, "b": 99})
    assert bad.status_code == 200 and 'data-parameter="household_limit" class="is-changed"' in bad.get_data(
        as_text=True
    )
    assert client.get(f"/admin/programs/{desk.program}").status_code == 403


def test_a_stale_form_is_a_conflict_showing_the_new_values(client: FlaskClient, desk: Desk) -> None:
    login(client, "senior")
    page = client.get(f"/admin/programs/{desk.program}")  # shows version 1
    _api(
        client,
        desk,
        "PUT",
        f"/api/v1/programs/{desk.program}/parameters",
        {"parameters": {"household_limit": 4}, "reason": "다른 담당자"},
    )
    response = form_post(
        client, f"/admin/programs/{desk.program}/publish", page, household_limit=2, lookback_days=365, reason="내 변경"
    )
    assert response.status_code == 409
    text = page_text(response)
    assert "다른 사용자가 먼저 변경했습니다." in text and "버전 2" in text
    assert "세대당 수혜 한도: 4 회" in text
    html = response.get_data(as_text=True)
    assert re.search(r'name="expected_version" type="hidden" value="2"', html)
    assert re.search(r'<input[^>]*name="household_limit"[^>]*value="2"', html)  # the officer's value is kept
    assert _api(client, desk, "GET", f"/api/v1/programs/{desk.program}")["ruleset"]["version"] == 2  # type: ignore[index]


def test_publishing_the_same_values_publishes_nothing(client: FlaskClient, desk: Desk) -> None:
    login(client, "senior")
    page = client.get(f"/admin/programs/{desk.program}")
    response = form_post(
        client,
        f"/admin/programs/{desk.program}/publish",
        page,
        household_limit=1,
        lookback_days=365,
        reason="변경 없음",
    )
    assert response.status_code == 302
    assert "바뀐 값이 없어 새 버전을 게시하지 않았습니다." in page_text(client.get(response.headers["Location"]))
    assert _api(client, desk, "GET", f"/api/v1/programs/{desk.program}")["ruleset"]["version"] == 1  # type: ignore[index]


# --------------------------------------------------------------------------- languages


def test_english_on_request_and_remembered(client: FlaskClient, desk: Desk) -> None:
    assert "로그인" in page_text(client.get("/admin/login"))
    english = page_text(client.get("/admin/login?lang=en"))
    assert "Log in" in english and "Username" in english and "Password" in english
    assert "Log in" in page_text(client.get("/admin/login"))  # remembered for the session
    wrong = page_text(login(client, "senior", "wrong"))
    assert "The username or password is not correct." in wrong
    login(client, "senior")
    page = page_text(client.get(f"/admin/programs/{desk.program}"))
    assert "receipts per household (household_limit)" in page and "Allowed range: 1–10 times" in page
    assert "Simulate" in page and "Publish" in page
    korean = page_text(client.get("/admin/programs?lang=ko"))
    assert "사업 목록" in korean and "Programs" not in korean
