"""Upgrading a database of the previous release (schema 0001, release 0.1.0) that holds data.

The fixture is code, not a binary dump: migrate an empty database to revision 0001, insert
representative rows into every table of 0001 with plain SQL (as 0.1.0 stored them: encrypted
RRNs, blind indexes, argon2 password hashes, verdict JSON), then run ``init-db``'s upgrade to the
head and check that every stored value is unchanged, that the service reads the data, and that
the constraints added since hold. On SQLite and on PostgreSQL.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.exc import IntegrityError

from service import create_app
from service.crypto import RRNCipher, token_hash
from service.db import get_db, make_engine
from service.migrations_runner import current_revision, upgrade
from service.models import ApiToken, Nomination, User, VerdictRecord
from service.readiness import head_revision
from service.security import principal_for_token, verify_password
from tests.conftest import TEST_DATA_KEY

PREVIOUS_RELEASE = "0001"
TABLES_0001 = (
    "districts", "dongs", "institutions", "sponsors", "resource_categories", "ruleset_versions", "programs",
    "residents", "api_tokens", "users", "nominations", "verdicts", "notifications", "receipts",
    "registry_events", "audit_entries",
)  # fmt: skip
TOKEN = "sb_release-0.1.0-admin-token-for-the-upgrade-test"
PASSWORD = "한강-겨울-2026"
CIPHER = RRNCipher.from_data_key(base64.urlsafe_b64decode(TEST_DATA_KEY))
PEOPLE = {  # name: (rrn digits, masked)
    "김순자": ("4503122345678", "450312-2******"),
    "박영수": ("4301021345671", "430102-1******"),
    "최말순": ("4002032123456", "400203-2******"),
    "이철수": ("9001011234567", "900101-1******"),
}


@pytest.fixture
def engine(empty_database_url: str) -> Iterator[Engine]:
    created = make_engine(empty_database_url)
    yield created
    created.dispose()


def _at(engine: Engine, moment: str) -> str:
    """A timestamp literal as each backend stored 0.1.0's UTC datetimes."""
    return f"{moment}+00" if engine.dialect.name == "postgresql" else f"{moment}.000000"


def _index(name: str) -> str:
    return CIPHER.blind_index(PEOPLE[name][0])


def _rows_of_release_0_1(engine: Engine) -> list[tuple[str, dict[str, Any]]]:
    """(table, row) in insertion order; ids are left to the database (1, 2, ... in a fresh table)."""
    ts = lambda moment: _at(engine, moment)  # noqa: E731 - short local helper
    yaml_v1 = "ruleset: kimchi-2026\nextends: base-screening\nparameters:\n  household_limit: {value: 1}\n"
    yaml_v2 = yaml_v1.replace("{value: 1}", "{value: 2}")
    verdict = {"outcome": "eligible", "reasons": [], "evaluated_at": "2026-11-03T10:00:00+09:00",
               "ruleset": {"name": "kimchi-2026", "version": 1, "sha256": "a" * 64}}  # fmt: skip
    first = "행당1동주민센터"
    duplicate = {**verdict, "outcome": "ineligible", "reasons": [
        {"rule": "duplicate_nomination", "severity": "block", "message": f"{first}에서 이미 추천한 대상자입니다",
         "facts": {"person.earlier_open_nominations": 1, "person.first_institution_name": first}}]}  # fmt: skip
    facts = {"resident.found": True, "resident.age": 81, "household.size": 2}
    resident = {"sex": "F", "relation": "head", "dong_code": "1120056000", "address": "서울특별시 성동구 행당로 1",
                "status": "active", "status_date": None, "row_digest": "d" * 64,
                "updated_at": ts("2026-10-01 00:00:00")}  # fmt: skip

    def person(name: str, birth: str, household: str, **extra: Any) -> dict[str, Any]:
        digits, masked = PEOPLE[name]
        return {**resident, "rrn_index": _index(name), "rrn_enc": CIPHER.encrypt(digits), "rrn_masked": masked,
                "name": name, "birth_date": birth, "household_key": household, **extra}  # fmt: skip

    def nomination(name: str, institution: int, status: str, outcome: str, **extra: Any) -> dict[str, Any]:
        digits, masked = PEOPLE[name]
        return {"program_id": 1, "institution_id": institution, "rrn_index": _index(name),
                "rrn_enc": CIPHER.encrypt(digits), "rrn_masked": masked, "nominee_name": name,
                "household_key": "hh-1" if name in ("김순자", "박영수") else f"hh-{name}", "note": None,
                "status": status, "current_outcome": outcome, "replaces_id": None, "created_by": "token:center",
                "created_at": ts("2026-11-03 01:00:00"), "status_note": None, "status_changed_at": None,
                **extra}  # fmt: skip

    def judged(nomination_id: int, outcome: str, body: dict[str, Any], trigger: str = "nominate") -> dict[str, Any]:
        return {"nomination_id": nomination_id, "ruleset_version_id": 1, "outcome": outcome, "body": json.dumps(body),
                "facts": json.dumps(facts), "trigger": trigger, "evaluated_at": ts("2026-11-03 01:00:00")}  # fmt: skip

    return [
        ("districts", {"code": "11200", "name": "성동구"}),
        ("dongs", {"district_id": 1, "code": "1120056000", "name": "행당1동"}),
        ("dongs", {"district_id": 1, "code": "1120058000", "name": "응봉동"}),
        ("institutions", {"district_id": 1, "code": "welfare-policy", "name": "복지정책과", "kind": "department",
                          "dong_code": None}),
        ("institutions", {"district_id": 1, "code": "haengdang1-center", "name": "행당1동주민센터",
                          "kind": "community_center", "dong_code": "1120056000"}),
        ("institutions", {"district_id": 1, "code": "eungbong-center", "name": "응봉동주민센터",
                          "kind": "community_center", "dong_code": "1120058000"}),
        ("sponsors", {"district_id": 1, "code": "red-cross", "name": "대한적십자사"}),
        ("resource_categories", {"district_id": 1, "code": "kimchi", "name": "김장김치"}),
        ("ruleset_versions", {"name": "kimchi-2026", "version": 1, "base": "base-screening", "yaml_text": yaml_v1,
                              "parameters": json.dumps({"household_limit": 1, "lookback_days": 365}),
                              "sha256": "a" * 64, "created_by": "token:admin", "reason": None,
                              "created_at": ts("2026-11-01 00:00:00")}),
        ("ruleset_versions", {"name": "kimchi-2026", "version": 2, "base": "base-screening", "yaml_text": yaml_v2,
                              "parameters": json.dumps({"household_limit": 2, "lookback_days": 365}),
                              "sha256": "b" * 64, "created_by": "token:admin", "reason": "한도 조정",
                              "created_at": ts("2026-11-02 00:00:00")}),
        ("programs", {"code": "kimchi-2026", "name": "2026 김장김치 나눔", "department_id": 1, "category_id": 1,
                      "sponsor_id": 1, "quota": 100, "starts_on": "2026-11-01", "ends_on": "2026-12-31",
                      "status": "open", "base_ruleset": "base-screening", "ruleset_version_id": 2,
                      "created_at": ts("2026-11-01 00:00:00")}),
        ("residents", person("김순자", "1945-03-12", "hh-1")),
        ("residents", person("박영수", "1943-01-02", "hh-1", sex="M", relation="member")),
        ("residents", person("최말순", "1940-02-03", "hh-최말순", status="deceased", status_date="2026-11-10")),
        ("residents", person("이철수", "1990-01-01", "hh-이철수", sex="M", dong_code="1120058000")),
        ("api_tokens", {"token_hash": token_hash(TOKEN), "name": "admin", "institution_id": 1, "role": "admin",
                        "created_at": ts("2026-11-01 00:00:00"), "revoked_at": None}),
        ("api_tokens", {"token_hash": token_hash(TOKEN + "-old"), "name": "old", "institution_id": 2,
                        "role": "nominator", "created_at": ts("2026-10-01 00:00:00"),
                        "revoked_at": ts("2026-10-31 00:00:00")}),
        ("users", {"username": "kim", "password_hash": PasswordHasher().hash(PASSWORD), "institution_id": 1,
                   "role": "admin", "active": True, "created_at": ts("2026-11-01 00:00:00")}),
        ("nominations", nomination("김순자", 2, "open", "eligible")),  # 1
        ("nominations", nomination("김순자", 3, "open", "ineligible")),  # 2: the duplicate
        ("nominations", nomination("최말순", 2, "open", "ineligible")),  # 3: died after being nominated
        ("nominations", nomination("박영수", 2, "open", "review", replaces_id=3, note="최말순 님 대신")),  # 4
        ("nominations", nomination("이철수", 3, "delivered", "eligible", status_note="전달 완료",
                                   status_changed_at=ts("2026-11-20 05:00:00"))),  # 5
        ("verdicts", judged(1, "eligible", verdict)),
        ("verdicts", judged(2, "ineligible", duplicate)),
        ("verdicts", judged(3, "eligible", verdict)),
        ("verdicts", judged(3, "ineligible", {**verdict, "outcome": "ineligible"}, "registry_event")),
        ("verdicts", judged(4, "review", {**verdict, "outcome": "review"})),
        ("verdicts", judged(5, "eligible", verdict)),
        ("notifications", {"institution_id": 2, "nomination_id": 3, "kind": "turned_ineligible",
                           "message_ko": "추천하신 최말순 님이 부적격으로 바뀌었습니다",
                           "message_en": "Turned ineligible",
                           "created_at": ts("2026-11-10 03:00:00"), "read_at": None}),
        ("receipts", {"rrn_index": _index("김순자"), "category_code": "kimchi", "received_on": "2025-12-01",
                      "provider": "사랑의열매", "quantity": 1, "nomination_id": None,
                      "created_at": ts("2026-10-01 00:00:00")}),
        ("receipts", {"rrn_index": _index("이철수"), "category_code": "kimchi", "received_on": "2026-11-20",
                      "provider": "kimchi-2026", "quantity": 1, "nomination_id": 5,
                      "created_at": ts("2026-11-20 05:00:00")}),
        ("registry_events", {"type": "death", "rrn_index": _index("최말순"), "rrn_masked": PEOPLE["최말순"][1],
                             "event_date": "2026-11-10", "received_by": "token:system",
                             "received_at": ts("2026-11-10 03:00:00")}),
        ("audit_entries", {"at": ts("2026-11-03 01:00:00"), "actor": "token:center", "institution_code":
                           "haengdang1-center", "role": "nominator", "action": "nomination.create",
                           "subject_index": _index("김순자"), "subject_masked": PEOPLE["김순자"][1],
                           "target": "nomination:1", "detail": json.dumps({"outcome": "eligible"}),
                           "request_id": "req-1"}),
        ("audit_entries", {"at": ts("2026-11-04 01:00:00"), "actor": "cli", "institution_code": None, "role": "admin",
                           "action": "registry.import_residents", "subject_index": None, "subject_masked": None,
                           "target": "file:residents.csv", "detail": json.dumps({"read": 4}), "request_id": None}),
    ]  # fmt: skip


def _insert(engine: Engine, rows: list[tuple[str, dict[str, Any]]]) -> None:
    with engine.begin() as conn:
        for table, row in rows:
            names = ", ".join(row)
            values = ", ".join(f":{k}" for k in row)
            conn.execute(text(f"INSERT INTO {table} ({names}) VALUES ({values})"), row)


def _snapshot(engine: Engine, columns: dict[str, list[str]]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every 0001 table, restricted to the columns 0001 had."""
    with engine.connect() as conn:
        return {
            table: [tuple(r) for r in conn.execute(text(f"SELECT {', '.join(cols)} FROM {table} ORDER BY id"))]
            for table, cols in columns.items()
        }


def _refused(engine: Engine, sql: str, params: dict[str, Any]) -> bool:
    """True when the database refuses the statement with an integrity error (nothing is kept)."""
    try:
        with engine.begin() as conn:
            conn.execute(text(sql), params)
    except IntegrityError:
        return True
    return False


def _fresh_release_0_1(engine: Engine) -> dict[str, list[str]]:
    upgrade(engine, PREVIOUS_RELEASE)
    assert current_revision(engine) == PREVIOUS_RELEASE
    inspector = inspect(engine)
    columns = {t: [c["name"] for c in inspector.get_columns(t)] for t in TABLES_0001}
    assert set(inspector.get_table_names()) == {*TABLES_0001, "alembic_version"}
    _insert(engine, _rows_of_release_0_1(engine))
    return columns


def test_upgrade_from_the_previous_release_keeps_every_row(engine: Engine) -> None:
    columns = _fresh_release_0_1(engine)
    before = _snapshot(engine, columns)
    assert all(before[t] for t in TABLES_0001), [t for t in TABLES_0001 if not before[t]]  # every table has data
    upgrade(engine)  # what `seonbyeol init-db` runs
    assert current_revision(engine) == head_revision()
    after = _snapshot(engine, columns)
    assert after == before
    upgrade(engine)  # init-db is safe to run again on the upgraded database
    assert _snapshot(engine, columns) == before


def test_the_constraints_added_since_hold_on_the_upgraded_data(engine: Engine) -> None:
    _fresh_release_0_1(engine)
    upgrade(engine)
    again = dict(_rows_of_release_0_1(engine)[18][1])  # nomination 1 (김순자, open, eligible)
    insert = f"INSERT INTO nominations ({', '.join(again)}) VALUES ({', '.join(':' + k for k in again)})"
    # 0002: one accepted nomination per person and program now counts confirmed ones too (0001: open only)
    assert _refused(engine, insert, {**again, "status": "confirmed", "institution_id": 3})
    # ...while an ineligible or cancelled one never blocks anyone
    assert not _refused(engine, insert, {**again, "status": "cancelled"})
    # 0002: a nomination is replaced at most once (nomination 4 already replaces 3)
    other = {**again, "rrn_index": _index("이철수"), "current_outcome": "ineligible", "replaces_id": 3}
    assert _refused(engine, insert, other)
    # 0003: pools, one allocation per program
    pool = {"code": "winter", "name": "겨울 김장", "sponsor_id": 1, "category_id": 1, "quantity": 50,
            "created_by": "cli", "created_at": _at(engine, "2026-11-21 00:00:00")}  # fmt: skip
    assert not _refused(engine, "INSERT INTO pools (code, name, sponsor_id, category_id, quantity, created_by, "
                        "created_at) VALUES (:code, :name, :sponsor_id, :category_id, :quantity, :created_by, "
                        ":created_at)", pool)  # fmt: skip
    allocation = "INSERT INTO pool_allocations (pool_id, program_id, quantity, created_by, created_at) " \
                 "VALUES (1, 1, :q, 'cli', :at)"  # fmt: skip
    assert not _refused(engine, allocation, {"q": 20, "at": pool["created_at"]})
    assert _refused(engine, allocation, {"q": 5, "at": pool["created_at"]})


def test_the_service_reads_the_upgraded_data(engine: Engine, empty_database_url: str, tmp_path: Any) -> None:
    _fresh_release_0_1(engine)
    app = create_app({"TESTING": True, "DATABASE_URL": empty_database_url, "INSTANCE_PATH": str(tmp_path / "i"),
                      "SECRET_KEY": "test", "DATA_KEY": TEST_DATA_KEY})  # fmt: skip
    client = app.test_client()
    assert client.get("/readyz").status_code == 503  # a 0.1.0 schema is not ready for 0.2.0 servers
    assert client.get("/healthz").status_code == 200  # ...although the database answers
    upgrade(get_db(app).engine)
    assert client.get("/readyz").get_json() == {"status": "ready"}  # no restart needed
    with get_db(app).session() as session:
        user = session.scalars(select(User)).one()
        assert (user.failed_logins, user.locked_until) == (0, None)  # columns added by 0002, defaulted
        assert verify_password(user, PASSWORD)
        principal = principal_for_token(session, TOKEN)
        assert principal is not None and (principal.institution_code, principal.role) == ("welfare-policy", "admin")
        assert principal_for_token(session, TOKEN + "-old") is None  # revoked in 0.1.0, still revoked
        assert session.scalar(select(ApiToken.revoked_at).where(ApiToken.name == "old")) is not None
        nominations = session.scalars(select(Nomination).order_by(Nomination.id)).all()
        assert [CIPHER.decrypt(n.rrn_enc) for n in nominations] == [PEOPLE[n.nominee_name][0] for n in nominations]
        assert [(n.status, n.current_outcome, n.replaces_id) for n in nominations] == [
            ("open", "eligible", None), ("open", "ineligible", None), ("open", "ineligible", None),
            ("open", "review", 3), ("delivered", "eligible", None),
        ]  # fmt: skip
        reasons = session.scalars(select(VerdictRecord.body).where(VerdictRecord.nomination_id == 2)).one()["reasons"]
        assert reasons[0]["facts"]["person.first_institution_name"] == "행당1동주민센터"
    get_db(app).engine.dispose()


def test_data_the_new_unique_indexes_refuse_is_put_right_first(engine: Engine) -> None:
    """0.1.0 allowed a nomination to be replaced twice, and (through a race) an open beside a
    confirmed accepted nomination of one person; 0002 detaches or demotes the later one, with a note."""
    _fresh_release_0_1(engine)
    rows = dict(_rows_of_release_0_1(engine)[18][1])  # nomination 1 (김순자, open, eligible)
    insert = f"INSERT INTO nominations ({', '.join(rows)}) VALUES ({', '.join(':' + k for k in rows)})"
    with engine.begin() as conn:
        conn.execute(text(insert), {**rows, "status": "confirmed", "institution_id": 3})  # a second accepted one
        conn.execute(text(insert), {**rows, "rrn_index": _index("이철수"), "current_outcome": "ineligible",
                                    "replaces_id": 3})  # a second replacement of nomination 3  # fmt: skip
    upgrade(engine)
    with engine.connect() as conn:
        accepted = conn.execute(text(
            "SELECT id, status_note FROM nominations WHERE rrn_index = :i AND program_id = :p "
            "AND status <> 'cancelled' AND current_outcome <> 'ineligible' ORDER BY id"),
            {"i": rows["rrn_index"], "p": rows["program_id"]}).all()  # fmt: skip
        demoted = conn.execute(text("SELECT status_note FROM nominations WHERE status_note LIKE '%second accepted%'"))
        replacing = conn.execute(text("SELECT id FROM nominations WHERE replaces_id = 3")).scalars().all()
        detached = conn.execute(
            text("SELECT status_note FROM nominations WHERE status_note LIKE '%earlier replacement%'")
        )
        assert len(accepted) == 1 and len(demoted.all()) == 1
        assert len(replacing) == 1 and len(detached.all()) == 1
