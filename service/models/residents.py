"""The resident-registry snapshot and receipts of resources.

RRNs are stored only as ``rrn_enc`` (AES-GCM) and ``rrn_index`` (HMAC blind index); the
birth date and sex are kept as their own columns because screening needs the age. ``key_id``
names the data key both were made under (key rotation, service/keys.py); NULL for rows written
before migration 0005.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, identifier, key_id_default, utcnow

RESIDENT_STATUSES = ("active", "deceased", "moved_out")


class Resident(Base):
    __tablename__ = "residents"

    id: Mapped[int] = mapped_column(primary_key=True)
    rrn_index: Mapped[str] = mapped_column(identifier(64), unique=True)
    rrn_enc: Mapped[bytes] = mapped_column(LargeBinary)
    rrn_masked: Mapped[str] = mapped_column(String(14))
    key_id: Mapped[str | None] = mapped_column(identifier(8), default=key_id_default, index=True)
    name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(1))
    household_key: Mapped[str] = mapped_column(identifier(64), index=True)
    relation: Mapped[str] = mapped_column(String(10))
    dong_code: Mapped[str] = mapped_column(identifier(10), index=True)
    address: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(12))
    status_date: Mapped[date | None] = mapped_column(Date)
    # sha256 of the row's registry fields: a re-import of the same data changes nothing.
    row_digest: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Receipt(Base):
    """A resource a person already received, from another system or a delivered nomination."""

    __tablename__ = "receipts"
    __table_args__ = (
        UniqueConstraint("rrn_index", "category_code", "received_on", "provider"),
        Index("ix_receipts_lookup", "rrn_index", "category_code", "received_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rrn_index: Mapped[str] = mapped_column(identifier(64))
    # The ciphertext lets a key rotation re-index the receipt (NULL for receipts stored before 0005).
    rrn_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_id: Mapped[str | None] = mapped_column(identifier(8), default=key_id_default, index=True)
    category_code: Mapped[str] = mapped_column(identifier(64))
    received_on: Mapped[date] = mapped_column(Date)
    provider: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(default=1)
    nomination_id: Mapped[int | None] = mapped_column(ForeignKey("nominations.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
