"""recording reach: the oldest and newest footage a camera holds, and when that was learnt

``recording_from`` / ``recording_until`` (true UTC) come from the camera's ONVIF recording summary
(or search) at registration and from the daily refresh; ``recording_checked_at`` says when.

Revision ID: 0011
Revises: 0010
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

UTC = storage.types.UTCDateTime(timezone=True)
COLUMNS = ("recording_from", "recording_until", "recording_checked_at")


def upgrade() -> None:
    for name in COLUMNS:
        op.add_column("camera", sa.Column(name, UTC, nullable=True))


def downgrade() -> None:
    for name in reversed(COLUMNS):
        op.drop_column("camera", name)
