"""hourly status rollups per commune instead of per hamlet

The rows of ``status_rollup_hour`` now belong to communes. Rows written per hamlet are removed with
the rollup watermark: the monitor's rollup job rewrites the last 48 hours at its next run, and any
older hour can be recomputed from ``camera_status_change`` (the rollups are derived data).

Revision ID: 0004
Revises: 0003
"""
from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM status_rollup_hour")
    op.execute("DELETE FROM monitor_mark WHERE name = 'rollup_hour'")


def downgrade() -> None:
    op.execute("DELETE FROM status_rollup_hour")
    op.execute("DELETE FROM monitor_mark WHERE name = 'rollup_hour'")
