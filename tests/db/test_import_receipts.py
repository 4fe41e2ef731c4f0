from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select

from service.db import get_db
from service.models import Receipt
from tests.factories import RECEIPT_COLUMNS, import_counts, receipt, write_csv, write_district


@pytest.fixture(autouse=True)
def district(runner: FlaskCliRunner, tmp_path: Path) -> None:
    assert runner.invoke(args=["load-district", str(write_district(tmp_path / "d.yaml"))]).exit_code == 0


def _receipts(app: Flask) -> list[tuple[str, str, int]]:
    with get_db(app).session() as s:
        return sorted((r.category_code, r.provider, r.quantity) for r in s.scalars(select(Receipt)))


def test_receipts_import_with_bad_rows_and_idempotence(app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    rows = [
        receipt("450312-2345678"),
        receipt("450312-2345678", provider="성동구자원봉사센터"),
        receipt("450312-2345678", category="coal"),  # line 4: unknown category
        receipt("450312-2345678", on="2026-11-26"),  # line 5: future (the day after the frozen clock's today)
        receipt("999999-2345678"),  # line 6: bad rrn
        receipt("430102-1345671", category="rice", quantity="0"),  # line 7: quantity
        receipt("430102-1345671", category="rice", quantity="2"),
    ]
    path = write_csv(tmp_path / "r.csv", rows, RECEIPT_COLUMNS)
    result = runner.invoke(args=["import-receipts", str(path)])
    assert result.exit_code == 0, result.output
    for line, word in {4: "resource_category", 5: "received_on", 6: "rrn", 7: "quantity"}.items():
        assert any(ln.startswith(f"{line}행 거부") and word in ln for ln in result.output.splitlines())
    assert _receipts(app) == [
        ("kimchi", "사랑의열매", 1),
        ("kimchi", "성동구자원봉사센터", 1),
        ("rice", "사랑의열매", 2),
    ]
    assert import_counts(result.output) == {"read": 7, "inserted": 3, "updated": 0, "unchanged": 0, "rejected": 4}
    again = runner.invoke(args=["import-receipts", str(path)])
    assert import_counts(again.output) == {"read": 7, "inserted": 0, "updated": 0, "unchanged": 3, "rejected": 4}
    assert len(_receipts(app)) == 3


def test_receipts_quantity_correction_updates_in_place(app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    runner.invoke(
        args=["import-receipts", str(write_csv(tmp_path / "a.csv", [receipt("450312-2345678")], RECEIPT_COLUMNS))]
    )
    fixed = write_csv(tmp_path / "b.csv", [receipt("450312-2345678", quantity="3")], RECEIPT_COLUMNS)
    result = runner.invoke(args=["import-receipts", str(fixed)])
    assert import_counts(result.output) == {"read": 1, "inserted": 0, "updated": 1, "unchanged": 0, "rejected": 0}
    assert _receipts(app) == [("kimchi", "사랑의열매", 3)]
