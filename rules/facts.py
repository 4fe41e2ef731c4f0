"""The fact catalogue: the only keys a rule may read and the service must always supply.

The service turns the registry and the nomination history into one flat dict with every key
below present. Keys are never optional: durable-rules misbehaves on absent keys, so "not
found" is spelled out with explicit values (False, "", -1, 0) instead.

Bounds (what durable-rules can judge; measured, see docs/durable-rules-notes.md). Facts outside
them raise FactsError from `validate_facts`; rule sets outside them raise RuleSetError naming the
file, line and field. Each bound is a named constant below.

- Strings (facts and rule-set constants): at most MAX_STR_BYTES (1,024) bytes of UTF-8, valid
  UTF-8 (no lone surrogate such as "\\ud800") and no NUL. durable compares strings by their length
  modulo 65,536 (`"deceased" + 65,536 × "x"` equals `"deceased"`) and its C layer raises on
  surrogates and 16 MiB strings; 1 KiB is far below the wrap and far above any code or name.
- Integers (facts, constants, parameter values and bounds): |n| <= MAX_INT = 2**53 - 1. durable
  saturates at the int64 range (2**63 equals 2**63 - 1); inside ±(2**53 - 1) every integer is
  exact as int64 *and* as a double, so it compares exactly whichever way durable's C code (or a
  JSON reader of a stored verdict) takes it. Real ages, counts and thresholds are tiny.
- Shapes of a rule set, so that the largest one allowed registers in under about 0.1 s, not
  the 20 s measured before (see rules.engine), and no fixed-size table of durable overflows:
  `in`/`not_in` lists of at most MAX_LIST_ITEMS values; all/any nested at most
  MAX_CONDITION_DEPTH deep; at most MAX_RULES rules (base rules included); at most
  MAX_ALTERNATIVES and-branches per rule and MAX_BRANCHES per rule set after the DNF expansion,
  with at most MAX_COMPARISONS comparisons in it; at most MAX_DEFINITION_BYTES of compiled
  definition; and durable's 64-node evaluation stack (rules.compile.DURABLE_STACK) can never
  overflow. Values, lists, depth and rule count are checked when a RuleSet is built (rules.model)
  and, with lines, by the loader; the DNF sizes and the network by rules.compile.
- YAML documents: nested at most rules.yamlsrc.MAX_YAML_DEPTH deep, no anchors or aliases.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from types import MappingProxyType
from typing import Any, Final, cast

from rules.errors import FactsError

FactValue = bool | int | str
NUL: Final = "\x00"

MAX_STR_BYTES: Final = 1_024
"""Longest fact string or string constant, in UTF-8 bytes (durable wraps lengths at 65,536)."""
MAX_INT: Final = 2**53 - 1
"""Largest |integer| of a fact or constant (durable saturates at int64; ±2**53 - 1 is exact everywhere)."""
MAX_LIST_ITEMS: Final = 64
"""Most values in one `in`/`not_in` list."""
MAX_CONDITION_DEPTH: Final = 8
"""Most levels of all/any nested in one condition (a bare fact condition is depth 0)."""
MAX_ALTERNATIVES: Final = 64
"""Most and-branches one rule's condition may expand to (the engine compiles to DNF)."""
MAX_BRANCHES: Final = 500
"""Most and-branches of a whole rule set: durable hangs once a node of its network has 512 children."""
MAX_COMPARISONS: Final = 4_096
"""Most comparisons of a whole rule set after the DNF expansion: registration time grows with them."""
MAX_RULES: Final = 100
"""Most rules in a rule set (base rules included): durable's per-node lists hold 128 and 256 entries."""
MAX_DEFINITION_BYTES: Final = 512 * 1_024
"""Most bytes of the JSON definition durable parses at registration (long strings × many comparisons)."""


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


def value_problem(value: FactValue) -> str | None:
    """Say why durable cannot judge `value` (a fact or a constant), or None when it can.

    Strings must be valid UTF-8 of at most MAX_STR_BYTES bytes without NUL; integers (not
    bools) must lie within ±MAX_INT.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if -MAX_INT <= value <= MAX_INT:
            return None
        return f"integer {_short(value)} is outside the range ±{MAX_INT:,} (2**53 - 1)"
    if len(value) > MAX_STR_BYTES:  # at least one byte per character: too long already
        return f"string of {len(value):,} characters is longer than {MAX_STR_BYTES:,} UTF-8 bytes"
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError as exc:
        bad = value[exc.start]
        return f"string is not valid UTF-8 (lone surrogate U+{ord(bad):04X} at character {exc.start})"
    if size > MAX_STR_BYTES:
        return f"string of {size:,} UTF-8 bytes is longer than {MAX_STR_BYTES:,}"
    if NUL in value:
        return f"string contains a NUL character (at character {value.index(NUL)})"
    return None


def text_problem(text: str) -> str | None:
    """Say why a text cannot be stored and hashed (lone surrogate, NUL), or None; no length bound."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"text is not valid UTF-8 (lone surrogate U+{ord(text[exc.start]):04X} at character {exc.start})"
    return "text contains a NUL character" if NUL in text else None


def _short(value: object, limit: int = 40) -> str:
    """A repr cut to `limit` characters: a 16 MiB fact must not end up in an error message."""
    if isinstance(value, int) and value.bit_length() > 128:  # repr of a huge int is slow or refused
        return f"<an integer of {value.bit_length():,} bits>"
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def validate_facts(facts: Mapping[str, object]) -> dict[str, FactValue]:
    """Check that `facts` has exactly the catalogue keys with the right types; return a copy.

    Raises FactsError naming every missing, unknown or mistyped key and every value outside
    the bounds durable can judge (see the module docstring).
    """
    problems: list[str] = []
    missing = [name for name in FACTS if name not in facts]
    if missing:
        problems.append(f"missing facts: {', '.join(missing)}")
    unknown = sorted(_short(k) if not isinstance(k, str) or len(k) > 80 else k for k in facts if k not in FACTS)
    if unknown:
        problems.append(f"unknown facts: {', '.join(unknown)}")
    for name, spec in FACTS.items():
        if name not in facts:
            continue
        value = facts[name]
        if not type_matches(spec, value):
            problems.append(f"fact {name} must be {spec.type_name}, got {type(value).__name__} {_short(value)}")
        elif (problem := value_problem(cast(FactValue, value))) is not None:
            problems.append(f"fact {name}: {problem}")
    if problems:
        raise FactsError("invalid facts: " + "; ".join(problems))
    return {name: cast(FactValue, facts[name]) for name in FACTS}


_NAMES: Final = frozenset(FACTS)
_SHORT_STR: Final = MAX_STR_BYTES // 4  # a string this short is within the byte bound (UTF-8: <= 4 bytes each)
_MAX_LAYOUTS: Final = 64
_Pick = Callable[[Any], tuple[Any, ...]]
_Layout = tuple[tuple[type, ...], _Pick, _Pick]
_LAYOUTS: dict[tuple[str, ...], _Layout] = {}


def _layout(order: tuple[str, ...]) -> _Layout | None:
    """For a dict whose keys are the catalogue's in this order: the exact type of each position,
    and getters of the integer and the string positions (None for any other key set)."""
    layout = _LAYOUTS.get(order)
    if layout is None:
        if len(order) != len(FACTS) or frozenset(order) != _NAMES:
            return None
        kinds = tuple(FACTS[name].type for name in order)
        ints = [i for i, kind in enumerate(kinds) if kind is int]
        strs = [i for i, kind in enumerate(kinds) if kind is str]
        layout = (kinds, tuple_getter(ints), tuple_getter(strs))
        if len(_LAYOUTS) < _MAX_LAYOUTS:  # the service builds facts in one or two orders
            _LAYOUTS[order] = layout
    return layout


def tuple_getter(keys: Sequence[Any]) -> Callable[[Any], tuple[Any, ...]]:
    """``itemgetter(*keys)`` that always gives a tuple (``itemgetter`` gives one key's value bare,
    and takes no key at all): the values at these positions or names, in this order."""
    if len(keys) == 1:
        only = keys[0]
        return lambda values: (values[only],)
    if not keys:
        return lambda _values: ()
    return cast(Callable[[Any], tuple[Any, ...]], itemgetter(*keys))


def checked_facts(facts: Mapping[str, object]) -> Mapping[str, FactValue]:
    """What :func:`validate_facts` accepts, without copying in the common case: a plain dict of
    exactly the catalogue keys, every value of exactly its type (a bool is no int here) and plainly
    within bounds, is returned as it is (the engine reads it once, at once); anything else goes
    through :func:`validate_facts` (its copy, or its FactsError naming every problem).

    The engine's hot path, checked with a few C-level passes over the values instead of a Python
    loop per fact: validate_facts costs about 9 µs per call, this about 1 µs.
    """
    if type(facts) is dict and (layout := _layout(tuple(facts))) is not None:
        kinds, ints, strs = layout
        values = tuple(facts.values())
        if tuple(map(type, values)) == kinds:
            numbers = cast(tuple[int, ...], ints(values))
            texts = cast(tuple[str, ...], strs(values))
            if not numbers or (min(numbers) >= -MAX_INT and max(numbers) <= MAX_INT):
                joined = "".join(texts)
                if NUL not in joined and (not texts or max(map(len, texts)) <= _SHORT_STR):
                    try:
                        joined.encode("utf-8")  # a lone surrogate anywhere: not judgeable
                    except UnicodeEncodeError:
                        return validate_facts(facts)
                    return cast(Mapping[str, FactValue], facts)
    return validate_facts(facts)


def with_example_defaults(partial: Mapping[str, FactValue]) -> dict[str, FactValue]:
    """Fill the facts an example leaves out from EXAMPLE_DEFAULTS (for YAML examples and tests)."""
    return {**EXAMPLE_DEFAULTS, **partial}


assert all("__" not in name for name in FACTS), "fact names must not contain '__'"
