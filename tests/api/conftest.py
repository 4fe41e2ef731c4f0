"""API fixtures: a small district with residents, receipts, tokens for every role, a program."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from werkzeug.test import TestResponse

from tests.factories import RECEIPT_COLUMNS, import_counts, receipt, resident, write_csv, write_district

# Households: H1 (김순자 head + 박영수 member), H2 (이철수), H3 deceased, H4 outside the district,
# H5 moved out, H6 over-served with kimchi (2 receipts this year), H7 a young single person.
RESIDENTS = [
    resident("450312-2345678", "김순자", "H1", "head"),
    resident("430102-1345671", "박영수", "H1", "member"),
    resident("900101-1234567", "이철수", "H2", "head", dong="1120058000"),
    resident("400203-2123456", "최말순", "H3", "head", status="deceased", status_date="2026-03-01"),
    resident("550505-1999999", "정대한", "H4", "head", dong="1121500000"),
    resident("480808-2888888", "한옥자", "H5", "head", status="moved_out", status_date="2026-05-01"),
    resident("381111-1777777", "오복동", "H6", "head"),
    resident("010203-4123456", "윤지민", "H7", "head", dong="1120052000"),
]
RRN = {r["name"]: r["rrn"] for r in RESIDENTS}
RECEIPTS = [
    receipt(RRN["오복동"], "kimchi", "2026-01-10", "사랑의열매"),
    receipt(RRN["오복동"], "kimchi", "2026-02-10", "성동구자원봉사센터"),
    receipt(RRN["김순자"], "kimchi", "2020-01-10", "오래된기록"),  # outside the look-back window
]
ROLES = {
    "admin": ("welfare-policy", "admin"),
    "department": ("senior-welfare", "department"),
    "other_department": ("welfare-policy", "department"),
    "haengdang": ("haengdang1-center", "nominator"),
    "eungbong": ("eungbong-center", "nominator"),
    "welfare_center": ("seongdong-welfare", "nominator"),
    "church": ("hope-church", "nominator"),
    "auditor": ("welfare-policy", "auditor"),
    "system": ("welfare-policy", "system"),
}
PROGRAM = {
    "code": "kimchi-2026", "name": "2026 김장김치 나눔", "department": "senior-welfare",
    "resource_category": "kimchi", "sponsor": "red-cross", "quota": 100,
    "starts_on": "2026-11-01", "ends_on": "2026-12-31", "ruleset": "base-screening", "parameters": {},
}  # fmt: skip


@dataclass
class Api:
    """A JSON client that also checks that no answer ever carries a whole RRN."""

    client: FlaskClient
    tokens: dict[str, str]
    seen: list[TestResponse] = field(default_factory=list)

    def call(self, method: str, path: str, who: str | None = "admin", body: Any = None,
             headers: dict[str, str] | None = None, raw: bytes | None = None) -> TestResponse:  # fmt: skip
        hdrs = dict(headers or {})
        if who is not None:
            hdrs["Authorization"] = f"Bearer {self.tokens[who]}"
        kwargs: dict[str, Any] = {"headers": hdrs}
        if raw is not None:
            kwargs.update(data=raw, content_type="application/json")
        elif body is not None:
            kwargs["json"] = body
        response = self.client.open(path, method=method, **kwargs)
        text = response.get_data(as_text=True)
        for number in RRN.values():
            assert number not in text and number.replace("-", "") not in text, f"whole RRN in {path}"
        self.seen.append(response)
        return response

    def nominate(self, who: str, name: str, program: str = "kimchi-2026", rrn: str | None = None,
                 **extra: Any) -> TestResponse:  # fmt: skip
        body = {"nominee": {"rrn": rrn or RRN[name], "name": name}, **extra}
        return self.call("POST", f"/api/v1/programs/{program}/nominations", who, body)


def reasons(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["rule"]: r for r in payload["verdict"]["reasons"]}


@pytest.fixture
def world(app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> dict[str, str]:
    assert runner.invoke(args=["load-district", str(write_district(tmp_path / "d.yaml"))]).exit_code == 0
    result = runner.invoke(args=["import-residents", str(write_csv(tmp_path / "r.csv", RESIDENTS))])
    assert result.exit_code == 0 and import_counts(result.output)["inserted"] == len(RESIDENTS), result.output
    result = runner.invoke(args=["import-receipts", str(write_csv(tmp_path / "c.csv", RECEIPTS, RECEIPT_COLUMNS))])
    assert result.exit_code == 0 and import_counts(result.output)["inserted"] == len(RECEIPTS), result.output
    tokens = {}
    for key, (institution, role) in ROLES.items():
        out = runner.invoke(args=["create-token", "--institution", institution, "--role", role, "--name", key])
        assert out.exit_code == 0, out.output
        tokens[key] = out.output.strip().splitlines()[-1]
    return tokens


@pytest.fixture
def api(client: FlaskClient, world: dict[str, str]) -> Api:
    return Api(client, world)


@pytest.fixture
def program(api: Api) -> dict[str, Any]:
    response = api.call("POST", "/api/v1/programs", "admin", PROGRAM)
    assert response.status_code == 201, response.get_json()
    return dict(response.get_json())


JsonFn = Callable[[TestResponse], dict[str, Any]]


def body(response: TestResponse) -> dict[str, Any]:
    return dict(json.loads(response.get_data(as_text=True)))
