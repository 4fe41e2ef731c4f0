"""Synthetic demo data for a district (Seongdong-gu by default): residents, receipts, programs, nominations.

Every generator takes an optional :class:`DemoDistrict` (its dongs, street names, neighbouring
dongs, receipt providers and programs); without one it is :data:`SEONGDONG`, whose output is
fixed (tests and the README's tour depend on it). :func:`demo_district` builds one for any
district file, so another district gets a demo of its own without code.

Everything here is fictitious and deterministic: every function takes a ``seed`` and draws
from its own :class:`random.Random`, so the same arguments always give the same rows (the
global ``random`` module is never touched). Nothing reads or writes a database; the row
generators stream, so a large snapshot never has to sit in memory.

Resident registration numbers (주민등록번호)
    All RRNs are synthetic. They are *formally* valid — ``YYMMDD-SNNNNNN`` with the resident's
    real-looking birth date and a 7th digit ``S`` of 1/2 (born 1900–1999, male/female) or 3/4
    (born 2000 or later) that agrees with the ``sex`` column — but they are assigned to no real
    person. The last six digits are simply the resident's 1-based position in the generated
    snapshot (``000001``, ``000002`` …), which makes every number unique and visibly
    made up; no region code and no real check digit is computed (the contract does not
    validate check digits). Any coincidence with a real person's number is pure chance and
    says nothing about that person.

Shares in a generated snapshot (approximately)
    about ``count / 2.2`` households of 1–6 people (many single elderly people); one ``head``
    per household, the others ``member``; members share the dong and address. About 1 %
    ``deceased``, 2 % ``moved_out`` (whole households, ``status_date`` within the last two
    years) and 3 % living in another Seoul district (a ``dong_code`` outside the district).

Receipt quantities
    kimchi: 10 kg boxes; rice: 10 kg bags; heating-coal: briquettes; side-dishes: packs;
    cash: won.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import groupby
from typing import Any, Final, NamedTuple

DEMO_AS_OF: Final = date(2026, 11, 1)
"""The reference date of the demo snapshot (its "today")."""

DISTRICT_CODE: Final = "11200"

RESIDENT_COLUMNS: Final = (
    "rrn", "name", "birth_date", "sex", "household_id", "relation",
    "dong_code", "address", "status", "status_date",
)  # fmt: skip
RECEIPT_COLUMNS: Final = ("rrn", "resource_category", "received_on", "provider", "quantity")
NOMINATION_KEYS: Final = ("program", "institution", "rrn", "name")

_MAX_RESIDENTS: Final = 999_999  # the six-digit serial must stay unique
_MIN_BIRTH: Final = date(1930, 1, 1)
_MAX_BIRTH: Final = date(2025, 12, 31)

# --------------------------------------------------------------------------- places


class DemoDong(NamedTuple):
    """An administrative dong of the demo district: its rough relative population and street names."""

    code: str
    name: str
    weight: int  # rough relative population
    streets: tuple[str, ...]


_Dong = DemoDong


# The 17 administrative dongs of Seongdong-gu (must match seongdong.yaml; a test checks it).
_DONGS: Final = (
    _Dong("1120052000", "왕십리2동", 8, ("왕십리로", "무학로", "왕십리광장로")),
    _Dong("1120053500", "왕십리도선동", 10, ("고산자로", "무학로", "도선동길")),
    _Dong("1120054000", "마장동", 9, ("마장로", "고산자로", "마장로39길")),
    _Dong("1120055000", "사근동", 5, ("사근동길", "마조로", "왕십리로")),
    _Dong("1120056000", "행당1동", 9, ("행당로", "왕십리로", "살곶이길")),
    _Dong("1120057000", "행당2동", 9, ("행당로", "마조로", "행당로17길")),
    _Dong("1120058000", "응봉동", 6, ("응봉로", "독서당로", "고산자로")),
    _Dong("1120059000", "금호1가동", 7, ("금호로", "무수막길", "독서당로")),
    _Dong("1120061500", "금호2·3가동", 6, ("금호로", "동호로", "금호산길")),
    _Dong("1120062000", "금호4가동", 6, ("금호로", "독서당로", "동호로")),
    _Dong("1120064500", "옥수동", 11, ("독서당로", "매봉길", "옥수동길")),
    _Dong("1120065000", "성수1가1동", 6, ("뚝섬로", "서울숲길", "왕십리로")),
    _Dong("1120066000", "성수1가2동", 8, ("성수일로", "뚝섬로", "아차산로")),
    _Dong("1120067000", "성수2가1동", 6, ("성수이로", "아차산로", "연무장길")),
    _Dong("1120069000", "성수2가3동", 6, ("성수이로", "연무장길", "광나루로")),
    _Dong("1120072000", "송정동", 5, ("동일로", "송정길", "광나루로")),
    _Dong("1120079000", "용답동", 5, ("천호대로", "용답중앙길", "용답길")),
)

SEONGDONG_DONGS: Final[dict[str, str]] = {d.code: d.name for d in _DONGS}
"""Administrative dong code → name, the 17 dongs of the demo district."""


class DemoOutside(NamedTuple):
    """A dong of another district, where the ~3 % of residents living outside the district are."""

    code: str
    gu: str
    streets: tuple[str, ...]


_Outside = DemoOutside


# Dongs of neighbouring Seoul districts (광진구 11215, 동대문구 11230, 중구 11140). The codes are
# illustrative: the demo only needs them to be 10-digit codes that are not Seongdong-gu's.
_OUTSIDE: Final = (
    _Outside("1121571000", "광진구", ("능동로", "아차산로", "자양로")),
    _Outside("1121565000", "광진구", ("자양로", "뚝섬로")),
    _Outside("1123070500", "동대문구", ("답십리로", "천호대로")),
    _Outside("1123053600", "동대문구", ("왕산로", "고산자로")),
    _Outside("1114065000", "중구", ("다산로", "퇴계로")),
    _Outside("1114062500", "중구", ("다산로", "동호로")),
)

# --------------------------------------------------------------------------- names

_SURNAMES: Final = (
    ("김", 215), ("이", 147), ("박", 84), ("최", 47), ("정", 43), ("강", 23), ("조", 21),
    ("윤", 20), ("장", 20), ("임", 17), ("한", 15), ("오", 15), ("서", 15), ("신", 14),
    ("권", 14), ("황", 14), ("안", 13), ("송", 13), ("전", 11), ("홍", 11), ("유", 11),
    ("고", 9), ("문", 9), ("양", 8), ("손", 8), ("배", 8), ("백", 8), ("허", 6), ("남", 5),
    ("심", 5), ("노", 4), ("하", 4),
)  # fmt: skip
_SURNAME_CHOICES: Final = tuple(s for s, _ in _SURNAMES)
_SURNAME_WEIGHTS: Final = tuple(w for _, w in _SURNAMES)

# Given names by birth cohort and sex.
_GIVEN: Final[dict[tuple[int, str], tuple[str, ...]]] = {
    (1930, "M"): ("영수", "영호", "영철", "정호", "상철", "광수", "병철", "종수", "재석", "만수",
                  "춘식", "성호", "동수", "용식", "창호", "기철", "봉수", "태식"),
    (1930, "F"): ("영자", "순자", "정자", "영숙", "정숙", "옥순", "말순", "춘자", "명숙", "경자",
                  "순옥", "복순", "금순", "영희", "숙자", "미자", "옥자", "길순"),
    (1960, "M"): ("성민", "정훈", "성진", "상훈", "지훈", "동현", "재현", "준호", "민수", "현우",
                  "승현", "영진", "태호", "진우", "성훈", "재훈", "형준", "상민"),
    (1960, "F"): ("미경", "은정", "지영", "현정", "미영", "수진", "은주", "혜진", "정은", "지은",
                  "선영", "미정", "경희", "윤정", "은영", "소영", "혜영", "미숙"),
    (1990, "M"): ("민준", "서준", "도윤", "예준", "시우", "주원", "하준", "지호", "지후", "준서",
                  "건우", "현준", "우진", "선우", "연우", "유준", "은우", "도현"),
    (1990, "F"): ("서연", "서윤", "지우", "서현", "민서", "하은", "하윤", "윤서", "지유", "지민",
                  "채원", "수아", "지아", "예은", "다은", "소율", "예린", "아린"),
}  # fmt: skip

# Syllables used to misspell a given name (one syllable swapped for another).
_TYPO_SYLLABLES: Final = "영순정숙미경은지현수민서하윤준호철희자옥성진"


def _surname(rng: random.Random) -> str:
    return rng.choices(_SURNAME_CHOICES, _SURNAME_WEIGHTS)[0]


def _given(rng: random.Random, birth: date, sex: str) -> str:
    cohort = 1930 if birth.year < 1960 else 1960 if birth.year < 1990 else 1990
    return rng.choice(_GIVEN[(cohort, sex)])


def _misspell(rng: random.Random, name: str) -> str:
    """The same name with one syllable of the given name replaced by another."""
    surname, given = name[0], name[1:]
    pos = rng.randrange(len(given))
    swap = rng.choice([s for s in _TYPO_SYLLABLES if s != given[pos]])
    return surname + given[:pos] + swap + given[pos + 1 :]


# --------------------------------------------------------------------------- residents


class _Person(NamedTuple):
    relation: str
    sex: str
    birth: date
    name: str


def _birth(rng: random.Random, age: int, as_of: date) -> date:
    start = date(as_of.year - age, 1, 1)
    day = start + timedelta(days=rng.randrange(365))
    return min(max(day, _MIN_BIRTH), _MAX_BIRTH, as_of)


def _other(sex: str) -> str:
    return "F" if sex == "M" else "M"


def _household(rng: random.Random, size: int, as_of: date) -> list[_Person]:
    """The people of one household, the head first (children of the father's surname)."""
    plan: list[tuple[str, str, int]] = []  # (role, sex, age); role head|spouse|child|parent
    if size == 1:
        if rng.random() < 0.55:  # single elderly people, mostly women
            plan.append(("head", "F" if rng.random() < 0.68 else "M", rng.randint(65, 95)))
        else:
            plan.append(("head", rng.choice("MF"), rng.randint(20, 64)))
    else:
        kind = rng.random()
        if size == 2 and kind < 0.5:  # elderly couple
            head_age, spouse, single_parent = rng.randint(65, 92), True, False
        elif size == 2 and kind < 0.8:  # younger couple
            head_age, spouse, single_parent = rng.randint(25, 64), True, False
        elif size == 2:  # single parent and child
            head_age, spouse, single_parent = rng.randint(30, 62), False, True
        else:
            head_age, spouse, single_parent = rng.randint(30, 62), rng.random() < 0.88, False
        head_sex = ("F" if rng.random() < 0.7 else "M") if single_parent else ("M" if rng.random() < 0.8 else "F")
        plan.append(("head", head_sex, head_age))
        if spouse:
            spouse_age = min(95, max(20, head_age + rng.randint(-5, 4)))
            plan.append(("spouse", _other(head_sex), spouse_age))
        if size >= 5 and len(plan) < size and rng.random() < 0.5:
            plan.append(("parent", rng.choice("MF"), min(95, head_age + rng.randint(24, 34))))
        while len(plan) < size:
            plan.append(("child", rng.choice("MF"), max(1, head_age - rng.randint(24, 40))))

    head_surname = _surname(rng)
    spouse_surname = _surname(rng)
    has_spouse = len(plan) > 1 and plan[1][0] == "spouse"
    father = spouse_surname if plan[0][1] == "F" and has_spouse else head_surname
    people: list[_Person] = []
    for role, sex, age in plan:
        birth = _birth(rng, age, as_of)
        if role == "head":
            surname = head_surname
        elif role == "spouse":
            surname = spouse_surname
        elif role == "child":
            surname = father
        else:
            surname = head_surname if sex == "M" else _surname(rng)
        relation = "head" if role == "head" else "member"
        people.append(_Person(relation, sex, birth, surname + _given(rng, birth, sex)))
    return people


def _household_size(rng: random.Random) -> int:
    # mean about 2.2 people per household
    return rng.choices((1, 2, 3, 4, 5, 6), (36, 29, 18, 13, 3, 1))[0]


def _address(rng: random.Random, gu: str, streets: Sequence[str]) -> str:
    number = str(rng.randint(1, 350))
    if rng.random() < 0.4:
        number += f"-{rng.randint(1, 40)}"
    unit = ""
    roll = rng.random()
    if roll < 0.35:
        unit = f", {rng.randint(101, 115)}동 {rng.randint(1, 25)}{rng.randint(1, 8):02d}호"
    elif roll < 0.55:
        unit = f", {rng.randint(1, 5)}층"
    return f"서울특별시 {gu} {rng.choice(streets)} {number}{unit}"


def _rrn(birth: date, sex: str, serial: int) -> str:
    digit = (1 if sex == "M" else 2) + (2 if birth.year >= 2000 else 0)
    return f"{birth:%y%m%d}-{digit}{serial:06d}"


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _death_chance(age: int) -> float:
    if age >= 80:
        return 0.065
    if age >= 65:
        return 0.016
    return 0.003


def generate_residents(
    count: int = 20000, seed: int = 2016, as_of: date = DEMO_AS_OF, district: DemoDistrict | None = None
) -> Iterator[dict[str, str]]:
    """Yield ``count`` synthetic resident-snapshot rows (the contract's CSV columns) of ``district``.

    Rows come household by household, the head first; values are strings ready for
    :class:`csv.DictWriter` with :data:`RESIDENT_COLUMNS`.
    """
    if not 0 <= count <= _MAX_RESIDENTS:
        raise ValueError(f"count must be between 0 and {_MAX_RESIDENTS}")
    place = district or SEONGDONG
    inside = {d.code for d in place.dongs}
    rng = random.Random(seed)
    dong_weights = [d.weight for d in place.dongs]
    serial = 0
    household_no = 0
    while serial < count:
        household_no += 1
        people = _household(rng, min(_household_size(rng), count - serial), as_of)
        household_id = f"H{household_no:07d}"
        roll = rng.random()
        moved_on: date | None = None
        if roll < 0.03:  # lives in another Seoul district
            outside = rng.choice(place.outside)
            dong_code, address = outside.code, _address(rng, outside.gu, outside.streets)
        else:
            dong = rng.choices(place.dongs, dong_weights)[0]
            dong_code, address = dong.code, _address(rng, place.gu, dong.streets)
            if roll < 0.05:  # the whole household moved out within the last two years
                youngest = max(p.birth for p in people)
                window = max(1, min(730, (as_of - youngest).days))
                moved_on = as_of - timedelta(days=rng.randint(1, window))
        for person in people:
            serial += 1
            status, status_date = "active", ""
            if moved_on is not None:
                status, status_date = "moved_out", moved_on.isoformat()
            elif dong_code in inside and rng.random() < _death_chance(_age(person.birth, as_of)):
                window = max(1, min(1095, (as_of - person.birth).days))
                died = as_of - timedelta(days=rng.randint(1, window))
                status, status_date = "deceased", max(died, person.birth).isoformat()
            yield {
                "rrn": _rrn(person.birth, person.sex, serial),
                "name": person.name,
                "birth_date": person.birth.isoformat(),
                "sex": person.sex,
                "household_id": household_id,
                "relation": person.relation,
                "dong_code": dong_code,
                "address": address,
                "status": status,
                "status_date": status_date,
            }


# --------------------------------------------------------------------------- receipts

_CATEGORY_WEIGHTS: Final = (
    ("kimchi", 30), ("rice", 25), ("heating-coal", 15), ("side-dishes", 20), ("cash", 10),
)  # fmt: skip

_PROVIDERS: Final[dict[str, tuple[str, ...]]] = {
    "kimchi": ("사랑의열매", "대한적십자사", "성동구자원봉사센터", "행당중앙교회",
               "성동종합사회복지관", "성동구새마을부녀회"),
    "rice": ("사랑의열매", "대한적십자사", "성동푸드뱅크마켓", "성동구청"),
    "heating-coal": ("연탄은행", "대한적십자사", "행당중앙교회"),
    "cash": ("사랑의열매", "성동신용협동조합"),
    "side-dishes": ("성동푸드뱅크마켓", "성동구자원봉사센터", "성동종합사회복지관"),
}  # fmt: skip


def _quantity(rng: random.Random, category: str) -> int:
    if category == "heating-coal":
        return rng.choice((100, 150, 200, 300))
    if category == "cash":
        return rng.choice((100_000, 200_000, 300_000))
    if category == "side-dishes":
        return rng.randint(1, 4)
    return rng.randint(1, 2)


def generate_receipts(
    residents: Iterable[dict[str, str]],
    seed: int = 2016,
    as_of: date = DEMO_AS_OF,
    district: DemoDistrict | None = None,
) -> Iterator[dict[str, str]]:
    """Yield past receipts (the contract's receipt CSV columns) for about 10 % of households.

    About 2 % of all households are over-served: they received kimchi (the district's
    ``overserved`` category) two to four times from
    different providers within the last 12 months (more precisely the last 330 days, so that
    they still count a few weeks after ``as_of``). The others received one or two resources
    within the last two years. Receipts go to an active member (the head when active).

    ``residents`` is read once, as a stream; a household's rows must be consecutive (as
    :func:`generate_residents` yields them).
    """
    place = district or SEONGDONG
    rng = random.Random(seed)
    categories = [c for c, _ in place.categories]
    weights = [w for _, w in place.categories]
    overserved = place.providers[place.overserved]
    for _, group in groupby(residents, key=lambda row: row["household_id"]):
        members = list(group)
        roll = rng.random()
        if roll >= 0.10:
            continue
        active = [m for m in members if m["status"] == "active"]
        if not active:
            continue
        adults = [m for m in active if _age(date.fromisoformat(m["birth_date"]), as_of) >= 19]
        recipient = (adults or active)[0] if rng.random() < 0.8 else rng.choice(adults or active)
        birth = date.fromisoformat(recipient["birth_date"])
        seen: set[tuple[str, date, str]] = set()
        planned: list[tuple[str, date, str]] = []
        if roll < 0.02:
            times = min(rng.randint(2, 4), len(overserved))
            providers = rng.sample(overserved, times)
            offsets = rng.sample(range(1, 331), times)
            for offset, provider in zip(offsets, providers, strict=True):
                planned.append((place.overserved, as_of - timedelta(days=offset), provider))
        for _ in range(rng.randint(1, 2) if roll >= 0.02 else rng.randint(0, 1)):
            category = rng.choices(categories, weights)[0]
            received = as_of - timedelta(days=rng.randint(1, 730))
            planned.append((category, received, rng.choice(place.providers[category])))
        for category, received, provider in sorted(planned, key=lambda p: p[1]):
            key = (category, received, provider)
            if received < birth or key in seen:
                continue
            seen.add(key)
            yield {
                "rrn": recipient["rrn"],
                "resource_category": category,
                "received_on": received.isoformat(),
                "provider": provider,
                "quantity": str(_quantity(rng, category)),
            }


# --------------------------------------------------------------------------- programs

DEMO_PROGRAMS: Final[list[dict[str, Any]]] = [
    {
        "code": "kimchi-2026",
        "name": "2026 사랑의 김장김치 나눔",
        "department": "senior-welfare",
        "resource_category": "kimchi",
        "sponsor": "community-chest",
        "quota": 500,
        "starts_on": "2026-11-01",
        "ends_on": "2026-12-31",
        "ruleset": "kimchi-winter",
        "parameters": {"household_limit": 1, "lookback_days": 365, "min_age": 65},
    },
    {
        "code": "rice-2026",
        "name": "2026 겨울나기 쌀 지원",
        "department": "life-security",
        "resource_category": "rice",
        "sponsor": "red-cross",
        "quota": 800,
        "starts_on": "2026-11-15",
        "ends_on": "2027-01-31",
        "ruleset": "rice-support",
        "parameters": {"household_limit": 1, "lookback_days": 180},
    },
    {
        "code": "coal-2026",
        "name": "2026-2027 사랑의 연탄 나눔",
        "department": "welfare-policy",
        "resource_category": "heating-coal",
        "sponsor": "haengdang-church",
        "quota": 200,
        "starts_on": "2026-11-01",
        "ends_on": "2027-02-28",
        "ruleset": "heating-coal",
        "parameters": {"household_limit": 2, "lookback_days": 365},
    },
]
"""Program create bodies (``POST /api/v1/programs``) for the demo."""

# --------------------------------------------------------------------------- districts


@dataclass(frozen=True)
class DemoDistrict:
    """Everything the generators need to know about a demo district (all fictitious but the codes)."""

    code: str
    gu: str  # the district as written in addresses: 성동구
    dongs: tuple[DemoDong, ...]
    outside: tuple[DemoOutside, ...]  # neighbouring dongs for the ~3 % living outside the district
    categories: tuple[tuple[str, int], ...]  # receipt categories and their relative weights
    providers: Mapping[str, tuple[str, ...]]  # who gave each category (receipt ``provider``)
    overserved: str  # the category the over-served ~2 % of households received several times
    programs: tuple[dict[str, Any], ...]  # program create bodies (POST /api/v1/programs)
    shares: tuple[int, ...]  # relative share of the planned nominations per program
    elderly: frozenset[str]  # programs for the elderly: most of their nominees are 65 or older

    def __post_init__(self) -> None:
        inside = {d.code for d in self.dongs}
        problems = []
        if not self.dongs or not self.outside:
            problems.append("행정동과 관외 행정동이 한 개 이상 있어야 합니다 (dongs and outside dongs needed)")
        if inside & {o.code for o in self.outside}:
            problems.append("관외 행정동이 구의 행정동과 겹칩니다 (an outside dong is one of the district's)")
        if any(d.weight < 1 or not d.streets for d in self.dongs) or not all(o.streets for o in self.outside):
            problems.append("행정동마다 1 이상의 weight와 도로명이 필요합니다 (each dong needs a weight and streets)")
        if not self.programs or len(self.shares) != len(self.programs) or min(self.shares, default=0) < 1:
            problems.append("사업이 한 개 이상, 사업마다 1 이상의 share가 필요합니다 (programs with shares needed)")
        if not self.elderly <= {str(p["code"]) for p in self.programs}:
            problems.append("elderly는 데모 사업 코드여야 합니다 (elderly must name demo programs)")
        for category, weight in self.categories:
            if weight < 1 or not self.providers.get(category):
                problems.append(f"{category}: 1 이상의 weight와 제공 기관이 필요합니다 (weight and providers needed)")
        if self.overserved not in dict(self.categories):
            problems.append(f"overserved {self.overserved!r}는 수혜 품목이어야 합니다 (must be a receipt category)")
        if problems:
            raise ValueError("; ".join(problems))


SEONGDONG: Final = DemoDistrict(
    code=DISTRICT_CODE,
    gu="성동구",
    dongs=_DONGS,
    outside=_OUTSIDE,
    categories=_CATEGORY_WEIGHTS,
    providers=_PROVIDERS,
    overserved="kimchi",
    programs=tuple(DEMO_PROGRAMS),
    shares=(45, 35, 20),
    elderly=frozenset({"kimchi-2026"}),
)
"""The default demo district: Seongdong-gu, exactly as the demo has always been generated."""

# Real dongs of Seoul districts (행정기관코드 from the same public list as service/districts/gwangjin.yaml),
# used as the "outside" of a district whose demo profile names none.
_NEIGHBOURS: Final = (
    DemoOutside("1120056000", "성동구", ("행당로", "왕십리로")),
    DemoOutside("1121571000", "광진구", ("능동로", "아차산로")),
    DemoOutside("1123065000", "동대문구", ("천호대로", "장한로")),
    DemoOutside("1126056500", "중랑구", ("면목로", "동일로")),
    DemoOutside("1129060000", "성북구", ("인촌로", "고려대로")),
)


def demo_district(district: Mapping[str, Any], profile: Mapping[str, Any] | None = None) -> DemoDistrict:
    """A :class:`DemoDistrict` for a parsed district file, refined by an optional demo profile.

    The profile (``<district>.demo.yaml`` beside the district file) may give ``gu``, ``dongs``
    (code → ``{weight, streets}``), ``outside`` (``[{code, gu, streets}]``), ``categories`` (code →
    weight), ``providers`` (code → names), ``overserved`` and ``programs`` (create bodies, each
    with an optional ``share`` and ``elderly: true``; without any, the first program is the
    elderly's). Whatever it leaves out is derived from the district file, so any
    valid district file gets a working demo. Raises ValueError naming what does not fit.
    """
    extra = dict(profile or {})
    unknown = set(extra) - {"gu", "dongs", "outside", "categories", "providers", "overserved", "programs"}
    if unknown:
        raise ValueError(f"데모 설정의 알 수 없는 항목 (unknown demo profile keys): {', '.join(sorted(unknown))}")
    head = district["district"]
    gu = str(extra.get("gu") or head["name"])
    per_dong: Mapping[str, Mapping[str, Any]] = extra.get("dongs") or {}
    strays = set(per_dong) - {d["code"] for d in district["dongs"]}
    if strays:
        raise ValueError(f"지역 파일에 없는 행정동 (dongs not in the district file): {', '.join(sorted(strays))}")
    dongs = tuple(
        DemoDong(
            str(d["code"]),
            str(d["name"]),
            int(per_dong.get(d["code"], {}).get("weight", 5)),
            tuple(per_dong.get(d["code"], {}).get("streets") or (f"{d['name']}길",)),
        )
        for d in district["dongs"]
    )
    inside = {d.code for d in dongs}
    if "outside" in extra:
        outside = tuple(DemoOutside(str(o["code"]), str(o["gu"]), tuple(o["streets"])) for o in extra["outside"])
    else:
        outside = tuple(o for o in _NEIGHBOURS if o.code not in inside and not o.code.startswith(head["code"]))
    known = {c["code"]: c["name"] for c in district["resource_categories"]}
    default_weights = dict(_CATEGORY_WEIGHTS)
    weights = extra.get("categories") or {code: default_weights.get(code, 10) for code in known}
    strays = set(weights) - set(known)
    if strays:
        raise ValueError(f"지역 파일에 없는 품목 (categories not in the district file): {', '.join(sorted(strays))}")
    institutions = district["institutions"]
    givers = tuple(
        [s["name"] for s in district["sponsors"]]
        + [i["name"] for i in institutions if i["kind"] in ("welfare_center", "private")]
        + [f"{gu}청"]
    )
    named: Mapping[str, Sequence[str]] = extra.get("providers") or {}
    providers = {code: tuple(named.get(code) or givers) for code in weights}
    departments = [i["code"] for i in institutions if i["kind"] == "department"]
    if not departments:
        raise ValueError("지역 파일에 부서(department)가 없습니다 (the district file has no department)")
    if "programs" in extra:
        bodies = [dict(p) for p in extra["programs"]]
    else:
        sponsor = district["sponsors"][0]["code"] if district["sponsors"] else None
        bodies = [
            {"code": f"{code}-demo", "name": f"{gu} {known[code]} 나눔 (데모)", "department": departments[0],
             "resource_category": code, "sponsor": sponsor, "quota": 300, "starts_on": "2026-11-01",
             "ends_on": "2027-01-31", "ruleset": "base-screening", "parameters": {}}
            for code in list(weights)[:3]
        ]  # fmt: skip
    if not bodies:
        raise ValueError("데모 사업이 없습니다 (no demo programs)")
    shares = tuple(int(b.pop("share", 1)) for b in bodies)
    elderly = frozenset(str(b["code"]) for b in bodies if b.pop("elderly", False)) or {str(bodies[0]["code"])}
    for body in bodies:
        for key, allowed in (("department", departments), ("resource_category", known)):
            if body.get(key) not in allowed:
                raise ValueError(f"{body.get('code')}: {key} {body.get(key)!r}: 지역 파일에 없습니다 (not in the file)")
    overserved = str(extra.get("overserved") or ("kimchi" if "kimchi" in weights else next(iter(weights), "")))
    return DemoDistrict(
        code=str(head["code"]),
        gu=gu,
        dongs=dongs,
        outside=outside,
        categories=tuple((str(code), int(w)) for code, w in weights.items()),
        providers=providers,
        overserved=overserved,
        programs=tuple(bodies),
        shares=shares,
        elderly=frozenset(elderly),
    )


# --------------------------------------------------------------------------- nominations


def _nomination(program: str, institution: str, rrn: str, name: str) -> dict[str, str]:
    return {"program": program, "institution": institution, "rrn": rrn, "name": name}


def plan_nominations(
    residents: Sequence[dict[str, str]],
    institutions: Sequence[dict[str, Any]],
    seed: int = 2016,
    count: int = 300,
    district: DemoDistrict | None = None,
) -> list[dict[str, str]]:
    """Plan ``count`` nominations for the district's demo programs, in the order they should be made.

    Most nominees of the district's ``elderly`` programs are 65 or older; the programs share the
    nominations by the district's ``shares``.

    ``institutions`` are the district file's institution entries. Most nominations come from
    the community centre of the nominee's dong, the rest from welfare centres and private
    bodies. Mixed in, on purpose (for ``count=300``): about 5 % duplicates (the same person
    nominated again, later, by another institution for the same program), three deceased,
    three moved-out and three out-of-district people, three household pairs (a second member
    of an already nominated household), four misspelt names (one syllable differs) and three
    RRNs that are in no registry. Apart from these, no person or household is nominated
    twice in a program. Every row is ``{"program", "institution", "rrn", "name"}``.
    """
    if count < 40:
        raise ValueError("count must be at least 40")
    place = district or SEONGDONG
    inside = {d.code for d in place.dongs}
    rng = random.Random(seed)
    centers = {
        str(i["dong"]): str(i["code"]) for i in institutions if i.get("kind") == "community_center" and i.get("dong")
    }
    welfare = [str(i["code"]) for i in institutions if i.get("kind") == "welfare_center"]
    private = [str(i["code"]) for i in institutions if i.get("kind") == "private"]
    nominators = sorted({*centers.values(), *welfare, *private})
    if not centers:
        raise ValueError("institutions must include community centres with a dong")

    on = date.fromisoformat(place.programs[0]["starts_on"])
    ages = {r["rrn"]: _age(date.fromisoformat(r["birth_date"]), on) for r in residents}
    households: dict[str, list[dict[str, str]]] = {}
    for r in residents:
        households.setdefault(r["household_id"], []).append(r)
    living = [r for r in residents if r["status"] == "active" and r["dong_code"] in centers]
    adults = [r for r in living if ages[r["rrn"]] >= 19]
    elderly = [r for r in living if ages[r["rrn"]] >= 65]
    grown = [r for r in residents if r["dong_code"] in centers and ages[r["rrn"]] >= 19]
    deceased = [r for r in grown if r["status"] == "deceased"]
    moved = [r for r in grown if r["status"] == "moved_out"]
    outside = [
        r for r in residents if r["status"] == "active" and r["dong_code"] not in inside and ages[r["rrn"]] >= 19
    ]

    programs = [str(p["code"]) for p in place.programs]
    used: set[tuple[str, str]] = set()  # (program, household_id) already nominated

    def pick(pool: Sequence[dict[str, str]], program: str) -> dict[str, str] | None:
        for _ in range(200):
            if not pool:
                return None
            row = rng.choice(pool)
            if (program, row["household_id"]) not in used:
                used.add((program, row["household_id"]))
                return row
        return None

    def institution_for(row: dict[str, str]) -> str:
        roll = rng.random()
        if roll < 0.15 and welfare:
            return rng.choice(welfare)
        if roll < 0.25 and private:
            return rng.choice(private)
        return centers.get(row["dong_code"]) or rng.choice(nominators)

    k = max(1, round(count / 100))
    n_dup = max(1, round(count * 0.05))
    n_pairs, n_typos, n_unknown = k, k + 1, min(3, k)
    n_ordinary = count - n_dup - n_pairs - n_typos - n_unknown - 3 * k

    planned: list[tuple[float, dict[str, str]]] = []  # (order key, nomination)
    ordinary: list[tuple[float, dict[str, str], dict[str, str]]] = []  # (key, row, resident)
    while len(ordinary) < n_ordinary:
        program = rng.choices(programs, place.shares)[0]
        pool = elderly if program in place.elderly and rng.random() < 0.9 else adults
        row = pick(pool, program)
        if row is None:
            raise ValueError("not enough residents for the requested number of nominations")
        key = rng.random()
        nomination = _nomination(program, institution_for(row), row["rrn"], row["name"])
        ordinary.append((key, nomination, row))
        planned.append((key, nomination))

    # duplicates and household pairs follow their original, later in the order
    originals = rng.sample(ordinary, n_dup + n_pairs * 4)
    for key, first, _ in originals[:n_dup]:
        second = rng.choice([c for c in nominators if c != first["institution"]])
        later = rng.uniform(key, 1.0)
        planned.append((later, _nomination(first["program"], second, first["rrn"], first["name"])))
    pairs = 0
    for key, first, row in originals[n_dup:]:
        others = [
            m
            for m in households[row["household_id"]]
            if m["rrn"] != row["rrn"] and m["status"] == "active" and ages[m["rrn"]] >= 19
        ]
        if not others or pairs == n_pairs:
            continue
        member = rng.choice(others)
        institution = first["institution"] if rng.random() < 0.6 else institution_for(member)
        nomination = _nomination(first["program"], institution, member["rrn"], member["name"])
        planned.append((rng.uniform(key, 1.0), nomination))
        pairs += 1
    filler = n_pairs - pairs  # households too small for a pair: nominate someone else instead

    def special(pool: Sequence[dict[str, str]], n: int, by: Sequence[str] | None) -> None:
        for _ in range(n):
            program = rng.choice(programs)
            row = pick(pool, program) or pick(adults, program)
            if row is None:
                raise ValueError("not enough residents for the requested number of nominations")
            institution = rng.choice(by) if by else institution_for(row)
            planned.append((rng.random(), _nomination(program, institution, row["rrn"], row["name"])))

    special(deceased, k, None)
    special(moved, k, None)
    special(outside, k, (welfare + private) or nominators)
    special(adults, filler, None)
    for _ in range(n_typos):
        program = rng.choice(programs)
        row = pick(elderly if program in place.elderly else adults, program)
        if row is None:
            raise ValueError("not enough residents for the requested number of nominations")
        nomination = _nomination(program, institution_for(row), row["rrn"], _misspell(rng, row["name"]))
        planned.append((rng.random(), nomination))

    known = {r["rrn"] for r in residents}
    for _ in range(n_unknown):
        while True:
            birth = _birth(rng, rng.randint(66, 90), on)
            sex = rng.choice("MF")
            rrn = _rrn(birth, sex, rng.randint(900_000, 999_999))
            if rrn not in known:
                break
        known.add(rrn)
        name = _surname(rng) + _given(rng, birth, sex)
        planned.append((rng.random(), _nomination(rng.choice(programs), rng.choice(nominators), rrn, name)))

    planned.sort(key=lambda item: item[0])  # stable: an original precedes an equal-key follower
    return [nomination for _, nomination in planned]
