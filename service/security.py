"""Secrets in use: the RRN cipher, API tokens and admin-UI passwords."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from weakref import WeakKeyDictionary

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import clock
from .crypto import RRNCipher, token_hash
from .db import Statement, datetime_param, write_after_read
from .models import ROLES, ApiToken, Institution, User

_hasher = PasswordHasher()


def init_app(app: Flask) -> None:
    app.extensions["seonbyeol.cipher"] = RRNCipher.from_data_key(
        app.config["DATA_KEY_BYTES"], app.config.get("OLD_DATA_KEYS_BYTES", ())
    )  # the key ring: previous keys still decrypt and are looked up during a rotation (service/keys.py)


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


TOKEN_START = "sb_"
PREFIX_LENGTH = 10
"""Stored and shown prefix: ``sb_`` and 7 random characters (42 bits: unique in practice,
useless to an attacker, who still needs the other 214 bits)."""
DEFAULT_EXPIRY_DAYS = 365
MAX_EXPIRY_DAYS = 3650
TOUCH_INTERVAL = timedelta(minutes=1)
"""``last_used_at`` is written at most this often per token, so that a read stays a read."""
_MAX_TOKEN_LENGTH = 200  # anything longer is not one of ours: refused before hashing


@dataclass(frozen=True)
class IssuedToken:
    """A token just made: the secret (shown once) and what is stored about it."""

    token: str
    prefix: str
    expires_at: datetime | None


def issue_token(
    session: Session, institution: str, role: str, name: str | None, expires_days: int = DEFAULT_EXPIRY_DAYS
) -> IssuedToken:
    """Create a bearer token (``expires_days`` 0: never expires); only its hash and prefix are stored."""
    _check_role(role)
    if not 0 <= expires_days <= MAX_EXPIRY_DAYS:
        raise SecurityError(
            f"유효 기간은 0–{MAX_EXPIRY_DAYS}일이어야 합니다 "
            f"(--expires-days must be 0 to {MAX_EXPIRY_DAYS}; 0 never expires)"
        )
    if name is not None and not 1 <= len(name) <= 200:
        raise SecurityError("토큰 이름은 1–200자여야 합니다 (--name must be 1–200 characters)")
    inst = _institution(session, institution)
    while True:  # a prefix shared with another token would make revoke-token ambiguous
        token = TOKEN_START + secrets.token_urlsafe(32)
        prefix = token[:PREFIX_LENGTH]
        if session.scalar(select(ApiToken.id).where(ApiToken.prefix == prefix)) is None:
            break
    expires_at = clock.utcnow() + timedelta(days=expires_days) if expires_days else None
    session.add(
        ApiToken(
            token_hash=token_hash(token),
            prefix=prefix,
            name=name or f"{inst.code}:{role}",
            institution_id=inst.id,
            role=role,
            created_at=clock.utcnow(),
            expires_at=expires_at,
        )
    )
    return IssuedToken(token, prefix, expires_at)


def create_token(
    session: Session, institution: str, role: str, name: str | None, expires_days: int = DEFAULT_EXPIRY_DAYS
) -> str:
    """Create a bearer token and return it; only its hash is stored."""
    return issue_token(session, institution, role, name, expires_days).token


@dataclass
class TokenCheck:
    """The token of a principal taken from this process's recent authentications
    (:func:`recent_authentication`), not looked up again for this request: the statement that
    records the access checks it (:func:`service.audit.record`) and sets ``done``; a caller
    that records nothing checks it itself (service/api/auth.py)."""

    token_id: int
    done: bool = False


@dataclass(frozen=True)
class Principal:
    """Who is calling: the actor's name, institution and role."""

    actor: str
    institution_id: int
    institution_code: str
    institution_name: str
    role: str
    token_check: TokenCheck | None = field(default=None, compare=False, repr=False)


class TokenRejected(Exception):
    """A presented token that is not (or no longer) valid; ``reason`` is unknown, revoked or expired."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Authenticated:
    principal: Principal
    token_prefix: str | None


_TOKEN_LOOKUP = Statement(
    "SELECT t.id, t.name, t.role, t.prefix, i.id, i.code, i.name, "
    "t.revoked_at IS NOT NULL, t.expires_at IS NOT NULL AND t.expires_at <= :now, "
    "t.last_used_at IS NULL OR t.last_used_at <= :due "
    "FROM api_tokens t JOIN institutions i ON i.id = t.institution_id WHERE t.token_hash = :token_hash"
)
_TOKEN_TOUCH = Statement(
    "UPDATE api_tokens SET last_used_at = :now WHERE id = :id AND (last_used_at IS NULL OR last_used_at <= :due)"
)


def authenticate(session: Session, token: str, touch: bool = True) -> Authenticated:
    """The principal of a bearer token, checked against the database on every call.

    One indexed lookup (by the token's hash) reads ``revoked_at`` and ``expires_at`` each
    time, so a revocation or an expiry holds at once in every worker and on every host. The
    lookup is a read (it runs in whatever transaction the session has, a read-only one on the
    request path) and compares the times in SQL. With ``touch``, ``last_used_at`` is written
    when it is more than a minute old (a conditional UPDATE: concurrent requests write it
    once), switching a read-only transaction to a writer only then. A success is remembered
    for :func:`recent_authentication`.
    """
    if not token or len(token) > _MAX_TOKEN_LENGTH:
        raise TokenRejected("unknown")
    now = clock.utcnow()
    times = {"now": datetime_param(session, now), "due": datetime_param(session, now - TOUCH_INTERVAL)}
    hashed = token_hash(token)
    rows = _TOKEN_LOOKUP.rows(session, {"token_hash": hashed, **times})
    if not rows:
        raise TokenRejected("unknown")
    token_id, name, role, prefix, institution_id, code, iname, revoked, expired, due = rows[0]
    if revoked:
        raise TokenRejected("revoked")
    if expired:
        raise TokenRejected("expired")
    if touch and due:
        write_after_read(session)
        _TOKEN_TOUCH.execute(session, {"id": token_id, **times})
    checked = Authenticated(Principal(f"token:{name}", institution_id, code, iname, role), prefix)
    _remember(session, hashed, checked, token_id, now)
    return checked


RECENT_FOR = TOUCH_INTERVAL
"""How long a successful authentication is remembered (then looked up, and touched, again)."""
_MAX_RECENT = 1_024
_RecentCache = dict[str, tuple[Authenticated, int, datetime]]
_RECENT: WeakKeyDictionary[Any, _RecentCache] = WeakKeyDictionary()  # per database engine


def _remember(session: Session, hashed: str, checked: Authenticated, token_id: int, now: datetime) -> None:
    cache = _RECENT.setdefault(session.get_bind(), {})
    if len(cache) >= _MAX_RECENT:
        cache.clear()
    cache[hashed] = (checked, token_id, now)


def recent_authentication(session: Session, token: str) -> Authenticated | None:
    """This process's successful :func:`authenticate` of ``token`` of less than a minute ago,
    whose principal carries a :class:`TokenCheck`: it is not valid on its own word. The caller
    must have the token checked by a statement it runs anyway: :func:`service.audit.record`
    writes the access record only if the token is still unrevoked and unexpired, in the same
    statement, and raises TokenRejected otherwise (evaluate: no token lookup of its own, and a
    revocation still holds at once everywhere). None: authenticate as usual."""
    if not token or len(token) > _MAX_TOKEN_LENGTH:
        return None
    found = _RECENT.get(session.get_bind(), {}).get(token_hash(token))
    if found is None:
        return None
    checked, token_id, at = found
    if not timedelta(0) <= clock.utcnow() - at < RECENT_FOR:  # older, or the clock went back
        return None
    return Authenticated(replace(checked.principal, token_check=TokenCheck(token_id)), checked.token_prefix)


def forget_authentication(session: Session, token: str) -> None:
    """Drop ``token`` from the recent authentications (it was refused)."""
    _RECENT.get(session.get_bind(), {}).pop(token_hash(token), None)


def principal_for_token(session: Session, token: str) -> Principal | None:
    """The principal of a valid token, or None (unknown, revoked or expired); writes nothing."""
    try:
        return authenticate(session, token, touch=False).principal
    except TokenRejected:
        return None


# ----------------------------------------------------------------------------- operators' commands


@dataclass(frozen=True)
class TokenInfo:
    """What ``list-tokens`` shows: never the token nor its hash."""

    id: int
    prefix: str | None
    institution: str
    role: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= clock.utcnow():
            return "expired"
        return "active"


def list_tokens(session: Session, include_inactive: bool = True) -> list[TokenInfo]:
    rows = session.execute(
        select(ApiToken, Institution.code)
        .join(Institution, Institution.id == ApiToken.institution_id)
        .order_by(ApiToken.id)
    ).all()
    infos = [
        TokenInfo(t.id, t.prefix, code, t.role, t.name, t.created_at, t.last_used_at, t.expires_at, t.revoked_at)
        for t, code in rows
    ]
    return infos if include_inactive else [i for i in infos if i.status == "active"]


_PREFIX_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def find_token(session: Session, given: str) -> ApiToken:
    """The one token named by a prefix (as ``list-tokens`` shows it, or any longer part of the
    token, or the whole token); an unknown or ambiguous prefix is an error that says which."""
    given = given.strip()
    if not given or not set(given) <= _PREFIX_CHARS:
        raise SecurityError(
            "토큰 접두어는 영문·숫자·'_'·'-'로만 됩니다 (a prefix has only letters, digits, '_' and '-')"
        )
    if len(given) > PREFIX_LENGTH:  # a longer part of the token, or the whole token
        whole = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(given)))
        if whole is not None:
            return whole
        if len(given) > 16:
            raise SecurityError(
                f"'{given[:PREFIX_LENGTH]}…'로 시작하는 토큰이 없습니다 (no such token; see list-tokens)"
            )
        given = given[:PREFIX_LENGTH]
    if len(given) < 4:
        raise SecurityError(
            "접두어가 너무 짧습니다: list-tokens에 보이는 10자를 주세요 "
            "(prefix too short; give the 10 characters list-tokens shows)"
        )
    query = select(ApiToken).where(ApiToken.prefix.startswith(given, autoescape=True)).order_by(ApiToken.id)
    # LIKE finds the candidates by the index but ignores case on SQLite; tokens are case-sensitive.
    matches = [t for t in session.scalars(query) if t.prefix is not None and t.prefix.startswith(given)]
    if not matches:
        raise SecurityError(f"접두어 '{given}'인 토큰이 없습니다 (unknown prefix '{given}'; see list-tokens)")
    if len(matches) > 1:
        names = ", ".join(f"{t.prefix} ({t.institution.code}/{t.role})" for t in matches[:10])
        raise SecurityError(
            f"접두어 '{given}'가 토큰 {len(matches)}개에 해당합니다: {names} "
            f"(ambiguous prefix '{given}' matches {len(matches)} tokens; give more characters)"
        )
    return matches[0]


def revoke_token(session: Session, given: str) -> tuple[ApiToken, bool]:
    """Revoke the token named by ``given``; returns it and whether it was active until now
    (revoking twice is harmless). The row stays, for the audit trail."""
    row = find_token(session, given)
    if row.revoked_at is not None:
        return row, False
    row.revoked_at = clock.utcnow()
    return row, True


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
