"""The API's readiness checks, in the shape every process shares (``camera_ops.health_endpoints``):
database reachable, schema at head, clip store reachable."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from camera_ops.errors import CameraOpsError
from camera_ops.health_endpoints import OK, Check, CheckResult, database_check, schema_check
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


def api_checks(engine: Engine, settings: Settings) -> dict[str, Check]:
    return {"database": database_check(engine), "schema": schema_check(engine),
            "clip_store": clip_store_check(settings)}
