"""Bad admin-UI form input (/admin/): the form comes back with its documented status and the
message next to the field, and nothing is stored. Logins are made before any snapshot."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from service import accounts, security
from tests.api.conftest import RRN
from tests.badinput.conftest import World
from tests.ui.conftest import FAST_DUMMY, FAST_HASHER, PASSWORD, csrf_token, page_text

THRESHOLDS = "/admin/programs/kimchi-2026"


@pytest.fixture(scope="module")
def officer(world: World) -> Iterator[FlaskClient]:
    """The owning department's officer, logged in through the form (before any case runs)."""
    patch = pytest.MonkeyPatch()
    patch.setattr(security, "_hasher", FAST_HASHER)
    patch.setattr(accounts, "_dummy_hash", lambda: FAST_DUMMY)
    runner = world.app.test_cli_runner()
    for username, institution, role in (("senior", "senior-welfare", "department"),
                                        ("center", "haengdang1-center", "nominator")):  # fmt: skip
        result = runner.invoke(args=["create-user", username, "--institution", institution, "--role", role,
                                     "--password-stdin"], input=PASSWORD + "\n")  # fmt: skip
        assert result.exit_code == 0, result.output
    client = world.app.test_client()
    token = csrf_token(client.get("/admin/login"))
    logged = client.post("/admin/login", data={"csrf_token": token, "username": "senior", "password": PASSWORD})
    assert logged.status_code == 302, logged.get_data(as_text=True)[:300]
    assert client.get(THRESHOLDS).status_code == 200  # every first page view is behind us
    yield client
    patch.undo()


def _post(client: FlaskClient, page: str, action: str, fields: dict[str, Any], csrf: bool = True) -> TestResponse:
    data = {k: str(v) for k, v in fields.items()}
    if csrf:
        answer = client.get(page)
        data["csrf_token"] = csrf_token(answer)
        version = re.search(r'name="expected_version" type="hidden" value="(\d+)"', answer.get_data(as_text=True))
        if version:
            data["expected_version"] = version.group(1)
    return client.post(action, data=data)


# (case id, fields, status, text the page must show)
LOGIN_CASES: list[tuple[str, dict[str, Any], int, str]] = [
    ("no username", {"username": "", "password": PASSWORD}, 200, "아이디를 입력하세요"),
    ("no password", {"username": "senior", "password": ""}, 200, "비밀번호를 입력하세요"),
    ("username of 101 characters", {"username": "a" * 101, "password": PASSWORD}, 200, "100"),
    ("password of 1,025 characters", {"username": "senior", "password": "p" * 1025}, 200, "1024"),
]  # fmt: skip


@pytest.mark.parametrize(("fields", "status", "text"), [c[1:] for c in LOGIN_CASES], ids=[c[0] for c in LOGIN_CASES])
def test_bad_login_form(world: World, fields: dict[str, Any], status: int, text: str) -> None:
    client = world.app.test_client()
    with world.unchanged():
        response = _post(client, "/admin/login", "/admin/login", fields)
        assert response.status_code == status
        assert text in page_text(response), page_text(response)[:2000]


def test_a_login_without_its_csrf_token(world: World) -> None:
    with world.unchanged():
        response = _post(world.app.test_client(), "/admin/login", "/admin/login",
                         {"username": "senior", "password": PASSWORD}, csrf=False)  # fmt: skip
        assert response.status_code == 400


THRESHOLD_CASES: list[tuple[str, str, dict[str, Any], int, str]] = [
    ("limit above its bounds", "publish", {"household_limit": 11, "lookback_days": 365, "reason": "상향"}, 422,
     "1–10"),
    ("limit of letters", "publish", {"household_limit": "two", "lookback_days": 365, "reason": "상향"}, 422,
     "정수를 입력하세요"),
    ("publish without a reason", "publish", {"household_limit": 2, "lookback_days": 365, "reason": ""}, 422,
     "변경 사유를 적어 주세요"),
    ("look-back of zero days", "simulate", {"household_limit": 1, "lookback_days": 0}, 422, "1–1825"),
    ("reason of 1,001 characters", "publish", {"household_limit": 2, "lookback_days": 365, "reason": "가" * 1001},
     422, "1000자 이내"),
    ("RRN in the reason", "publish", {"household_limit": 2, "lookback_days": 365, "reason": f"{RRN['김순자']} 민원"},
     422, "주민등록번호로 보이는 숫자가 있습니다"),
]  # fmt: skip


@pytest.mark.parametrize(("action", "fields", "status", "text"), [c[1:] for c in THRESHOLD_CASES],
                         ids=[c[0] for c in THRESHOLD_CASES])  # fmt: skip
def test_bad_threshold_form(world: World, officer: FlaskClient, action: str, fields: dict[str, Any], status: int,
                            text: str) -> None:  # fmt: skip
    with world.unchanged():
        response = _post(officer, THRESHOLDS, f"{THRESHOLDS}/{action}", fields)
        assert response.status_code == status, page_text(response)[:1500]
        assert text in page_text(response), page_text(response)[:3000]
        for number in RRN.values():
            assert number not in response.get_data(as_text=True)


def test_a_threshold_change_without_its_csrf_token(world: World, officer: FlaskClient) -> None:
    with world.unchanged():
        response = _post(officer, THRESHOLDS, f"{THRESHOLDS}/publish",
                         {"household_limit": 2, "lookback_days": 365, "reason": "x"}, csrf=False)  # fmt: skip
        assert response.status_code == 400


NOMINATE_CASES: list[tuple[str, dict[str, Any], int, str]] = [
    ("bad rrn", {"program": "kimchi-2026", "rrn": "450312-23", "name": "김순자"}, 422, "주민등록번호 형식이 아닙니다"),
    ("no name", {"program": "kimchi-2026", "rrn": RRN["이철수"], "name": ""}, 422, "성명을 입력하세요"),
    ("unknown program", {"program": "no-such", "rrn": RRN["이철수"], "name": "이철수"}, 422, "사업을 고르세요"),
    ("note of 1,001 characters",
     {"program": "kimchi-2026", "rrn": RRN["이철수"], "name": "이철수", "note": "가" * 1001}, 422,
     "1000자 이내로 적어 주세요"),
    ("RRN in the note",
     {"program": "kimchi-2026", "rrn": RRN["이철수"], "name": "이철수", "note": f"모친 {RRN['김순자']}"}, 422,
     "주민등록번호로 보이는 숫자가 있습니다"),
    ("RRN in the name", {"program": "kimchi-2026", "rrn": RRN["이철수"], "name": RRN["김순자"].replace("-", "")}, 422,
     "주민등록번호로 보이는 숫자가 있습니다"),
]  # fmt: skip


@pytest.fixture(scope="module")
def center(world: World, officer: FlaskClient) -> FlaskClient:
    """The community center's officer, logged in."""
    client = world.app.test_client()
    token = csrf_token(client.get("/admin/login"))
    logged = client.post("/admin/login", data={"csrf_token": token, "username": "center", "password": PASSWORD})
    assert logged.status_code == 302
    assert client.get("/admin/nominate").status_code == 200
    return client


@pytest.mark.parametrize(("fields", "status", "text"), [c[1:] for c in NOMINATE_CASES],
                         ids=[c[0] for c in NOMINATE_CASES])  # fmt: skip
def test_bad_nominate_form(world: World, center: FlaskClient, fields: dict[str, Any], status: int, text: str) -> None:
    with world.unchanged():
        page = center.get("/admin/nominate")
        form_id = re.search(r'name="form_id" type="hidden" value="([^"]*)"', page.get_data(as_text=True))
        data = {**fields, "csrf_token": csrf_token(page), **({"form_id": form_id.group(1)} if form_id else {})}
        response = center.post("/admin/nominate", data={k: str(v) for k, v in data.items()})
        assert response.status_code == status, page_text(response)[:1500]
        assert text in page_text(response), page_text(response)[:3000]
        for number in RRN.values():
            assert number not in response.get_data(as_text=True)
