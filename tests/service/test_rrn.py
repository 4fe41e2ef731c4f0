import re
from datetime import date

import pytest

from service import rrn


@pytest.mark.parametrize(
    ("value", "birth", "sex"),
    [
        ("900101-1234567", date(1990, 1, 1), "M"),
        ("9001012234567", date(1990, 1, 1), "F"),
        ("050229-3000000", None, None),  # 2005 is not a leap year → invalid, checked below
        ("040229-4123456", date(2004, 2, 29), "F"),
        ("991231-5123456", date(1999, 12, 31), "M"),  # foreigner, 1900s
        ("010101-8123456", date(2001, 1, 1), "F"),  # foreigner, 2000s
        ("850615-9123456", date(1885, 6, 15), "M"),
        ("850615-0123456", date(1885, 6, 15), "F"),
    ],
)
def test_parse_dates_and_sex(value: str, birth: date | None, sex: str | None) -> None:
    if birth is None:
        with pytest.raises(rrn.InvalidRRN):
            rrn.parse(value)
        return
    number = rrn.parse(value)
    assert number.birth_date == birth
    assert number.sex == sex
    assert number.digits == value.replace("-", "")


@pytest.mark.parametrize(
    "value",
    ["", "90010-11234567", "900101-123456", "900101_1234567", "901301-1234567", "900132-1234567",
     "abcdef-1234567", "900101-12345678", " 900101 1234567"],
)  # fmt: skip
def test_parse_rejects_malformed(value: str) -> None:
    with pytest.raises(rrn.InvalidRRN) as info:
        rrn.parse(value)
    message = str(info.value)
    assert message
    for part in re.findall(r"[0-9a-z]{4,}", value):  # no piece of the input is echoed back
        assert part not in message, (part, message)


def test_check_digit_is_not_validated() -> None:
    # Numbers issued since October 2020 have random trailing digits: any last digit is valid.
    assert {rrn.parse(f"201105-312345{d}").digits[-1] for d in range(10)} == set("0123456789")


def test_mask_shows_only_birth_date_and_sex_digit() -> None:
    assert rrn.mask("900101-1234567") == "900101-1******"
    assert rrn.mask("9001011234567") == "900101-1******"
    assert rrn.mask("garbage") == "******-*******"


def test_str_and_repr_never_show_the_whole_number() -> None:
    number = rrn.parse("900101-1234567")
    assert "1234567" not in str(number)
    assert "1234567" not in repr(number)
    assert f"{number}" == "900101-1******"


@pytest.mark.parametrize(
    ("birth", "on", "age"),
    [(date(1950, 3, 12), date(2026, 3, 11), 75), (date(1950, 3, 12), date(2026, 3, 12), 76),
     (date(2004, 2, 29), date(2026, 2, 28), 21), (date(2004, 2, 29), date(2026, 3, 1), 22)],
)  # fmt: skip
def test_age_in_full_years(birth: date, on: date, age: int) -> None:
    assert rrn.age_on(birth, on) == age
