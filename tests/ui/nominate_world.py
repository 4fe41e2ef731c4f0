"""The nomination desk's test district: tests/ui's desk plus a welfare center and a church that
nominate, a system token for registry events, and fourteen more residents for a bulk file.

Shared by tests/ui/test_nominate_*.py (imported, not a conftest: the fixtures are theirs).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner

from tests.api.conftest import RRN
from tests.factories import import_counts, resident, write_csv
from tests.ui.conftest import PASSWORD, Desk

NOMINATORS = {"welfare": "seongdong-welfare", "church": "hope-church"}
"""Usernames → institutions (nominator role), beside tests/ui's ``center`` (행당1동주민센터)."""

MORE_RESIDENTS = [
    resident("470215-2123451", "강말녀", "H10", dong="1120056000"),
    resident("420730-1234562", "조만복", "H11", dong="1120056000"),
    resident("510909-2345673", "서금순", "H12", dong="1120052000"),
    resident("390101-1456784", "임태식", "H13", dong="1120052000"),
    resident("440404-2567895", "황보순례", "H14", dong="1120058000"),
    resident("460612-1678906", "남궁철", "H15", dong="1120058000"),
    resident("520320-2789017", "문옥순", "H16", dong="1120056000"),
    resident("410818-1890128", "배영길", "H17", dong="1120056000"),
    resident("490101-2901239", "신복례", "H18", dong="1120052000"),
    resident("430505-1012340", "유만석", "H19", dong="1120052000"),
    resident("500228-2123452", "장순덕", "H20", dong="1120058000"),
    resident("450915-1234563", "전병호", "H21", dong="1120058000"),
    resident("480707-2345674", "천금자", "H22", dong="1120056000"),
    resident("400303-1456785", "하정수", "H23", dong="1120056000"),
]
ALL_RRN = {**RRN, **{r["name"]: r["rrn"] for r in MORE_RESIDENTS}}
BAD_DATE = "901301-1234567"  # month 13: refused by the parser, never echoed
WHOLE_RRN = re.compile(r"(?<![0-9A-Za-z])\d{6}-?\d{7}(?![0-9A-Za-z])")
"""Anything shaped like a whole number (13 digits, with or without the hyphen)."""


def whole_numbers_in(text: str) -> list[str]:
    """Every whole RRN in a page: the district's, the typed bad one, and anything RRN-shaped."""
    known = [n for n in (*ALL_RRN.values(), BAD_DATE) if n in text or n.replace("-", "") in text]
    return known + WHOLE_RRN.findall(text)


@dataclass
class World:
    desk: Desk
    system_token: str


@pytest.fixture
def world(desk: Desk, runner: FlaskCliRunner, tmp_path: Path) -> World:
    """The desk with more nominators, fourteen more residents and a system token."""
    out = runner.invoke(args=["import-residents", str(write_csv(tmp_path / "more.csv", MORE_RESIDENTS))])
    assert out.exit_code == 0 and import_counts(out.output)["inserted"] == len(MORE_RESIDENTS), out.output
    for username, institution in NOMINATORS.items():
        made = runner.invoke(
            args=["create-user", username, "--institution", institution, "--role", "nominator", "--password-stdin"],
            input=PASSWORD + "\n",
        )
        assert made.exit_code == 0, made.output
    token = runner.invoke(args=["create-token", "--institution", "welfare-policy", "--role", "system"])
    assert token.exit_code == 0, token.output
    return World(desk, token.output.strip().splitlines()[-1])


def death(app: Flask, world: World, name: str, on: str = "2026-11-20") -> None:
    """The registry reports a death through the API (a system token), as the registry feed would."""
    answer = app.test_client().post(
        "/api/v1/registry/events",
        json={"type": "death", "rrn": ALL_RRN[name], "date": on},
        headers={"Authorization": f"Bearer {world.system_token}"},
    )
    assert answer.status_code == 200 and answer.get_json()["applied"], answer.get_json()


BULK_GOOD = [*(r["name"] for r in MORE_RESIDENTS), "윤지민", "박영수", "최말순", "한옥자"]
"""The 18 good rows of the bulk file: 15 eligible, 박영수 review (김순자's household is
nominated), 최말순 (deceased) and 한옥자 (moved out) ineligible."""


def bulk_csv(path: Path | None = None) -> bytes:
    """20 rows: the 18 of ``BULK_GOOD`` with two bad ones between them (file lines 6 and 13)."""
    rows: list[list[str]] = [[ALL_RRN[name], name, f"{name} 님 추천 (동 복지팀)"] for name in BULK_GOOD]
    rows.insert(4, [BAD_DATE, "김오류", "날짜가 틀린 번호"])  # file line 6
    rows.insert(11, [ALL_RRN["김순자"][:6] + "-2000001", "", "성명이 빠진 줄"])  # file line 13
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["rrn", "name", "note"])
    writer.writerows(rows)
    data = ("\ufeff" + out.getvalue()).encode("utf-8")
    if path is not None:
        path.write_bytes(data)
    return data
