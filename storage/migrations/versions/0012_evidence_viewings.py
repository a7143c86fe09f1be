"""clip_viewing: one viewing (with seeks) = one viewed event; its byte ranges (issue 11)

Revision ID: 0012
Revises: 0011
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

UTC = storage.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "clip_viewing",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("clip_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
        sa.Column("started_at", UTC, nullable=False),
        sa.Column("last_at", UTC, nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("ranges", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["clip_id"], ["clip.id"], name=op.f("fk_clip_viewing_clip_id_clip")),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f("fk_clip_viewing_user_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clip_viewing")),
    )
    op.create_index(op.f("ix_clip_viewing_clip_id"), "clip_viewing", ["clip_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_clip_viewing_clip_id"), table_name="clip_viewing")
    op.drop_table("clip_viewing")
