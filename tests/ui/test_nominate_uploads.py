"""The bulk file's parser and the store that keeps its rows between preview and confirm
(``service.uploads``): no database, no browser."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import Workbook

from service import clock, uploads
from service.errors import Invalid, NotFound
from tests.ui.nominate_world import ALL_RRN, BAD_DATE, BULK_GOOD, bulk_csv


def _xlsx(*rows: list[object]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_the_bulk_file_gives_18_rows_and_2_problems_by_line() -> None:
    parsed = uploads.parse("명단.csv", bulk_csv())
    assert [r.nominee.name for r in parsed.rows] == BULK_GOOD
    assert [(p.line, p.column) for p in parsed.problems] == [(6, "rrn"), (13, "name")]
    assert parsed.problems[0].ko == "생년월일이 올바른 날짜가 아닙니다"
    assert parsed.problems[0].en == "birth date is not a real date"
    assert [r.line for r in parsed.rows][:6] == [2, 3, 4, 5, 7, 8]
    assert all(BAD_DATE not in p.ko + p.en for p in parsed.problems)


def test_an_rrn_in_a_note_or_a_name_is_a_line_numbered_reject_that_never_shows_it() -> None:
    hidden = ALL_RRN["한옥자"]
    text = (f"rrn,name,note\n{ALL_RRN['김순자']},김순자,연락처 010-1234-5678 (2026-11-25 방문)\n"
            f"{ALL_RRN['이철수']},이철수,모친 {hidden}\n"
            f"{ALL_RRN['한옥자']},한옥자 {hidden.replace('-', '')},\n")  # fmt: skip
    parsed = uploads.parse("명단.csv", text.encode())
    assert [r.nominee.name for r in parsed.rows] == ["김순자"]  # a phone number and a date are fine
    assert [(p.line, p.column) for p in parsed.problems] == [(3, "note"), (4, "name")]
    for problem in parsed.problems:
        assert "주민등록번호로 보이는" in problem.ko and "resident registration number" in problem.en
        assert hidden[:6] not in problem.ko + problem.en and hidden[7:] not in problem.ko + problem.en


def test_korean_headers_cp949_quoted_lines_and_blank_rows() -> None:
    text = (
        "주민등록번호,성명,비고\r\n"
        f'{ALL_RRN["윤지민"]},윤지민,"두 줄\r\n비고"\r\n'
        ",,\r\n"
        f"{ALL_RRN['강말녀'].replace('-', '')},강말녀,\r\n"
    )
    parsed = uploads.parse("excel.csv", text.encode("cp949"))
    assert [(r.line, r.nominee.name, r.nominee.note) for r in parsed.rows] == [
        (2, "윤지민", "두 줄\r\n비고"),
        (5, "강말녀", None),
    ]
    assert parsed.rows[1].nominee.number.masked == "470215-2******"


def test_headers_like_the_export_and_extra_columns() -> None:
    text = f"성명 (name),주민등록번호 (rrn),연락처\n한옥자,{ALL_RRN['한옥자']},010-1234-5678\n"
    parsed = uploads.parse("a.csv", text.encode())
    assert parsed.rows[0].nominee.name == "한옥자" and parsed.ignored_columns == ["연락처"]
    extra = uploads.parse("b.csv", f"rrn,name\n{ALL_RRN['한옥자']},한옥자,넘치는 칸\n".encode())
    assert not extra.rows and extra.problems[0].ko.startswith("머리글보다 칸이 많습니다")


def test_an_xlsx_keeps_the_leading_zero_excel_dropped() -> None:
    data = _xlsx(["rrn", "name", "note"], [102034123456, "윤지민", None], [ALL_RRN["조만복"], "조만복", "메모"], [None])
    parsed = uploads.parse("명단.xlsx", data)
    assert [(r.line, r.nominee.number.masked, r.nominee.note) for r in parsed.rows] == [
        (2, "010203-4******", None),
        (3, "420730-1******", "메모"),
    ]


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"", "a.csv", "빈 파일입니다"),
        (b"rrn,rrn,name\n", "a.csv", "같은 열이 두 번 있습니다"),
        (b"name,note\n", "a.csv", "머리글에 rrn 열이 없습니다"),
        (b"\xff\xfe\x00bad", "a.csv", "글자 인코딩을 알 수 없습니다"),
        (b"rrn,name\n" + b"x" * uploads.MAX_BYTES, "a.csv", "파일이 1,024KB를 넘습니다"),
        (b"{}", "a.json", "CSV 또는 XLSX 파일만 올릴 수 있습니다"),
    ],
    ids=["empty", "twice", "no-rrn", "encoding", "too-big", "json"],
)
def test_files_refused_as_a_whole(data: bytes, filename: str, message: str) -> None:
    with pytest.raises(Invalid) as refused:
        uploads.parse(filename, data)
    assert refused.value.ko.startswith(message) and refused.value.status == 422


def test_more_rows_than_one_bulk_nomination_takes_are_refused() -> None:
    line = f"{ALL_RRN['윤지민']},윤지민\n"
    with pytest.raises(Invalid) as refused:
        uploads.parse("a.csv", f"rrn,name\n{line * (uploads.MAX_ROWS + 1)}".encode())
    assert "1,000명까지" in refused.value.ko
    assert len(uploads.parse("a.csv", f"rrn,name\n{line * uploads.MAX_ROWS}".encode()).rows) == uploads.MAX_ROWS


def test_an_xlsx_that_unpacks_to_too_much_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (uploads.MAX_XLSX_UNPACKED + 1))
    with pytest.raises(Invalid) as refused:
        uploads.parse("bomb.xlsx", buffer.getvalue())
    assert "너무 큽니다" in refused.value.ko


# --------------------------------------------------------------------------- the store


def _parsed() -> uploads.Parsed:
    return uploads.parse("명단.csv", bulk_csv())


def test_the_store_keeps_rows_encrypted_and_gives_them_back_with_the_key(tmp_path: Path) -> None:
    now = clock.now()
    ticket = uploads.stash(tmp_path, "user:center@haengdang1-center", "kimchi-2026", _parsed(), now)
    (kept,) = tmp_path.iterdir()
    assert ticket.key.encode() not in kept.read_bytes()  # the key stays with the uploader
    for name in BULK_GOOD:
        assert (
            ALL_RRN[name].replace("-", "").encode() not in kept.read_bytes() and name.encode() not in kept.read_bytes()
        )
    back = uploads.peek(tmp_path, ticket, "user:center@haengdang1-center", "kimchi-2026", now)
    assert back == _parsed()


@pytest.mark.parametrize(
    ("owner", "program", "key"),
    [("user:welfare@seongdong-welfare", "kimchi-2026", None), ("user:center@haengdang1-center", "rice-2026", None),
     ("user:center@haengdang1-center", "kimchi-2026", "A" * 43 + "=")],
    ids=["another-owner", "another-program", "another-key"],
)  # fmt: skip
def test_the_kept_rows_open_only_for_their_owner_program_and_key(
    tmp_path: Path, owner: str, program: str, key: str | None
) -> None:
    now = clock.now()
    ticket = uploads.stash(tmp_path, "user:center@haengdang1-center", "kimchi-2026", _parsed(), now)
    wrong = uploads.Ticket(ticket.token, key or ticket.key)
    with pytest.raises(NotFound):
        uploads.peek(tmp_path, wrong, owner, program, now)
    with pytest.raises(NotFound), uploads.claimed(tmp_path, wrong, owner, program, now):
        pass
    assert uploads.peek(tmp_path, ticket, "user:center@haengdang1-center", "kimchi-2026", now)  # still there


def test_a_claim_is_once_and_a_failed_one_puts_the_rows_back(tmp_path: Path) -> None:
    now, who, code = clock.now(), "user:center@haengdang1-center", "kimchi-2026"
    ticket = uploads.stash(tmp_path, who, code, _parsed(), now)
    with pytest.raises(RuntimeError), uploads.claimed(tmp_path, ticket, who, code, now) as parsed:
        assert len(parsed.rows) == 18
        with pytest.raises(NotFound), uploads.claimed(tmp_path, ticket, who, code, now):
            pass  # a second click while the first registers finds nothing
        raise RuntimeError("the registration was refused")
    with uploads.claimed(tmp_path, ticket, who, code, now) as parsed:
        assert len(parsed.rows) == 18
    assert not list(tmp_path.iterdir())
    with pytest.raises(NotFound), uploads.claimed(tmp_path, ticket, who, code, now):
        pass


def test_kept_rows_expire_and_are_swept(tmp_path: Path) -> None:
    now, who, code = clock.now(), "user:center@haengdang1-center", "kimchi-2026"
    ticket = uploads.stash(tmp_path, who, code, _parsed(), now)
    later = now + uploads.TTL + timedelta(seconds=1)
    with pytest.raises(NotFound):
        uploads.peek(tmp_path, ticket, who, code, later)
    assert uploads.sweep(tmp_path, now) == 0 and uploads.sweep(tmp_path, later) == 1
    assert not list(tmp_path.iterdir())
    uploads.discard(tmp_path, "../../etc/passwd")  # not a token: nothing happens
    with pytest.raises(NotFound):
        uploads.peek(tmp_path, uploads.Ticket("../x", ticket.key), who, code, now)
