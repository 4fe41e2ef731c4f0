"""Stream resident snapshots and receipts into the database in batches.

Why it is shaped like this:

* rows are validated one by one and a bad row is reported with its file line and reason,
  while the good rows still load;
* each batch is looked up with one ``IN`` query and written with one bulk insert and one
  bulk update, then committed: memory stays flat on a million rows, and a crash half-way
  loses nothing already committed (re-running the same file completes the rest);
* a row whose registry fields are unchanged is not written at all, so importing the same
  file twice changes nothing (the RRN ciphertext is randomised, so a digest of the
  plain fields decides, not the stored bytes).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from . import clock, keys
from . import rrn as rrn_mod
from .crypto import RRNCipher
from .models import RESIDENT_STATUSES, Receipt, Resident, ResourceCategory, utcnow

RESIDENT_COLUMNS = (
    "rrn", "name", "birth_date", "sex", "household_id", "relation",
    "dong_code", "address", "status", "status_date",
)  # fmt: skip
RECEIPT_COLUMNS = ("rrn", "resource_category", "received_on", "provider", "quantity")
MAX_KEPT_REJECTS = 10_000


class ImportFileError(ValueError):
    """The file cannot be read at all (missing, not UTF-8, wrong header): nothing was loaded."""


class RowError(ValueError):
    """One row is invalid; the message says why (and never contains the RRN)."""


@dataclass
class ImportResult:
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejects: list[tuple[int, str]] = field(default_factory=list)

    def reject(self, line: int, reason: str) -> None:
        self.rejected += 1
        if len(self.rejects) < MAX_KEPT_REJECTS:
            self.rejects.append((line, reason))


# --------------------------------------------------------------------------- reading


def _count_bytes(raw: io.BufferedReader, progress: Callable[[int], None] | None) -> Iterator[str]:
    encoding = "utf-8-sig"  # tolerate a BOM (Excel writes one) on the first line only
    for line in raw:
        if progress is not None:
            progress(len(line))
        try:
            yield line.decode(encoding)
        except UnicodeDecodeError as exc:
            raise ImportFileError("UTF-8 파일이 아닙니다 (file is not UTF-8)") from exc
        encoding = "utf-8"


def read_csv(
    path: Path, columns: tuple[str, ...], progress: Callable[[int], None] | None = None
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (file line, row) pairs; the header is line 1 and must name exactly ``columns``."""
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise ImportFileError(f"파일을 열 수 없습니다 (cannot open file): {exc.strerror}") from exc
    with raw:
        reader = csv.reader(_count_bytes(raw, progress))  # type: ignore[arg-type]
        try:
            header = next(reader)
        except StopIteration:
            raise ImportFileError("빈 파일입니다 (empty file: no header row)") from None
        except csv.Error as exc:
            raise ImportFileError(f"CSV 헤더를 읽을 수 없습니다: {exc}") from exc
        header = [h.strip() for h in header]
        if sorted(header) != sorted(columns) or len(header) != len(columns):
            raise ImportFileError(
                f"헤더가 올바르지 않습니다 (wrong header): expected {','.join(columns)}; got {','.join(header)}"
            )
        while True:
            start = reader.line_num + 1
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield start, {"__error__": f"CSV 형식 오류 (malformed CSV): {exc}"}
                continue
            if not values or values == [""]:
                continue
            if len(values) != len(header):
                yield (
                    start,
                    {
                        "__error__": f"열 개수가 {len(values)}개입니다; {len(header)}개여야 합니다 "
                        f"(expected {len(header)} columns, got {len(values)})"
                    },
                )
                continue
            yield start, dict(zip(header, values, strict=True))


# --------------------------------------------------------------------------- validation


def _iso_date(value: str, column: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise RowError(f"{column}: ISO 날짜(YYYY-MM-DD)가 아닙니다 (not an ISO date)") from None


def _text(row: dict[str, str], column: str, max_len: int) -> str:
    value = (row.get(column) or "").strip()
    if not value:
        raise RowError(f"{column}: 비어 있습니다 (empty)")
    if len(value) > max_len:
        raise RowError(f"{column}: {max_len}자를 넘습니다 (longer than {max_len})")
    return value


def parse_resident_row(row: dict[str, str], today: date) -> dict[str, Any]:
    """Validate one snapshot row; return clean values (with the parsed RRN) or raise RowError."""
    if "__error__" in row:
        raise RowError(row["__error__"])
    try:
        number = rrn_mod.parse(row.get("rrn", ""))
    except rrn_mod.InvalidRRN as exc:
        raise RowError(f"rrn: {exc}") from None
    name = _text(row, "name", 100)
    birth = _iso_date(row.get("birth_date", ""), "birth_date")
    if birth != number.birth_date:
        raise RowError("birth_date: 주민등록번호의 생년월일과 다릅니다 (differs from the RRN)")
    if birth > today:
        raise RowError("birth_date: 미래 날짜입니다 (in the future)")
    sex = (row.get("sex") or "").strip().upper()
    if sex not in ("M", "F"):
        raise RowError("sex: M 또는 F여야 합니다 (must be M or F)")
    if sex != number.sex:
        raise RowError("sex: 주민등록번호 7번째 자리와 맞지 않습니다 (disagrees with the 7th digit)")
    household = _text(row, "household_id", 64)
    relation = (row.get("relation") or "").strip()
    if relation not in ("head", "member"):
        raise RowError("relation: head 또는 member여야 합니다 (must be head or member)")
    dong = (row.get("dong_code") or "").strip()
    if not (len(dong) == 10 and dong.isdigit()):
        raise RowError("dong_code: 10자리 행정동 코드여야 합니다 (must be a 10-digit code)")
    address = _text(row, "address", 300)
    status = (row.get("status") or "").strip()
    if status not in RESIDENT_STATUSES:
        raise RowError("status: active, deceased, moved_out 중 하나여야 합니다")
    raw_date = (row.get("status_date") or "").strip()
    status_date: date | None = None
    if status == "active":
        if raw_date:
            raise RowError("status_date: active인 주민은 비워야 합니다 (must be empty when active)")
    else:
        if not raw_date:
            raise RowError(f"status_date: {status}이면 날짜가 필요합니다 (required when {status})")
        status_date = _iso_date(raw_date, "status_date")
        if status_date > today:
            raise RowError("status_date: 미래 날짜입니다 (in the future)")
        if status_date < birth:
            raise RowError("status_date: 출생일 이전입니다 (before the birth date)")
    return {
        "rrn": number,
        "name": name,
        "birth_date": birth,
        "sex": sex,
        "household_key": household,
        "relation": relation,
        "dong_code": dong,
        "address": address,
        "status": status,
        "status_date": status_date,
    }


_DIGEST_FIELDS = ("name", "birth_date", "sex", "household_key", "relation", "dong_code", "address",
                  "status", "status_date")  # fmt: skip


def _digest(values: dict[str, Any]) -> str:
    parts = [str(values[k]) for k in _DIGEST_FIELDS]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def resident_digest(resident: Resident) -> str:
    """The digest of a stored resident, after a change made outside an import."""
    return _digest({k: getattr(resident, k) for k in _DIGEST_FIELDS})


# --------------------------------------------------------------------------- writing


def _batches(rows: Iterable[tuple[int, dict[str, str]]], size: int) -> Iterator[list[tuple[int, dict[str, str]]]]:
    batch: list[tuple[int, dict[str, str]]] = []
    for item in rows:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _run_batches(
    rows: Iterable[tuple[int, dict[str, str]]],
    batch_size: int,
    parse: Callable[[dict[str, str]], tuple[Hashable, dict[str, Any]]],
    duplicate: str,
    write: Callable[[dict[Any, tuple[int, dict[str, Any]]], ImportResult], None],
) -> ImportResult:
    """Validate rows one by one (rejecting bad ones by line, and repeats of a key within a
    batch), then hand each batch's clean rows, keyed, to ``write``."""
    result = ImportResult()
    for batch in _batches(rows, batch_size):
        clean: dict[Any, tuple[int, dict[str, Any]]] = {}
        for line, row in batch:
            result.read += 1
            try:
                key, values = parse(row)
            except RowError as exc:
                result.reject(line, str(exc))
                continue
            if key in clean:
                first = clean[key][0]
                result.reject(line, duplicate.format(line=first))
                continue
            clean[key] = (line, values)
        if clean:
            write(clean, result)
    return result


def import_residents(
    sessions: sessionmaker[Session],
    rows: Iterable[tuple[int, dict[str, str]]],
    cipher: RRNCipher,
    batch_size: int = 2000,
    today: date | None = None,
) -> ImportResult:
    """Upsert snapshot rows by RRN, one committed transaction per batch."""
    day = today or clock.today()

    def parse(row: dict[str, str]) -> tuple[Hashable, dict[str, Any]]:
        values = parse_resident_row(row, day)
        values["row_digest"] = _digest(values)
        return cipher.blind_index(values["rrn"].digits), values

    return _run_batches(
        rows, batch_size, parse, "rrn: {line}행과 같은 주민등록번호입니다 (duplicate of line {line})",
        lambda clean, result: _write_resident_batch(sessions, clean, cipher, result),
    )  # fmt: skip


def _write_resident_batch(
    sessions: sessionmaker[Session],
    clean: dict[str, tuple[int, dict[str, Any]]],
    cipher: RRNCipher,
    result: ImportResult,
) -> None:
    now = utcnow()
    with sessions.begin() as session:
        keys.person_indexes(session, cipher, [v["rrn"].digits for _line, v in clean.values()])  # key rotation
        existing = dict(
            session.execute(
                select(Resident.rrn_index, Resident.row_digest).where(Resident.rrn_index.in_(list(clean)))
            ).all()
        )
        ids = (
            dict(
                session.execute(
                    select(Resident.rrn_index, Resident.id).where(Resident.rrn_index.in_(list(existing)))
                ).all()
            )
            if existing
            else {}
        )
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for key, (_line, values) in clean.items():
            number: rrn_mod.RRN = values.pop("rrn")
            if key not in existing:
                inserts.append(
                    {
                        **values,
                        "rrn_index": key,
                        "rrn_enc": cipher.encrypt(number.digits),
                        "rrn_masked": number.masked,
                        "updated_at": now,
                    }  # fmt: skip
                )
            elif existing[key] != values["row_digest"]:
                updates.append({**values, "id": ids[key], "updated_at": now})
            else:
                result.unchanged += 1
        if inserts:
            # render_nulls: one INSERT for the batch, not one per distinct set of None columns
            session.execute(insert(Resident).execution_options(render_nulls=True), inserts)
        if updates:
            session.execute(update(Resident), updates)
        result.inserted += len(inserts)
        result.updated += len(updates)


def parse_receipt_row(row: dict[str, str], categories: set[str], today: date) -> dict[str, Any]:
    if "__error__" in row:
        raise RowError(row["__error__"])
    try:
        number = rrn_mod.parse(row.get("rrn", ""))
    except rrn_mod.InvalidRRN as exc:
        raise RowError(f"rrn: {exc}") from None
    category = (row.get("resource_category") or "").strip()
    if category not in categories:
        raise RowError(f"resource_category: 등록되지 않은 자원 분류입니다 (unknown category '{category[:64]}')")
    received = _iso_date(row.get("received_on", ""), "received_on")
    if received > today:
        raise RowError("received_on: 미래 날짜입니다 (in the future)")
    provider = _text(row, "provider", 200)
    raw_qty = (row.get("quantity") or "").strip() or "1"
    if not raw_qty.isdigit() or not 1 <= int(raw_qty) <= 1_000_000:
        raise RowError("quantity: 1 이상의 정수여야 합니다 (must be a positive integer)")
    return {"rrn": number, "category_code": category, "received_on": received,
            "provider": provider, "quantity": int(raw_qty)}  # fmt: skip


def import_receipts(
    sessions: sessionmaker[Session],
    rows: Iterable[tuple[int, dict[str, str]]],
    cipher: RRNCipher,
    batch_size: int = 2000,
    today: date | None = None,
) -> ImportResult:
    """Insert receipts; a receipt already stored (same person, category, date, provider) is kept
    and only its quantity updated, so re-importing a file changes nothing."""
    day = today or clock.today()
    with sessions() as session:
        categories = set(session.scalars(select(ResourceCategory.code)))

    def parse(row: dict[str, str]) -> tuple[Hashable, dict[str, Any]]:
        values = parse_receipt_row(row, categories, day)
        number = values.pop("rrn")
        values["rrn_index"] = cipher.blind_index(number.digits)
        values["rrn_enc"] = cipher.encrypt(number.digits)  # lets a key rotation re-index the receipt
        return (values["rrn_index"], values["category_code"], values["received_on"], values["provider"]), values

    return _run_batches(
        rows, batch_size, parse, "{line}행과 같은 수혜 기록입니다 (duplicate of line {line})",
        lambda clean, result: _write_receipt_batch(sessions, clean, result, cipher),
    )  # fmt: skip


def _write_receipt_batch(
    sessions: sessionmaker[Session],
    clean: dict[tuple[str, str, date, str], tuple[int, dict[str, Any]]],
    result: ImportResult,
    cipher: RRNCipher,
) -> None:
    people = {k[0] for k in clean}
    with sessions.begin() as session:
        if cipher.previous:  # a key rotation is under way: these people's stored rows move to the current key first
            keys.person_indexes(session, cipher, [cipher.decrypt(v["rrn_enc"]) for _line, v in clean.values()])
        stored = {
            (r.rrn_index, r.category_code, r.received_on, r.provider): (r.id, r.quantity)
            for r in session.execute(
                select(
                    Receipt.id,
                    Receipt.rrn_index,
                    Receipt.category_code,
                    Receipt.received_on,
                    Receipt.provider,
                    Receipt.quantity,
                ).where(Receipt.rrn_index.in_(people))  # fmt: skip
            )
        }
        inserts = [v for k, (_l, v) in clean.items() if k not in stored]
        updates = [
            {"id": stored[k][0], "quantity": v["quantity"]}
            for k, (_l, v) in clean.items()
            if k in stored and stored[k][1] != v["quantity"]
        ]
        result.unchanged += len(clean) - len(inserts) - len(updates)
        if inserts:
            session.execute(insert(Receipt).execution_options(render_nulls=True), inserts)
        if updates:
            session.execute(update(Receipt), updates)
        result.inserted += len(inserts)
        result.updated += len(updates)
