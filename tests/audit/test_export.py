"""The access log's download: a reason is required and recorded, with every person it names."""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import select

from service.db import get_db
from service.models import AuditEntry
from tests.api.conftest import RRN, Api


def _seed(api: Api, program: dict[str, Any]) -> None:
    for who, name in (("haengdang", "김순자"), ("eungbong", "이철수")):
        assert api.nominate(who, name).status_code == 201


def test_an_export_without_a_reason_is_refused(api: Api, program: dict[str, Any]) -> None:
    _seed(api, program)
    for fmt in ("csv", "xlsx"):
        response = api.call("GET", f"/api/v1/audit?format={fmt}", "auditor")
        assert response.status_code == 422
        assert response.mimetype == "application/problem+json" and "reason" in response.get_json()["errors"]
        blank = api.call("GET", f"/api/v1/audit?format={fmt}&reason=%20%20", "auditor")
        assert blank.status_code == 422
    with get_db(api.client.application).sessionmaker() as session:
        assert not session.scalars(select(AuditEntry).where(AuditEntry.action == "audit.export")).all()


def test_a_csv_export_lists_the_entries_and_records_the_reason(api: Api, program: dict[str, Any]) -> None:
    _seed(api, program)
    response = api.call("GET", "/api/v1/audit?format=csv&reason=2026년 11월 정기 점검", "auditor")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == "attachment; filename=audit.csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "번호 (id)" and rows[0][6] == "정보주체 (subject, masked)"
    creates = [r for r in rows[1:] if r[5] == "nomination.create"]
    assert sorted(r[6] for r in creates) == ["450312-2******", "900101-1******"]
    assert all(r[1].endswith("+09:00") for r in rows[1:])
    with get_db(api.client.application).sessionmaker() as session:
        recorded = session.scalars(select(AuditEntry).where(AuditEntry.action == "audit.export")).all()
    assert {e.detail["reason"] for e in recorded} == {"2026년 11월 정기 점검"}
    assert {e.subject_masked for e in recorded} == {"450312-2******", "900101-1******"}  # the people it names
    assert recorded[0].detail["rows"] == len(rows) - 1 and recorded[0].detail["format"] == "csv"


def test_an_xlsx_export_filtered_by_subject(api: Api, program: dict[str, Any]) -> None:
    _seed(api, program)
    response = api.client.get(  # binary: not through api.call's text check (an XLSX is a zip)
        f"/api/v1/audit?format=xlsx&subject={RRN['김순자']}&reason=민원 확인",
        headers={"Authorization": f"Bearer {api.tokens['admin']}"},
    )
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "번호 (id)"
    assert {row[6] for row in values[1:]} == {"450312-2******"}
    text = "".join(str(cell) for row in values for cell in row)
    assert RRN["김순자"] not in text and RRN["김순자"].replace("-", "") not in text


def test_only_auditors_and_admins_export(api: Api, program: dict[str, Any]) -> None:
    for who in ("haengdang", "department", "system"):
        assert api.call("GET", "/api/v1/audit?format=csv&reason=x", who).status_code == 403
