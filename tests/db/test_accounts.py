from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select

from service.crypto import token_hash
from service.db import get_db
from service.models import ApiToken, User
from service.security import principal_for_token, verify_password
from tests.factories import write_district


@pytest.fixture(autouse=True)
def district(runner: FlaskCliRunner, tmp_path: Path) -> None:
    assert runner.invoke(args=["load-district", str(write_district(tmp_path / "d.yaml"))]).exit_code == 0


def test_create_token_prints_token_alone_on_last_line_and_stores_hash(app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["create-token", "--institution", "haengdang1-center", "--role", "nominator"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("sb_") and " " not in token and len(token) > 40
    with get_db(app).session() as s:
        row = s.scalar(select(ApiToken))
        assert row is not None and row.token_hash == token_hash(token) and row.role == "nominator"
        assert token not in (row.name or "")
        principal = principal_for_token(s, token)
        assert principal is not None and principal.institution_code == "haengdang1-center"
        assert principal_for_token(s, token + "x") is None


@pytest.mark.parametrize(
    ("institution", "role", "word"), [("nowhere", "admin", "nowhere"), ("welfare-policy", "boss", "boss")]
)
def test_create_token_refuses_unknown_institution_or_role(
    runner: FlaskCliRunner, institution: str, role: str, word: str
) -> None:
    result = runner.invoke(args=["create-token", "--institution", institution, "--role", role])
    assert result.exit_code != 0 and word in result.output


def test_create_user_with_password_stdin(app: Flask, runner: FlaskCliRunner) -> None:
    args = ["create-user", "kim", "--institution", "welfare-policy", "--role", "admin", "--password-stdin"]
    result = runner.invoke(args=args, input="correct horse battery\n")
    assert result.exit_code == 0, result.output
    with get_db(app).session() as s:
        user = s.scalar(select(User).where(User.username == "kim"))
        assert user is not None and user.password_hash.startswith("$argon2id$")
        assert verify_password(user, "correct horse battery") and not verify_password(user, "wrong")
    again = runner.invoke(args=args, input="correct horse battery\n")
    assert again.exit_code != 0 and "이미" in again.output


def test_create_user_refuses_short_password(runner: FlaskCliRunner) -> None:
    args = ["create-user", "lee", "--institution", "welfare-policy", "--role", "admin", "--password-stdin"]
    result = runner.invoke(args=args, input="short\n")
    assert result.exit_code != 0 and "10자" in result.output
