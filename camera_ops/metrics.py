"""Prometheus metrics of the monitor and the worker (the API has its own, per route).

The hot paths count into plain integers and bucket arrays (:class:`Buckets`: a bisect and an
increment, ~0.5 µs); nothing of ``prometheus_client`` runs per probe. Each process has its own
``CollectorRegistry`` with a collector that turns those counts into metric families at scrape
time — so in-process monitors in tests never share a metric.

Metric names (all prefixed ``camera_ops_``) are listed in README "Metrics and health".
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from sqlalchemy import Connection, Engine, func, select

if TYPE_CHECKING:
    from camera_ops.monitor.engine import Monitor

# Seconds. A probe on a LAN takes milliseconds; a black hole takes the whole call deadline (4 s).
PROBE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
# Lateness of a regular probe behind its slot: ~0 when healthy; seconds when saturated.
LATENESS_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# Snapshot fetch and picture check: tens of milliseconds for a sub-stream JPEG.
PICTURE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Buckets:
    """A histogram kept as plain numbers (cumulative only at scrape time)."""

    __slots__ = ("bounds", "counts", "total", "count")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)  # the last slot is +Inf
        self.total = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.total += value
        self.count += 1

    def family(self, name: str, doc: str, labels: Sequence[str] = (), values: Sequence[str] = (),
               into: HistogramMetricFamily | None = None) -> HistogramMetricFamily:
        family = into or HistogramMetricFamily(name, doc, labels=list(labels))
        running, cumulative = 0, []
        for bound, n in zip((*map(_fmt, self.bounds), "+Inf"), self.counts):
            running += n
            cumulative.append((bound, running))
        family.add_metric(list(values), cumulative, self.total)
        return family


def _fmt(bound: float) -> str:
    return repr(float(bound))


class _Collector:
    def __init__(self, collect: Callable[[], Iterable[Metric]]) -> None:
        self._collect = collect

    def collect(self) -> Iterator[Metric]:
        yield from self._collect()


def registry_for(collect: Callable[[], Iterable[Metric]]) -> tuple[CollectorRegistry, Callable[[], bytes]]:
    """A registry of its own with one collector; returns it and the exposition function."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(collect))  # type: ignore[arg-type]
    return registry, lambda: generate_latest(registry)


# --- the monitor ------------------------------------------------------------------------------------


def monitor_metrics(monitor: Monitor) -> Iterator[Metric]:
    stats = monitor.stats
    probes = CounterMetricFamily("camera_ops_monitor_probes", "Probes finished, by kind (liveness: one exchange; "
                                 "full: clock, credentials, stream) and result (ok or the failure reason)",
                                 labels=["kind", "result"])
    for (kind, result), n in sorted(stats.results.items()):
        probes.add_metric([kind, result], n)
    yield probes
    latency = HistogramMetricFamily("camera_ops_monitor_probe_seconds", "Probe duration by kind", labels=["kind"])
    for kind, buckets in sorted(stats.probe_seconds.items()):
        buckets.family("", "", values=[kind], into=latency)
    yield latency
    yield stats.lateness.family("camera_ops_monitor_schedule_lateness_seconds",
                                "How late regular probes started behind their slot")
    yield stats.snapshot_seconds.family("camera_ops_monitor_snapshot_seconds", "Snapshot fetch time")
    yield stats.picture_seconds.family("camera_ops_monitor_picture_check_seconds", "Picture check (decode + judge) time")
    statuses = _statuses(monitor)
    yield GaugeMetricFamily("camera_ops_monitor_cameras_owned", "Cameras this monitor probes", value=sum(statuses.values()))
    status = GaugeMetricFamily("camera_ops_monitor_camera_status", "Cameras this monitor owns, by status",
                               labels=["status"])
    for name, n in sorted(statuses.items()):
        status.add_metric([name], n)
    yield status
    yield GaugeMetricFamily("camera_ops_monitor_members", "Monitors in the group as this one last read it",
                            value=len(monitor.membership.members))
    yield GaugeMetricFamily("camera_ops_monitor_member_fresh", "1 while this monitor's membership is fresh (it probes)",
                            value=1.0 if monitor.membership.fresh() else 0.0)
    skipped = CounterMetricFamily("camera_ops_monitor_slots_skipped", "Regular probe slots not probed, by why",
                                  labels=["why"])
    skipped.add_metric(["busy"], stats.skipped_busy)
    skipped.add_metric(["not_member"], stats.skipped_not_member)
    yield skipped
    yield CounterMetricFamily("camera_ops_monitor_status_changes_written", "Status-history rows written",
                              value=stats.changes_written)
    yield CounterMetricFamily("camera_ops_monitor_fenced_batches",
                              "Batches refused because this monitor had been presumed dead", value=stats.fenced_batches)
    yield CounterMetricFamily("camera_ops_monitor_cameras_taken_over", "Cameras taken (start, join, a death)",
                              value=stats.acquired)


def _statuses(monitor: Monitor) -> dict[str, int]:
    runtimes = list(monitor.cameras.values())  # one C-level copy: safe against the loop thread
    counts: dict[str, int] = {}
    for runtime in runtimes:
        key = runtime.state.status.value
        counts[key] = counts.get(key, 0) + 1
    return counts


# --- the worker -------------------------------------------------------------------------------------


class WorkerCounts:
    """What the worker counts itself (jobs finished by result)."""

    def __init__(self) -> None:
        self.jobs: dict[str, int] = {}
        self.job_seconds = Buckets((0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600))
        self.started = time.monotonic()

    def job_done(self, result: str, seconds: float) -> None:
        self.jobs[result] = self.jobs.get(result, 0) + 1
        self.job_seconds.observe(seconds)


def worker_metrics(engine: Engine, counts: WorkerCounts) -> Iterator[Metric]:
    """The worker's own counts, plus queue depth, ledger length and checkpoint age from the
    database (three small queries per scrape)."""
    from storage.models_evidence import ArchiveJob, CustodyHead

    jobs = CounterMetricFamily("camera_ops_worker_archive_jobs", "Archive jobs this worker finished, by result",
                               labels=["result"])
    for result, n in sorted(counts.jobs.items()):
        jobs.add_metric([result], n)
    yield jobs
    yield counts.job_seconds.family("camera_ops_worker_archive_job_seconds", "Archive job duration")
    queue = GaugeMetricFamily("camera_ops_worker_archive_queue", "Archive jobs by state (all workers)", labels=["state"])
    ledger = None
    try:
        with engine.connect() as conn:
            by_state: dict[Any, int] = dict(conn.execute(  # type: ignore[arg-type]
                select(ArchiveJob.state, func.count()).group_by(ArchiveJob.state)).all())
            ledger = conn.execute(select(func.max(CustodyHead.seq))).scalar()
            custody = custody_anchor_metrics(conn)
    except Exception:  # noqa: BLE001 — the database is away: say so through /readyz, not here
        yield GaugeMetricFamily("camera_ops_worker_database_up", "1 when the last scrape could read the database", value=0)
        return
    for state, n in sorted(by_state.items(), key=lambda kv: str(kv[0])):
        queue.add_metric([getattr(state, "value", str(state))], n)
    yield queue
    yield GaugeMetricFamily("camera_ops_worker_database_up", "1 when the last scrape could read the database", value=1)
    yield CounterMetricFamily("camera_ops_custody_ledger_appends", "Events in the custody ledger (all writers)",
                              value=ledger or 0)
    yield from custody


def custody_anchor_metrics(conn: Connection) -> list[Metric]:
    """The custody checkpoints as every node sees them (the shared ``custody_anchor`` row and the
    newest checkpoint): age, failed attempts (all writers), whether the last attempt failed."""
    from datetime import timezone

    from storage.models_evidence import CustodyAnchor, CustodyCheckpoint
    from storage.types import utcnow

    last = conn.execute(select(func.max(CustodyCheckpoint.at))).scalar()
    anchor = conn.execute(select(CustodyAnchor.failures, CustodyAnchor.last_error)).first()
    age = float("nan")
    if last is not None:
        age = (utcnow() - (last if last.tzinfo else last.replace(tzinfo=timezone.utc))).total_seconds()
    return [
        GaugeMetricFamily("camera_ops_custody_checkpoint_age_seconds",
                          "Age of the last custody checkpoint (NaN: none yet)", value=age),
        CounterMetricFamily("camera_ops_custody_checkpoint_failures",
                            "Custody checkpoint attempts that failed (all writers)", value=anchor.failures if anchor else 0),
        GaugeMetricFamily("camera_ops_custody_checkpoint_failing",
                          "1 while the last custody checkpoint attempt failed (until one succeeds)",
                          value=1.0 if anchor is not None and anchor.last_error else 0.0),
    ]
