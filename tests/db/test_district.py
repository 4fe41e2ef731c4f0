import copy
from pathlib import Path

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select

from service.db import get_db
from service.models import Dong, Institution, ResourceCategory, Sponsor
from tests.factories import DISTRICT, write_district


def _counts(app: Flask) -> dict[str, int]:
    with get_db(app).session() as s:
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m)) or 0
                for m in (Dong, Institution, Sponsor, ResourceCategory)}  # fmt: skip


def test_load_district_is_idempotent(app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    path = write_district(tmp_path / "d.yaml")
    first = runner.invoke(args=["load-district", str(path)])
    assert first.exit_code == 0, first.output
    assert _counts(app) == {"dongs": 3, "institutions": 6, "sponsors": 1, "resource_categories": 2}
    assert "추가 없음" not in first.output  # the first load adds: the check below can tell the two apart
    second = runner.invoke(args=["load-district", str(path)])
    assert second.exit_code == 0
    assert second.output.strip() == "성동구 (11200): 추가 없음; 변경 없음"


def test_load_district_updates_names_in_place(app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    runner.invoke(args=["load-district", str(write_district(tmp_path / "d.yaml"))])
    changed = copy.deepcopy(DISTRICT)
    changed["institutions"][5]["name"] = "희망교회 나눔부"
    result = runner.invoke(args=["load-district", str(write_district(tmp_path / "d2.yaml", changed))])
    assert result.exit_code == 0
    assert result.output.strip() == "성동구 (11200): 추가 없음; 변경 institutions 1"
    with get_db(app).session() as s:
        assert s.scalar(select(Institution.name).where(Institution.code == "hope-church")) == "희망교회 나눔부"
    assert _counts(app)["institutions"] == 6


def test_invalid_district_file_changes_nothing(app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    bad = copy.deepcopy(DISTRICT)
    bad["institutions"].append({"code": "x-center", "name": "X", "kind": "church"})
    bad["dongs"].append({"code": "123", "name": "짧은코드"})
    result = runner.invoke(args=["load-district", str(write_district(tmp_path / "bad.yaml", bad))])
    assert result.exit_code != 0
    assert "institutions.6.kind" in result.output
    assert "dongs.3.code" in result.output
    assert _counts(app) == {"dongs": 0, "institutions": 0, "sponsors": 0, "resource_categories": 0}


def test_missing_district_file_is_a_clear_error(runner: FlaskCliRunner, tmp_path: Path) -> None:
    result = runner.invoke(args=["load-district", str(tmp_path / "nope.yaml")])
    assert result.exit_code != 0
    assert "nope.yaml" in result.output
