"""Tables as downloads: CSV (UTF-8 with BOM, so Excel reads Korean) and XLSX (openpyxl).

Headers are Korean first (``한국어 (english)``); both formats hold the same rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from flask import Response
from openpyxl import Workbook
from openpyxl.styles import Font

from . import rrn
from .errors import Invalid

MIME = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _cell(value: Any) -> Any:
    if isinstance(value, list | tuple | set):
        return ", ".join(str(v) for v in value)
    return value


def to_csv(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    for row in rows:
        writer.writerow(["" if v is None else _cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    sheet.append(list(headers))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_cell(v) for v in row])
    for index, header in enumerate(headers, start=1):
        width = max([len(str(header))] + [len(str(_cell(r[index - 1]) or "")) for r in rows[:200]])
        sheet.column_dimensions[sheet.cell(1, index).column_letter].width = min(max(width + 2, 8), 60)
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def render(fmt: str, title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    """The table in ``fmt`` (csv or xlsx)."""
    return to_xlsx(title, headers, rows) if fmt == "xlsx" else to_csv(headers, rows)


def attachment(body: bytes, fmt: str, name: str) -> Response:
    """A table as a download named ``name.csv`` or ``name.xlsx`` (API and admin UI alike)."""
    response = Response(body, content_type=MIME[fmt])
    response.headers.set("Content-Disposition", "attachment", filename=f"{name}.{fmt}")
    return response


def require_reason(reason: str | None) -> str:
    """A download that lists people needs a stated reason (the safety-measures standard)."""
    text = (reason or "").strip()
    if not text:
        raise Invalid(
            "개인정보가 담긴 내려받기에는 사유가 필요합니다",
            "a download that lists people needs a reason",
            {"reason": ["내려받는 사유를 적어 주세요 (state why you download this)"]},
        )
    rrn.refuse_in_text("reason", text)  # the reason is kept in the access log: never an RRN
    return text
