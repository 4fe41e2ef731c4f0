"""Nominations, their verdict history, notifications and registry life events."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, identifier, key_id_default, utcnow
from .district import Institution
from .programs import Program, RuleSetVersion

NOMINATION_STATUSES = ("open", "confirmed", "delivered", "cancelled")
OUTCOMES = ("eligible", "review", "ineligible")
ACCEPTED = "status <> 'cancelled' AND current_outcome <> 'ineligible'"
"""A nomination that holds its place: the duplicate and household rules count these."""


class Nomination(Base):
    """A resident nominated for a program by an institution.

    ``current_outcome`` mirrors the newest verdict so that duplicate and household checks
    and statistics are plain indexed queries. The partial unique index on
    (program, person) over accepted nominations (not cancelled, not ineligible) makes
    duplicate detection hold across processes: two racing nominations cannot both be
    accepted. ``replaces_id`` is unique: a nomination is replaced at most once.
    """

    __tablename__ = "nominations"
    __table_args__ = (
        Index("ix_nominations_program_person", "program_id", "rrn_index", "status"),
        Index("ix_nominations_program_household", "program_id", "household_key", "status"),
        Index("ix_nominations_rrn_index", "rrn_index"),  # a person across programs; key rotation
        Index(
            "uq_nominations_one_accepted",
            "program_id",
            "rrn_index",
            unique=True,
            sqlite_where=text(ACCEPTED),
            postgresql_where=text(ACCEPTED),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    rrn_index: Mapped[str] = mapped_column(identifier(64))
    rrn_enc: Mapped[bytes] = mapped_column(LargeBinary)
    rrn_masked: Mapped[str] = mapped_column(String(14))
    key_id: Mapped[str | None] = mapped_column(identifier(8), default=key_id_default, index=True)
    nominee_name: Mapped[str] = mapped_column(String(100))
    household_key: Mapped[str | None] = mapped_column(identifier(64))
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="open")
    current_outcome: Mapped[str] = mapped_column(String(12))
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("nominations.id"), index=True, unique=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_note: Mapped[str | None] = mapped_column(Text)
    status_changed_at: Mapped[datetime | None]

    program: Mapped[Program] = relationship()
    institution: Mapped[Institution] = relationship()


class VerdictRecord(Base):
    """Every evaluation of a nomination, with the facts it read: history is never deleted."""

    __tablename__ = "verdicts"

    id: Mapped[int] = mapped_column(primary_key=True)
    nomination_id: Mapped[int] = mapped_column(ForeignKey("nominations.id"), index=True)
    ruleset_version_id: Mapped[int] = mapped_column(ForeignKey("ruleset_versions.id"))
    outcome: Mapped[str] = mapped_column(String(12))
    body: Mapped[dict[str, Any]]
    facts: Mapped[dict[str, Any]]
    trigger: Mapped[str] = mapped_column(String(20))  # nominate | rescreen | registry_event
    evaluated_at: Mapped[datetime] = mapped_column(default=utcnow)

    ruleset_version: Mapped[RuleSetVersion] = relationship()


class Notification(Base):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    nomination_id: Mapped[int | None] = mapped_column(ForeignKey("nominations.id"))
    kind: Mapped[str] = mapped_column(String(40))
    message_ko: Mapped[str] = mapped_column(Text)
    message_en: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]


class RegistryEvent(Base):
    """A life event (death, move-out) received from the resident registry."""

    __tablename__ = "registry_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(20))
    rrn_index: Mapped[str] = mapped_column(identifier(64), index=True)
    # The ciphertext lets a key rotation re-index the event (NULL for events stored before 0005).
    rrn_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_id: Mapped[str | None] = mapped_column(identifier(8), default=key_id_default, index=True)
    rrn_masked: Mapped[str] = mapped_column(String(14))
    event_date: Mapped[date] = mapped_column(Date)
    received_by: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
