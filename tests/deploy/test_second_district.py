"""A second district adopts the service without code: 광진구's file, demo and rule set.

Also: Seongdong's synthetic data is byte for byte what it was before the generator learned to take
any district's dongs (the digests below were taken from the generator of release 0.1.0).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from io import StringIO
from pathlib import Path

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select

from rules.testing import run_rule_tests
from service.config import PROJECT_ROOT
from service.db import get_db
from service.demo import DISTRICT_FILE, synthetic
from service.demo_loader import DISTRICTS_DIR, DemoError, demo_profile
from service.district import parse_district_file
from service.models import District, Dong, Institution, Nomination, Program, Resident
from tests.factories import DISTRICT, write_district

GWANGJIN = DISTRICTS_DIR / "gwangjin.yaml"
RULE_SET = PROJECT_ROOT / "policies" / "gwangjin-winter-support.yaml"
# 행정기관코드 of 광진구's 15 행정동, as the public list cited in gwangjin.yaml gives them (names with 제).
OFFICIAL = {
    "1121571000": "화양동", "1121573000": "군자동", "1121574000": "중곡제1동", "1121575000": "중곡제2동",
    "1121576000": "중곡제3동", "1121577000": "중곡제4동", "1121578000": "능동", "1121581000": "광장동",
    "1121582000": "자양제1동", "1121583000": "자양제2동", "1121584000": "자양제3동", "1121584700": "자양제4동",
    "1121585000": "구의제1동", "1121586000": "구의제2동", "1121587000": "구의제3동",
}  # fmt: skip
SEONGDONG_DIGESTS = {  # sha256 of json([residents, receipts, nominations]) for (seed, residents, nominations)
    (3, 2000, 60): "1a22732ff6ef3df5a877e75a5ff599cf5236ce34d4a1d156bebd8d2041e63398",
    (7, 3000, 60): "4d7545c772e679d29a3b8439a2562ca8bff6af2d435df595b99966d4baf88754",
}


def test_the_district_file_has_the_real_codes_and_one_center_per_dong() -> None:
    data = parse_district_file(GWANGJIN)
    assert data["district"] == {"code": "11215", "name": "광진구"}
    dongs = {d["code"]: d["name"] for d in data["dongs"]}
    assert set(dongs) == set(OFFICIAL)
    assert all(dongs[code] == official.replace("제", "") for code, official in OFFICIAL.items())
    header = GWANGJIN.read_text(encoding="utf-8").split("district:")[0]
    assert "saintfirewater/weather-info-app" in header and "행정안전부" in header  # the source is cited
    kinds = Counter(i["kind"] for i in data["institutions"])
    assert kinds["community_center"] == 15 and kinds["welfare_center"] >= 3 and kinds["private"] >= 2
    centers = {i["dong"]: i for i in data["institutions"] if i["kind"] == "community_center"}
    assert set(centers) == set(dongs)
    assert all(c["name"] == dongs[d] + "주민센터" and re.fullmatch(r"[a-z0-9-]+-center", c["code"])
               for d, c in centers.items())  # fmt: skip
    assert centers["1121574000"]["code"] == "junggok1-center"
    departments = {i["code"] for i in data["institutions"] if i["kind"] == "department"}
    assert {"welfare-policy", "senior-welfare"} <= departments
    assert len(data["sponsors"]) >= 4 and "winter-goods" in {c["code"] for c in data["resource_categories"]}
    assert not set(dongs) & set(synthetic.SEONGDONG_DONGS)


def test_load_district_loads_gwangjin(app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["load-district", str(GWANGJIN)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("광진구 (11215): 추가 ")
    with get_db(app).session() as session:
        assert session.scalars(select(District.code)).all() == ["11215"]
        assert session.scalar(select(func.count()).select_from(Dong)) == 15
        assert session.scalar(select(func.count()).select_from(Institution)) == len(
            parse_district_file(GWANGJIN)["institutions"]
        )
    again = runner.invoke(args=["load-district", str(GWANGJIN)])
    assert again.exit_code == 0 and again.output.strip().endswith("추가 없음; 변경 없음")


def test_its_rule_set_passes_rules_test_and_differs_from_seongdong() -> None:
    out = StringIO()
    assert run_rule_tests([RULE_SET], out) == 0, out.getvalue()
    assert out.getvalue().splitlines()[-1].startswith("OK: 1 rule sets")
    text = yaml.safe_load(RULE_SET.read_text(encoding="utf-8"))
    assert text["extends"] == "base-screening"
    assert text["parameters"]["min_age"]["value"] == 70  # Seongdong's kimchi rule set says 65
    assert {r["id"] for r in text["rules"]} == {"under_winter_support_age", "larger_household"}


def test_the_demo_profile_follows_the_district_file() -> None:
    place = demo_profile(GWANGJIN, parse_district_file(GWANGJIN))
    assert (place.code, place.gu) == ("11215", "광진구")
    assert [d.code for d in place.dongs] == [d["code"] for d in parse_district_file(GWANGJIN)["dongs"]]
    assert all(d.streets and d.weight > 1 for d in place.dongs)  # from gwangjin.demo.yaml
    assert [p["code"] for p in place.programs] == ["winter-2026", "kimchi-2026", "rice-2026"]
    assert place.programs[0]["ruleset"] == "gwangjin-winter-support"
    assert place.elderly == {"winter-2026", "kimchi-2026"} and place.shares == (40, 35, 25)
    assert demo_profile(DISTRICT_FILE, parse_district_file(DISTRICT_FILE)) is synthetic.SEONGDONG


def test_gwangjin_residents_live_in_gwangjin() -> None:
    place = demo_profile(GWANGJIN, parse_district_file(GWANGJIN))
    rows = list(synthetic.generate_residents(3000, seed=5, district=place))
    inside = [r for r in rows if r["dong_code"] in OFFICIAL]
    assert 0.94 <= len(inside) / len(rows) <= 0.99
    assert all(r["address"].startswith("서울특별시 광진구 ") for r in inside)
    assert {r["dong_code"] for r in rows} - set(OFFICIAL) <= {o.code for o in place.outside}
    assert len({r["dong_code"] for r in inside}) == 15
    receipts = list(synthetic.generate_receipts(rows, seed=5, district=place))
    assert {r["resource_category"] for r in receipts} <= dict(place.categories).keys()
    assert "winter-goods" in {r["resource_category"] for r in receipts}
    institutions = parse_district_file(GWANGJIN)["institutions"]
    plan = synthetic.plan_nominations(rows, institutions, seed=5, count=120, district=place)
    assert len(plan) == 120 and {n["program"] for n in plan} == {"winter-2026", "kimchi-2026", "rice-2026"}
    assert {n["institution"] for n in plan} <= {i["code"] for i in institutions if i["kind"] != "department"}


def test_a_district_without_a_demo_profile_still_gets_a_demo() -> None:
    place = synthetic.demo_district(DISTRICT)  # tests/factories: three dongs, no profile
    assert [p["ruleset"] for p in place.programs] == ["base-screening", "base-screening"]
    assert [p["resource_category"] for p in place.programs] == ["kimchi", "rice"]
    assert all(p["department"] == "welfare-policy" for p in place.programs)
    rows = list(synthetic.generate_residents(1500, seed=2, district=place))
    assert {r["dong_code"] for r in rows} - {d["code"] for d in DISTRICT["dongs"]} <= {o.code for o in place.outside}
    plan = synthetic.plan_nominations(rows, DISTRICT["institutions"], seed=2, count=60, district=place)
    assert len(plan) == 60
    with pytest.raises(ValueError, match="department"):
        synthetic.demo_district({**DISTRICT, "institutions": [i for i in DISTRICT["institutions"]
                                                              if i["kind"] != "department"]})  # fmt: skip


def test_a_broken_demo_profile_is_refused_naming_the_file(tmp_path: Path) -> None:
    district = write_district(tmp_path / "x.yaml")
    profile = tmp_path / "x.demo.yaml"
    profile.write_text("programs:\n  - {code: p, department: nobody, resource_category: kimchi}\n", encoding="utf-8")
    with pytest.raises(DemoError, match=r"x\.demo\.yaml: p: department 'nobody'"):
        demo_profile(district, parse_district_file(district))
    profile.write_text("colour: blue\n", encoding="utf-8")
    with pytest.raises(DemoError, match="colour"):
        demo_profile(district, parse_district_file(district))


@pytest.mark.parametrize(("seed", "count", "nominations"), list(SEONGDONG_DIGESTS))
def test_seongdong_synthetic_data_is_unchanged(seed: int, count: int, nominations: int) -> None:
    district = yaml.safe_load(DISTRICT_FILE.read_text(encoding="utf-8"))
    rows = list(synthetic.generate_residents(count, seed=seed))
    receipts = list(synthetic.generate_receipts(rows, seed=seed))
    plan = synthetic.plan_nominations(rows, district["institutions"], seed=seed, count=nominations)
    digest = hashlib.sha256(json.dumps([rows, receipts, plan], ensure_ascii=False).encode()).hexdigest()
    assert digest == SEONGDONG_DIGESTS[(seed, count, nominations)]
    explicit = list(synthetic.generate_residents(count, seed=seed, district=synthetic.SEONGDONG))
    assert explicit == rows


def test_demo_district_loads_gwangjin_and_evaluates(app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["demo", "--district", str(GWANGJIN), "--residents", "1200"])
    assert result.exit_code == 0, result.output
    assert "주민 1200명" in result.output and "사업 3개, 추천 300건" in result.output
    with get_db(app).session() as session:
        assert session.scalars(select(District.code)).all() == ["11215"]
        assert session.scalar(select(func.count()).select_from(Resident)) == 1200
        programs = {p.code: p.base_ruleset for p in session.scalars(select(Program))}
        assert programs == {"winter-2026": "gwangjin-winter-support", "kimchi-2026": "kimchi-winter",
                            "rice-2026": "rice-support"}  # fmt: skip
        assert session.scalar(select(func.count()).select_from(Nomination)) == 300
    rows = list(synthetic.generate_residents(1200, district=demo_profile(GWANGJIN, parse_district_file(GWANGJIN))))
    token = runner.invoke(args=["create-token", "--institution", "junggok1-center", "--role", "nominator"])
    assert token.exit_code == 0, token.output
    headers = {"Authorization": f"Bearer {token.output.strip().splitlines()[-1]}"}
    client = app.test_client()
    young = next(r for r in rows if r["status"] == "active" and r["dong_code"] in OFFICIAL
                 and r["birth_date"] > "1970-01-01")  # fmt: skip
    body = {"program": "winter-2026", "nominee": {"rrn": young["rrn"], "name": young["name"]}}
    answer = client.post("/api/v1/evaluate", headers=headers, json=body)
    assert answer.status_code == 200, answer.get_json()
    verdict = answer.get_json()["verdict"]
    assert verdict["ruleset"]["name"] == "winter-2026" and verdict["outcome"] == "ineligible"
    assert "under_winter_support_age" in [r["rule"] for r in verdict["reasons"]]
    again = runner.invoke(args=["demo", "--district", str(GWANGJIN), "--residents", "1200"])
    assert again.exit_code == 0 and "already loaded" in again.output
    seongdong = runner.invoke(args=["demo", "--residents", "1200"])  # the default never mixes with 광진구
    assert seongdong.exit_code != 0 and "11215" in seongdong.output
