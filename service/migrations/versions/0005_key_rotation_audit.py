"""key rotation and an append-only access log

- ``key_id`` on every table that holds an RRN ciphertext or blind index (residents, nominations,
  receipts, registry_events): the data key the row is under, so that ``seonbyeol rotate-key``
  can move rows from old keys to the new one in resumable batches. NULL for rows written before
  this revision (the rotation finds their key from the ciphertext).
- ``rrn_enc`` on receipts and registry_events, so that a rotation can re-index them even when
  the person is in no resident or nomination row; NULL for rows written before.
- an index on ``nominations.rrn_index`` (a person's rows across programs, found in one probe).
- ``audit_reports``: the kept monthly reviews (``seonbyeol audit-report``).
- on PostgreSQL, a trigger that refuses UPDATE and DELETE on ``audit_entries``, except a DELETE
  of entries older than the cutoff that ``service.audit.purge`` declares in its transaction
  (``set_config('seonbyeol.audit_purge_before', ..., true)``); on SQLite, one that refuses UPDATE.

Generated with Alembic autogenerate against an SQLite database at 0004, then edited (the
trigger, comments).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 20:36:27.626870
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import service.models.base

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION seonbyeol_audit_entries_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    cutoff text := current_setting('seonbyeol.audit_purge_before', true);
BEGIN
    IF TG_OP = 'DELETE' AND coalesce(cutoff, '') <> '' AND OLD.at < cutoff::timestamptz THEN
        RETURN OLD;  -- the retention purge (service.audit.purge), only for entries older than its cutoff
    END IF;
    RAISE EXCEPTION '접속기록은 수정하거나 지울 수 없습니다 (audit_entries is append-only: % refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""
SQLITE_NO_UPDATE = """
CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
BEGIN
    SELECT RAISE(ABORT, '접속기록은 수정할 수 없습니다 (audit_entries is append-only: UPDATE refused)');
END
"""
APPEND_ONLY_TRIGGER = """
CREATE TRIGGER audit_entries_append_only
BEFORE UPDATE OR DELETE ON audit_entries
FOR EACH ROW EXECUTE FUNCTION seonbyeol_audit_entries_append_only()
"""


def upgrade() -> None:
    op.create_table(
        "audit_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("created_at", service.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column(
            "body", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_reports")),
    )
    with op.batch_alter_table("audit_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_reports_month"), ["month"], unique=False)

    with op.batch_alter_table("nominations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_id", sa.String(length=8), nullable=True))
        batch_op.create_index(batch_op.f("ix_nominations_key_id"), ["key_id"], unique=False)
        batch_op.create_index("ix_nominations_rrn_index", ["rrn_index"], unique=False)

    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rrn_enc", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("key_id", sa.String(length=8), nullable=True))
        batch_op.create_index(batch_op.f("ix_receipts_key_id"), ["key_id"], unique=False)

    with op.batch_alter_table("registry_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rrn_enc", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("key_id", sa.String(length=8), nullable=True))
        batch_op.create_index(batch_op.f("ix_registry_events_key_id"), ["key_id"], unique=False)

    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_id", sa.String(length=8), nullable=True))
        batch_op.create_index(batch_op.f("ix_residents_key_id"), ["key_id"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY_FUNCTION)
        op.execute(APPEND_ONLY_TRIGGER)
    else:  # SQLite has no transaction-local settings: UPDATE is refused there too, DELETE by the code only
        op.execute(SQLITE_NO_UPDATE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_entries_append_only ON audit_entries")
        op.execute("DROP FUNCTION IF EXISTS seonbyeol_audit_entries_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_update")

    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_residents_key_id"))
        batch_op.drop_column("key_id")

    with op.batch_alter_table("registry_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_events_key_id"))
        batch_op.drop_column("key_id")
        batch_op.drop_column("rrn_enc")

    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_receipts_key_id"))
        batch_op.drop_column("key_id")
        batch_op.drop_column("rrn_enc")

    with op.batch_alter_table("nominations", schema=None) as batch_op:
        batch_op.drop_index("ix_nominations_rrn_index")
        batch_op.drop_index(batch_op.f("ix_nominations_key_id"))
        batch_op.drop_column("key_id")

    with op.batch_alter_table("audit_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_reports_month"))

    op.drop_table("audit_reports")
