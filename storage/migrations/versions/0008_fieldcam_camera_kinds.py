"""camera kinds (ONVIF / RTSP-only / recorder channel), reachability as entered, playback templates

- ``kind``: how the camera is reached and monitored (existing rows are ONVIF devices);
- ``rtsp_port`` / ``http_port``: outside ports a router forwards to the camera's 554 / 80;
- ``channel``: a recorder channel (0 for a camera); the MAC is unique per (mac, channel) now, since
  a DVR's channels share the recorder's MAC;
- ``uri_overrides``: URIs typed by hand, re-applied after every handshake;
- ``playback_style`` / ``playback_clock``: recording access chosen explicitly, and the clock the
  template's {start}/{end} are written in.

Revision ID: 0008
Revises: 0007
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

MAC_NOT_NULL = sa.text("mac IS NOT NULL")


# Plain ALTER TABLE (no batch copy): SQLite adds and (≥ 3.35) drops columns in place, and copying the
# camera table would trip the foreign keys of every table that points at it.
COLUMNS = (
    sa.Column("kind", sa.String(length=24), nullable=False, server_default="onvif"),
    sa.Column("rtsp_port", sa.Integer(), nullable=True),
    sa.Column("http_port", sa.Integer(), nullable=True),
    sa.Column("channel", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("uri_overrides", sa.JSON(), nullable=True),
    sa.Column("playback_style", sa.String(length=24), nullable=True),
    sa.Column("playback_clock", sa.String(length=24), nullable=False, server_default="utc"),
)


def upgrade() -> None:
    for column in COLUMNS:
        op.add_column("camera", column)
    op.drop_index("uq_camera_mac", table_name="camera")
    op.create_index("uq_camera_mac_channel", "camera", ["mac", "channel"], unique=True,
                    sqlite_where=MAC_NOT_NULL, postgresql_where=MAC_NOT_NULL)


def downgrade() -> None:
    op.drop_index("uq_camera_mac_channel", table_name="camera")
    # one MAC per row again: a recorder keeps its MAC on its lowest channel only
    op.execute("UPDATE camera SET mac = NULL WHERE mac IS NOT NULL AND channel > "
               "(SELECT MIN(c2.channel) FROM camera c2 WHERE c2.mac = camera.mac)")
    op.create_index("uq_camera_mac", "camera", ["mac"], unique=True, sqlite_where=MAC_NOT_NULL,
                    postgresql_where=MAC_NOT_NULL)
    for column in reversed(COLUMNS):
        op.drop_column("camera", column.name)
