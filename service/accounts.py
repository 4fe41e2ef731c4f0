"""Admin-UI logins: check a password, count failures, lock an account, build the Principal.

The business rule (contract, "Admin UI"; SECURITY.md): after ``MAX_FAILURES`` consecutive
wrong passwords an account is locked for ``LOCKOUT`` (15 minutes); a right password while it
is locked is refused too, and a success resets the count. The lock lives in the ``users``
row, so every worker process sees it.

An unknown username is answered exactly like a known one: the same wording, an Argon2
verification against a dummy hash (so the time taken does not tell either), and after
``MAX_FAILURES`` failures within ``LOCKOUT`` the same "locked" message. Those failures are
counted from the audit log, keyed by an HMAC of the typed name (a password typed into the
name field is never stored readable).

Every attempt is written to the audit log (접속기록) in the same transaction as the count;
:func:`authenticate` commits even when it refuses, since a refused attempt must count.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Final, NoReturn

from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import audit, clock
from .db import begin_write
from .errors import ServiceError
from .models import AuditEntry, User
from .security import Principal, create_user, verify_password

MAX_FAILURES: Final = 5
"""Consecutive wrong passwords that lock an account."""
LOCKOUT: Final = timedelta(minutes=15)
"""How long a locked account stays locked."""
MAX_USERNAME: Final = 100
MAX_PASSWORD: Final = 1024  # Argon2 hashes any length; refuse megabyte "passwords" before hashing

_UNKNOWN_ACTOR: Final = "login:unknown"

DEMO_USERNAME: Final = "demo-senior"
DEMO_PASSWORD: Final = "seonbyeol-demo"
DEMO_INSTITUTION: Final = "senior-welfare"
"""The development demo's login: 노인복지과, the department that owns the demo's kimchi program."""
DEMO_AUDITOR: Final = "demo-auditor"
DEMO_AUDITOR_INSTITUTION: Final = "welfare-policy"
"""The demo's auditor (복지정책과, same password): the access-record review at /admin/audit."""


class LoginRefused(ServiceError):
    """A refused login; ``locked`` tells the page to say the account is locked."""

    status = 401

    def __init__(self, ko: str, en: str, locked: bool = False) -> None:
        super().__init__(ko, en)
        self.locked = locked


def _bad_credentials() -> LoginRefused:
    return LoginRefused(
        "아이디 또는 비밀번호가 올바르지 않습니다.",
        "The username or password is not correct.",
    )


def _locked() -> LoginRefused:
    minutes = int(LOCKOUT.total_seconds() // 60)
    return LoginRefused(
        f"로그인에 {MAX_FAILURES}회 연속 실패하여 계정이 잠겼습니다. {minutes}분 후에 다시 시도하세요.",
        f"After {MAX_FAILURES} failed attempts in a row the account is locked. Try again in {minutes} minutes.",
        locked=True,
    )


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash to verify against when the user does not exist (same cost as a real check)."""
    return PasswordHasher().hash("seonbyeol-no-such-user")


def _name_digest(username: str, key: bytes) -> str:
    return hmac.new(key, username.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def principal_for(user: User) -> Principal:
    """The Principal every service function receives for a logged-in user."""
    inst = user.institution
    return Principal(f"user:{user.username}", inst.id, inst.code, inst.name, user.role)


def load_principal(session: Session, user_id: int) -> Principal | None:
    """The Principal of a session's user id; None once the account is gone or deactivated."""
    user = session.get(User, user_id)
    if user is None or not user.active:
        return None
    return principal_for(user)


def authenticate(session: Session, username: str, password: str, key: bytes) -> tuple[int, Principal]:
    """Check a login and return ``(user id, Principal)``; raise :class:`LoginRefused` otherwise.

    ``key`` keys the HMAC under which unknown names are counted (the app's secret key).
    Commits: the failure count and the audit entry are kept whatever the answer.
    """
    now = clock.now()
    username = username.strip()
    begin_write(session)
    user = None
    if 0 < len(username) <= MAX_USERNAME:
        user = session.scalar(select(User).where(User.username == username).with_for_update(of=User))
    if user is None or not user.active:
        _refuse_unknown(session, username, password, key, now)
    principal = principal_for(user)
    if user.locked_until is not None and user.locked_until > now:
        audit.record(session, principal, "login.locked", target=f"user:{user.username}")
        session.commit()
        raise _locked()
    if user.locked_until is not None:  # the lock has run out: a fresh count
        user.locked_until = None
        user.failed_logins = 0
    if len(password) > MAX_PASSWORD or not verify_password(user, password):
        user.failed_logins = (user.failed_logins or 0) + 1
        locked = user.failed_logins >= MAX_FAILURES
        if locked:
            user.locked_until = now + LOCKOUT
        audit.record(
            session, principal, "login.failed", target=f"user:{user.username}",
            detail={"failed_logins": user.failed_logins, "locked": locked},
        )  # fmt: skip
        session.commit()
        raise _locked() if locked else _bad_credentials()
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    audit.record(session, principal, "login", target=f"user:{user.username}")
    user_id = user.id
    session.commit()
    return user_id, principal


def _refuse_unknown(session: Session, username: str, password: str, key: bytes, now: datetime) -> NoReturn:
    """Answer an unknown or inactive name as a known one would be answered, then refuse."""
    _spend_verification(password)
    target = f"login:{_name_digest(username, key)}"
    since = now - LOCKOUT
    earlier = (
        session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "login.failed", AuditEntry.target == target, AuditEntry.at >= since)
        )
        or 0
    )
    nobody = Principal(_UNKNOWN_ACTOR, 0, "", "", "")
    if earlier >= MAX_FAILURES:
        audit.record(session, nobody, "login.locked", target=target)
        session.commit()
        raise _locked()
    audit.record(session, nobody, "login.failed", target=target, detail={"failed_logins": earlier + 1})
    session.commit()
    raise _locked() if earlier + 1 >= MAX_FAILURES else _bad_credentials()


def _spend_verification(password: str) -> None:
    """Verify against the dummy hash, so that an unknown name costs the time a known one does."""
    try:
        PasswordHasher().verify(_dummy_hash(), password[:MAX_PASSWORD])
    except Exception:  # noqa: BLE001 - a mismatch is the expected outcome
        return


def ensure_demo_login(session: Session) -> str:
    """Create the demo's admin-UI logins once (``seonbyeol demo`` in development only) and say how
    to use them: the department's officer and an auditor."""
    lines = []
    for username, institution, role in ((DEMO_USERNAME, DEMO_INSTITUTION, "department"),
                                        (DEMO_AUDITOR, DEMO_AUDITOR_INSTITUTION, "auditor")):  # fmt: skip
        if session.scalar(select(User.id).where(User.username == username)) is None:
            create_user(session, username, DEMO_PASSWORD, institution, role)
        lines.append(
            f"관리 화면 데모 로그인 (개발 전용): /admin/ 에서 {username} / {DEMO_PASSWORD} "
            f"(admin UI demo login, development only: {institution}, {role})"
        )
    return "\n".join(lines)
