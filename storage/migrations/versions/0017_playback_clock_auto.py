"""playback clock by style: whether a camera's playback clock follows its playback style

``playback_clock_auto`` (bool, not null): true when nobody chose the clock, so it follows the
camera's playback style (Dahua-style: local time; Hikvision-style and ONVIF replay: UTC) and is
resolved again when the style becomes known (registration, "connect now") or changes. Existing
cameras get false: they keep the clock they have (no silent change to an evidence setting).

Revision ID: 0017
Revises: 0016
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("camera", sa.Column("playback_clock_auto", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("camera", "playback_clock_auto")  # as 0015 (a batch copy of camera would drop its triggers)
