"""Bad CSV files for ``import-residents`` and ``import-receipts``: a file that cannot be read is
refused whole (non-zero exit, the reason); a bad row is refused with its file line and field
(the good rows would still load). Nothing is stored but the access-log entry of the attempt."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.conftest import RRN
from tests.badinput.conftest import World
from tests.factories import RECEIPT_COLUMNS, RESIDENT_COLUMNS, receipt, resident

RESIDENT_HEADER = ",".join(RESIDENT_COLUMNS)
RECEIPT_HEADER = ",".join(RECEIPT_COLUMNS)


def _resident_line(**change: str) -> str:
    row = {**resident("470707-2123450", "신규자", "H9"), **change}
    return ",".join(row[c] for c in RESIDENT_COLUMNS)


def _receipt_line(**change: str) -> str:
    row = {**receipt(RRN["이철수"], "kimchi", "2026-10-01", "사랑의열매"), **change}
    return ",".join(str(row.get(c, "")) for c in RECEIPT_COLUMNS)


# (case id, command, file content (str, or bytes as written), exit code, text the output must contain)
CASES: list[tuple[str, str, str | bytes, int, str]] = [
    ("empty file", "import-residents", "", 1, "빈 파일입니다"),
    ("wrong header", "import-residents", "rrn,name,birth\n", 1, "헤더가 올바르지 않습니다"),
    ("receipts header on the residents file", "import-residents", RECEIPT_HEADER + "\n", 1, "wrong header"),
    ("not UTF-8 (EUC-KR)", "import-residents", (RESIDENT_HEADER + "\n" + _resident_line()).encode("euc-kr"), 1,
     "UTF-8"),
    ("rrn with an impossible date", "import-residents",
     f"{RESIDENT_HEADER}\n{_resident_line(rrn='471332-2123450')}\n", 0, "2행 거부 (line 2 rejected): rrn:"),
    ("birth date differs from the rrn", "import-residents",
     f"{RESIDENT_HEADER}\n{_resident_line(birth_date='1947-07-08')}\n", 0, "2행 거부 (line 2 rejected): birth_date"),
    ("sex disagrees with the 7th digit", "import-residents", f"{RESIDENT_HEADER}\n{_resident_line(sex='M')}\n", 0,
     "2행 거부 (line 2 rejected): sex"),
    ("unknown relation", "import-residents", f"{RESIDENT_HEADER}\n{_resident_line(relation='cousin')}\n", 0,
     "2행 거부 (line 2 rejected): relation"),
    ("dong code of 9 digits", "import-residents", f"{RESIDENT_HEADER}\n{_resident_line(dong_code='112005600')}\n", 0,
     "2행 거부 (line 2 rejected): dong_code"),
    ("active with a status date", "import-residents",
     f"{RESIDENT_HEADER}\n{_resident_line(status_date='2026-01-01')}\n", 0, "2행 거부 (line 2 rejected): status_date"),
    ("deceased without a date", "import-residents", f"{RESIDENT_HEADER}\n{_resident_line(status='deceased')}\n", 0,
     "2행 거부 (line 2 rejected): status_date"),
    ("status date in the future", "import-residents",
     f"{RESIDENT_HEADER}\n{_resident_line(status='moved_out', status_date='2027-01-01')}\n", 0,
     "2행 거부 (line 2 rejected): status_date"),
    ("too few columns on line 3", "import-residents", f"{RESIDENT_HEADER}\n\n{_resident_line()[:30]}\n", 0,
     "3행 거부 (line 3 rejected): 열 개수"),
    ("empty name", "import-residents", f"{RESIDENT_HEADER}\n{_resident_line(name='')}\n", 0,
     "2행 거부 (line 2 rejected): name"),
    ("receipts: unknown category", "import-receipts",
     f"{RECEIPT_HEADER}\n{_receipt_line(resource_category='gold')}\n", 0,
     "2행 거부 (line 2 rejected): resource_category"),
    ("receipts: received in the future", "import-receipts",
     f"{RECEIPT_HEADER}\n{_receipt_line(received_on='2027-01-01')}\n", 0, "2행 거부 (line 2 rejected): received_on"),
    ("receipts: quantity of zero", "import-receipts", f"{RECEIPT_HEADER}\n{_receipt_line(quantity='0')}\n", 0,
     "2행 거부 (line 2 rejected): quantity"),
    ("receipts: no provider", "import-receipts", f"{RECEIPT_HEADER}\n{_receipt_line(provider='')}\n", 0,
     "2행 거부 (line 2 rejected): provider"),
    ("receipts: bad rrn", "import-receipts", f"{RECEIPT_HEADER}\n{_receipt_line(rrn='9001011')}\n", 0,
     "2행 거부 (line 2 rejected): rrn"),
    ("receipts: residents header", "import-receipts", RESIDENT_HEADER + "\n", 1, "헤더가 올바르지 않습니다"),
]  # fmt: skip


@pytest.mark.parametrize(("command", "content", "code", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_csv(world: World, tmp_path: Path, command: str, content: str | bytes, code: int, expected: str) -> None:
    path = tmp_path / "bad.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    kind = "residents" if command == "import-residents" else "receipts"
    with world.unchanged(allow_actions=(f"registry.import_{kind}",)):
        result = world.app.test_cli_runner().invoke(args=[command, str(path)])
        assert result.exit_code == code, result.output
        assert expected in result.output, result.output
        assert "추가 0" in result.output or code != 0, result.output
        assert "470707" not in result.output and RRN["이철수"] not in result.output  # no number is echoed


def test_a_missing_file(world: World, tmp_path: Path) -> None:
    with world.unchanged():
        result = world.app.test_cli_runner().invoke(args=["import-residents", str(tmp_path / "none.csv")])
        assert result.exit_code == 1 and "파일을 열 수 없습니다" in result.output
