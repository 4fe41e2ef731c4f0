"""pools

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 20:13:40.997703
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import service.models.base

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pools",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("sponsor_id", sa.Integer(), nullable=True),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", service.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"], ["resource_categories.id"], name=op.f("fk_pools_category_id_resource_categories")
        ),
        sa.ForeignKeyConstraint(["sponsor_id"], ["sponsors.id"], name=op.f("fk_pools_sponsor_id_sponsors")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pools")),
        sa.UniqueConstraint("code", name=op.f("uq_pools_code")),
    )
    op.create_table(
        "pool_allocations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pool_id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", service.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["pool_id"], ["pools.id"], name=op.f("fk_pool_allocations_pool_id_pools")),
        sa.ForeignKeyConstraint(["program_id"], ["programs.id"], name=op.f("fk_pool_allocations_program_id_programs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pool_allocations")),
        sa.UniqueConstraint("program_id", name=op.f("uq_pool_allocations_program_id")),
    )
    with op.batch_alter_table("pool_allocations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pool_allocations_pool_id"), ["pool_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pool_allocations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pool_allocations_pool_id"))

    op.drop_table("pool_allocations")
    op.drop_table("pools")
