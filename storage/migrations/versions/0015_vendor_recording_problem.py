"""vendor recording search: why a camera's recording reach is unknown, or why it is not recording

``recording_problem`` (JSON, nullable): ``{"code": ..., "detail": ...}`` from the Hikvision ISAPI /
Dahua CGI recording search (SD card missing / unformatted / failed, no recordings; or the reach is
unknown: wrong password, search not supported, malformed answer, timeout, custom template).

Revision ID: 0015
Revises: 0014
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("camera", sa.Column("recording_problem", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("camera", "recording_problem")  # as 0011 (a batch copy of camera would drop its triggers)
