"""integrity: accepted = not cancelled and not ineligible; one replacement; login lock-out

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 19:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import service.models.base

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

OLD_ACCEPTED = "status = 'open' AND current_outcome <> 'ineligible'"
ACCEPTED = "status <> 'cancelled' AND current_outcome <> 'ineligible'"


def upgrade() -> None:
    with op.batch_alter_table("nominations", schema=None) as batch_op:
        batch_op.drop_index("uq_nominations_one_accepted")
        batch_op.create_index(
            "uq_nominations_one_accepted",
            ["program_id", "rrn_index"],
            unique=True,
            sqlite_where=sa.text(ACCEPTED),
            postgresql_where=sa.text(ACCEPTED),
        )
        batch_op.drop_index(batch_op.f("ix_nominations_replaces_id"))
        batch_op.create_index(batch_op.f("ix_nominations_replaces_id"), ["replaces_id"], unique=True)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("locked_until", service.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_login_at", service.models.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("last_login_at")
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_logins")
    with op.batch_alter_table("nominations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nominations_replaces_id"))
        batch_op.create_index(batch_op.f("ix_nominations_replaces_id"), ["replaces_id"], unique=False)
        batch_op.drop_index("uq_nominations_one_accepted")
        batch_op.create_index(
            "uq_nominations_one_accepted",
            ["program_id", "rrn_index"],
            unique=True,
            sqlite_where=sa.text(OLD_ACCEPTED),
            postgresql_where=sa.text(OLD_ACCEPTED),
        )
