"""Resident registration numbers (주민등록번호): parse, validate, normalise, mask.

The number is ``YYMMDD-SNNNNNN``. The 7th digit ``S`` encodes the century and sex:
1/2 born 1900–1999, 3/4 born 2000–2099 (citizens), 5/6 and 7/8 the same centuries for
foreigners, 9/0 born 1800–1899. Odd digits are male, even digits female.

The last digit is *not* checked: numbers issued since October 2020 have random trailing
digits, so a checksum test would reject real residents.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

_PATTERN = re.compile(r"^(\d{6})-?(\d{7})$")

_CENTURY = {
    "1": 1900, "2": 1900, "5": 1900, "6": 1900,
    "3": 2000, "4": 2000, "7": 2000, "8": 2000,
    "9": 1800, "0": 1800,
}  # fmt: skip


class InvalidRRN(ValueError):
    """Raised for a malformed number; the message never contains the number itself."""


@dataclass(frozen=True, slots=True)
class RRN:
    """A validated resident registration number.

    ``repr`` and ``str`` are masked so that the whole number cannot leak into a log line
    or an error page by accident; use :attr:`digits` deliberately when it is needed.
    """

    digits: str  # the 13 digits, no hyphen

    @property
    def birth_date(self) -> date:
        century = _CENTURY[self.digits[6]]
        return date(century + int(self.digits[0:2]), int(self.digits[2:4]), int(self.digits[4:6]))

    @property
    def sex(self) -> str:
        """``M`` for odd 7th digits, ``F`` for even ones (0 counts as even)."""
        return "M" if int(self.digits[6]) % 2 == 1 else "F"

    @property
    def is_foreigner(self) -> bool:
        return self.digits[6] in "5678"

    @property
    def formatted(self) -> str:
        return f"{self.digits[:6]}-{self.digits[6:]}"

    @property
    def masked(self) -> str:
        return mask(self.digits)

    def __str__(self) -> str:
        return self.masked

    def __repr__(self) -> str:
        return f"RRN({self.masked!r})"


def parse(value: str) -> RRN:
    """Parse ``YYMMDD-NNNNNNN`` or 13 digits; raise :class:`InvalidRRN` with a reason."""
    if not isinstance(value, str):
        raise InvalidRRN("주민등록번호는 문자열이어야 합니다 (must be a string)")
    match = _PATTERN.match(value.strip())
    if not match:
        raise InvalidRRN(
            "주민등록번호 형식이 아닙니다: YYMMDD-NNNNNNN 또는 13자리 숫자 (expected YYMMDD-NNNNNNN or 13 digits)"
        )
    digits = match.group(1) + match.group(2)
    if digits[6] not in _CENTURY:
        raise InvalidRRN("성별 자리(7번째 숫자)가 올바르지 않습니다 (bad 7th digit)")
    try:
        RRN(digits).birth_date  # noqa: B018 - validates the calendar date
    except ValueError:
        raise InvalidRRN("생년월일이 올바른 날짜가 아닙니다 (birth date is not a real date)") from None
    return RRN(digits)


def mask(value: str) -> str:
    """Mask a number as ``900101-1******``: birth date and sex digit only.

    Anything that does not look like a number is masked entirely, so that a typo in a
    field never echoes back a nearly-whole RRN.
    """
    match = _PATTERN.match(value.strip()) if isinstance(value, str) else None
    if not match:
        return "******-*******"
    return mask_digits(match.group(1) + match.group(2))


def mask_digits(digits: str) -> str:
    """:func:`mask` of 13 digits already checked (the import's hot path: no pattern match)."""
    return f"{digits[:6]}-{digits[6]}******"


def age_on(birth: date, on: date) -> int:
    """Full years (만 나이) on a date."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


# --------------------------------------------------------------------------- numbers hidden in free text

IN_TEXT = re.compile(
    r"(?<![0-9])"
    r"[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"  # YYMMDD: a real month, a day 01-31
    r"[ \-\u2010-\u2015\u2212]?"  # at most one hyphen (or dash, minus sign) or space
    r"[1-8][0-9]{6}"  # the sex digit of 1900-2099 (citizens 1-4, foreigners 5-8), six more digits
    r"(?![0-9])"
)
"""Something shaped like a resident registration number inside free text (a note, a reason).

Thirteen digits standing alone (no digit right before or after), the first six a plausible
YYMMDD, then at most one hyphen or space, then a 7th digit 1-8. Phone numbers
(``010-1234-5678``, ``01012345678``), dates (``2026-11-25``, ``20261125``), amounts and
account numbers of other shapes do not match; a 13-digit run with a date-like start does, and
the officer rewrites it. Full-width digits and dashes are folded first (NFKC), so
``９００１０１－１２３４５６７`` is caught too."""

IN_TEXT_KO = "주민등록번호로 보이는 숫자(6자리-7자리)가 있습니다. 주민등록번호는 주민등록번호 칸에만 적어 주세요"
IN_TEXT_EN = (
    "it holds what looks like a resident registration number (6 digits, 7 digits); put RRNs in the RRN field only"
)


def contains_rrn(text: str | None) -> bool:
    """Whether free text holds something shaped like an RRN (:data:`IN_TEXT`); never says which."""
    if not text or len(text) < 13:  # thirteen digits at least (names are short: the common case)
        return False
    return IN_TEXT.search(unicodedata.normalize("NFKC", text)) is not None


def blank_in_text(text: str) -> str:
    """``text`` with every RRN-shaped number replaced by ``******-*******``: what a refused form
    shows again, so that the officer sees where it was and the page never holds the number."""
    return IN_TEXT.sub("******-*******", unicodedata.normalize("NFKC", text))


def refuse_in_text(field: str, text: str | None) -> None:
    """The one check of every stored free-text field: a 422 (``Invalid``) naming ``field``,
    never repeating the number (the message is fixed, the text is not quoted)."""
    if contains_rrn(text):
        from .errors import Invalid

        raise Invalid(f"{field}: {IN_TEXT_KO}", f"{field}: {IN_TEXT_EN}", {field: [f"{IN_TEXT_KO} ({IN_TEXT_EN})"]})
