"""camera_status_change: status as a SMALLINT code, columns in padding-free order, SQLite WITHOUT ROWID

Measured with bench/bench_history_bytes.py: PostgreSQL 60 → 44 bytes of heap per row; SQLite
stores the rows once, in the (camera_id, at) key's b-tree, instead of a rowid table plus an index
repeating the key (~82 → ~41 bytes per row). The table is rebuilt (PostgreSQL lays columns out in
creation order); rows are copied in time order.

Revision ID: 0005
Revises: 0004
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLE = "camera_status_change"
OLD = "camera_status_change_old"
UTC = storage.types.UTCDateTime(timezone=True)
# storage.models_monitoring.STATUS_CODE, written out: a migration must not change with the code
CODES = {"online": 0, "degraded": 1, "offline": 2, "unauthorized": 3, "maintenance": 4, "unknown": 5}
TO_CODE = "CASE status " + " ".join(f"WHEN '{name}' THEN {code}" for name, code in CODES.items()) + " END"
TO_TEXT = "CASE status " + " ".join(f"WHEN {code} THEN '{name}'" for name, code in CODES.items()) + " END"


def _set_aside() -> None:
    op.rename_table(TABLE, OLD)
    if op.get_bind().dialect.name == "postgresql":  # the key's index name is schema-wide there
        op.execute(f"ALTER INDEX pk_{TABLE} RENAME TO pk_{OLD}")
        op.execute(f"ALTER TABLE {OLD} RENAME CONSTRAINT fk_{TABLE}_camera_id_camera TO fk_{OLD}_camera_id_camera")


def _constraints() -> tuple[sa.ForeignKeyConstraint, sa.PrimaryKeyConstraint]:
    return (sa.ForeignKeyConstraint(["camera_id"], ["camera.id"], name=op.f(f"fk_{TABLE}_camera_id_camera")),
            sa.PrimaryKeyConstraint("camera_id", "at", name=op.f(f"pk_{TABLE}")))


def upgrade() -> None:
    _set_aside()
    op.create_table(
        TABLE,
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("reasons_mask", sa.SmallInteger(), nullable=False),
        sa.Column("at", UTC, nullable=False),
        *_constraints(),
        sqlite_with_rowid=False,
    )
    op.execute(f"INSERT INTO {TABLE} (camera_id, status, reasons_mask, at) "
               f"SELECT camera_id, {TO_CODE}, reasons_mask, at FROM {OLD} ORDER BY at")
    op.drop_table(OLD)


def downgrade() -> None:
    _set_aside()
    op.create_table(
        TABLE,
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("reasons_mask", sa.SmallInteger(), nullable=False),
        *_constraints(),
    )
    op.execute(f"INSERT INTO {TABLE} (camera_id, at, status, reasons_mask) "
               f"SELECT camera_id, at, {TO_TEXT}, reasons_mask FROM {OLD} ORDER BY at")
    op.drop_table(OLD)
