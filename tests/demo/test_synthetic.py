"""The Seongdong-gu demo data: district file and synthetic generators."""

from __future__ import annotations

import itertools
import re
from collections import Counter, defaultdict
from datetime import date, timedelta
from typing import Any

import pytest
import yaml

from service import registry_import
from service.demo import DISTRICT_FILE
from service.demo.synthetic import (
    DEMO_AS_OF,
    DEMO_PROGRAMS,
    NOMINATION_KEYS,
    RECEIPT_COLUMNS,
    RESIDENT_COLUMNS,
    SEONGDONG_DONGS,
    generate_receipts,
    generate_residents,
    plan_nominations,
)
from service.district import parse_district_file

# seed-en.md, appendix: Seongdong-gu's 17 administrative dongs
APPENDIX_DONGS = {
    "1120052000": "왕십리2동",
    "1120053500": "왕십리도선동",
    "1120054000": "마장동",
    "1120055000": "사근동",
    "1120056000": "행당1동",
    "1120057000": "행당2동",
    "1120058000": "응봉동",
    "1120059000": "금호1가동",
    "1120061500": "금호2·3가동",
    "1120062000": "금호4가동",
    "1120064500": "옥수동",
    "1120065000": "성수1가1동",
    "1120066000": "성수1가2동",
    "1120067000": "성수2가1동",
    "1120069000": "성수2가3동",
    "1120072000": "송정동",
    "1120079000": "용답동",
}

RRN = re.compile(r"^(\d{2})(\d{2})(\d{2})-([1-4])(\d{6})$")
CODE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@pytest.fixture(scope="module")
def district() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DISTRICT_FILE.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def residents() -> list[dict[str, str]]:
    return list(generate_residents())


@pytest.fixture(scope="module")
def receipts(residents: list[dict[str, str]]) -> list[dict[str, str]]:
    return list(generate_receipts(residents))


@pytest.fixture(scope="module")
def nominations(residents: list[dict[str, str]], district: dict[str, Any]) -> list[dict[str, str]]:
    return plan_nominations(residents, district["institutions"])


# --------------------------------------------------------------------------- district file


def test_district_head(district: dict[str, Any]) -> None:
    assert district["district"] == {"code": "11200", "name": "성동구"}
    assert set(district) == {"district", "dongs", "institutions", "sponsors", "resource_categories"}


def test_seventeen_dongs_with_the_appendix_codes(district: dict[str, Any]) -> None:
    dongs = {d["code"]: d["name"] for d in district["dongs"]}
    assert len(district["dongs"]) == 17
    assert dongs == APPENDIX_DONGS
    assert all(isinstance(d["code"], str) for d in district["dongs"])
    assert SEONGDONG_DONGS == APPENDIX_DONGS


def test_codes_are_lowercase_ascii_and_unique(district: dict[str, Any]) -> None:
    for key in ("institutions", "sponsors", "resource_categories"):
        codes = [item["code"] for item in district[key]]
        assert len(codes) == len(set(codes)), key
        assert all(CODE.match(c) for c in codes), codes


def test_institutions(district: dict[str, Any]) -> None:
    dongs = {d["code"] for d in district["dongs"]}
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for inst in district["institutions"]:
        by_kind[inst["kind"]].append(inst)
        if "dong" in inst:
            assert inst["dong"] in dongs, inst
    assert set(by_kind) == {"department", "community_center", "welfare_center", "private"}
    assert {"code": "welfare-policy", "name": "복지정책과", "kind": "department"} in by_kind["department"]
    assert 3 <= len(by_kind["department"]) <= 4
    centers = by_kind["community_center"]
    assert len(centers) == 17
    assert sorted(c["dong"] for c in centers) == sorted(dongs)
    assert all(c["code"].endswith("-center") for c in centers)
    assert all(APPENDIX_DONGS[c["dong"]] + "주민센터" == c["name"] for c in centers)
    assert 3 <= len(by_kind["welfare_center"]) <= 4
    assert all("dong" in w for w in by_kind["welfare_center"])
    assert 2 <= len(by_kind["private"]) <= 3


def test_sponsors_and_categories(district: dict[str, Any]) -> None:
    sponsors = {s["code"] for s in district["sponsors"]}
    assert {"red-cross", "community-chest"} <= sponsors
    assert 4 <= len(sponsors) <= 5
    categories = {c["code"]: c["name"] for c in district["resource_categories"]}
    assert {"kimchi", "rice", "heating-coal", "cash"} <= set(categories)
    assert categories["kimchi"] == "김장김치"


def test_district_file_passes_the_loader_schema(district: dict[str, Any]) -> None:
    data = parse_district_file(DISTRICT_FILE)
    assert len(data["dongs"]) == 17
    assert {i["code"] for i in data["institutions"]} == {i["code"] for i in district["institutions"]}


# --------------------------------------------------------------------------- residents


def test_residents_are_deterministic() -> None:
    first = list(generate_residents(3000, seed=7))
    assert first == list(generate_residents(3000, seed=7))
    assert first != list(generate_residents(3000, seed=8))
    # a prefix of a stream does not depend on how much of it is consumed
    assert list(itertools.islice(generate_residents(seed=7), 100)) == first[:100]


def test_resident_count_and_columns(residents: list[dict[str, str]]) -> None:
    assert len(residents) == 20000
    assert all(tuple(r) == RESIDENT_COLUMNS for r in residents)
    assert all(isinstance(v, str) for r in residents for v in r.values())
    assert len(list(generate_residents(0))) == 0
    assert len(list(generate_residents(7, seed=3))) == 7


def test_rrn_agrees_with_birth_date_and_sex(residents: list[dict[str, str]]) -> None:
    for r in residents:
        m = RRN.match(r["rrn"])
        assert m, r["rrn"]
        yy, mm, dd, digit, _ = m.groups()
        birth = date.fromisoformat(r["birth_date"])
        assert (yy, mm, dd) == (f"{birth.year % 100:02d}", f"{birth.month:02d}", f"{birth.day:02d}")
        assert (birth.year >= 2000) == (digit in "34")
        assert r["sex"] == ("M" if int(digit) % 2 else "F")
        assert date(1930, 1, 1) <= birth <= date(2025, 12, 31)


def test_rrns_are_unique(residents: list[dict[str, str]]) -> None:
    assert len({r["rrn"] for r in residents}) == len(residents)


def test_households(residents: list[dict[str, str]]) -> None:
    households: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in residents:
        households[r["household_id"]].append(r)
    assert all(re.fullmatch(r"H\d{7}", h) for h in households)
    assert 20000 / 2.5 <= len(households) <= 20000 / 2.0
    sizes = Counter(len(m) for m in households.values())
    assert set(sizes) <= set(range(1, 7))
    for members in households.values():
        assert [m["relation"] for m in members].count("head") == 1
        assert members[0]["relation"] == "head"
        assert len({(m["dong_code"], m["address"]) for m in members}) == 1
    single_elderly = sum(
        1 for m in households.values() if len(m) == 1 and date.fromisoformat(m[0]["birth_date"]).year <= 1961
    )
    assert single_elderly / len(households) > 0.15


def test_shares(residents: list[dict[str, str]]) -> None:
    n = len(residents)
    status = Counter(r["status"] for r in residents)
    assert 0.006 <= status["deceased"] / n <= 0.015
    assert 0.012 <= status["moved_out"] / n <= 0.03
    outside = [r for r in residents if r["dong_code"] not in APPENDIX_DONGS]
    assert 0.02 <= len(outside) / n <= 0.04
    assert all(re.fullmatch(r"11\d{8}", r["dong_code"]) for r in outside)
    assert not any(r["dong_code"].startswith("11200") for r in outside)
    assert all(r["address"].startswith("서울특별시 ") for r in residents)
    assert all(r["address"].startswith("서울특별시 성동구 ") for r in residents if r["dong_code"] in APPENDIX_DONGS)


def test_status_dates(residents: list[dict[str, str]]) -> None:
    for r in residents:
        if r["status"] == "active":
            assert r["status_date"] == ""
            continue
        when = date.fromisoformat(r["status_date"])
        assert date.fromisoformat(r["birth_date"]) <= when <= DEMO_AS_OF
        if r["status"] == "moved_out":
            assert when >= DEMO_AS_OF - timedelta(days=730)


def test_residents_pass_the_importer() -> None:
    rows = list(generate_residents(3000, seed=11))
    for row in rows:
        clean = registry_import.parse_resident_row(row, DEMO_AS_OF)
        assert clean["rrn"].digits == row["rrn"].replace("-", "")
        assert (clean["name"], clean["status"], clean["dong_code"]) == (row["name"], row["status"], row["dong_code"])
        assert clean["birth_date"] == date.fromisoformat(row["birth_date"])
    assert {r["status"] for r in rows} == {"active", "deceased", "moved_out"}  # every kind of row was checked


def test_count_bounds() -> None:
    with pytest.raises(ValueError):
        next(generate_residents(-1))
    with pytest.raises(ValueError):
        next(generate_residents(1_000_000))


# --------------------------------------------------------------------------- receipts


def test_receipts_are_deterministic(residents: list[dict[str, str]]) -> None:
    sample = residents[:4000]
    assert list(generate_receipts(sample)) == list(generate_receipts(iter(sample)))
    assert list(generate_receipts(sample, seed=1)) != list(generate_receipts(sample, seed=2))


def test_receipts(residents: list[dict[str, str]], receipts: list[dict[str, str]], district: dict[str, Any]) -> None:
    categories = {c["code"] for c in district["resource_categories"]}
    by_rrn = {r["rrn"]: r for r in residents}
    households = {r["household_id"] for r in residents}
    served: dict[str, list[dict[str, str]]] = defaultdict(list)
    for rec in receipts:
        assert tuple(rec) == RECEIPT_COLUMNS
        assert rec["resource_category"] in categories
        assert rec["provider"]
        assert int(rec["quantity"]) >= 1
        person = by_rrn[rec["rrn"]]
        received = date.fromisoformat(rec["received_on"])
        assert date.fromisoformat(person["birth_date"]) <= received < DEMO_AS_OF
        served[person["household_id"]].append(rec)
    assert 0.07 <= len(served) / len(households) <= 0.13
    year_ago = DEMO_AS_OF - timedelta(days=365)
    over = {
        h
        for h, recs in served.items()
        if len(
            {
                r["provider"]
                for r in recs
                if r["resource_category"] == "kimchi" and date.fromisoformat(r["received_on"]) > year_ago
            }
        )
        >= 2
    }
    assert 0.012 <= len(over) / len(households) <= 0.035
    keys = [(r["rrn"], r["resource_category"], r["received_on"], r["provider"]) for r in receipts]
    assert len(keys) == len(set(keys))


def test_receipts_pass_the_importer(district: dict[str, Any], receipts: list[dict[str, str]]) -> None:
    categories = {c["code"] for c in district["resource_categories"]}
    assert receipts
    for row in receipts:
        clean = registry_import.parse_receipt_row(row, categories, DEMO_AS_OF)
        assert clean["rrn"].digits == row["rrn"].replace("-", "")
        assert (clean["category_code"], clean["provider"]) == (row["resource_category"], row["provider"])
        assert clean["received_on"] == date.fromisoformat(row["received_on"])
        assert clean["quantity"] == int(row["quantity"])


# --------------------------------------------------------------------------- programs


def test_programs_reference_the_district(district: dict[str, Any]) -> None:
    departments = {i["code"] for i in district["institutions"] if i["kind"] == "department"}
    sponsors = {s["code"] for s in district["sponsors"]}
    categories = {c["code"] for c in district["resource_categories"]}
    assert [p["code"] for p in DEMO_PROGRAMS] == ["kimchi-2026", "rice-2026", "coal-2026"]
    assert [p["ruleset"] for p in DEMO_PROGRAMS] == [
        "kimchi-winter",
        "rice-support",
        "heating-coal",
    ]
    keys = {"code", "name", "department", "resource_category", "sponsor", "quota", "starts_on",
            "ends_on", "ruleset", "parameters"}  # fmt: skip
    for p in DEMO_PROGRAMS:
        assert set(p) == keys
        assert p["department"] in departments
        assert p["sponsor"] in sponsors
        assert p["resource_category"] in categories
        assert isinstance(p["quota"], int) and p["quota"] > 0
        starts, ends = date.fromisoformat(p["starts_on"]), date.fromisoformat(p["ends_on"])
        assert date(2026, 11, 1) <= starts < ends <= date(2027, 2, 28)
    kimchi, rice, coal = DEMO_PROGRAMS
    assert kimchi["parameters"] == {"household_limit": 1, "lookback_days": 365, "min_age": 65}
    assert set(rice["parameters"]) == set(coal["parameters"]) == {"household_limit", "lookback_days"}


# --------------------------------------------------------------------------- nominations


def test_nominations_are_deterministic(
    residents: list[dict[str, str]], district: dict[str, Any], nominations: list[dict[str, str]]
) -> None:
    assert plan_nominations(residents, district["institutions"]) == nominations
    assert plan_nominations(residents, district["institutions"], seed=5) != nominations


def test_nomination_shape(nominations: list[dict[str, str]], district: dict[str, Any]) -> None:
    assert len(nominations) == 300
    nominators = {i["code"] for i in district["institutions"] if i["kind"] != "department"}
    programs = {p["code"] for p in DEMO_PROGRAMS}
    for n in nominations:
        assert tuple(n) == NOMINATION_KEYS
        assert n["institution"] in nominators
        assert n["program"] in programs
        assert 1 <= len(n["name"]) <= 100


def test_nomination_mix(
    residents: list[dict[str, str]],
    nominations: list[dict[str, str]],
    district: dict[str, Any],
) -> None:
    by_rrn = {r["rrn"]: r for r in residents}
    kinds = {i["code"]: i["kind"] for i in district["institutions"]}
    center_of = {i["dong"]: i["code"] for i in district["institutions"] if i["kind"] == "community_center"}

    known = [n for n in nominations if n["rrn"] in by_rrn]
    assert 2 <= len(nominations) - len(known) <= 3  # RRNs in no registry

    own_dong = sum(
        1
        for n in known
        if kinds[n["institution"]] == "community_center"
        and center_of.get(by_rrn[n["rrn"]]["dong_code"]) == n["institution"]
    )
    assert own_dong / len(nominations) > 0.5
    assert {kinds[n["institution"]] for n in nominations} == {
        "community_center",
        "welfare_center",
        "private",
    }

    statuses = Counter(by_rrn[n["rrn"]]["status"] for n in known)
    assert statuses["deceased"] >= 2
    assert statuses["moved_out"] >= 2
    assert sum(by_rrn[n["rrn"]]["dong_code"] not in APPENDIX_DONGS for n in known) >= 2

    typos = [n for n in known if n["name"] != by_rrn[n["rrn"]]["name"]]
    assert 2 <= len(typos) <= 6
    for n in typos:
        real = by_rrn[n["rrn"]]["name"]
        assert len(n["name"]) == len(real)
        assert sum(a != b for a, b in zip(n["name"], real, strict=True)) == 1


def test_nominations_contain_duplicates_across_institutions(
    residents: list[dict[str, str]], nominations: list[dict[str, str]]
) -> None:
    seen: dict[tuple[str, str], list[str]] = defaultdict(list)
    for n in nominations:
        seen[(n["program"], n["rrn"])].append(n["institution"])
    duplicates = {k: v for k, v in seen.items() if len(v) > 1}
    assert 0.03 <= len(duplicates) / len(nominations) <= 0.07
    assert all(len(set(v)) == len(v) for v in duplicates.values())  # different institutions

    household_of = {r["rrn"]: r["household_id"] for r in residents}
    by_household: dict[tuple[str, str], set[str]] = defaultdict(set)
    for n in nominations:
        if n["rrn"] in household_of:
            by_household[(n["program"], household_of[n["rrn"]])].add(n["rrn"])
    pairs = [k for k, v in by_household.items() if len(v) > 1]
    assert 2 <= len(pairs) <= 4


def test_nominations_from_a_small_registry(district: dict[str, Any]) -> None:
    small = list(generate_residents(2000, seed=3))
    planned = plan_nominations(small, district["institutions"], seed=3, count=60)
    assert len(planned) == 60
    with pytest.raises(ValueError):
        plan_nominations(small, district["institutions"], count=10)
