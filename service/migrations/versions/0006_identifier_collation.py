"""identifiers compared bytewise on PostgreSQL (``COLLATE "C"``)

The columns that hold machine identifiers — HMAC blind indexes (``rrn_index``), household keys,
dong and category codes, key ids — on the tables screening, imports and re-screening read by
them (residents, receipts, nominations, registry_events). With the database's collation every
B-tree comparison on them went through ``strcoll``: a 1,000,000-row first import took 23.4 s
with ``C.UTF-8`` and 15.1 s with ``"C"``. Only their indexes are rebuilt (the collation of a
``varchar`` changes no stored byte). SQLite compares bytewise already: nothing to do there.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 01:35:00
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

COLUMNS: dict[str, dict[str, int]] = {
    "residents": {"rrn_index": 64, "household_key": 64, "dong_code": 10, "key_id": 8},
    "receipts": {"rrn_index": 64, "category_code": 64, "key_id": 8},
    "nominations": {"rrn_index": 64, "household_key": 64, "key_id": 8},
    "registry_events": {"rrn_index": 64, "key_id": 8},
}


def _collate(collation: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in COLUMNS.items():  # one ALTER per table: its indexes are rebuilt once
        changes = ", ".join(
            f"ALTER COLUMN {column} TYPE varchar({length}){collation}" for column, length in columns.items()
        )
        op.execute(f"ALTER TABLE {table} {changes}")


def upgrade() -> None:
    _collate(' COLLATE "C"')


def downgrade() -> None:
    _collate("")  # back to the database's own collation
