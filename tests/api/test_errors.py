"""Every error is RFC 9457 problem+json; bad input is never a 500."""

from typing import Any

import pytest

from .conftest import RRN, Api


def _is_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("application/problem+json")
    data = response.get_json(force=True)
    assert data["status"] == status and data["title"] and data["detail"]
    return dict(data)


def test_400_malformed_json(api: Api, program: dict[str, Any]) -> None:
    _is_problem(api.call("POST", "/api/v1/evaluate", "admin", raw=b'{"program": "kimchi-2026",'), 400)


def test_401_without_or_with_bad_token(api: Api) -> None:
    data = _is_problem(api.call("GET", "/api/v1/programs/kimchi-2026", None), 401)
    assert "Bearer" in data["detail"]
    _is_problem(api.call("GET", "/api/v1/programs/x", None, headers={"Authorization": "Bearer nope"}), 401)
    _is_problem(api.call("GET", "/api/v1/programs/x", None, headers={"Authorization": "Basic abc"}), 401)


def test_401_comes_before_validation(api: Api) -> None:
    _is_problem(api.call("POST", "/api/v1/evaluate", None, {"junk": 1}), 401)


def test_403_wrong_role(api: Api, program: dict[str, Any]) -> None:
    _is_problem(api.call("GET", "/api/v1/audit", "haengdang"), 403)


def test_404_unknown_things(api: Api, program: dict[str, Any]) -> None:
    _is_problem(api.call("GET", "/api/v1/nominations/999999", "admin"), 404)
    _is_problem(api.call("GET", "/api/v1/programs/nope", "admin"), 404)
    _is_problem(api.call("GET", "/api/v1/no-such-endpoint", "admin"), 404)


def test_405(api: Api) -> None:
    _is_problem(api.call("DELETE", "/api/v1/evaluate", "admin"), 405)


def test_413_body_over_one_megabyte(api: Api, program: dict[str, Any]) -> None:
    big = b'{"program": "kimchi-2026", "note": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    _is_problem(api.call("POST", "/api/v1/evaluate", "admin", raw=big), 413)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"program": "kimchi-2026", "nominee": {"rrn": "991332-1234567", "name": "x"}}, "nominee.rrn"),
        ({"program": "kimchi-2026", "nominee": {"rrn": "900101-1234567", "name": ""}}, "nominee.name"),
        ({"program": "kimchi-2026", "nominee": {"rrn": "900101-1234567", "name": "x" * 101}}, "nominee.name"),
        ({"program": "kimchi-2026", "nominee": {"rrn": 9001011234567, "name": "x"}}, "nominee.rrn"),
        ({"program": "kimchi-2026"}, "nominee"),
        ({"program": "kimchi-2026", "nominee": {"rrn": "900101-1234567", "name": "x"}, "note": "n" * 1001}, "note"),
        ({"program": "nope", "nominee": {"rrn": "900101-1234567", "name": "x"}}, "program"),
        ({"program": "kimchi-2026", "nominee": {"rrn": "900101-1234567", "name": "x"}, "extra": 1}, "extra"),
        (["not", "an", "object"], "_schema"),
    ],
)
def test_422_names_the_field(api: Api, program: dict[str, Any], body: Any, field: str) -> None:
    data = _is_problem(api.call("POST", "/api/v1/evaluate", "admin", body), 422)
    assert field in data["errors"], data["errors"]


def test_422_bad_rrn_does_not_echo_the_number(api: Api, program: dict[str, Any]) -> None:
    response = api.call("POST", "/api/v1/evaluate", "admin",
                        {"program": "kimchi-2026", "nominee": {"rrn": "991332-1234567", "name": "x"}})  # fmt: skip
    assert "1234567" not in response.get_data(as_text=True)


def test_nominating_unknown_program_is_404(api: Api) -> None:
    response = api.nominate("haengdang", "김순자", program="nope")
    _is_problem(response, 404)


def test_english_problem_titles(api: Api) -> None:
    response = api.call("GET", "/api/v1/programs/nope", "admin", headers={"Accept-Language": "en"})
    assert _is_problem(response, 404)["title"] == "Not found"
    korean = api.call("GET", "/api/v1/programs/nope", "admin")
    assert _is_problem(korean, 404)["title"] == "찾을 수 없습니다"


def test_500_hides_details_and_gives_a_correlation_id(api: Api, program: dict[str, Any], monkeypatch: Any,
                                                      caplog: Any) -> None:  # fmt: skip
    from service import nominating

    def boom(*_: Any, **__: Any) -> Any:
        raise RuntimeError(f"secret {RRN['김순자']}")

    monkeypatch.setattr(nominating, "screen_candidate", boom)
    data = _is_problem(api.nominate("haengdang", "김순자"), 500)
    assert data["correlation_id"] in data["detail"]
    assert RRN["김순자"] not in caplog.text and data["correlation_id"] in caplog.text


def test_openapi_and_docs_are_served(api: Api) -> None:
    spec = api.client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/evaluate" in spec["paths"] and "/api/v1/programs/{code}/nominations" in spec["paths"]
    docs = api.client.get("/api/v1/docs")
    assert docs.status_code == 200 and b"/api/v1/evaluate" in docs.data and b"cdn" not in docs.data.lower()
