"""Programs: creation, rule-set versions, parameter changes and their bounds."""

from typing import Any

from .conftest import PROGRAM, Api, reasons


def test_create_program_publishes_its_own_ruleset_version_1(api: Api, program: dict[str, Any]) -> None:
    assert program["code"] == "kimchi-2026"
    assert program["ruleset"]["name"] == "kimchi-2026" and program["ruleset"]["version"] == 1
    assert len(program["ruleset"]["sha256"]) == 64
    assert program["parameters"] == {"household_limit": 1, "lookback_days": 365}
    assert [r["id"] for r in program["rules"]] == [
        "not_in_registry", "name_mismatch", "deceased", "moved_out", "out_of_district",
        "duplicate_nomination", "household_already_nominated", "household_resource_limit",
        "household_nominated_elsewhere",
    ]  # fmt: skip
    shown = api.call("GET", "/api/v1/programs/kimchi-2026", "haengdang").get_json()
    assert shown["ruleset"] == program["ruleset"] and shown["counts"]["nominations"] == 0


def test_existing_code_is_409(api: Api, program: dict[str, Any]) -> None:
    response = api.call("POST", "/api/v1/programs", "admin", PROGRAM)
    assert response.status_code == 409
    assert response.headers["Content-Type"] == "application/problem+json"


def test_parameters_at_creation_and_bounds(api: Api) -> None:
    body = {**PROGRAM, "code": "rice-2026", "parameters": {"household_limit": 3}}
    created = api.call("POST", "/api/v1/programs", "admin", body)
    assert created.status_code == 201
    assert created.get_json()["parameters"] == {"household_limit": 3, "lookback_days": 365}
    too_big = api.call(
        "POST", "/api/v1/programs", "admin", {**body, "code": "x1", "parameters": {"household_limit": 11}}
    )
    assert too_big.status_code == 422 and "parameters.household_limit" in too_big.get_json()["errors"]
    unknown = api.call("POST", "/api/v1/programs", "admin", {**body, "code": "x2", "parameters": {"bogus": 1}})
    assert unknown.status_code == 422 and any("bogus" in k for k in unknown.get_json()["errors"])


def test_invalid_references_are_422_naming_fields(api: Api) -> None:
    body = {
        **PROGRAM,
        **{"code": "bad-1", "ruleset": "nope", "department": "haengdang1-center", "resource_category": "gold"},
        **{"sponsor": "nobody", "starts_on": "2026-12-01", "ends_on": "2026-11-01"},
    }
    response = api.call("POST", "/api/v1/programs", "admin", body)
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) >= {"ruleset", "department", "resource_category", "sponsor", "ends_on"}
    assert api.call("GET", "/api/v1/programs/bad-1", "admin").status_code == 404


def test_department_creates_only_its_own_programs(api: Api) -> None:
    other = {**PROGRAM, "code": "x3", "department": "welfare-policy"}
    assert api.call("POST", "/api/v1/programs", "department", other).status_code == 403
    own = {**PROGRAM, "code": "x4"}
    assert api.call("POST", "/api/v1/programs", "department", own).status_code == 201


def test_parameter_change_publishes_next_version_keeping_the_others(api: Api, program: dict[str, Any]) -> None:
    response = api.call("PUT", "/api/v1/programs/kimchi-2026/parameters", "department",
                        {"parameters": {"household_limit": 3}, "reason": "물량 증가"})  # fmt: skip
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert data["ruleset"]["name"] == "kimchi-2026" and data["ruleset"]["version"] == 2
    assert data["ruleset"]["sha256"] != program["ruleset"]["sha256"]
    assert data["parameters"] == {"household_limit": 3, "lookback_days": 365}
    again = api.call("PUT", "/api/v1/programs/kimchi-2026/parameters", "admin", {"parameters": {"lookback_days": 30}})
    assert again.get_json()["ruleset"]["version"] == 3
    assert again.get_json()["parameters"] == {"household_limit": 3, "lookback_days": 30}
    # the new thresholds are used at once: two receipts no longer reach the limit of 3
    verdict = api.nominate("haengdang", "오복동").get_json()["verdict"]
    assert verdict["ruleset"]["version"] == 3 and verdict["outcome"] == "eligible"


def test_parameter_change_bounds_and_ownership(api: Api, program: dict[str, Any]) -> None:
    out = api.call("PUT", "/api/v1/programs/kimchi-2026/parameters", "department", {"parameters": {"lookback_days": 0}})
    assert out.status_code == 422 and "parameters.lookback_days" in out.get_json()["errors"]
    other = api.call("PUT", "/api/v1/programs/kimchi-2026/parameters", "other_department",
                     {"parameters": {"household_limit": 2}})  # fmt: skip
    assert other.status_code == 403
    nominator = api.call("PUT", "/api/v1/programs/kimchi-2026/parameters", "haengdang",
                         {"parameters": {"household_limit": 2}})  # fmt: skip
    assert nominator.status_code == 403
    assert api.call("GET", "/api/v1/programs/kimchi-2026", "admin").get_json()["ruleset"]["version"] == 1


def test_rescreen_after_parameter_change(api: Api, program: dict[str, Any]) -> None:
    first = api.nominate("haengdang", "오복동").get_json()
    assert "household_resource_limit" in reasons(first)
    api.call("PUT", "/api/v1/programs/kimchi-2026/parameters", "department", {"parameters": {"household_limit": 5}})
    summary = api.call("POST", "/api/v1/programs/kimchi-2026/rescreen", "department").get_json()
    assert summary == {"program": "kimchi-2026", "screened": 1, "changed": 1, "turned_ineligible": 0,
                       "outcomes": {"eligible": 1, "review": 0, "ineligible": 0}}  # fmt: skip
    again = api.call("GET", f"/api/v1/nominations/{first['id']}", "admin").get_json()
    assert again["verdict"]["outcome"] == "eligible"
