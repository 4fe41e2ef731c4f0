"""Secrets in use: the RRN cipher, API tokens and admin-UI passwords."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from .crypto import RRNCipher, token_hash
from .models import ROLES, ApiToken, Institution, User

_hasher = PasswordHasher()


def init_app(app: Flask) -> None:
    app.extensions["seonbyeol.cipher"] = RRNCipher.from_data_key(app.config["DATA_KEY_BYTES"])


def get_cipher(app: Flask | None = None) -> RRNCipher:
    return (app or current_app).extensions["seonbyeol.cipher"]  # type: ignore[no-any-return]


class SecurityError(ValueError):
    """A refused credential operation, with a message fit for the operator."""


def _institution(session: Session, code: str) -> Institution:
    inst = session.scalar(select(Institution).where(Institution.code == code))
    if inst is None:
        raise SecurityError(f"기관 코드 '{code}'가 없습니다 (unknown institution); load-district first")
    return inst


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise SecurityError(f"역할 '{role}'은 없습니다 (unknown role); one of {', '.join(ROLES)}")


def create_token(session: Session, institution: str, role: str, name: str | None) -> str:
    """Create a bearer token and return it; only its hash is stored."""
    _check_role(role)
    inst = _institution(session, institution)
    token = "sb_" + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            token_hash=token_hash(token),
            name=name or f"{inst.code}:{role}",
            institution_id=inst.id,
            role=role,
        )
    )
    return token


@dataclass(frozen=True)
class Principal:
    """Who is calling: the actor's name, institution and role."""

    actor: str
    institution_id: int
    institution_code: str
    institution_name: str
    role: str


def principal_for_token(session: Session, token: str) -> Principal | None:
    row = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == token_hash(token), ApiToken.revoked_at.is_(None))
    )
    if row is None:
        return None
    inst = row.institution
    return Principal(f"token:{row.name}", inst.id, inst.code, inst.name, row.role)


def create_user(session: Session, username: str, password: str, institution: str, role: str) -> User:
    _check_role(role)
    if not 1 <= len(username) <= 100:
        raise SecurityError("사용자 이름은 1–100자여야 합니다 (username must be 1–100 characters)")
    if len(password) < 10:
        raise SecurityError("비밀번호는 10자 이상이어야 합니다 (password must be at least 10 characters)")
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise SecurityError(f"사용자 '{username}'이(가) 이미 있습니다 (user already exists)")
    inst = _institution(session, institution)
    user = User(username=username, password_hash=_hasher.hash(password), institution_id=inst.id, role=role)
    session.add(user)
    return user


def verify_password(user: User, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
