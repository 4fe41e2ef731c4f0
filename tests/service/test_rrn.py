import re
from datetime import date

import pytest

from service import rrn
from service.errors import Invalid


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


# --------------------------------------------------------------------------- an RRN hidden in free text


@pytest.mark.parametrize(
    "text",
    ["900101-1234567", "9001011234567", "900101 1234567", "비고: 450312-2345678 본인 확인", "(900101-5234567)",
     "외국인 010203-8123456", "９００１０１－１２３４５６７", "900101－1234567", "９００１０１-1234567",
     "900101–1234567", "900101−1234567", "끝에900101-1234567"],
)  # fmt: skip
def test_free_text_with_something_shaped_like_an_rrn(text: str) -> None:
    assert rrn.contains_rrn(text)


@pytest.mark.parametrize(
    "text",
    ["010-1234-5678", "01012345678", "02-2286-5114", "+82 10 1234 5678", "2026-11-25", "20261125",
     "2026.11.25 방문", "900101-1******", "900101-9234567", "900101-0234567",  # the 7th digit 9 and 0: not 1900-2099
     "901301-1234567", "900132-1234567", "900100-1234567",  # no such month or day
     "19900101-1234567", "9001011234567890", "900101--1234567", "계좌 110-123-456789", "사업자 123-45-67890",
     "금액 1,234,567원", "", None],
)  # fmt: skip
def test_free_text_without_one(text: str | None) -> None:
    assert not rrn.contains_rrn(text)


def test_the_refusal_names_the_field_and_never_the_number() -> None:
    with pytest.raises(Invalid) as caught:
        rrn.refuse_in_text("note", "연락 900101-1234567")
    exc = caught.value
    assert exc.status == 422 and set(exc.errors or {}) == {"note"}
    for text in (exc.ko, exc.en, str(exc.errors)):
        assert "1234567" not in text and "900101" not in text
    rrn.refuse_in_text("note", "010-1234-5678")  # nothing raised
