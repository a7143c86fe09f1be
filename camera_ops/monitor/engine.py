"""The probe engine behind ``camera-ops monitor``: one asyncio loop probing every camera each cycle.

- Each camera has a stable phase in the cycle (:mod:`schedule`), so probes spread evenly.
- A semaphore bounds probes in flight; every network call has its own deadline, so a camera that
  hangs holds one slot for at most a few seconds and never delays another camera's probe.
- Results are judged at once (:func:`camera_ops.health.status.decide`) and collected in a batch
  that one database thread writes every ``monitor_flush_s`` in one transaction.
- The camera set is re-read every ``monitor_reload_s``: new cameras join, retired ones leave,
  maintenance switches are applied, reference re-takes are picked up.
- Side jobs (alerts, deliveries, rollups, digest) run in their own thread, each on its interval
  (``camera-ops monitor`` wraps them in leases: one node runs each).
- Several monitors share the fleet (:mod:`membership`): each probes the cameras it owns, checks
  its membership in every write transaction, and reads a camera's state from the database when it
  takes the camera over. Probe slots are counted on the database's clock, so every member puts a
  camera in the same place of the cycle.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol, TypeVar

import httpx
from sqlalchemy import Engine

from camera_ops.errors import CameraError
from camera_ops.health.picture import DEFAULT_THRESHOLDS, PictureState
from camera_ops.health.status import (
    CameraHealthState,
    Decision,
    ProbeOutcome,
    StatusPolicy,
    decide,
    set_maintenance,
)
from camera_ops.health.vocabulary import PICTURE_REASONS, Reason, Status, ordered
from camera_ops.leases import node_name
from camera_ops.metrics import LATENESS_BUCKETS, PICTURE_BUCKETS, PROBE_BUCKETS, Buckets
from camera_ops.monitor.membership import (
    HEARTBEATS_PER_TTL,
    Fenced,
    Member,
    Membership,
    default_ttl_s,
    node_seed,
    owner_at,
    ranked,
)
from camera_ops.monitor.pictures import judge_snapshot
from camera_ops.monitor.probe import (
    Alive,
    fetch_snapshot,
    liveness_probe,
    probe_camera,
    rtsp_link_for,
    snapshot_client,
)
from camera_ops.monitor.schedule import Entry, Kind, Schedule, phase_fraction, slot_index
from camera_ops.monitor.store import (
    Batch,
    CameraMark,
    CameraRow,
    DetailsRecord,
    PasswordCache,
    PictureRecord,
    ProbeTarget,
    StatusChangeRecord,
    load_cameras,
    refresh_rows,
    write_batch,
)
from camera_ops.rtsp.quickprobe import KeepBudget, RtspProbeLink
from camera_ops.settings import Settings
from storage.db import engine_for, session_factory

log = logging.getLogger(__name__)

# Probes due within the batch window start in one wake-up: the probes of a batch share event-loop
# passes (one epoll wait serves many sockets), which cost ~40% of the CPU per probe when every
# probe woke the loop on its own (bench_monitor: 680 → 420 µs at a 0.5 s window). Starting up to
# one window early is not lateness; the window is at most a twentieth of the cycle.
MIN_BATCH_S = 0.02  # event-loop timers have ~1 ms resolution and may fire a little early
BATCH_CYCLE_FRACTION = 1 / 20
LATENCY_SAMPLES = 200_000  # lateness samples kept for percentiles (~1.6 MB)
ONE_MICROSECOND = timedelta(microseconds=1)
STOP_GRACE_CALLS = 3  # on stop, in-flight probes get this many call deadlines to finish
# A camera handed to a joining monitor is probed by nobody for this many call deadlines (plus two
# flushes) before the handover: a probe is at most three calls (SOAP, RTSP, snapshot), so the old
# owner's last result is in the database when the new owner reads the camera's state.
HANDOVER_CALLS = 3
FD_RESERVE = 1024  # descriptors kept for the database, snapshots, logs, the ops server
DETAILS_ONLY_FLUSHES = 10  # a batch of probe details only is written at every 10th flush
T = TypeVar("T")


class Job(Protocol):
    """A side job the monitor runs periodically in a worker thread."""

    name: str
    interval_s: float

    def run_once(self) -> Any: ...


# Reasons a liveness exchange cannot contradict: measured by the picture and clock checks, which
# keep their own schedule. Any other reason needs the full check to be cleared.
_LIVENESS_KEEPS = PICTURE_REASONS | {Reason.CLOCK_DRIFT, Reason.NOT_RECORDING}


def _answering_well(state: CameraHealthState, not_recording: bool = False) -> bool:
    """Fine at the last look, as far as a liveness exchange can tell (and the recording reach,
    set daily on the target, still says what the reasons say)."""
    if (Reason.NOT_RECORDING in state.reasons) != not_recording:
        return False
    if state.status is Status.ONLINE:
        return True
    return state.status is Status.DEGRADED and all(r in _LIVENESS_KEEPS for r in state.reasons)


def keep_budget(concurrency: int) -> KeepBudget:
    """Liveness connections this process may keep open: its open-files limit (raised to the hard
    limit) less the probes in flight and a reserve for everything else."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
    return KeepBudget(max(0, soft - concurrency - FD_RESERVE))


def policy_from(settings: Settings) -> StatusPolicy:
    return StatusPolicy(
        failures_to_offline=settings.offline_after_failures,
        quick_reprobe_s=settings.monitor_quick_reprobe_s,
        clock_drift_max_s=settings.clock_drift_max_s,
        snapshot_interval_s=settings.snapshot_interval_s,
        snapshot_soon_s=settings.snapshot_soon_s,
        snapshot_after_recovery_s=settings.snapshot_after_recovery_s,
    )


@dataclass(slots=True)
class CameraRuntime:
    """What the engine keeps in memory about one camera between probes."""

    target: ProbeTarget
    state: CameraHealthState
    picture: PictureState | None
    next_snapshot_at: float | None = 0.0  # clock() time; 0 = at the first probe that reaches it
    details_due: float = 0.0  # clock() time when probe details are next persisted
    last_row_at: datetime | None = None  # time of the last history row (rows must increase)
    last_seen_at: datetime | None = None
    reference_requested_at: datetime | None = None
    confirm_picture: bool = False  # the last snapshot showed a problem a second snapshot must confirm
    rtsp_link: RtspProbeLink | None = None  # cleaned URL + last digest challenge (no 401 per cycle)
    full_due: float = 0.0  # clock() time of the next full check (0: at the next probe)
    busy: bool = False


@dataclass
class MonitorStats:
    probes: int = 0
    snapshots: int = 0
    skipped_busy: int = 0  # regular slots skipped because the previous probe still ran
    liveness_checks: int = 0  # probes that were one RTSP exchange
    full_checks: int = 0  # probes that read the clock, the credentials and the stream
    skipped_not_member: int = 0  # slots skipped while this monitor's membership was not fresh
    fenced_batches: int = 0  # batches refused because this monitor had been presumed dead
    acquired: int = 0  # cameras taken over (at start, on a join or a death)
    released: int = 0  # cameras handed to another monitor
    flushes: int = 0
    changes_written: int = 0
    completed: Counter[int] = field(default_factory=Counter)  # camera id -> probes finished
    regular_slots: dict[int, list[int]] | None = None  # camera id -> cycle index of each regular probe
    lateness_s: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_SAMPLES))
    # for /metrics (plain numbers: nothing of prometheus_client runs per probe)
    results: Counter[tuple[str, str]] = field(default_factory=Counter)  # (liveness|full, ok|reason) -> probes
    probe_seconds: dict[str, Buckets] = field(default_factory=lambda: {k: Buckets(PROBE_BUCKETS) for k in ("liveness", "full")})
    lateness: Buckets = field(default_factory=lambda: Buckets(LATENESS_BUCKETS))
    snapshot_seconds: Buckets = field(default_factory=lambda: Buckets(PICTURE_BUCKETS))
    picture_seconds: Buckets = field(default_factory=lambda: Buckets(PICTURE_BUCKETS))

    def lateness_percentile(self, pct: float) -> float | None:
        if not self.lateness_s:
            return None
        ordered_samples = sorted(self.lateness_s)
        return ordered_samples[min(len(ordered_samples) - 1, int(len(ordered_samples) * pct / 100))]


class Monitor:
    def __init__(
        self, settings: Settings, *, engine: Engine | None = None, jobs: Sequence[Job] = (),
        record_slots: bool = False, snapshots: bool | None = None, node: str | None = None,
    ) -> None:
        self.settings = settings
        # benchmarks of the network probe alone switch pictures off
        self.snapshots = settings.monitor_pictures if snapshots is None else snapshots
        self.policy = policy_from(settings)
        self.picture_thresholds = replace(DEFAULT_THRESHOLDS, reference_spacing_s=settings.picture_reference_spacing_s)
        self.engine = engine or engine_for(settings.resolved_database_url)
        self.jobs = list(jobs)
        self.stats = MonitorStats(regular_slots={} if record_slots else None)
        self.cameras: dict[int, CameraRuntime] = {}
        self._schedule = Schedule(settings.monitor_cycle_s)
        self._batch = Batch()
        self._passwords = PasswordCache(settings)
        self._write_session = session_factory(self.engine, write=True)
        self._stop = asyncio.Event()
        self.ready = asyncio.Event()  # set once the camera set is loaded and probing starts
        self._inflight: set[asyncio.Task[None]] = set()
        self._flush_lock = asyncio.Lock()
        self.node = node or node_name()
        self._db = ThreadPoolExecutor(1, thread_name_prefix=f"monitor-db {self.node}")
        self._member_db = ThreadPoolExecutor(1, thread_name_prefix=f"monitor-member {self.node}")
        self._job_thread = ThreadPoolExecutor(1, thread_name_prefix=f"monitor-jobs {self.node}")
        self._slots: asyncio.Semaphore | None = None
        self._keep = keep_budget(settings.monitor_concurrency) if settings.monitor_rtsp_keepalive else None
        self._snapshot_auth: dict[int, tuple[tuple[str, str], httpx.DigestAuth]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        ttl = settings.monitor_member_ttl_s or default_ttl_s(settings.monitor_cycle_s)
        self.handover_gap_s = HANDOVER_CALLS * settings.monitor_call_timeout_s + 2 * settings.monitor_flush_s
        self.membership = Membership(self.engine, self.node, ttl_s=ttl, gap_s=self.handover_gap_s)
        self._rows: dict[int, CameraRow] = {}  # every camera not retired, as of the last reload (no states)
        self._marks: dict[int, CameraMark] = {}  # what the last reload saw change (updated_at, switches)
        self._order: dict[int, tuple[Member, ...]] = {}  # camera id -> members by rendezvous weight
        self._ranked_for: tuple[Member, ...] | None = None
        self._settled = False  # the last rebalance saw no handover under way
        self._clock_offset = 0.0  # clock() - loop.time(): the database's time
        self._details_waited = 0  # flushes skipped with only probe details to write
        self.last_tick = time.monotonic()  # the scheduler's last turn (/healthz: the loop is alive)

    # --- lifecycle --------------------------------------------------------------------------------

    async def run(self) -> None:
        """Probe until :meth:`stop`; then finish in-flight probes, write the last batch, close up."""
        self._loop = asyncio.get_running_loop()
        self._slots = asyncio.Semaphore(self.settings.monitor_concurrency)
        self._http = snapshot_client(timeout_s=self.settings.monitor_call_timeout_s,
                                     max_connections=self.settings.monitor_concurrency)
        background: list[asyncio.Task[None]] = []
        joined = False
        try:
            await self._in_member_thread(self.membership.join)
            joined = True
            self._sync_clock()
            # heartbeats go on while the first camera set loads (100,000 cameras take a while)
            background = [asyncio.create_task(self._membership_loop(), name="membership")]
            await self._first_reload()
            self.ready.set()
            background += [asyncio.create_task(c, name=n) for n, c in (
                ("scheduler", self._scheduler()), ("flusher", self._every(self.settings.monitor_flush_s, self._flush_due)),
                ("reloader", self._every(self.settings.monitor_reload_s, self.reload)),
            )]
            background += [asyncio.create_task(self._job_loop(job), name=job.name) for job in self.jobs]
            await self._stop.wait()
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            await self._drain_inflight()
            try:
                await self.flush()
            except Exception:  # noqa: BLE001 — stopping anyway; say what was lost
                log.exception("monitor: the last batch could not be written")
            await self._http.aclose()
            for runtime in self.cameras.values():
                if runtime.rtsp_link is not None:
                    runtime.rtsp_link.close()
            if joined:
                try:
                    await self._in_member_thread(self.membership.leave)
                except Exception:  # noqa: BLE001 — our row expires on its own
                    log.warning("monitor: could not leave the group cleanly; the others take over when it expires")
            self._db.shutdown(wait=True)
            self._member_db.shutdown(wait=True)
            self._job_thread.shutdown(wait=True)

    def stop(self) -> None:
        self._stop.set()

    async def wait_for(self, predicate: Callable[[], bool], *, timeout_s: float, poll_s: float = 0.02) -> None:
        """Tests and benchmarks: wait until ``predicate()`` holds (TimeoutError after ``timeout_s``)."""
        async with asyncio.timeout(timeout_s):
            while not predicate():
                await asyncio.sleep(poll_s)

    async def _drain_inflight(self) -> None:
        if not self._inflight:
            return
        grace = self.settings.monitor_call_timeout_s * STOP_GRACE_CALLS
        _, pending = await asyncio.wait(set(self._inflight), timeout=grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _every(self, interval_s: float, action: Callable[[], Any]) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await action()
            except Exception:  # noqa: BLE001 — the loop must survive a database hiccup
                log.exception("monitor: %s failed; trying again in %.0f s", getattr(action, "__name__", action), interval_s)

    async def _job_loop(self, job: Job) -> None:
        loop = asyncio.get_running_loop()
        while True:
            # first run one interval after start: statuses are known by then (a digest or an alert
            # check at start-up would see every camera "unknown")
            await asyncio.sleep(job.interval_s)
            try:
                await loop.run_in_executor(self._job_thread, job.run_once)
            except Exception:  # noqa: BLE001 — one failing job is logged, the others go on
                log.exception("monitor job %s failed", job.name)

    async def _in_db_thread(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._db, fn, *args)

    async def _in_member_thread(self, fn: Callable[..., T], *args: Any) -> T:
        """Membership has a thread of its own: a long reload or flush never delays a heartbeat."""
        return await asyncio.get_running_loop().run_in_executor(self._member_db, fn, *args)

    async def _first_reload(self) -> None:
        """The first camera set, retried while the database hiccups (a crash here would only be
        restarted by the service manager)."""
        while True:
            try:
                await self.reload()
                return
            except Exception:  # noqa: BLE001
                log.exception("monitor: reading the camera set failed; trying again")
                await asyncio.sleep(min(5.0, self.settings.monitor_reload_s))

    # --- time and ownership ------------------------------------------------------------------------------

    def clock(self) -> float:
        """Now on the database's clock (seconds since the epoch), advanced by the loop's monotonic
        clock: every member places a camera's slot at the same instant; a jump of this node's
        wall clock changes nothing."""
        assert self._loop is not None
        return self._loop.time() + self._clock_offset

    def utc(self) -> datetime:
        """:meth:`clock` as an aware UTC datetime: the time of every row this monitor writes."""
        return datetime.fromtimestamp(self.clock(), timezone.utc)

    def _sync_clock(self) -> None:
        assert self._loop is not None
        self._clock_offset = self.membership.clock_offset_s + (time.monotonic() - self._loop.time())

    def owns(self, camera_id: int, at: float) -> bool:
        order = self._order.get(camera_id)
        return order is not None and owner_at(order, at, self.handover_gap_s) == self.node

    def _rank(self) -> bool:
        """Rank the members for every camera; False when nothing changed since the last time."""
        members = self.membership.members
        if members != self._ranked_for:
            seeded = [(node_seed(m.node), m) for m in members]
            self._order = {camera_id: ranked(camera_id, seeded) for camera_id in self._rows}
            self._ranked_for = members
            return True
        changed = False
        if len(self._order) != len(self._rows) or self._rows.keys() != self._order.keys():
            seeded = [(node_seed(m.node), m) for m in members]
            for camera_id in self._rows.keys() - self._order.keys():
                self._order[camera_id] = ranked(camera_id, seeded)
            for camera_id in self._order.keys() - self._rows.keys():
                del self._order[camera_id]
            changed = True
        return changed

    async def rebalance(self) -> None:
        """Take the cameras this monitor owns now (their state read fresh from the database), hand
        over those another member owns now; cameras in a handover gap stay, unprobed."""
        now = self.clock()
        gap = self.handover_gap_s
        settled = all(m.active_from <= now for m in self.membership.members)
        if not self._rank() and settled and self._settled:
            return  # same members, same cameras, no handover under way: nothing can have moved
        self._settled = False  # until this pass has finished
        owners = {camera_id: owner_at(order, now, gap) for camera_id, order in self._order.items()}
        for camera_id in list(self.cameras):
            owner = owners.get(camera_id)
            if owner is not None and owner != self.node:
                self._release(camera_id)
        wanted = [camera_id for camera_id, owner in owners.items() if owner == self.node and camera_id not in self.cameras]
        if not wanted:
            self._settled = settled
            return
        rows = await self._in_db_thread(self._load_owned, wanted)
        now = self.clock()
        for camera_id, row in rows.items():
            if camera_id in self.cameras or not self.owns(camera_id, now):
                settled = False  # the group changed while we read: look again next time
                continue
            self.cameras[camera_id] = self._new_runtime(row)
            self._schedule.add_camera(camera_id, now)
            self.stats.acquired += 1
            if row.in_maintenance != self.cameras[camera_id].state.in_maintenance:
                self._switch_maintenance(self.cameras[camera_id], row)
        self._settled = settled

    def _release(self, camera_id: int) -> None:
        """Another member owns this camera now: stop probing it (no history row: it lives on)."""
        runtime = self.cameras.pop(camera_id, None)
        if runtime is not None and runtime.rtsp_link is not None:
            runtime.rtsp_link.close()
        self._schedule.remove_camera(camera_id)
        self._snapshot_auth.pop(camera_id, None)
        self.stats.released += 1

    async def _membership_loop(self) -> None:
        heartbeat_s = self.membership.ttl_s / HEARTBEATS_PER_TTL
        while True:
            now = self.clock()
            upcoming = [x for m in self.membership.members for x in (m.active_from - self.handover_gap_s, m.active_from)
                        if x > now]
            wake = min([now + heartbeat_s, *upcoming])
            await asyncio.sleep(max(MIN_BATCH_S, wake - now + MIN_BATCH_S))
            try:
                await self._in_member_thread(self.membership.heartbeat, len(self.cameras))
            except Fenced as exc:
                log.warning("monitor: %s; dropping its cameras and joining again", exc)
                await self._rejoin()
            except Exception:  # noqa: BLE001 — a database hiccup: probing stops when membership runs out
                log.exception("monitor: heartbeat failed; trying again in %.0f s", heartbeat_s)
                continue
            try:
                await self.rebalance()
            except Exception:  # noqa: BLE001
                log.exception("monitor: rebalancing failed; trying again at the next heartbeat")

    async def _rejoin(self) -> None:
        for camera_id in list(self.cameras):
            self._release(camera_id)
        if self._batch:  # results of a fenced member are stale: the new owners probe again
            self.stats.fenced_batches += 1
            log.warning("monitor: a batch of %d status changes from before the fence is dropped",
                        len(self._batch.changes))
        self._batch = Batch()
        self._ranked_for = None
        self._settled = False
        while True:
            try:
                await self._in_member_thread(self.membership.join)
                return
            except Exception:  # noqa: BLE001
                log.exception("monitor: joining again failed; retrying")
                await asyncio.sleep(self.membership.ttl_s / HEARTBEATS_PER_TTL)

    # --- scheduling -----------------------------------------------------------------------------------

    async def _scheduler(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._slots is not None
        batch_s = max(MIN_BATCH_S, min(self.settings.monitor_batch_s, self._schedule.cycle_s * BATCH_CYCLE_FRACTION))
        while True:
            self.last_tick = time.monotonic()
            fresh = self.membership.fresh()
            for entry in self._schedule.pop_due(self.clock() + batch_s):
                runtime = self.cameras.get(entry.camera_id)
                if runtime is None:
                    continue
                if not fresh:  # paused, or the database unreachable: another monitor may own it by now
                    self.stats.skipped_not_member += entry.kind is Kind.REGULAR
                    continue
                if not self.owns(entry.camera_id, entry.due):
                    continue  # being handed over
                if runtime.busy:
                    self.stats.skipped_busy += entry.kind is Kind.REGULAR
                    continue
                await self._slots.acquire()  # saturated: the scheduler waits, lateness shows it
                if entry.kind is Kind.REGULAR:
                    late = max(0.0, self.clock() - entry.due)
                    self.stats.lateness_s.append(late)
                    self.stats.lateness.observe(late)
                runtime.busy = True
                task = asyncio.create_task(self._probe(runtime, entry))
                self._inflight.add(task)
                task.add_done_callback(self._inflight.discard)
            next_due = self._schedule.next_due()
            delay = batch_s if next_due is None else min(batch_s, max(MIN_BATCH_S, next_due - self.clock()))
            await asyncio.sleep(delay)

    async def _probe(self, runtime: CameraRuntime, entry: Entry) -> None:
        camera_id = runtime.target.camera_id
        try:
            runtime.rtsp_link = self._rtsp_link(runtime)
            timeout_s = self.settings.monitor_call_timeout_s
            facts = None
            loop = asyncio.get_running_loop()
            started = loop.time()
            if runtime.rtsp_link is not None and self._liveness_enough(runtime, entry):
                self.stats.liveness_checks += 1
                answer = await liveness_probe(runtime.rtsp_link, timeout_s=timeout_s, wall=self.clock,
                                              keep=self._keep)
                if answer.__class__ is Alive:  # most probes: nothing to decide (see _still_alive)
                    self.stats.probe_seconds["liveness"].observe(loop.time() - started)
                    self.stats.results["liveness", "ok"] += 1
                    if self.cameras.get(camera_id) is runtime:
                        self._still_alive(runtime, answer.at, answer.rtt_ms)  # type: ignore[union-attr]
                    return
                facts = answer  # type: ignore[assignment]
                kind = "liveness"
            if facts is None:  # due, or something is amiss: the full check, now
                self.stats.full_checks += 1
                kind = "full"
                facts = await probe_camera(runtime.target, timeout_s=timeout_s,
                                           clock_offset_s=runtime.state.last_clock_offset_s, rtsp_link=runtime.rtsp_link,
                                           wall=self.clock)
                runtime.full_due = self.clock() + self.settings.monitor_full_check_s
            outcome = facts.outcome
            self.stats.probe_seconds[kind].observe(loop.time() - started)
            self.stats.results[kind, outcome.error.value if outcome.error else "ok"] += 1
            if runtime.target.not_recording:
                outcome = replace(outcome, not_recording=True)
            if self._snapshot_wanted(runtime, outcome):
                outcome = await self._with_picture(runtime, outcome)
            if self.cameras.get(camera_id) is runtime:  # not retired or handed over meanwhile
                self._apply(runtime, decide(runtime.state, outcome, policy=self.policy), outcome.at,
                            outcome=outcome, error=facts.error)
        except Exception:  # noqa: BLE001 — one failing camera is logged and skipped, the loop goes on
            log.exception("camera %s: probe failed unexpectedly", camera_id)
        finally:
            runtime.busy = False
            assert self._slots is not None
            self._slots.release()
            self.stats.probes += 1
            self.stats.completed[camera_id] += 1
            if self.stats.regular_slots is not None and entry.kind is Kind.REGULAR:
                self.stats.regular_slots.setdefault(camera_id, []).append(slot_index(entry.due, self._schedule.cycle_s))

    def _liveness_enough(self, runtime: CameraRuntime, entry: Entry) -> bool:
        """One RTSP exchange suffices for a regular slot of a camera that was fine at its last
        look, whose full check (clock, credentials, stream) and picture are not due."""
        if entry.kind is not Kind.REGULAR or self.settings.monitor_full_check_s <= 0:
            return False
        state = runtime.state
        if state.consecutive_failures or state.in_maintenance or not _answering_well(state, runtime.target.not_recording):
            return False
        now = self.clock()
        if now >= runtime.full_due or runtime.reference_requested_at is not None:
            return False
        due = runtime.next_snapshot_at
        return not (self.snapshots and due is not None and now >= due)

    @staticmethod
    def _rtsp_link(runtime: CameraRuntime) -> RtspProbeLink | None:
        old = runtime.rtsp_link
        try:
            link = rtsp_link_for(runtime.target, old)
        except CameraError:
            link = None  # a malformed URL: the probe itself reports it
        if old is not None and link is not old:
            old.close()  # the camera's address or credentials changed: its kept connection goes
        return link

    # --- pictures ------------------------------------------------------------------------------------

    def _snapshot_wanted(self, runtime: CameraRuntime, outcome: ProbeOutcome) -> bool:
        answering = outcome.tcp_ok and outcome.auth_ok is not False and (outcome.onvif_ok or outcome.rtsp_ok)
        if not answering:
            return False
        if runtime.reference_requested_at is not None:
            return True
        if not self.snapshots:
            return False
        due = runtime.next_snapshot_at
        return due is not None and not runtime.state.in_maintenance and self.clock() >= due

    async def _with_picture(self, runtime: CameraRuntime, outcome: ProbeOutcome) -> ProbeOutcome:
        runtime.next_snapshot_at = None  # the decision arms the next one
        retake = runtime.reference_requested_at is not None
        loop = asyncio.get_running_loop()
        try:
            started = loop.time()
            jpeg = await fetch_snapshot(self._http, runtime.target, timeout_s=self.settings.monitor_call_timeout_s,
                                        auth=self._digest_auth(runtime.target))
            fetched = loop.time()
            self.stats.snapshot_seconds.observe(fetched - started)
            result = await loop.run_in_executor(
                None, lambda: judge_snapshot(jpeg, runtime.picture, retake=retake, at=outcome.at,
                                             thumbnail_width=self.settings.thumbnail_width_px,
                                             thresholds=self.picture_thresholds))
            self.stats.picture_seconds.observe(loop.time() - fetched)
        except CameraError as exc:
            log.info("camera %s: no snapshot (%s)", runtime.target.camera_id, exc.code)
            return replace(outcome, snapshot_failed=True)
        self.stats.snapshots += 1
        runtime.picture = result.state
        runtime.confirm_picture = bool(result.assessment.suspected)
        taken = outcome.at if result.reference_retaken else None
        if result.reference_retaken or result.reference_error:
            runtime.reference_requested_at = None
        self._batch.pictures[runtime.target.camera_id] = PictureRecord(
            camera_id=runtime.target.camera_id, at=outcome.at,
            metrics=result.assessment.metrics.to_dict() | {"suspected": [p.value for p in result.assessment.suspected]},
            problems=[p.value for p in result.assessment.confirmed], picture_state=result.state.to_dict(),
            thumbnail=result.thumbnail, reference_taken_at=taken,
        )
        return replace(outcome, picture=result.assessment.confirmed)

    def _digest_auth(self, target: ProbeTarget) -> httpx.DigestAuth:
        key = (target.username, target.password)
        cached = self._snapshot_auth.get(target.camera_id)
        if cached is None or cached[0] != key:
            cached = (key, httpx.DigestAuth(*key))
            self._snapshot_auth[target.camera_id] = cached
        return cached[1]

    # --- decisions -------------------------------------------------------------------------------------

    def _still_alive(self, runtime: CameraRuntime, at: datetime, rtt_ms: float) -> None:
        """A liveness exchange answered, for a camera that was fine and had no failure pending
        (the only cameras that get one): ``decide`` would keep every field as it is, so skip it
        (it costs ~25 µs; this path is most probes). Only "last seen" and the details move."""
        runtime.last_seen_at = at
        now = self.clock()
        if now >= runtime.details_due:
            runtime.details_due = now + self.settings.monitor_details_every_s
            state = runtime.state
            self._batch.details[runtime.target.camera_id] = DetailsRecord(
                camera_id=runtime.target.camera_id, last_probe_at=at, last_seen_at=at,
                rtt_ms=rtt_ms, clock_offset_s=state.last_clock_offset_s, last_error=None, state=state.to_dict(),
            )

    def _apply(
        self, runtime: CameraRuntime, decision: Decision, at: datetime, *, outcome: ProbeOutcome | None = None,
        error: str | None = None,
    ) -> None:
        now = self.clock()
        state = decision.new_state
        if decision.changed:
            if runtime.last_row_at is not None and at <= runtime.last_row_at:
                at = runtime.last_row_at + ONE_MICROSECOND  # history rows of a camera strictly increase
            if decision.status_changed:
                state = replace(state, since=at)
            runtime.last_row_at = at
            since = state.since or at
            self._batch.changes.append(StatusChangeRecord(runtime.target.camera_id, at, state.status, state.reasons,
                                                          since))
        runtime.state = state
        if decision.next_snapshot_in_s is None:
            runtime.next_snapshot_at = None
        else:
            due = now + decision.next_snapshot_in_s
            if runtime.confirm_picture:
                due = min(due, now + self.settings.picture_confirm_s)
            runtime.next_snapshot_at = due if runtime.next_snapshot_at is None else min(runtime.next_snapshot_at, due)
        if decision.reprobe_after_s is not None:
            self._schedule.reprobe(runtime.target.camera_id, now + decision.reprobe_after_s)
        if outcome is not None and (outcome.onvif_ok or outcome.rtsp_ok):
            runtime.last_seen_at = outcome.at
        if decision.changed or now >= runtime.details_due:
            runtime.details_due = now + self.settings.monitor_details_every_s
            self._batch.details[runtime.target.camera_id] = DetailsRecord(
                camera_id=runtime.target.camera_id, last_probe_at=outcome.at if outcome else at,
                last_seen_at=runtime.last_seen_at, rtt_ms=outcome.rtt_ms if outcome else None,
                clock_offset_s=state.last_clock_offset_s,
                last_error=error, state=state.to_dict(),
            )

    # --- the camera set ---------------------------------------------------------------------------------

    def _load(self, known: dict[int, CameraRow], marks: dict[int, CameraMark]) -> tuple[dict[int, CameraRow], dict[int, CameraMark]]:
        with self._write_session() as session, session.begin():
            return refresh_rows(session, self._passwords, known, marks)

    def _load_owned(self, camera_ids: list[int]) -> dict[int, CameraRow]:
        """Cameras taken over: status and saved states as the database has them now."""
        with self._write_session() as session, session.begin():
            return load_cameras(session, self._passwords, only=camera_ids)

    async def reload(self) -> None:
        """Re-read the camera set: new cameras are divided, retired ones end, maintenance switches
        and reference re-takes of owned cameras apply."""
        rows, self._marks = await self._in_db_thread(self._load, self._rows, self._marks)
        self._rows = rows
        for camera_id, runtime in list(self.cameras.items()):
            row = rows.get(camera_id)
            if row is None:
                self._forget(camera_id)
                continue
            runtime.target = row.target
            runtime.reference_requested_at = row.reference_requested_at
            if row.in_maintenance != runtime.state.in_maintenance:
                self._switch_maintenance(runtime, row)
        await self.rebalance()

    def _new_runtime(self, row: CameraRow) -> CameraRuntime:
        state = CameraHealthState.from_dict(row.state) if row.state else CameraHealthState()
        state = replace(state, status=row.status, since=row.status_since, reasons=ordered(row.reasons))
        picture = PictureState.from_dict(row.picture_state) if row.picture_state else None
        # a camera never pictured gets a snapshot at its first probe (baseline, reference); after a
        # restart, known cameras spread their next snapshot over the interval (no burst)
        first_snapshot = 0.0
        if picture is not None:
            spread = phase_fraction(row.target.camera_id) * self.settings.snapshot_interval_s
            first_snapshot = self.clock() + spread
        # likewise full checks: a camera known to be fine gets its first one somewhere in the interval
        full_due = 0.0
        if _answering_well(state, row.target.not_recording) and not state.consecutive_failures:
            full_due = self.clock() + phase_fraction(row.target.camera_id) * self.settings.monitor_full_check_s
        return CameraRuntime(target=row.target, state=state, picture=picture, last_row_at=row.status_since,
                             next_snapshot_at=first_snapshot, full_due=full_due)

    def _switch_maintenance(self, runtime: CameraRuntime, row: CameraRow) -> None:
        now = self.utc()
        asked = row.maintenance_requested_at  # set by the health API; other switches date "now"
        last = runtime.last_row_at
        fresh = asked is not None and asked <= now and (last is None or asked > last)
        at = asked if fresh and asked is not None else now
        self._apply(runtime, set_maintenance(runtime.state, row.in_maintenance, at, policy=self.policy), at)

    def _forget(self, camera_id: int) -> None:
        """A retired (or vanished) camera: stop probing; its history ends in ``unknown`` (no uptime)."""
        runtime = self.cameras.pop(camera_id)
        if runtime.rtsp_link is not None:
            runtime.rtsp_link.close()
        self._schedule.remove_camera(camera_id)
        if runtime.state.status is not Status.UNKNOWN:
            at = self.utc()
            if runtime.last_row_at is not None and at <= runtime.last_row_at:
                at = runtime.last_row_at + ONE_MICROSECOND
            self._batch.changes.append(StatusChangeRecord(camera_id, at, Status.UNKNOWN, (), at))

    # --- writing ------------------------------------------------------------------------------------------

    def _write(self, batch: Batch, epoch: int | None) -> None:
        with self._write_session() as session, session.begin():
            # our row, in the epoch the batch was gathered in: else another monitor owns our cameras
            # (a rejoin may have given us a new epoch by now; that must not launder a stale batch)
            self.membership.fence(session, epoch)
            write_batch(session, batch)

    async def _flush_due(self) -> None:
        """Status changes and pictures go out every flush; probe details alone (last seen, RTT)
        wait up to ``DETAILS_ONLY_FLUSHES`` flushes: a transaction per second for nothing but
        details cost ~20 µs per probe at 10,000 cameras (bench_monitor)."""
        batch = self._batch
        if batch.changes or batch.pictures or self._details_waited >= DETAILS_ONLY_FLUSHES:
            self._details_waited = 0
            await self.flush()
        elif batch.details:
            self._details_waited += 1

    async def flush(self) -> None:
        """Write everything collected so far in one transaction (kept for the next try on failure)."""
        async with self._flush_lock:
            batch, self._batch = self._batch, Batch()
            if not batch:
                return
            epoch = self.membership.epoch  # _rejoin drops the batch before it takes a new epoch
            try:
                await self._in_db_thread(self._write, batch, epoch)
            except Fenced as exc:
                self.membership.valid_until = 0.0  # probe nothing more until we have joined again
                self.stats.fenced_batches += 1
                log.warning("monitor: %s; its batch of %d status changes is dropped", exc, len(batch.changes))
                return
            except Exception:
                self._batch = batch.merge_back(self._batch)
                raise
            self.stats.flushes += 1
            self.stats.changes_written += len(batch.changes)
