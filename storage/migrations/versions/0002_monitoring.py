"""health monitoring: status history, rollups, probes, problems, alerts

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UTC = storage.types.UTCDateTime(timezone=True)
CAMERA_STATUS = sa.Enum("online", "degraded", "offline", "unauthorized", "maintenance", "unknown",
                        name="camera_status", native_enum=False, length=24)


def upgrade() -> None:
    op.create_table(
        "monitor_mark",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_monitor_mark")),
    )
    op.create_table(
        "status_rollup_hour",
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("hour", UTC, nullable=False),
        sa.Column("cameras", sa.Integer(), nullable=False),
        *(sa.Column(f"{s}_s", sa.Integer(), nullable=False)
          for s in ("online", "degraded", "offline", "unauthorized", "maintenance", "unknown")),
        sa.ForeignKeyConstraint(["area_id"], ["area.id"], name=op.f("fk_status_rollup_hour_area_id_area")),
        sa.PrimaryKeyConstraint("area_id", "hour", name=op.f("pk_status_rollup_hour")),
    )
    op.create_table(
        "camera_status_change",
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("status", CAMERA_STATUS, nullable=False),
        sa.Column("reasons_mask", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(["camera_id"], ["camera.id"], name=op.f("fk_camera_status_change_camera_id_camera")),
        sa.PrimaryKeyConstraint("camera_id", "at", name=op.f("pk_camera_status_change")),
    )
    op.create_table(
        "camera_health",
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=True),
        sa.Column("picture_state", sa.JSON(), nullable=True),
        sa.Column("last_probe_at", UTC, nullable=True),
        sa.Column("last_seen_at", UTC, nullable=True),
        sa.Column("rtt_ms", sa.Float(), nullable=True),
        sa.Column("clock_offset_s", sa.Float(), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("picture_metrics", sa.JSON(), nullable=True),
        sa.Column("picture_problems", sa.JSON(), nullable=True),
        sa.Column("snapshot_at", UTC, nullable=True),
        sa.Column("thumbnail", sa.LargeBinary(), nullable=True),
        sa.Column("reference_requested_at", UTC, nullable=True),
        sa.Column("reference_taken_at", UTC, nullable=True),
        sa.Column("maintenance_requested_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(["camera_id"], ["camera.id"], name=op.f("fk_camera_health_camera_id_camera")),
        sa.PrimaryKeyConstraint("camera_id", name=op.f("pk_camera_health")),
    )
    op.create_table(
        "alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Enum("camera_down", "camera_recovered", "hamlet_down", "hamlet_recovered", "daily_digest",
                                  name="alert_kind", native_enum=False, length=24), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("title_vi", sa.String(length=300), nullable=False),
        sa.Column("title_en", sa.String(length=300), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("digest_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["area_id"], ["area.id"], name=op.f("fk_alert_area_id_area")),
        sa.ForeignKeyConstraint(["camera_id"], ["camera.id"], name=op.f("fk_alert_camera_id_camera")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert")),
    )
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_area_id"), ["area_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alert_camera_id"), ["camera_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alert_created_at"), ["created_at"], unique=False)
        batch_op.create_index("uq_alert_digest", ["area_id", "digest_date"], unique=True,
                              sqlite_where=sa.text("digest_date IS NOT NULL"),
                              postgresql_where=sa.text("digest_date IS NOT NULL"))
    op.create_table(
        "problem",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("status", CAMERA_STATUS, nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("started_at", UTC, nullable=False),
        sa.Column("opened_at", UTC, nullable=False),
        sa.Column("state", sa.Enum("open", "acknowledged", "closed", name="problem_state", native_enum=False,
                                   length=24), nullable=False),
        sa.Column("group_alert_id", sa.Integer(), nullable=True),
        sa.Column("acknowledged_at", UTC, nullable=True),
        sa.Column("acknowledged_by", sa.Integer(), nullable=True),
        sa.Column("assignee_kind", sa.Enum("hamlet_head", "donor", "technician", "police", name="assignee_kind",
                                           native_enum=False, length=24), nullable=True),
        sa.Column("assignee_name", sa.String(length=200), nullable=True),
        sa.Column("assignee_phone", sa.String(length=40), nullable=True),
        sa.Column("assigned_at", UTC, nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("closed_at", UTC, nullable=True),
        sa.Column("closed_by", sa.Integer(), nullable=True),
        sa.Column("close_reason", sa.Enum("recovered", "manual", "maintenance", "retired", name="close_reason",
                                          native_enum=False, length=24), nullable=True),
        sa.ForeignKeyConstraint(["acknowledged_by"], ["app_user.id"], name=op.f("fk_problem_acknowledged_by_app_user")),
        sa.ForeignKeyConstraint(["area_id"], ["area.id"], name=op.f("fk_problem_area_id_area")),
        sa.ForeignKeyConstraint(["camera_id"], ["camera.id"], name=op.f("fk_problem_camera_id_camera")),
        sa.ForeignKeyConstraint(["closed_by"], ["app_user.id"], name=op.f("fk_problem_closed_by_app_user")),
        sa.ForeignKeyConstraint(["group_alert_id"], ["alert.id"], name=op.f("fk_problem_group_alert_id_alert")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_problem")),
    )
    with op.batch_alter_table("problem", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_problem_area_id"), ["area_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_problem_camera_id"), ["camera_id"], unique=False)
        batch_op.create_index("ix_problem_camera_started", ["camera_id", "started_at"], unique=False)
        batch_op.create_index("uq_problem_camera_unclosed", ["camera_id"], unique=True,
                              sqlite_where=sa.text("closed_at IS NULL"), postgresql_where=sa.text("closed_at IS NULL"))
    op.create_table(
        "alert_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=500), nullable=False),
        sa.Column("state", sa.Enum("pending", "sent", name="delivery_state", native_enum=False, length=24),
                  nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC, nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("sent_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(["alert_id"], ["alert.id"], name=op.f("fk_alert_delivery_alert_id_alert")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_delivery")),
    )
    with op.batch_alter_table("alert_delivery", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_delivery_alert_id"), ["alert_id"], unique=False)
        batch_op.create_index("ix_alert_delivery_due", ["state", "next_attempt_at"], unique=False)


def downgrade() -> None:
    for table in ("alert_delivery", "problem", "alert", "camera_health", "camera_status_change",
                  "status_rollup_hour", "monitor_mark"):
        op.drop_table(table)
