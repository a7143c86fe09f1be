"""custody checkpoint failures: alerts without an area, the failing episode on custody_anchor (issue 11)

An alert about the whole service (a custody checkpoint that cannot be written) belongs to no area:
``alert.area_id`` becomes nullable (only admins, who see every area, see such alerts). The
``custody_anchor`` row remembers when the current failure episode began (one alert per episode,
not per retry) and counts failed attempts (the Prometheus counter).

Revision ID: 0014
Revises: 0013
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

UTC = storage.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("alert") as batch:
        batch.alter_column("area_id", existing_type=sa.Integer(), nullable=True)
    with op.batch_alter_table("custody_anchor") as batch:
        batch.add_column(sa.Column("failing_since", UTC, nullable=True))
        batch.add_column(sa.Column("failures", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("custody_anchor") as batch:
        batch.drop_column("failures")
        batch.drop_column("failing_since")
    op.execute("DELETE FROM alert_delivery WHERE alert_id IN (SELECT id FROM alert WHERE area_id IS NULL)")
    op.execute("DELETE FROM alert WHERE area_id IS NULL")
    with op.batch_alter_table("alert") as batch:
        batch.alter_column("area_id", existing_type=sa.Integer(), nullable=False)
