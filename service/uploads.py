"""Nominees from a spreadsheet: parse an uploaded CSV or XLSX, and keep it between preview and confirm.

Parsing (:func:`parse`). Columns ``rrn``, ``name``, ``note`` (Korean headers 주민등록번호, 성명,
비고 are read too) under one header row. A bad row is reported by its line in the file (the header
is line 1) and the reason, and never with the number it held; the good rows go on to the preview.
A file that cannot be read at all, or is too large, is refused as a whole.

Keeping (:func:`stash`, :func:`claimed`). Between the preview and the confirmation the rows must
live somewhere, and the page must not carry whole RRNs. They are kept on the server, one file per
upload named by a random token, encrypted with AES-256-GCM under a fresh key that is *not* kept on
the server: the caller holds it (the admin UI puts it in the uploader's session). The file alone
is unreadable, and it is bound to its owner and program (authenticated data). It expires after
``TTL``; claiming it for registration moves it aside atomically, so a double click registers once,
and a refused registration puts it back.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
import secrets
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from . import rrn as rrn_mod
from .batch import MAX_BATCH, Nominee
from .errors import Invalid, NotFound

MAX_BYTES: Final = 1024 * 1024
"""Largest file accepted (the app refuses larger requests anyway)."""
MAX_ROWS: Final = MAX_BATCH
"""Most nominee rows in one file: one bulk nomination registers at most this many."""
MAX_XLSX_UNPACKED: Final = 32 * 1024 * 1024
"""An XLSX is a zip: refuse one that would unpack to more than this (a zip bomb)."""
MAX_NAME: Final = 100
MAX_NOTE: Final = 1000
TTL: Final = timedelta(minutes=30)
"""How long an uploaded file waits for its confirmation."""

COLUMNS: Final = ("rrn", "name", "note")
REQUIRED: Final = ("rrn", "name")
_ALIASES: Final = {
    "rrn": "rrn", "주민등록번호": "rrn", "주민번호": "rrn",
    "name": "name", "성명": "name", "이름": "name",
    "note": "note", "비고": "note", "메모": "note", "추천 사유": "note",
}  # fmt: skip
_PAREN: Final = re.compile(r"^(.*?)\s*\(([^()]*)\)\s*$")


@dataclass(frozen=True)
class Row:
    """One good row: its line in the file and the nominee it names."""

    line: int
    nominee: Nominee


@dataclass(frozen=True)
class RowProblem:
    """Why a row was left out, in Korean and English (never with the number it held)."""

    line: int
    column: str | None
    ko: str
    en: str


@dataclass(frozen=True)
class Parsed:
    rows: list[Row]
    problems: list[RowProblem]
    ignored_columns: list[str]


def _refuse(ko: str, en: str) -> Invalid:
    return Invalid(ko, en, {"file": [f"{ko} ({en})"]})


def _column(header: str) -> str | None:
    """The column a header names: ``rrn`` or ``주민등록번호`` or ``주민등록번호 (rrn)``."""
    text = header.strip().lstrip("\ufeff").strip().lower()
    if text in _ALIASES:
        return _ALIASES[text]
    match = _PAREN.match(text)
    if match:
        return _ALIASES.get(match.group(2).strip()) or _ALIASES.get(match.group(1).strip())
    return None


def _split(message: str) -> tuple[str, str]:
    """``InvalidRRN`` says "한국어 (English)"; the page shows one language."""
    match = _PAREN.match(message)
    return (match.group(1), match.group(2)) if match else (message, message)


def _cell(value: Any) -> str:
    """A cell as text. Excel keeps a number typed without a hyphen as a number and drops a
    leading zero (born 2000–2009: 0103044123456 becomes 103044123456): put it back."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        digits = str(value)
        return digits.zfill(13) if 0 < len(digits) < 13 else digits
    return str(value).strip()


def _row(line: int, values: dict[str, str]) -> Row | RowProblem:
    raw = values.get("rrn", "")
    if not raw:
        return RowProblem(line, "rrn", "주민등록번호가 비어 있습니다", "the RRN is empty")
    try:
        number = rrn_mod.parse(raw)
    except rrn_mod.InvalidRRN as exc:
        ko, en = _split(str(exc))
        return RowProblem(line, "rrn", ko, en)
    name = values.get("name", "")
    if not name:
        return RowProblem(line, "name", "성명이 비어 있습니다", "the name is empty")
    if len(name) > MAX_NAME:
        return RowProblem(line, "name", f"성명이 {MAX_NAME}자를 넘습니다", f"the name is longer than {MAX_NAME}")
    note = values.get("note", "")
    if len(note) > MAX_NOTE:
        return RowProblem(line, "note", f"비고가 {MAX_NOTE}자를 넘습니다", f"the note is longer than {MAX_NOTE}")
    for column, text in (("name", name), ("note", note)):  # stored as typed: never an RRN in them
        if rrn_mod.contains_rrn(text):
            return RowProblem(line, column, rrn_mod.IN_TEXT_KO, rrn_mod.IN_TEXT_EN)
    return Row(line, Nominee(number, name, note or None))


def _records(lines: Iterator[tuple[int, list[str]]]) -> Parsed:
    """Header first, then the rows; blank rows are skipped (spreadsheets end in many)."""
    try:
        _line, header = next(lines)
    except StopIteration:
        raise _refuse("빈 파일입니다: 첫 줄에 rrn, name, note 머리글이 있어야 합니다",
                      "the file is empty: the first line must be the header rrn, name, note") from None  # fmt: skip
    columns = [_column(h) for h in header]
    named = [c for c in columns if c]
    if len(named) != len(set(named)):
        raise _refuse("같은 열이 두 번 있습니다", "a column appears twice")
    missing = [c for c in REQUIRED if c not in named]
    if missing:
        raise _refuse(
            f"머리글에 {', '.join(missing)} 열이 없습니다 (첫 줄: rrn, name, note)",
            f"the header lacks {', '.join(missing)} (first line: rrn, name, note)",
        )
    ignored = [h.strip() for h, c in zip(header, columns, strict=True) if c is None and h.strip()]
    rows: list[Row] = []
    problems: list[RowProblem] = []
    for line, cells in lines:
        if not any(c.strip() for c in cells):
            continue
        if len(rows) + len(problems) >= MAX_ROWS:
            raise _refuse(f"한 번에 {MAX_ROWS:,}명까지 올릴 수 있습니다", f"at most {MAX_ROWS:,} rows per file")
        if len(cells) > len(columns) and any(c.strip() for c in cells[len(columns) :]):
            problems.append(RowProblem(line, None, f"머리글보다 칸이 많습니다 ({len(cells)}칸)",
                                       f"more cells than header columns ({len(cells)})"))  # fmt: skip
            continue
        values = {c: (cells[i].strip() if i < len(cells) else "") for i, c in enumerate(columns) if c}
        parsed = _row(line, values)
        if isinstance(parsed, Row):
            rows.append(parsed)
        else:
            problems.append(parsed)
    if not rows and not problems:
        raise _refuse("머리글 아래에 대상자가 없습니다", "no nominee rows under the header")
    return Parsed(rows, problems, ignored)


def _decode(data: bytes) -> str:
    """UTF-8 (with or without Excel's BOM), else CP949: Excel on Korean Windows saves CSV so."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp949")
    except UnicodeDecodeError:
        raise _refuse("글자 인코딩을 알 수 없습니다: UTF-8로 저장하세요",
                      "unknown text encoding: save the file as UTF-8") from None  # fmt: skip


def _csv_lines(text: str) -> Iterator[tuple[int, list[str]]]:
    """(first file line of the record, cells): a quoted cell may span lines."""
    reader = csv.reader(io.StringIO(text, newline=""))
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error:
            raise _refuse(f"{start}번째 줄의 CSV 형식이 올바르지 않습니다",
                          f"malformed CSV at line {start}") from None  # fmt: skip
        yield start, cells
        start = reader.line_num + 1


def _xlsx_lines(data: bytes) -> Iterator[tuple[int, list[str]]]:
    """The first sheet's rows (row numbers are the file's lines)."""
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise _refuse("XLSX 파일을 읽을 수 없습니다", "the XLSX file cannot be read") from None
    if unpacked > MAX_XLSX_UNPACKED:
        raise _refuse("XLSX 파일의 내용이 너무 큽니다", "the XLSX file unpacks to too much data")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles and data validation it skips
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds for a damaged file
        raise _refuse("XLSX 파일을 읽을 수 없습니다", "the XLSX file cannot be read") from None
    try:
        sheet = book.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [_cell(v) for v in values]
    finally:
        book.close()


def parse(filename: str, data: bytes) -> Parsed:
    """The nominee rows of an uploaded file and the problems of its bad rows.

    Raises :class:`Invalid` (422) for a file that cannot be read as a whole: too large, not CSV
    or XLSX, no header naming ``rrn`` and ``name``, no rows, more than ``MAX_ROWS`` rows.
    """
    if len(data) > MAX_BYTES:
        raise _refuse(f"파일이 {MAX_BYTES // 1024:,}KB를 넘습니다", f"the file is larger than {MAX_BYTES // 1024:,} KB")
    suffix = Path(filename or "").suffix.lower()
    if data[:4] == b"PK\x03\x04" or suffix == ".xlsx":
        return _records(_xlsx_lines(data))
    if suffix in (".csv", ".txt", ""):
        return _records(_csv_lines(_decode(data)))
    raise _refuse("CSV 또는 XLSX 파일만 올릴 수 있습니다", "only CSV or XLSX files can be uploaded")


# --------------------------------------------------------------------------- keeping rows between preview and confirm

_TOKEN: Final = re.compile(r"^[A-Za-z0-9_-]{43}$")
_CLAIMED: Final = ".claimed"


@dataclass(frozen=True)
class Ticket:
    """What the uploader keeps (in the session): the file's token and the key to read it."""

    token: str
    key: str


def _expired() -> NotFound:
    return NotFound(
        "확인할 파일이 없거나 시간이 지났습니다. 파일을 다시 올려 주세요",
        "the upload is gone or expired; please upload the file again",
    )


def _path(directory: Path, token: str) -> Path:
    if not _TOKEN.match(token):
        raise _expired()
    return directory / f"{token}.upload"


def _aad(token: str, owner: str, program: str) -> bytes:
    return json.dumps([token, owner, program]).encode("utf-8")


def _seal(parsed: Parsed) -> bytes:
    return json.dumps(
        {
            "rows": [[r.line, r.nominee.number.digits, r.nominee.name, r.nominee.note] for r in parsed.rows],
            "problems": [[p.line, p.column, p.ko, p.en] for p in parsed.problems],
            "ignored": parsed.ignored_columns,
        },
        ensure_ascii=False,
    ).encode("utf-8")


def _unseal(body: bytes) -> Parsed:
    data = json.loads(body)
    return Parsed(
        [Row(line, Nominee(rrn_mod.RRN(digits), name, note)) for line, digits, name, note in data["rows"]],
        [RowProblem(line, column, ko, en) for line, column, ko, en in data["problems"]],
        list(data["ignored"]),
    )


def stash(directory: Path, owner: str, program: str, parsed: Parsed, now: datetime) -> Ticket:
    """Keep a parsed file encrypted under a fresh key until ``now + TTL``; the caller keeps the ticket."""
    sweep(directory, now)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    token = secrets.token_urlsafe(32)
    key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(12)
    sealed = nonce + AESGCM(key).encrypt(nonce, _seal(parsed), _aad(token, owner, program))
    expires = int((now + TTL).timestamp())
    fd = os.open(_path(directory, token), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(f"{expires}\n".encode("ascii") + sealed)
    return Ticket(token, base64.urlsafe_b64encode(key).decode("ascii"))


def _open(path: Path, ticket: Ticket, owner: str, program: str, now: datetime) -> Parsed:
    try:
        raw = path.read_bytes()
    except OSError:
        raise _expired() from None
    head, _, sealed = raw.partition(b"\n")
    if not head.isdigit() or int(head) < now.timestamp():
        raise _expired()
    try:
        key = base64.urlsafe_b64decode(ticket.key)
        body = AESGCM(key).decrypt(sealed[:12], sealed[12:], _aad(ticket.token, owner, program))
    except (InvalidTag, ValueError):
        raise _expired() from None
    return _unseal(body)


def peek(directory: Path, ticket: Ticket, owner: str, program: str, now: datetime) -> Parsed:
    """The kept file (the preview shown again: a refresh, the other language)."""
    return _open(_path(directory, ticket.token), ticket, owner, program, now)


@contextmanager
def claimed(directory: Path, ticket: Ticket, owner: str, program: str, now: datetime) -> Iterator[Parsed]:
    """The kept file, for registration by one request only: the file is moved aside first
    (a second click finds nothing), deleted when the block succeeds and put back when it raises."""
    path = _path(directory, ticket.token)
    aside = path.with_name(path.name + _CLAIMED)
    try:
        os.rename(path, aside)
    except OSError:
        raise _expired() from None
    try:
        parsed = _open(aside, ticket, owner, program, now)
        yield parsed
    except BaseException:
        os.rename(aside, path)  # expired ones are swept; a refused registration may be confirmed again
        raise
    aside.unlink(missing_ok=True)


def discard(directory: Path, token: str) -> None:
    """Forget an upload (cancelled, or replaced by a newer one)."""
    if _TOKEN.match(token or ""):
        _path(directory, token).unlink(missing_ok=True)


def sweep(directory: Path, now: datetime) -> int:
    """Delete expired uploads (and claims a crash left behind); returns how many."""
    removed = 0
    if not directory.is_dir():
        return 0
    for path in directory.iterdir():
        if not path.name.endswith((".upload", ".upload" + _CLAIMED)):
            continue
        try:
            with path.open("rb") as fh:
                head = fh.readline().strip()
        except OSError:
            continue
        if not head.isdigit() or int(head) < now.timestamp():
            path.unlink(missing_ok=True)
            removed += 1
    return removed
