"""API tokens, admin-UI users and the audit log of personal-data access."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .district import Institution

ROLES = ("admin", "department", "nominator", "auditor", "system")


class ApiToken(Base):
    """A bearer token; only the SHA-256 of the token is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    # The first characters of the token (shown by list-tokens, used by revoke-token); never the token.
    prefix: Mapped[str | None] = mapped_column(String(16), index=True)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    institution: Mapped[Institution] = relationship(lazy="joined")


class User(Base):
    """An admin-UI login; the password is stored as an Argon2id hash."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Lock-out after repeated wrong passwords (kept in the database: every worker sees it).
    failed_logins: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]

    institution: Mapped[Institution] = relationship(lazy="joined")


class AuditEntry(Base):
    """Who read or changed which personal data, when (kept at least two years).

    Append-only: the ORM refuses to update or delete an entry (below), PostgreSQL refuses it with
    a trigger (migration 0005), and the only deletion is ``service.audit.purge`` of entries older
    than the retention. ``subject_index`` is the blind index under the data key in use when the
    entry was written; a search by RRN tries every key of the ring (service/audit.py).
    """

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_subject", "subject_index", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200), index=True)
    institution_code: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(40))
    subject_index: Mapped[str | None] = mapped_column(String(64))
    subject_masked: Mapped[str | None] = mapped_column(String(14))
    target: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    request_id: Mapped[str | None] = mapped_column(String(64))


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _append_only(_mapper: Any, _connection: Any, target: AuditEntry) -> None:
    raise PermissionError(f"접속기록은 수정하거나 지울 수 없습니다 (audit entry {target.id} is append-only)")


class AuditReport(Base):
    """A kept monthly review of the access records (``seonbyeol audit-report``): the summary as
    it was produced, with its SHA-256, so that a later reader sees what the reviewer saw."""

    __tablename__ = "audit_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7), index=True)  # YYYY-MM, in KST
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    body: Mapped[dict[str, Any]]
    sha256: Mapped[str] = mapped_column(String(64))
