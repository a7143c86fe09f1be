"""custody_anchor: the checkpoint writer's lease and health (issue 11)

Revision ID: 0007
Revises: 0006
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UTC = storage.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "custody_anchor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(length=120), nullable=True),
        sa.Column("lease_until", UTC, nullable=True),
        sa.Column("last_at", UTC, nullable=True),
        sa.Column("last_seq", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_anchor")),
    )


def downgrade() -> None:
    op.drop_table("custody_anchor")
