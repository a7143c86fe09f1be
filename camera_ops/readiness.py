"""The API's readiness checks, in the shape every process shares (``camera_ops.health_endpoints``):
database reachable, schema at head, clip store reachable; and the custody checkpoints, which every
process (API, monitor, worker) reports as *degraded*, never as failed (see
``camera_ops.health_endpoints``)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from camera_ops.errors import CameraOpsError
from camera_ops.health_endpoints import OK, Check, CheckResult, database_check, degraded, schema_check
from camera_ops.settings import Settings


def clip_store_check(settings: Settings, store_for: Callable[[Settings], object] | None = None) -> Check:
    """The clip store answers (local: its directory exists or can be made; MinIO: the bucket with
    object lock is there, made if missing — the same step the worker takes at start)."""

    def check() -> CheckResult:
        from storage.clipstore.base import clip_store_for

        try:
            (store_for or clip_store_for)(settings).ensure_ready()  # type: ignore[attr-defined]
        except CameraOpsError as exc:
            return CheckResult(False, "clip_store_unreachable", {"error": exc.message})
        return OK

    return check


def custody_anchor_check(engine: Engine, settings: Settings) -> Check:
    """Degraded while the last custody checkpoint attempt failed, or an event has waited for a
    checkpoint more than two intervals (``anchor.stale_after_s``); one small read of the shared
    ``custody_anchor`` row. The database being away is the database check's to say."""

    def check() -> CheckResult:
        from camera_ops.custody.anchor import anchor_health
        from storage.db import session_factory

        try:
            with session_factory(engine, write=False)() as session:
                health = anchor_health(session, settings)
        except SQLAlchemyError:
            return OK
        return OK if health.ok else degraded(health.reason or "custody_checkpoint_failed", health.values)

    return check


def api_checks(engine: Engine, settings: Settings) -> dict[str, Check]:
    return {"database": database_check(engine), "schema": schema_check(engine),
            "clip_store": clip_store_check(settings), "custody_anchor": custody_anchor_check(engine, settings)}
