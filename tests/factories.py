"""Small builders that keep tests short: a district file, resident rows, CSV files."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from service.registry_import import RECEIPT_COLUMNS, RESIDENT_COLUMNS

DISTRICT: dict[str, Any] = {
    "district": {"code": "11200", "name": "성동구"},
    "dongs": [
        {"code": "1120052000", "name": "왕십리2동"},
        {"code": "1120056000", "name": "행당1동"},
        {"code": "1120058000", "name": "응봉동"},
    ],
    "institutions": [
        {"code": "welfare-policy", "name": "복지정책과", "kind": "department"},
        {"code": "senior-welfare", "name": "어르신복지과", "kind": "department"},
        {"code": "haengdang1-center", "name": "행당1동주민센터", "kind": "community_center",
         "dong": "1120056000"},
        {"code": "eungbong-center", "name": "응봉동주민센터", "kind": "community_center",
         "dong": "1120058000"},
        {"code": "seongdong-welfare", "name": "성동종합사회복지관", "kind": "welfare_center",
         "dong": "1120052000"},
        {"code": "hope-church", "name": "희망교회", "kind": "private"},
    ],
    "sponsors": [{"code": "red-cross", "name": "대한적십자사"}],
    "resource_categories": [
        {"code": "kimchi", "name": "김장김치"},
        {"code": "rice", "name": "쌀"},
    ],
}  # fmt: skip


def write_district(path: Path, data: dict[str, Any] | None = None) -> Path:
    path.write_text(yaml.safe_dump(data or DISTRICT, allow_unicode=True), encoding="utf-8")
    return path


def resident(
    rrn: str = "450312-2345678",
    name: str = "김순자",
    household: str = "H1",
    relation: str = "head",
    dong: str = "1120056000",
    status: str = "active",
    status_date: str = "",
    **overrides: str,
) -> dict[str, str]:
    """A snapshot row whose birth date and sex agree with ``rrn``."""
    digits = rrn.replace("-", "")
    century = {"1": 1900, "2": 1900, "3": 2000, "4": 2000, "5": 1900, "6": 1900,
               "7": 2000, "8": 2000, "9": 1800, "0": 1800}[digits[6]]  # fmt: skip
    row = {
        "rrn": rrn,
        "name": name,
        "birth_date": f"{century + int(digits[:2])}-{digits[2:4]}-{digits[4:6]}",
        "sex": "M" if int(digits[6]) % 2 else "F",
        "household_id": household,
        "relation": relation,
        "dong_code": dong,
        "address": "서울특별시 성동구 행당로 1",
        "status": status,
        "status_date": status_date,
    }
    row.update(overrides)
    return row


def write_csv(path: Path, rows: Iterable[dict[str, str]], columns: Sequence[str] = RESIDENT_COLUMNS) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(columns))
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    return path


def receipt(rrn: str, category: str = "kimchi", on: str = "2026-01-10", provider: str = "사랑의열매",
            quantity: str = "1") -> dict[str, str]:  # fmt: skip
    return {"rrn": rrn, "resource_category": category, "received_on": on, "provider": provider,
            "quantity": quantity}  # fmt: skip


IMPORT_SUMMARY = re.compile(
    r"\(read (\d+), inserted (\d+), updated (\d+), unchanged (\d+), rejected (\d+)\)$", re.MULTILINE
)


def import_counts(output: str) -> dict[str, int]:
    """The counts of an import's summary line, e.g. {"read": 5, "inserted": 4, ..., "rejected": 1}.

    Exact numbers, not substrings: "변경 1" would also be found in "변경 12".
    """
    found = IMPORT_SUMMARY.findall(output)
    assert len(found) == 1, f"one import summary line expected in: {output}"
    return dict(zip(("read", "inserted", "updated", "unchanged", "rejected"), map(int, found[0]), strict=True))


__all__ = ["DISTRICT", "RECEIPT_COLUMNS", "RESIDENT_COLUMNS", "import_counts", "receipt", "resident", "write_csv",
           "write_district"]  # fmt: skip
