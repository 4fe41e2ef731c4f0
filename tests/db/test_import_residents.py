"""Resident snapshot import: bad rows by line, good rows load, idempotent, nothing lost."""

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import event, select

from service import registry_import
from service.crypto import key_id_of
from service.db import get_db
from service.models import Resident
from service.security import get_cipher
from tests.factories import import_counts, resident, write_csv, write_district

GOOD = [
    resident("450312-2345678", "김순자", "H1", "head"),
    resident("430102-1345671", "박영수", "H1", "member"),
    resident("900101-1234567", "이철수", "H2", "head", dong="1120058000"),
    resident("010203-4123456", "최지우", "H3", "head", status="deceased", status_date="2026-03-01"),
    resident("550505-1999999", "정대한", "H4", "head", dong="1121500000"),  # outside the district
]
BAD = [
    (resident("450312-2345679", "생일틀림", birth_date="1945-03-13"), "birth_date"),
    (resident("450312-2345680", "성별틀림", sex="M"), "7th digit"),
    (resident("451332-2345678", "날짜없음"), "rrn"),
    (resident("450312-7345678", "세기틀림"), "birth_date"),  # 7 = 2000s foreigner: date mismatch
    (resident("450312-2345681", "상태", status="dead"), "status"),
    (resident("450312-2345682", "날짜필요", status="moved_out"), "status_date"),
    (resident("450312-2345683", "", ), "name"),
    (resident("450312-2345684", "동코드", dong="11200"), "dong_code"),
    (resident("450312-2345685", "관계", relation="child"), "relation"),
]  # fmt: skip


def _rows_with_bad_mixed_in() -> tuple[list[dict[str, str]], dict[int, str]]:
    rows: list[dict[str, str]] = []
    expected: dict[int, str] = {}
    bad = iter(BAD)
    for good in GOOD:
        rows.append(good)
        item = next(bad, None)
        if item:
            rows.append(item[0])
            expected[len(rows) + 1] = item[1]  # header is line 1
    for row, word in bad:
        rows.append(row)
        expected[len(rows) + 1] = word
    return rows, expected


@pytest.fixture
def district(runner: FlaskCliRunner, tmp_path: Path) -> None:
    assert runner.invoke(args=["load-district", str(write_district(tmp_path / "d.yaml"))]).exit_code == 0


def _stored(app: Flask) -> dict[str, tuple[str, str, str]]:
    with get_db(app).session() as s:
        return {r.rrn_masked + r.name: (r.status, r.dong_code, r.row_digest) for r in s.scalars(select(Resident))}


@pytest.mark.usefixtures("district")
def test_bad_rows_are_reported_by_line_and_good_rows_load(app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    rows, expected = _rows_with_bad_mixed_in()
    path = write_csv(tmp_path / "residents.csv", rows)
    result = runner.invoke(args=["import-residents", str(path)])
    assert result.exit_code == 0, result.output
    for line, word in expected.items():
        reported = [ln for ln in result.output.splitlines() if ln.startswith(f"{line}행 거부")]
        assert reported and word in reported[0], (line, word, result.output)
    assert import_counts(result.output) == {
        "read": len(GOOD) + len(BAD), "inserted": len(GOOD), "updated": 0, "unchanged": 0, "rejected": len(BAD),
    }  # fmt: skip
    assert len(_stored(app)) == len(GOOD)


@pytest.mark.usefixtures("district")
def test_same_file_twice_changes_nothing(app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "residents.csv", GOOD)
    runner.invoke(args=["import-residents", str(path)])
    before = _stored(app)
    with get_db(app).session() as s:
        blobs = {r.id: (r.rrn_enc, r.updated_at) for r in s.scalars(select(Resident))}
    result = runner.invoke(args=["import-residents", str(path)])
    assert import_counts(result.output) == {
        "read": len(GOOD), "inserted": 0, "updated": 0, "unchanged": len(GOOD), "rejected": 0,
    }  # fmt: skip
    assert _stored(app) == before
    with get_db(app).session() as s:
        assert {r.id: (r.rrn_enc, r.updated_at) for r in s.scalars(select(Resident))} == blobs


@pytest.mark.usefixtures("district")
def test_newer_snapshot_updates_in_place(app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    runner.invoke(args=["import-residents", str(write_csv(tmp_path / "a.csv", GOOD))])
    newer = [dict(r) for r in GOOD]
    newer[2].update(status="moved_out", status_date="2026-10-01")
    result = runner.invoke(args=["import-residents", str(write_csv(tmp_path / "b.csv", newer))])
    assert import_counts(result.output) == {
        "read": len(GOOD), "inserted": 0, "updated": 1, "unchanged": len(GOOD) - 1, "rejected": 0,
    }  # fmt: skip
    with get_db(app).session() as s:
        moved = s.scalar(select(Resident).where(Resident.name == "이철수"))
        assert moved is not None and moved.status == "moved_out"
        assert len(list(s.scalars(select(Resident)))) == len(GOOD)


@pytest.mark.parametrize(
    ("content", "message"),
    [("rrn,name\n900101-1234567,x\n", "헤더"), ("", "빈 파일"), (b"\xff\xfe\x00bad", "UTF-8")],
)
@pytest.mark.usefixtures("district")
def test_unreadable_file_or_wrong_header_exits_non_zero(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path, content: str | bytes, message: str
) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = runner.invoke(args=["import-residents", str(path)])
    assert result.exit_code != 0
    assert message in result.output
    assert _stored(app) == {}


def test_missing_file_exits_non_zero(runner: FlaskCliRunner, tmp_path: Path) -> None:
    result = runner.invoke(args=["import-residents", str(tmp_path / "none.csv")])
    assert result.exit_code != 0 and "none.csv" in result.output


@pytest.mark.usefixtures("district")
def test_wrong_column_count_and_bom_and_blank_lines(app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", GOOD[:1])
    text = "\ufeff" + path.read_text(encoding="utf-8") + "\n900101-1234567,too,few\n"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(args=["import-residents", str(path)])
    assert result.exit_code == 0
    rejects = [ln for ln in result.output.splitlines() if "행 거부" in ln]
    assert len(rejects) == 1 and rejects[0].startswith("4행 거부") and "열 개수" in rejects[0], result.output
    assert import_counts(result.output)["inserted"] == 1 and import_counts(result.output)["rejected"] == 1
    assert len(_stored(app)) == 1


@pytest.mark.usefixtures("district")
def test_crash_half_way_keeps_committed_batches_and_rerun_completes(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [resident(f"4501{d:02d}-2{d:06d}", f"주민{d}", f"H{d}") for d in range(1, 29)]
    lines = list(enumerate(rows, start=2))
    real = registry_import._merge_chunk
    calls = {"n": 0}

    def crash_on_second(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("power failure")
        return real(*args, **kwargs)

    monkeypatch.setattr(registry_import, "_merge_chunk", crash_on_second)
    db = get_db(app)
    with pytest.raises(RuntimeError):
        registry_import.import_residents(db.sessionmaker, lines, get_cipher(app), batch_size=10)
    assert len(_stored(app)) == 10
    monkeypatch.setattr(registry_import, "_merge_chunk", real)
    result = registry_import.import_residents(db.sessionmaker, lines, get_cipher(app), batch_size=10)
    assert (result.inserted, result.unchanged) == (18, 10)
    assert len(_stored(app)) == 28


@pytest.mark.usefixtures("district")
def test_duplicate_rrn_in_one_batch_is_rejected(app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [GOOD[0], GOOD[0]])
    result = runner.invoke(args=["import-residents", str(path)])
    rejects = [ln for ln in result.output.splitlines() if "행 거부" in ln]
    assert len(rejects) == 1 and rejects[0].startswith("3행 거부") and "(duplicate of line 2)" in rejects[0], rejects
    assert import_counts(result.output) == {"read": 2, "inserted": 1, "updated": 0, "unchanged": 0, "rejected": 1}


def _stored_bytes(app: Flask, backend: str) -> bytes:
    """Everything the database holds for residents, as raw bytes."""
    engine = get_db(app).engine
    if backend == "sqlite":
        db_path = Path(engine.url.database or "")
        engine.dispose()  # checkpoint the WAL into the main file
        return db_path.read_bytes() + b"".join(p.read_bytes() for p in db_path.parent.glob("*-wal"))
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT row_to_json(r)::text FROM residents r").scalars()
        return "\n".join(rows).encode()


@pytest.mark.usefixtures("district")
def test_rrns_are_encrypted_and_never_in_the_database(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path, backend: str
) -> None:
    result = runner.invoke(args=["import-residents", str(write_csv(tmp_path / "r.csv", GOOD))])
    assert result.exit_code == 0
    blob = _stored_bytes(app, backend)
    assert "김순자".encode() in blob  # the check can see stored text
    for row in GOOD:
        digits = row["rrn"].replace("-", "")
        assert digits.encode() not in blob
        assert row["rrn"].encode() not in blob
        assert digits[6:].encode() not in blob  # not even the back half
    with get_db(app).session() as s:
        first = s.scalar(select(Resident).where(Resident.name == "김순자"))
        assert first is not None
        assert get_cipher(app).decrypt(first.rrn_enc) == "4503122345678"
        assert first.rrn_masked == "450312-2******"


@pytest.mark.usefixtures("district")
def test_rrn_never_printed_by_import(runner: FlaskCliRunner, tmp_path: Path) -> None:
    rows, _ = _rows_with_bad_mixed_in()
    result = runner.invoke(args=["import-residents", str(write_csv(tmp_path / "r.csv", rows))])
    for row in rows:
        assert row["rrn"][7:] not in result.output


# ----------------------------------------------------------------------------- the staged (COPY) path


def _people(count: int, start: int = 0) -> list[dict[str, str]]:
    """``count`` valid, distinct residents."""
    return [
        resident(f"4501{d % 28 + 1:02d}-2{d:06d}", f"주민{d}", f"H{d // 2}", "head" if d % 2 == 0 else "member")
        for d in range(start, start + count)
    ]


def _import(app: Flask, rows: list[dict[str, str]], batch_size: int) -> registry_import.ImportResult:
    return registry_import.import_residents(
        get_db(app).sessionmaker, list(enumerate(rows, start=2)), get_cipher(app), batch_size=batch_size
    )


@pytest.mark.usefixtures("district")
def test_chunks_count_inserts_updates_unchanged_and_rejects_across_boundaries(app: Flask) -> None:
    first = _people(25)
    result = _import(app, first, batch_size=10)  # chunks of 10, 10 and 5 rows
    assert (result.read, result.inserted, result.updated, result.unchanged, result.rejected) == (25, 25, 0, 0, 0)
    with get_db(app).session() as s:
        ids = [r.name for r in s.scalars(select(Resident).order_by(Resident.id))]
    assert ids == [r["name"] for r in first], "rows are stored in file order"

    second = [dict(r) for r in first[:20]] + _people(6, start=100)  # 20 known + 6 new, 26 rows: 3 chunks
    for i in (3, 9, 10, 19):  # changes on both sides of the 10-row boundaries
        second[i]["address"] = f"서울특별시 성동구 왕십리로 {i}"
    second.insert(14, resident("451332-2345678", "날짜없음"))  # a reject in the middle of a chunk
    second.insert(5, dict(second[2]))  # a repeat of line 4 in the same chunk (line 7); the reject is now line 17
    result = _import(app, second, batch_size=10)
    assert (result.read, result.inserted, result.updated, result.unchanged, result.rejected) == (28, 6, 4, 16, 2)
    assert [line for line, _ in result.rejects] == [7, 17]
    assert "(duplicate of line 4)" in result.rejects[0][1] and "birth date" in result.rejects[1][1]
    with get_db(app).session() as s:
        stored = {r.name: r for r in s.scalars(select(Resident))}
    assert len(stored) == 31
    assert {n for n, r in stored.items() if "왕십리로" in r.address} == {first[i]["name"] for i in (3, 9, 10, 19)}
    changed = stored[first[3]["name"]]
    assert changed.row_digest == registry_import.resident_digest(changed), "the stored digest is the fields' digest"

    again = _import(app, second, batch_size=7)  # other boundaries: still nothing to write
    assert (again.inserted, again.updated, again.unchanged, again.rejected) == (0, 0, 26, 2)


@pytest.mark.usefixtures("district")
def test_a_chunk_of_new_people_only_runs_no_update(app: Flask) -> None:
    updates: list[int] = []

    def watch(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE RESIDENTS"):
            updates.append(1)

    engine = get_db(app).engine
    event.listen(engine, "before_cursor_execute", watch)
    try:
        first = _result_counts(_import(app, _people(20), batch_size=10))  # two chunks, all new
        assert first == (20, 0, 0) and updates == [], "a first load updated residents"
        mixed = _people(10, start=15)  # 5 known (one of them changed) + 5 new: one chunk
        mixed[0]["address"] = "서울특별시 성동구 왕십리로 1"
        assert _result_counts(_import(app, mixed, batch_size=10)) == (5, 1, 4) and len(updates) == 1
    finally:
        event.remove(engine, "before_cursor_execute", watch)
    with get_db(app).session() as s:
        assert s.scalar(select(Resident.address).where(Resident.name == mixed[0]["name"])) == mixed[0]["address"]


@pytest.mark.usefixtures("district")
def test_a_person_repeated_from_an_earlier_chunk_is_updated_not_doubled(app: Flask) -> None:
    """A first load's chunk is inserted without ON CONFLICT on PostgreSQL; a person an earlier chunk
    of the same file stored makes that insert fail: it is undone (savepoint) and the chunk goes in
    with ON CONFLICT, the repeat updating the person."""
    inserts: list[str] = []

    def watch(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO RESIDENTS"):
            inserts.append("on conflict" if "ON CONFLICT" in statement else "plain")

    rows = _people(20)
    repeat = dict(rows[3], address="서울특별시 성동구 왕십리로 3")
    rows.insert(12, repeat)  # chunks of 10, 10 and 1 rows: the second holds a person of the first
    engine = get_db(app).engine
    event.listen(engine, "before_cursor_execute", watch)
    try:
        result = _import(app, rows, batch_size=10)
    finally:
        event.remove(engine, "before_cursor_execute", watch)
    assert (result.read, result.inserted, result.updated, result.unchanged, result.rejected) == (21, 20, 1, 0, 0)
    if engine.dialect.name == "postgresql":  # plain, plain (refused, undone), ON CONFLICT, then known people
        assert inserts == ["plain", "plain", "on conflict", "on conflict"]
    else:
        assert inserts == ["on conflict"] * 3
    with get_db(app).session() as s:
        stored = [(r.name, r.address) for r in s.scalars(select(Resident).order_by(Resident.id))]
    assert [name for name, _ in stored] == [r["name"] for r in rows if r is not repeat], "file order, once each"
    assert dict(stored)[repeat["name"]] == repeat["address"], "the later line of the file wins"


def _result_counts(result: registry_import.ImportResult) -> tuple[int, int, int]:
    return result.inserted, result.updated, result.unchanged


@pytest.mark.usefixtures("district")
def test_a_failed_merge_leaves_the_chunk_out_and_later_chunks_unstaged(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _people(30)
    real = registry_import._merge_chunk
    merged: list[int] = []

    def fail_second(session, cipher, staged, digits, *rest):  # type: ignore[no-untyped-def]
        merged.append(staged)
        if len(merged) == 2:
            raise RuntimeError("disk full")
        return real(session, cipher, staged, digits, *rest)

    monkeypatch.setattr(registry_import, "_merge_chunk", fail_second)
    with pytest.raises(RuntimeError, match="disk full"):
        _import(app, rows, batch_size=10)
    assert len(merged) == 2, "no chunk is merged after a failed one"
    assert len(_stored(app)) == 10
    monkeypatch.setattr(registry_import, "_merge_chunk", real)
    result = _import(app, rows, batch_size=10)
    assert (result.inserted, result.unchanged) == (20, 10)


def test_fast_validation_agrees_with_parse_resident_row() -> None:
    """The bulk path's inlined checks accept exactly what parse_resident_row accepts, with the same values,
    the same digest, and the same message for what it rejects."""
    today = date(2026, 11, 25)
    rows = [*GOOD, *(row for row, _ in BAD)]
    variants: list[dict[str, str]] = []
    for base in GOOD:
        for column, values in {
            "rrn": [" 4503122345678 ", "450312-234567", "450230-2345678", "450312-9345678", "٤٥٠٣١٢-2345678"],
            "birth_date": ["19450312", "1945-03-12 ", "2030-01-01", ""],
            "sex": ["m", " F ", "X", ""],
            "name": ["", " ", "가" * 100, "가" * 101],
            "household_id": ["", "h" * 64, "h" * 65],
            "relation": ["Head", " member "],
            "dong_code": ["112005600", "1120056000 ", "١١٢٠٠٥٦٠٠٠"],
            "address": ["", "a" * 300, "a" * 301],
            "status": ["deceased", "moved_out", "Active", "active"],
            "status_date": ["", "2026-11-25", "2026-11-26", "1900-01-01", "2026/01/01"],
        }.items():
            for value in values:
                variants.append({**base, column: value})
    variants.append({"__error__": "CSV 형식 오류"})
    for row in [*rows, *variants]:
        try:
            expected = registry_import.parse_resident_row(row, today)
        except registry_import.RowError as exc:
            with pytest.raises(registry_import.RowError) as caught:
                registry_import._clean_resident(row, today)
            assert str(caught.value) == str(exc), row
            continue
        clean = registry_import._clean_resident(row, today)
        wanted = ("name", "birth_date", "sex", "household_key", "relation", "dong_code", "address", "status",
                  "status_date")  # fmt: skip
        assert clean == (expected["rrn"].digits, *(expected[k] for k in wanted)), row
        assert registry_import._clean_digest(clean) == registry_import._digest(expected)


def test_bulk_index_and_encryption_match_the_single_ones(app: Flask) -> None:
    cipher = get_cipher(app)
    numbers = [r["rrn"].replace("-", "") for r in GOOD] * 2
    assert cipher.blind_indexes(numbers) == [cipher.blind_index(n) for n in numbers]
    blobs = cipher.encrypt_many(numbers)
    assert [cipher.decrypt(b) for b in blobs] == numbers
    assert len({b[5:17] for b in blobs}) == len(blobs), "every ciphertext has its own nonce"
    assert {key_id_of(b) for b in blobs} == {cipher.key_id}
