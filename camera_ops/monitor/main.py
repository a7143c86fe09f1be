"""``camera-ops monitor``: the probe engine and its side jobs in one process, separate from the API.

Stops gracefully on SIGTERM / SIGINT: no new probes, in-flight probes finish (bounded by their
deadlines), the last batch is written, every client is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time

from camera_ops.alerts.detector import AlertJob
from camera_ops.alerts.digest import DigestJob
from camera_ops.alerts.outbox import DeliveryJob
from camera_ops.footage.reach_job import RecordingReachJob
from camera_ops.health_endpoints import OK, CheckResult, OpsServer, database_check, schema_check
from camera_ops.leases import SingleRunJob, node_name
from camera_ops.metrics import monitor_metrics, registry_for
from camera_ops.readiness import custody_anchor_check
from camera_ops.monitor.engine import Job, Monitor
from camera_ops.monitor.membership import default_ttl_s
from camera_ops.monitor.history import RollupJob
from camera_ops.settings import Settings
from storage.db import engine_for, session_factory

log = logging.getLogger(__name__)


def default_jobs(settings: Settings, node: str | None = None) -> list[Job]:
    """The side jobs, each under a lease: with several monitors, one node runs each at a time."""
    node = node or node_name()
    maker = session_factory(engine_for(settings.resolved_database_url), write=True)
    jobs: list[Job] = [AlertJob(maker, settings), DeliveryJob(maker, settings), RollupJob(maker), DigestJob(maker, settings),
                       RecordingReachJob(maker, settings)]
    ttl = settings.monitor_member_ttl_s or default_ttl_s(settings.monitor_cycle_s)
    return [SingleRunJob(job, maker, node, min_ttl_s=ttl) for job in jobs]


LOOP_STALL_S = 30.0  # the scheduler turns at least every batch window (≤ 1 s); 30 s without a turn is a hang


def ops_server(monitor: Monitor, settings: Settings) -> OpsServer | None:
    """``/healthz`` ``/readyz`` ``/metrics`` of this monitor, when ``monitor_ops_port`` is set."""
    if settings.monitor_ops_port is None:
        return None

    def loop_turns() -> CheckResult:
        idle = time.monotonic() - monitor.last_tick
        return OK if idle < LOOP_STALL_S else CheckResult(False, "loop_stalled", {"seconds": round(idle)})

    def member() -> CheckResult:
        return OK if monitor.membership.fresh() else CheckResult(False, "not_member")

    _, expose = registry_for(lambda: monitor_metrics(monitor))
    return OpsServer(
        bind=settings.ops_bind, port=settings.monitor_ops_port, token=settings.ops_token, metrics=expose,
        live={"loop": loop_turns},
        ready={"database": database_check(monitor.engine), "schema": schema_check(monitor.engine), "membership": member,
               "custody_anchor": custody_anchor_check(monitor.engine, settings)},
    )


async def serve(settings: Settings) -> None:
    node = node_name()
    jobs = default_jobs(settings, node)
    monitor = Monitor(settings, jobs=jobs, node=node)
    ops = ops_server(monitor, settings)
    if ops is not None:
        ops.start()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # event loops without signal handlers (Windows)
            loop.add_signal_handler(sig, monitor.stop)
    log.info("monitor: cycle %.0f s, up to %d probes in flight", settings.monitor_cycle_s, settings.monitor_concurrency)
    try:
        await monitor.run()
    finally:
        if ops is not None:
            ops.stop()
        for job in jobs:
            close = getattr(job, "close", None)
            if close is not None:
                close()
    log.info("monitor stopped after %d probes", monitor.stats.probes)


def run(settings: Settings) -> None:
    """Run until a signal; uvloop when it is installed."""
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per snapshot otherwise
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(settings))
    else:
        uvloop.run(serve(settings))
