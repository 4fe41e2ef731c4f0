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


# Data that 0.1.0 allowed but the new unique indexes refuse, put right before they are built:
# - a nomination replaced twice: the earliest replacement keeps the link, later ones lose it
#   (with a note saying so);
# - two accepted nominations of one person in one program (an open one beside a confirmed
#   one, possible only through a race): the later one is marked ineligible with a note, and
#   the program's next re-screening stores the verdict that explains it.
DETACH_LATER_REPLACEMENTS = """
UPDATE nominations SET replaces_id = NULL,
       status_note = COALESCE(status_note || ' / ', '') || 'migration 0002: replaced nomination '
                     || CAST(replaces_id AS VARCHAR(20)) || ' had an earlier replacement'
WHERE replaces_id IS NOT NULL AND id > (
    SELECT MIN(other.id) FROM nominations AS other WHERE other.replaces_id = nominations.replaces_id)
"""
DEMOTE_LATER_ACCEPTED = f"""
UPDATE nominations SET current_outcome = 'ineligible',
       status_note = COALESCE(status_note || ' / ', '') || 'migration 0002: a second accepted nomination '
                     || 'of the same person in this program; re-screen the program'
WHERE {ACCEPTED} AND id > (
    SELECT MIN(other.id) FROM nominations AS other
    WHERE other.program_id = nominations.program_id AND other.rrn_index = nominations.rrn_index
      AND other.status <> 'cancelled' AND other.current_outcome <> 'ineligible')
"""


def upgrade() -> None:
    op.execute(DETACH_LATER_REPLACEMENTS)
    op.execute(DEMOTE_LATER_ACCEPTED)
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
