"""Status counts per area, kept current by the database itself (revision 0009).

Every change of a camera's status, lifecycle or hamlet fires a trigger that appends one row per
affected area (the hamlet, its commune, its province) to ``area_status_delta``: +1 for the new
key, -1 for the old one, in the same transaction as the change. Appending never contends (several
monitors flushing at once lock no shared row, so no deadlock), and a reader's count is exact:
``area_status_count.n`` plus the pending deltas. A compactor (:mod:`camera_ops.monitor.counts`)
folds deltas into ``area_status_count`` every few seconds, so a reader adds a handful of rows.

The key is the camera's *effective* status: ``maintenance`` while its lifecycle is maintenance,
``retired`` for retired cameras (kept for totals; the health views leave it out), else its status.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base

RETIRED_KEY = "retired"
_KEY = ("CASE WHEN c.lifecycle = 'retired' THEN 'retired' WHEN c.lifecycle = 'maintenance' THEN 'maintenance' "
        "ELSE c.status END")
# Every camera counted in its hamlet and in each area above it (the same statement as revision 0009).
FILL_COUNTS = (
    f"INSERT INTO area_status_count (area_id, status, n) SELECT x.id, x.status, COUNT(*) FROM ("
    f"SELECT h.id AS id, {_KEY} AS status FROM camera c JOIN area h ON h.id = c.area_id "
    f"UNION ALL SELECT h.parent_id, {_KEY} FROM camera c JOIN area h ON h.id = c.area_id "
    f"WHERE h.parent_id IS NOT NULL "
    f"UNION ALL SELECT p.parent_id, {_KEY} FROM camera c JOIN area h ON h.id = c.area_id "
    f"JOIN area p ON p.id = h.parent_id WHERE p.parent_id IS NOT NULL) x GROUP BY x.id, x.status"
)


class AreaStatusCount(Base):
    __tablename__ = "area_status_count"

    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(24), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)


class AreaStatusDelta(Base):
    __tablename__ = "area_status_delta"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    area_id: Mapped[int] = mapped_column(Integer)  # no FK: an append-only log, folded and deleted
    status: Mapped[str] = mapped_column(String(24))
    n: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_area_status_delta_area_id", "area_id"),)
