"""Key rotation: every stored RRN moves to a new data key, resumably, while lookups keep working.

The world of tests/api (residents, receipts, tokens) is written under the old key, with
nominations, a delivered nomination (its receipt), a registry event and audit entries. A second
application on the same database carries the new key with the old one in its ring: the one the
operator restarts the service with before running ``seonbyeol rotate-key``.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from service import create_app, keys
from service.crypto import RRNCipher
from service.db import get_db
from service.keys import PERSON_TABLES
from service.models import AuditEntry
from service.security import get_cipher
from tests.api.conftest import RRN, Api
from tests.conftest import TEST_DATA_KEY

NEW_DATA_KEY = base64.urlsafe_b64encode(b"n" * 32).decode()
OLD = RRNCipher.from_data_key(base64.urlsafe_b64decode(TEST_DATA_KEY))
NEW = RRNCipher.from_data_key(base64.urlsafe_b64decode(NEW_DATA_KEY))
DIGITS = {name: rrn.replace("-", "") for name, rrn in RRN.items()}
SEONBYEOL = Path(sys.executable).with_name("seonbyeol")


@pytest.fixture
def stored(api: Api, program: dict[str, Any]) -> Api:
    """Nominations (one delivered: a receipt with ciphertext), a death, audit entries: all under the old key."""
    for who, name in (("haengdang", "김순자"), ("eungbong", "이철수"), ("welfare_center", "윤지민"),
                      ("church", "정대한")):  # fmt: skip
        assert api.nominate(who, name).status_code == 201
    delivered = api.nominate("haengdang", "박영수").get_json()["id"]
    for status in ("confirmed", "delivered"):
        change = {"status": status, "note": "세대 확인함"}
        response = api.call("POST", f"/api/v1/nominations/{delivered}/status", "department", change)
        assert response.status_code == 200, response.get_json()
    event = {"type": "death", "rrn": RRN["한옥자"], "date": "2026-11-20"}
    assert api.call("POST", "/api/v1/registry/events", "system", event).status_code == 200
    return api


@pytest.fixture
def rotated_app(app: Flask, database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The service restarted with the new key current and the old key in SEONBYEOL_OLD_DATA_KEYS."""
    application = create_app({**_settings(app, tmp_path), "DATA_KEY": NEW_DATA_KEY, "OLD_DATA_KEYS": TEST_DATA_KEY})
    yield application
    get_db(application).engine.dispose()


def _settings(app: Flask, tmp_path: Path) -> dict[str, Any]:
    return {"TESTING": True, "DATABASE_URL": app.config["DATABASE_URL"], "SECRET_KEY": "test-secret",
            "INSTANCE_PATH": str(tmp_path / "instance2"), "IMPORT_BATCH_SIZE": 50}  # fmt: skip


def _rows(app: Flask) -> list[tuple[str, int, str | None, str, bytes | None]]:
    """(table, id, key id, index, ciphertext) of every row holding an RRN."""
    out = []
    with get_db(app).sessionmaker() as session:
        for model in PERSON_TABLES:
            for row in session.execute(select(model.id, model.key_id, model.rrn_index, model.rrn_enc)):
                out.append((model.__tablename__, row.id, row.key_id, row.rrn_index, row.rrn_enc))
    return out


def _readable(rows: list[tuple[str, int, str | None, str, bytes | None]]) -> dict[str, int]:
    """Every row decrypts under one of the two keys, and its index is that person's index under the
    key its key id names (the key of the ciphertext); returns rows per key id."""
    ring = RRNCipher.from_data_key(base64.urlsafe_b64decode(NEW_DATA_KEY), [base64.urlsafe_b64decode(TEST_DATA_KEY)])
    per_key: dict[str, int] = {}
    for table, row_id, key_id, index, blob in rows:
        assert blob is not None, f"{table} {row_id} has no ciphertext"
        digits = ring.decrypt(blob)
        assert digits in DIGITS.values()
        key = ring.key(key_id or ring.key_of_ciphertext(blob))
        assert ring.key_of_ciphertext(blob) == key.key_id, f"{table} {row_id}: key id and ciphertext disagree"
        assert index == key.blind_index(digits), f"{table} {row_id}: index not under its own key"
        per_key[key.key_id] = per_key.get(key.key_id, 0) + 1
    return per_key


def _evaluate(client: FlaskClient, token: str, name: str) -> dict[str, Any]:
    body = {"program": "kimchi-2026", "nominee": {"rrn": RRN[name], "name": name}}
    response = client.post("/api/v1/evaluate", json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_json()
    return {r["rule"]: r for r in response.get_json()["verdict"]["reasons"]}


def _audit_subjects(client: FlaskClient, token: str, name: str) -> list[str]:
    response = client.get(f"/api/v1/audit?subject={RRN[name]}&limit=1000", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    return [item["action"] for item in response.get_json()["items"]]


def _environment(app: Flask, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEONBYEOL_") or k == "SEONBYEOL_FROZEN_NOW"}
    env.update(DATABASE_URL=app.config["DATABASE_URL"], SEONBYEOL_DATA_KEY=NEW_DATA_KEY,
               SEONBYEOL_OLD_DATA_KEYS=TEST_DATA_KEY, SEONBYEOL_SECRET_KEY="test-secret",
               SEONBYEOL_INSTANCE_PATH=str(tmp_path / "instance3"), PYTHONUNBUFFERED="1")  # fmt: skip
    return env


def test_everything_is_under_the_old_key_before(stored: Api, app: Flask) -> None:
    rows = _rows(app)
    assert {t for t, *_ in rows} == {"residents", "nominations", "receipts", "registry_events"}
    assert _readable(rows) == {OLD.key_id: len(rows)}
    assert all(key_id == OLD.key_id for _t, _i, key_id, _x, _b in rows)  # written with their key id


def test_a_lookup_finds_a_person_under_the_old_key_and_moves_them(stored: Api, rotated_app: Flask) -> None:
    client = rotated_app.test_client()
    token = stored.tokens["haengdang"]
    # 오복동's resident row and both receipts are under the old key: the household limit still sees them
    assert _evaluate(client, token, "오복동")["household_resource_limit"]["severity"] == "block"
    moved = [(t, k) for t, _i, k, index, _b in _rows(rotated_app) if index == NEW.blind_index(DIGITS["오복동"])]
    assert sorted(moved) == [("receipts", NEW.key_id), ("receipts", NEW.key_id), ("residents", NEW.key_id)]
    # 김순자 is nominated under the old key: the duplicate is still caught across institutions
    assert "duplicate_nomination" in _evaluate(client, stored.tokens["eungbong"], "김순자")
    # audit entries written under the old key are still found by RRN
    assert "nomination.create" in _audit_subjects(client, stored.tokens["auditor"], "김순자")
    # a registry event finds 이철수's resident row and his open nomination, both under the old key
    event = {"type": "move_out", "rrn": RRN["이철수"], "date": "2026-11-24"}
    answer = client.post("/api/v1/registry/events", json=event,
                         headers={"Authorization": f"Bearer {stored.tokens['system']}"})  # fmt: skip
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["resident_found"] and answer.get_json()["applied"]
    assert [r["screened"] for r in answer.get_json()["rescreened"]] == [1]


def test_sigkill_half_way_then_a_rerun_completes(stored: Api, app: Flask, rotated_app: Flask, tmp_path: Path) -> None:
    before = _rows(app)
    with subprocess.Popen(
        [str(SEONBYEOL), "rotate-key", "--batch-size", "1", "--pause", "30"],
        env=_environment(app, tmp_path), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    ) as process:  # fmt: skip
        assert process.stdout is not None
        first = process.stdout.readline()  # the first batch is committed; the next waits 30 s
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert "residents" in first, first
    assert process.returncode == -signal.SIGKILL
    half = _rows(app)
    per_key = _readable(half)
    assert set(per_key) == {OLD.key_id, NEW.key_id}, per_key  # half-way: some rows under each key
    assert len(half) == len(before)
    # while half-way, the service still finds people whichever key their rows are under
    client = rotated_app.test_client()
    for name in ("김순자", "박영수", "이철수", "오복동"):
        reasons = _evaluate(client, stored.tokens["church"], name)
        assert "not_in_registry" not in reasons, name
    assert "deceased" in _evaluate(client, stored.tokens["church"], "한옥자")  # the registry event's update
    assert "registry.death" in _audit_subjects(client, stored.tokens["auditor"], "한옥자")

    rerun = rotated_app.test_cli_runner().invoke(args=["rotate-key", "--batch-size", "2"])
    assert rerun.exit_code == 0, rerun.output
    assert "완료" in rerun.output
    after = _rows(app)
    assert len(after) == len(before)
    alone = NEW  # the new key alone, without the old one
    for table, row_id, key_id, index, blob in after:
        assert key_id == NEW.key_id, (table, row_id)
        assert blob is not None
        digits = alone.decrypt(blob)
        assert index == alone.blind_index(digits), (table, row_id)
    # audit search still finds entries of before the rotation (old index) and after (new index)
    actions = _audit_subjects(client, stored.tokens["auditor"], "김순자")
    assert "nomination.create" in actions and "evaluate" in actions
    with get_db(app).sessionmaker() as session:
        kinds = list(session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("key.%"))))
    assert kinds.count("key.rotation_complete") == 1  # the killed run recorded nothing; the re-run did

    status = rotated_app.test_cli_runner().invoke(args=["rotate-key", "--status"])
    assert status.exit_code == 0, status.output
    assert "이전 키에 남은 행 (rows not under the current key): 0" in status.output
    assert "SEONBYEOL_OLD_DATA_KEYS" in status.output  # older audit entries still need the old key for search


def test_a_second_rotation_run_has_nothing_left_to_do(stored: Api, rotated_app: Flask) -> None:
    runner = rotated_app.test_cli_runner()
    assert runner.invoke(args=["rotate-key"]).exit_code == 0
    again = runner.invoke(args=["rotate-key"])
    assert again.exit_code == 0 and "없음 (none)" in again.output, again.output


def test_new_rows_during_a_rotation_are_written_under_the_new_key(stored: Api, rotated_app: Flask) -> None:
    client = rotated_app.test_client()
    response = client.post(
        "/api/v1/programs/kimchi-2026/nominations", json={"nominee": {"rrn": RRN["오복동"], "name": "오복동"}},
        headers={"Authorization": f"Bearer {stored.tokens['haengdang']}"},
    )  # fmt: skip
    assert response.status_code == 201
    with get_db(rotated_app).sessionmaker() as session:
        nomination = session.get_one(PERSON_TABLES[1], response.get_json()["id"])
        assert (nomination.key_id, nomination.rrn_index) == (NEW.key_id, NEW.blind_index(DIGITS["오복동"]))
    assert get_cipher(rotated_app).previous  # the old key is still in the ring


def test_a_row_under_a_key_that_is_not_in_the_ring_stops_the_rotation(stored: Api, app: Flask, tmp_path: Path) -> None:
    stranger = base64.urlsafe_b64encode(b"s" * 32).decode()
    application = create_app({**_settings(app, tmp_path), "DATA_KEY": NEW_DATA_KEY, "OLD_DATA_KEYS": stranger})
    result = application.test_cli_runner().invoke(args=["rotate-key"])
    get_db(application).engine.dispose()
    assert result.exit_code != 0
    assert OLD.key_id in result.output and "SEONBYEOL_OLD_DATA_KEYS" in result.output
    assert _readable(_rows(app)) == {OLD.key_id: len(_rows(app))}  # nothing moved


def test_reads_keep_working_while_a_rotation_runs(stored: Api, rotated_app: Flask) -> None:
    """Evaluations, nominations and audit searches run while a rotation thread moves one person
    per batch: nobody goes missing, the duplicate and household rules still see the old rows."""
    sessions = get_db(rotated_app).sessionmaker
    report: list[keys.RotationReport] = []
    failure: list[BaseException] = []

    def rotate() -> None:
        try:
            report.append(keys.rotate(sessions, get_cipher(rotated_app), batch_size=1, pause=0.05))
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failure.append(exc)

    worker = threading.Thread(target=rotate)
    client = rotated_app.test_client()
    worker.start()
    rounds = during = 0
    try:
        while worker.is_alive() or rounds < 2:
            rounds += 1
            during += worker.is_alive()
            assert "duplicate_nomination" in _evaluate(client, stored.tokens["church"], "김순자")
            assert (
                _evaluate(client, stored.tokens["church"], "오복동")["household_resource_limit"]["severity"] == "block"
            )
            assert "deceased" in _evaluate(client, stored.tokens["church"], "한옥자")
            assert "not_in_registry" not in _evaluate(client, stored.tokens["church"], "윤지민")
            assert "nomination.create" in _audit_subjects(client, stored.tokens["auditor"], "이철수")
    finally:
        worker.join(timeout=120)
    assert not failure, failure
    assert during >= 1 and report and report[0].complete and report[0].batches > 1, (during, report)
    assert {k for _t, _i, k, _x, _b in _rows(rotated_app)} == {NEW.key_id}


def test_a_bulk_nomination_moves_its_people_and_writes_the_new_key(stored: Api, rotated_app: Flask) -> None:
    from service import batch, rrn
    from service.models import Nomination, Program
    from service.security import Principal

    with rotated_app.app_context(), get_db(rotated_app).sessionmaker() as session:
        program = session.scalars(select(Program)).one()
        center = Principal("token:haengdang", 3, "haengdang1-center", "행당1동주민센터", "nominator")
        nominees = [batch.Nominee(rrn.parse(RRN[name]), name) for name in ("오복동", "윤지민")]
        ids = batch.nominate_batch(session, get_cipher(rotated_app), program, nominees, center)
        session.commit()
        stored_rows = session.scalars(select(Nomination).where(Nomination.id.in_(ids))).all()
        assert {(n.key_id, n.rrn_index) for n in stored_rows} == {
            (NEW.key_id, NEW.blind_index(DIGITS[name])) for name in ("오복동", "윤지민")
        }
        second = next(n.id for n in stored_rows if n.nominee_name == "윤지민")
    # 윤지민 was nominated under the old key by the welfare center: found, so this one is a duplicate
    answer = rotated_app.test_client().get(
        f"/api/v1/nominations/{second}", headers={"Authorization": f"Bearer {stored.tokens['admin']}"}
    )
    assert "duplicate_nomination" in {r["rule"] for r in answer.get_json()["verdict"]["reasons"]}
    moved = {t for t, _i, k, index, _b in _rows(rotated_app) if index == NEW.blind_index(DIGITS["윤지민"])}
    assert moved == {"residents", "nominations"}


def test_rows_from_before_key_ids_move_with_their_person(stored: Api, app: Flask, rotated_app: Flask,
                                                         tmp_path: Path) -> None:  # fmt: skip
    """Rows written before migration 0005 have no key id, and receipts and events no ciphertext:
    they move with their person; one that belongs to nobody is reported, never lost."""
    from sqlalchemy import text

    from service.models import Receipt
    from tests.factories import RECEIPT_COLUMNS, receipt, write_csv

    stranger = "520505-1000017"  # in no registry snapshot and never nominated
    path = write_csv(tmp_path / "stranger.csv", [receipt(stranger, "kimchi", "2026-03-01", "사랑의열매")],
                     RECEIPT_COLUMNS)  # fmt: skip
    assert app.test_cli_runner().invoke(args=["import-receipts", str(path)]).exit_code == 0
    with get_db(app).engine.begin() as conn:
        conn.execute(text("UPDATE residents SET key_id = NULL"))
        conn.execute(text("UPDATE receipts SET key_id = NULL, rrn_enc = NULL WHERE nomination_id IS NULL"))
    result = rotated_app.test_cli_runner().invoke(args=["rotate-key"])
    assert result.exit_code == 1 and "receipts 1" in result.output, result.output  # the stranger's receipt
    with get_db(app).sessionmaker() as session:
        left = session.scalars(select(Receipt).where(Receipt.key_id.is_(None))).one()
        assert left.rrn_index == OLD.blind_index(stranger.replace("-", ""))  # kept, under the old key
        others = session.scalars(select(Receipt).where(Receipt.id != left.id)).all()
    assert others and all(r.key_id == NEW.key_id and r.rrn_enc is not None for r in others)  # ciphertext filled in
    assert all(NEW.decrypt(r.rrn_enc) in DIGITS.values() for r in others if r.rrn_enc)
    status = rotated_app.test_cli_runner().invoke(args=["rotate-key", "--status"])
    assert (
        "0005 이전 (no key id)" in status.output
        and "이전 키에 남은 행 (rows not under the current key): 1" in status.output
    )


def test_a_lookup_in_a_read_only_transaction_moves_the_person_as_a_writer(stored: Api, rotated_app: Flask) -> None:
    """The evaluate path reads in a read-only transaction (service/db.py); a lookup that has rows to
    move goes on as a writer, and one that has none stays a reader."""
    from service.db import is_read_only, read_only

    cipher = get_cipher(rotated_app)
    with get_db(rotated_app).sessionmaker() as session:
        read_only(session)
        assert keys.person_index(session, cipher, DIGITS["김순자"]) == NEW.blind_index(DIGITS["김순자"])
        assert not is_read_only(session)
        session.commit()
        read_only(session)
        keys.person_index(session, cipher, DIGITS["김순자"])  # already moved: nothing to write
        assert is_read_only(session)
        session.rollback()
    moved = {t for t, _i, k, index, _b in _rows(rotated_app) if index == NEW.blind_index(DIGITS["김순자"])}
    assert moved == {"residents", "nominations", "receipts"}


def test_batch_evaluation_during_a_rotation(stored: Api, rotated_app: Flask) -> None:
    names = ("김순자", "오복동", "한옥자", "윤지민")
    body = {"program": "kimchi-2026", "nominees": [{"rrn": RRN[n], "name": n} for n in names]}
    response = rotated_app.test_client().post(
        "/api/v1/evaluate/batch", json=body, headers={"Authorization": f"Bearer {stored.tokens['system']}"}
    )
    assert response.status_code == 200, response.get_json()
    rules = [{r["rule"] for r in item["verdict"]["reasons"]} for item in response.get_json()["items"]]
    assert "duplicate_nomination" in rules[0] and "household_resource_limit" in rules[1] and "deceased" in rules[2]
    assert all("not_in_registry" not in r for r in rules)
