"""status counts per area kept by triggers (area_status_count + area_status_delta)

A trigger on ``camera`` appends +1/-1 rows to ``area_status_delta`` for the hamlet, its commune and
its province whenever a camera is added or removed or its status, lifecycle or hamlet changes, in
the same transaction as the change; ``camera_ops.monitor.counts`` folds the deltas into
``area_status_count``. Reading a province's counts is then a few rows, not a GROUP BY over every
camera. The counts are filled from the current cameras here. Also: an index on ``area.parent_id``
(children of an area) and on ``camera.status_since`` (the longest-down cameras first).

Revision ID: 0009
Revises: 0008
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# storage.models_counts written out: a migration must not change with the code
COUNT, DELTA = "area_status_count", "area_status_delta"


def _key(row: str) -> str:
    return (f"CASE WHEN {row}.lifecycle = 'retired' THEN 'retired' "
            f"WHEN {row}.lifecycle = 'maintenance' THEN 'maintenance' ELSE {row}.status END")


def _ancestors_insert(row: str, sign: int) -> str:
    """Append one delta row for the camera's hamlet and for each area above it (province → commune
    → hamlet: at most two levels up)."""
    return (
        f"INSERT INTO {DELTA} (area_id, status, n) SELECT x.id, {_key(row)}, {sign} FROM ("
        f"SELECT h.id AS id FROM area h WHERE h.id = {row}.area_id "
        f"UNION ALL SELECT h.parent_id FROM area h WHERE h.id = {row}.area_id AND h.parent_id IS NOT NULL "
        f"UNION ALL SELECT p.parent_id FROM area h JOIN area p ON p.id = h.parent_id "
        f"WHERE h.id = {row}.area_id AND p.parent_id IS NOT NULL) x"
    )


CHANGED = ("OLD.status <> NEW.status OR OLD.lifecycle <> NEW.lifecycle OR OLD.area_id <> NEW.area_id")

FILL = (
    f"INSERT INTO {COUNT} (area_id, status, n) SELECT x.id, x.status, COUNT(*) FROM ("
    f"SELECT h.id AS id, {_key('c')} AS status FROM camera c JOIN area h ON h.id = c.area_id "
    f"UNION ALL SELECT h.parent_id, {_key('c')} FROM camera c JOIN area h ON h.id = c.area_id "
    f"WHERE h.parent_id IS NOT NULL "
    f"UNION ALL SELECT p.parent_id, {_key('c')} FROM camera c JOIN area h ON h.id = c.area_id "
    f"JOIN area p ON p.id = h.parent_id WHERE p.parent_id IS NOT NULL) x GROUP BY x.id, x.status"
)


def _sqlite_triggers() -> None:
    op.execute(f"CREATE TRIGGER camera_counts_insert AFTER INSERT ON camera FOR EACH ROW BEGIN "
               f"{_ancestors_insert('NEW', 1)}; END")
    op.execute(f"CREATE TRIGGER camera_counts_delete AFTER DELETE ON camera FOR EACH ROW BEGIN "
               f"{_ancestors_insert('OLD', -1)}; END")
    op.execute(f"CREATE TRIGGER camera_counts_update AFTER UPDATE OF status, lifecycle, area_id ON camera "
               f"FOR EACH ROW WHEN {CHANGED} BEGIN "
               f"{_ancestors_insert('OLD', -1)}; {_ancestors_insert('NEW', 1)}; END")


def _postgresql_triggers() -> None:
    op.execute(f"""
CREATE FUNCTION camera_counts_delta() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    {_ancestors_insert('OLD', -1)};
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') THEN
    {_ancestors_insert('NEW', 1)};
  END IF;
  RETURN NULL;
END $$""")
    op.execute("CREATE TRIGGER camera_counts_insert_delete AFTER INSERT OR DELETE ON camera "
               "FOR EACH ROW EXECUTE FUNCTION camera_counts_delta()")
    op.execute(f"CREATE TRIGGER camera_counts_update AFTER UPDATE OF status, lifecycle, area_id ON camera "
               f"FOR EACH ROW WHEN ({CHANGED}) EXECUTE FUNCTION camera_counts_delta()")


def upgrade() -> None:
    op.create_table(
        COUNT,
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["area_id"], ["area.id"], name=op.f(f"fk_{COUNT}_area_id_area")),
        sa.PrimaryKeyConstraint("area_id", "status", name=op.f(f"pk_{COUNT}")),
    )
    op.create_table(
        DELTA,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{DELTA}")),
    )
    op.create_index("ix_area_status_delta_area_id", DELTA, ["area_id"])
    op.create_index("ix_area_parent_id", "area", ["parent_id"])
    op.create_index("ix_camera_status_since", "camera", ["status_since", "id"])
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_triggers()
    else:
        _sqlite_triggers()
    op.execute(FILL)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER camera_counts_update ON camera")
        op.execute("DROP TRIGGER camera_counts_insert_delete ON camera")
        op.execute("DROP FUNCTION camera_counts_delta()")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER camera_counts_{name}")
    op.drop_index("ix_camera_status_since", table_name="camera")
    op.drop_index("ix_area_parent_id", table_name="area")
    op.drop_index("ix_area_status_delta_area_id", table_name=DELTA)
    op.drop_table(DELTA)
    op.drop_table(COUNT)
