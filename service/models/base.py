"""Declarative base, naming convention and shared column types."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, MetaData, String, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend (SQLite keeps no offset, so re-attach it)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


def identifier(length: int) -> String:
    """A machine identifier column (an HMAC blind index, a household key, a dong or category code,
    a key id), compared and sorted bytewise.

    On PostgreSQL a text column takes the database's collation (``C.UTF-8``, ``ko_KR.UTF-8``, ...),
    and every B-tree comparison on it goes through ``strcoll``: measured on a 1,000,000-row first
    import, the residents table's indexes made it 23.4 s with the database's collation and 15.1 s
    with ``COLLATE "C"`` (migration 0006). Nobody reads these values in a linguistic order, and
    for ASCII text the order is the same. SQLite compares bytewise already (``BINARY``).
    """
    return String(length).with_variant(String(length, collation="C"), "postgresql")


def key_id_default(context: Any) -> str | None:
    """A row's ``key_id``: the id of the data key its ciphertext was made under (service/crypto.py).

    Read from the ``rrn_enc`` being written, so that every writer records it without naming it,
    and a row written with an older key's ciphertext (copied from another row) says so.
    """
    from ..crypto import key_id_of

    return key_id_of(context.get_current_parameters().get("rrn_enc"))


def utcnow() -> datetime:
    """Now in UTC from the service's clock (frozen in tests), for created_at and audit timestamps."""
    from .. import clock

    return clock.utcnow()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: dict[Any, Any] = {datetime: UTCDateTime, dict[str, Any]: JSONType}
