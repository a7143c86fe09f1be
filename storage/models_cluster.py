"""Tables that let several processes share work on one database (issue 14).

- ``lease``: a named lease held by one process at a time (single-run jobs: alerts, digests,
  rollups, custody checkpoints). ``token`` grows by one every time the lease passes to another
  holder: a fencing token a writer can check in its own transaction.
- ``monitor_member``: one row per running ``camera-ops monitor``. A member heartbeats its row;
  a row whose ``expires_at`` passed is deleted by any live member (that deletion is the takeover),
  and cameras are divided among the rows present (rendezvous hashing, see
  :mod:`camera_ops.monitor.membership`). ``active_from`` lets a joining member start only once the
  others have seen it.

Times are the database server's clock (PostgreSQL ``clock_timestamp()``), never a node's own.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base


class Lease(Base):
    __tablename__ = "lease"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    token: Mapped[int] = mapped_column(BigInteger)  # fencing token: +1 per change of holder
    acquired_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()


class MonitorMember(Base):
    __tablename__ = "monitor_member"

    node: Mapped[str] = mapped_column(String(128), primary_key=True)  # host:pid:random
    epoch: Mapped[int] = mapped_column(BigInteger)  # fencing: a re-joining node gets a new epoch
    joined_at: Mapped[datetime] = mapped_column()
    active_from: Mapped[datetime] = mapped_column()  # owns cameras for probe slots from this time on
    heartbeat_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    cameras: Mapped[int] = mapped_column(Integer, default=0)  # cameras owned at the last heartbeat (operators)
