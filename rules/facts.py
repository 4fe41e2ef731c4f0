"""The fact catalogue: the only keys a rule may read and the service must always supply.

The service turns the registry and the nomination history into one flat dict with every key
below present. Keys are never optional: durable-rules misbehaves on absent keys, so "not
found" is spelled out with explicit values (False, "", -1, 0) instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, cast

from rules.errors import FactsError

FactValue = bool | int | str


@dataclass(frozen=True)
class FactSpec:
    """What one fact means: its Python type, a Korean label and an English description."""

    name: str
    type: type[bool] | type[int] | type[str]
    label_ko: str
    description_en: str

    @property
    def type_name(self) -> str:
        """Return "bool", "int" or "str"."""
        return self.type.__name__


def _spec(name: str, kind: type[bool] | type[int] | type[str], ko: str, en: str) -> FactSpec:
    return FactSpec(name, kind, ko, en)


_SPECS = (
    _spec(
        "resident.found",
        bool,
        "주민등록 확인 여부",
        "An active, deceased or moved-out resident with that RRN is in the registry snapshot",
    ),
    _spec(
        "resident.status",
        str,
        "주민 상태",
        'Registry status: "active", "deceased" or "moved_out"; "" when not found',
    ),
    _spec("resident.age", int, "만 나이", "Full years on the evaluation date; -1 when not found"),
    _spec("resident.sex", str, "성별", 'Sex: "M", "F", or "" when not found'),
    _spec(
        "resident.dong_code",
        str,
        "행정동 코드",
        'The 10-digit administrative dong code of the address; "" when not found',
    ),
    _spec(
        "resident.in_district",
        bool,
        "관내 거주 여부",
        "The resident's dong is one of the district's dongs (false when not found)",
    ),
    _spec("resident.is_household_head", bool, "세대주 여부", "The resident heads the household"),
    _spec(
        "nominee.name_matches",
        bool,
        "성명 일치 여부",
        "The name given equals the registry's (false when not found)",
    ),
    _spec(
        "person.earlier_open_nominations",
        int,
        "본인의 기존 추천 건수",
        "Earlier open nominations of the same person in this program whose current outcome is not ineligible",
    ),
    _spec(
        "person.first_institution",
        str,
        "최초 추천 기관 코드",
        'Code of the institution of the earliest of those nominations ("" if none)',
    ),
    _spec(
        "person.first_institution_name",
        str,
        "최초 추천 기관명",
        'Display name of that institution ("" if none)',
    ),
    _spec("household.size", int, "세대원 수", "Members of the household (0 when not found)"),
    _spec("household.single_person", bool, "1인 가구 여부", "The household has one member"),
    _spec(
        "household.members_aged_65_plus",
        int,
        "65세 이상 세대원 수",
        "Members of the household aged 65 or more",
    ),
    _spec(
        "household.earlier_open_nominations",
        int,
        "세대 내 다른 세대원의 기존 추천 건수",
        "Earlier open nominations of other members of the household in this program whose "
        "current outcome is not ineligible",
    ),
    _spec(
        "household.receipts_same_category",
        int,
        "세대의 동일 품목 수혜 횟수",
        "Receipts by the household of the program's resource category within lookback_days",
    ),
    _spec(
        "household.nominated_elsewhere",
        int,
        "같은 품목 다른 사업의 본인·세대원 추천 건수",
        "Nominations of the person or another member of the household in another open program of the "
        "same resource category, open or confirmed, whose current outcome is not ineligible",
    ),
    _spec(
        "household.other_program",
        str,
        "다른 사업 코드",
        'Code of the program of the earliest of those nominations ("" if none)',
    ),
    _spec(
        "household.other_program_name",
        str,
        "다른 사업명",
        'Display name of that program ("" if none)',
    ),
)

FACTS: Final[Mapping[str, FactSpec]] = MappingProxyType({s.name: s for s in _SPECS})

EXAMPLE_DEFAULTS: Final[Mapping[str, FactValue]] = MappingProxyType(
    {
        "resident.found": True,
        "resident.status": "active",
        "resident.age": 70,
        "resident.sex": "F",
        "resident.dong_code": "1120058000",
        "resident.in_district": True,
        "resident.is_household_head": True,
        "nominee.name_matches": True,
        "person.earlier_open_nominations": 0,
        "person.first_institution": "",
        "person.first_institution_name": "",
        "household.size": 1,
        "household.single_person": True,
        "household.members_aged_65_plus": 1,
        "household.earlier_open_nominations": 0,
        "household.receipts_same_category": 0,
        "household.nominated_elsewhere": 0,
        "household.other_program": "",
        "household.other_program_name": "",
    }
)
"""An ordinary eligible resident; YAML examples state only the facts that differ."""


def type_matches(spec: FactSpec, value: object) -> bool:
    """Tell whether `value` has the fact's type (a bool is not accepted as an int)."""
    if spec.type is bool:
        return isinstance(value, bool)
    if spec.type is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, str)


def validate_facts(facts: Mapping[str, object]) -> dict[str, FactValue]:
    """Check that `facts` has exactly the catalogue keys with the right types; return a copy.

    Raises FactsError naming every missing, unknown or mistyped key.
    """
    problems: list[str] = []
    missing = [name for name in FACTS if name not in facts]
    if missing:
        problems.append(f"missing facts: {', '.join(missing)}")
    unknown = sorted(str(k) for k in facts if k not in FACTS)
    if unknown:
        problems.append(f"unknown facts: {', '.join(unknown)}")
    for name, spec in FACTS.items():
        if name in facts and not type_matches(spec, facts[name]):
            got = type(facts[name]).__name__
            problems.append(f"fact {name} must be {spec.type_name}, got {got} {facts[name]!r}")
    if problems:
        raise FactsError("invalid facts: " + "; ".join(problems))
    return {name: cast(FactValue, facts[name]) for name in FACTS}


def complete_facts(partial: Mapping[str, FactValue]) -> dict[str, FactValue]:
    """Fill the facts an example leaves out from EXAMPLE_DEFAULTS."""
    return {**EXAMPLE_DEFAULTS, **partial}


assert all("__" not in name for name in FACTS), "fact names must not contain '__'"
