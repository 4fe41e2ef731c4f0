"""service.accounts: the login rule the admin UI relies on (count, lock, reset, Principal).

Times come from the service's frozen clock, so the 15-minute lock is tested by moving it.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select

from service import accounts, clock
from service.db import get_db
from service.models import AuditEntry, User
from tests.factories import write_district

PASSWORD = "correct-horse-battery"
KEY = b"test-secret"


@pytest.fixture
def users(app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    assert runner.invoke(args=["load-district", str(write_district(tmp_path / "d.yaml"))]).exit_code == 0
    for name, institution, role in (("senior", "senior-welfare", "department"), ("gone", "hope-church", "nominator")):
        result = runner.invoke(
            args=["create-user", name, "--institution", institution, "--role", role, "--password-stdin"],
            input=PASSWORD + "\n",
        )
        assert result.exit_code == 0, result.output
    with get_db(app).session() as session:
        session.scalar(select(User).where(User.username == "gone")).active = False  # type: ignore[union-attr]


def _attempt(app: Flask, username: str, password: str) -> accounts.LoginRefused | tuple[int, object]:
    with app.app_context(), get_db(app).sessionmaker() as session:
        try:
            return accounts.authenticate(session, username, password, KEY)
        except accounts.LoginRefused as exc:
            return exc


def _user(app: Flask, username: str) -> User:
    with get_db(app).sessionmaker() as session:
        user = session.scalar(select(User).where(User.username == username))
        assert user is not None
        return user


@pytest.mark.usefixtures("users")
def test_a_right_password_gives_the_principal_and_is_recorded(app: Flask) -> None:
    answer = _attempt(app, "senior", PASSWORD)
    assert isinstance(answer, tuple)
    user_id, principal = answer
    assert principal == accounts.Principal(
        "user:senior", principal.institution_id, "senior-welfare", "어르신복지과", "department"
    )
    user = _user(app, "senior")
    assert user.id == user_id and user.failed_logins == 0 and user.last_login_at == clock.now()
    with app.app_context(), get_db(app).sessionmaker() as session:
        assert accounts.load_principal(session, user_id) == principal
    with get_db(app).sessionmaker() as session:
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.actor == "user:senior")).all()
    assert actions == ["login"]


@pytest.mark.usefixtures("users")
def test_failures_count_and_a_success_resets_them(app: Flask) -> None:
    for n in range(1, 4):
        refused = _attempt(app, "senior", "wrong")
        assert isinstance(refused, accounts.LoginRefused) and not refused.locked
        assert _user(app, "senior").failed_logins == n
    assert isinstance(_attempt(app, "senior", PASSWORD), tuple)
    assert _user(app, "senior").failed_logins == 0
    for _ in range(4):  # four more do not lock: the count started again
        _attempt(app, "senior", "wrong")
    assert _user(app, "senior").locked_until is None


@pytest.mark.usefixtures("users")
def test_the_fifth_failure_locks_for_fifteen_minutes(app: Flask) -> None:
    start = clock.now()
    for _ in range(accounts.MAX_FAILURES - 1):
        _attempt(app, "senior", "wrong")
    fifth = _attempt(app, "senior", "wrong")
    assert isinstance(fifth, accounts.LoginRefused) and fifth.locked and "잠겼습니다" in fifth.ko
    assert _user(app, "senior").locked_until == start + accounts.LOCKOUT
    with clock.frozen(start + accounts.LOCKOUT - timedelta(seconds=1)):
        still = _attempt(app, "senior", PASSWORD)
        assert isinstance(still, accounts.LoginRefused) and still.locked
    with clock.frozen(start + accounts.LOCKOUT):
        assert isinstance(_attempt(app, "senior", PASSWORD), tuple)
        user = _user(app, "senior")
        assert user.locked_until is None and user.failed_logins == 0


@pytest.mark.usefixtures("users")
def test_after_the_lock_one_more_failure_does_not_lock_again(app: Flask) -> None:
    start = clock.now()
    for _ in range(accounts.MAX_FAILURES):
        _attempt(app, "senior", "wrong")
    with clock.frozen(start + accounts.LOCKOUT + timedelta(minutes=1)):
        again = _attempt(app, "senior", "wrong")
        assert isinstance(again, accounts.LoginRefused) and not again.locked
        assert _user(app, "senior").failed_logins == 1


@pytest.mark.usefixtures("users")
def test_unknown_and_inactive_users_are_answered_like_wrong_passwords(app: Flask) -> None:
    wrong = _attempt(app, "senior", "wrong")
    for name in ("nobody", "gone", "", "x" * 500):
        refused = _attempt(app, name, PASSWORD if name == "gone" else "wrong")
        assert isinstance(refused, accounts.LoginRefused) and isinstance(wrong, accounts.LoginRefused)
        assert (refused.ko, refused.en, refused.locked) == (wrong.ko, wrong.en, False), name


@pytest.mark.usefixtures("users")
def test_unknown_names_lock_after_five_failures_and_are_stored_only_as_a_keyed_hash(app: Flask) -> None:
    start = clock.now()
    answers = [_attempt(app, "비밀번호를-아이디에", "wrong") for _ in range(accounts.MAX_FAILURES + 1)]
    assert [a.locked for a in answers if isinstance(a, accounts.LoginRefused)] == [False] * 4 + [True, True]
    with get_db(app).sessionmaker() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.actor == "login:unknown")).all()
    assert len(rows) == accounts.MAX_FAILURES + 1
    assert all("비밀번호를-아이디에" not in str(r.target) + str(r.detail) for r in rows)
    with clock.frozen(start + accounts.LOCKOUT + timedelta(seconds=1)):
        later = _attempt(app, "비밀번호를-아이디에", "wrong")
        assert isinstance(later, accounts.LoginRefused) and not later.locked


def test_the_demo_command_adds_the_demo_login_in_development_only(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert runner.invoke(args=["load-district", str(write_district(tmp_path / "d.yaml"))]).exit_code == 0
    monkeypatch.setattr("service.demo_loader.load_demo", lambda *args, **kwargs: True)  # the district is enough
    app.config["ENV"] = "production"
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0 and accounts.DEMO_USERNAME not in result.output
    assert isinstance(_attempt(app, accounts.DEMO_USERNAME, accounts.DEMO_PASSWORD), accounts.LoginRefused)
    app.config["ENV"] = "development"
    for _ in range(2):  # idempotent
        result = runner.invoke(args=["demo"])
        assert result.exit_code == 0, result.output
        assert f"{accounts.DEMO_USERNAME} / {accounts.DEMO_PASSWORD}" in result.output
        assert f"{accounts.DEMO_AUDITOR} / {accounts.DEMO_PASSWORD}" in result.output
    answer = _attempt(app, accounts.DEMO_USERNAME, accounts.DEMO_PASSWORD)
    assert isinstance(answer, tuple) and answer[1].role == "department"
    assert answer[1].institution_code == accounts.DEMO_INSTITUTION
    auditor = _attempt(app, accounts.DEMO_AUDITOR, accounts.DEMO_PASSWORD)
    assert isinstance(auditor, tuple) and auditor[1].role == "auditor"
    assert auditor[1].institution_code == accounts.DEMO_AUDITOR_INSTITUTION
