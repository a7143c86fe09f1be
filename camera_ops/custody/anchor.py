"""Anchoring the ledger: verification against every signed checkpoint, and the checkpoint writer
that any long-running process (API, monitor, worker) runs — one at a time, under a lease.

Verification (:func:`verify_anchored`) fails, naming the place, when

* an event's hash differs from the hash a signed checkpoint pinned for it (a rewrite that
  recomputed every later hash: the first rewritten event is named);
* the chain is shorter than a checkpoint says (tail truncation);
* a checkpoint the database lists is missing from the store, or a stored checkpoint's database row
  was deleted, or a checkpoint's signature does not verify with one of our public keys;
* events are older than the unanchored window (3 × the checkpoint interval + a minute: one
  interval, and a takeover when the writer died) and no checkpoint covers them — including "no
  checkpoint at all";
* a viewing record (``clip_viewing``: byte ranges) disagrees with the chained events it names
  (``camera_ops.footage.viewings.viewing_problems``).

The writer (:class:`CheckpointKeeper`) takes the ``custody_anchor`` row's lease (an UPDATE that
succeeds only for the holder or after the lease ran out — PostgreSQL and SQLite alike), writes a
checkpoint when the interval has passed, and records "last checkpoint at / last error" in that row:
the health signal (:func:`anchor_health`). A failed checkpoint is logged at ERROR with "ALERT".
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from contextlib import closing
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from camera_ops.custody import fastverify
from camera_ops.custody.checkpoint import Checkpoint, check_checkpoints, write_checkpoint
from camera_ops.custody.ledger import LedgerReport, head_problem, read_head
from camera_ops.custody.signing import Keyring
from camera_ops.errors import CameraOpsError
from camera_ops.settings import Settings
from storage.clipstore.base import ClipStore, clip_store_for
from storage.db import session_scope
from storage.models_evidence import CustodyAnchor, CustodyEvent
from storage.types import utcnow

log = logging.getLogger(__name__)
ANCHOR_ID = 1
GRACE_S = 60.0  # on top of two intervals: a checkpoint run that is slow, a clock a little off


def unanchored_limit_s(settings: Settings) -> float:
    """Events older than this and not anchored mean the writer stopped: one interval, plus a
    takeover after the lease holder died (a lease lasts one interval + grace), plus slack."""
    return 3 * settings.custody_checkpoint_interval_s + GRACE_S


def lease_s(settings: Settings) -> float:
    return settings.custody_checkpoint_interval_s + GRACE_S


# --- verification -------------------------------------------------------------------------------------


def verify_anchored(session: Session, store: ClipStore, settings: Settings, keyring: Keyring) -> LedgerReport:
    checks = check_checkpoints(session, store, keyring)
    head = read_head(session)  # before the rows: see ledger.verify_ledger
    # The chain links every event to the next, so checking each checkpoint's head is enough to
    # detect a rewrite; the first rewritten event is then found within that checkpoint's range.
    with closing(fastverify.rows(session.connection())) as source:
        result = fastverify.verify_rows(source, anchors=checks.anchors)
    newest = checks.newest_seq
    report = dict(ok=True, checked=result.checked, first_broken_seq=None, reason=None, head_seq=result.head_seq,
                  checkpoint_seq=newest, checkpoints=checks.count)
    if not result.ok:
        reason = result.reason or ""
        if reason.startswith(fastverify.ANCHOR_MISMATCH):
            seq = _first_divergence(session, checks, result.first_broken_seq or 0)
            result = replace(result, first_broken_seq=seq)
            reason = (f"event {seq} differs from the hash its signed checkpoint {_pinning(checks, seq)} holds: "
                      f"the ledger was rewritten from event {seq} on")
        return LedgerReport(**{**report, "ok": False, "first_broken_seq": result.first_broken_seq, "reason": reason})
    last = result.head_seq or 0
    anchored_to = max(checks.anchors, default=0)
    if anchored_to > last:
        first_missing_head = min(seq for seq in checks.pinned_by if seq > last)
        seq = _first_divergence(session, checks, first_missing_head)
        if seq <= last:  # rows deleted and the rest relinked: rewritten before it was cut short
            return LedgerReport(**{**report, "ok": False, "first_broken_seq": seq,
                                   "reason": f"event {seq} differs from the hash its signed checkpoint "
                                             f"{_pinning(checks, seq)} holds: the ledger was rewritten from event "
                                             f"{seq} on"})
        return LedgerReport(**{**report, "ok": False, "first_broken_seq": last + 1,
                               "reason": f"event {last + 1} is missing: the chain was truncated (checkpoint "
                                         f"{_pinning(checks, anchored_to)} anchors events up to {anchored_to})"})
    if checks.problems:
        seq, reason = checks.problems[0]
        more = f" (+{len(checks.problems) - 1} more)" if len(checks.problems) > 1 else ""
        return LedgerReport(**{**report, "ok": False, "first_broken_seq": seq, "reason": reason + more})
    broken = head_problem(session, head, result) if head is not None else None
    if broken is not None:
        return LedgerReport(**{**report, "ok": False, "first_broken_seq": broken[0], "reason": broken[1]})
    return _viewings(session, _unanchored(session, settings, LedgerReport(**report), anchored_to, last))


def _viewings(session: Session, report: LedgerReport) -> LedgerReport:
    """The viewing records (``clip_viewing``) against the chained events holding their ranges: an
    intact chain does not make an edited table right."""
    from camera_ops.footage.viewings import viewing_problems

    if not report.ok:
        return report
    problems = viewing_problems(session)
    if not problems:
        return report
    more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
    return replace(report, ok=False, first_broken_seq=problems[0].seq, reason=problems[0].message + more)


def _first_divergence(session: Session, checks: Any, head_seq: int) -> int:
    """The first event, up to the checkpoint head ``head_seq`` whose hash differs, whose stored hash
    is not the one a signed checkpoint pinned (the head itself when only heads are pinned)."""
    below = [seq for seq in checks.pinned_by if seq < head_seq]
    start = max(below) + 1 if below else 1
    pinned_hashes: dict[int, str] = {}
    for checkpoint in checks.stored.values():
        if (checkpoint.from_seq or checkpoint.seq) <= head_seq and checkpoint.seq >= start:
            pinned_hashes.update(checkpoint.anchors())
    stored = session.execute(select(CustodyEvent.seq, CustodyEvent.hash)
                             .where(CustodyEvent.seq.between(start, head_seq)).order_by(CustodyEvent.seq))
    for seq, digest in stored:
        pinned = pinned_hashes.get(seq)
        if pinned is not None and pinned != digest:
            return int(seq)
    return head_seq


def _pinning(checks: Any, seq: int) -> str:
    keys = [key for pinned, key in sorted(checks.pinned_by.items()) if pinned >= seq]
    return keys[0] if keys else "?"


def _unanchored(session: Session, settings: Settings, report: LedgerReport, anchored_to: int, last: int) -> LedgerReport:
    if last <= anchored_to:
        return report
    count = last - anchored_to
    oldest = session.execute(select(CustodyEvent.at).where(CustodyEvent.seq == anchored_to + 1)).scalar()
    age_s = (utcnow() - oldest).total_seconds() if oldest is not None else 0.0
    what = "no checkpoint at all" if anchored_to == 0 else f"the newest checkpoint anchors event {anchored_to}"
    text = f"{count} event(s) after event {anchored_to} are not anchored yet ({what}; oldest {age_s:.0f} s old)"
    fields = {**asdict(report), "unanchored": count, "warning": text}
    if age_s > unanchored_limit_s(settings):
        fields.update(ok=False, first_broken_seq=anchored_to + 1,
                      reason=text + f": more than {unanchored_limit_s(settings):.0f} s; checkpoints are not being "
                                    "written (or were removed)")
    return LedgerReport(**fields)


# --- the writer -------------------------------------------------------------------------------------


class CheckpointFailed(CameraOpsError):
    code = "checkpoint_failed"
    http_status = 503


@dataclass(frozen=True)
class AnchorHealth:
    ok: bool
    last_at: datetime | None
    last_seq: int | None
    last_error: str | None
    last_error_at: datetime | None
    lease_owner: str | None
    problem: str | None
    failing_since: datetime | None = None  # the first failure of the current episode
    failures: int = 0  # failed attempts, ever
    reason: str | None = None  # the health check's code (``health_check.<reason>``)
    values: dict[str, Any] | None = None  # its placeholders

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k not in ("reason", "values")}


@dataclass(frozen=True)
class EpisodeAlert:
    kind: Any  # storage.models_monitoring.AlertKind
    text: Any  # camera_ops.alerts.messages.Text
    payload: dict[str, Any]


def episode_failed(error: str, since: datetime, settings: Settings) -> EpisodeAlert:
    """The alert that opens a failure episode (sent once, however often the writer retries)."""
    from camera_ops.alerts import messages
    from storage.models_monitoring import AlertKind

    return EpisodeAlert(AlertKind.custody_anchor_failed, messages.custody_anchor_failed(error, since, settings.timezone),
                        {"error": error[:2000], "failing_since": since.isoformat()})


def episode_recovered(seq: int | None, since: datetime, now: datetime) -> EpisodeAlert:
    from camera_ops.alerts import messages
    from storage.models_monitoring import AlertKind

    return EpisodeAlert(AlertKind.custody_anchor_recovered, messages.custody_anchor_recovered(seq, now - since),
                        {"checkpoint_seq": seq, "failing_since": since.isoformat(), "recovered_at": now.isoformat(),
                         "failed_for_s": round((now - since).total_seconds())})


def process_name(kind: str) -> str:
    return f"{kind}:{socket.gethostname()}:{os.getpid()}"


class CheckpointKeeper:
    """Writes checkpoints every ``custody_checkpoint_interval_s`` while it holds the lease."""

    def __init__(self, engine: Engine, settings: Settings, *, store: ClipStore | None = None,
                 owner: str | None = None, keyring: Keyring | None = None) -> None:
        self.engine, self.settings = engine, settings
        self.store = store or clip_store_for(settings)
        self.owner = owner or process_name("process")
        self.keyring = keyring or Keyring.from_settings(settings)
        self._last_run = float("-inf")
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def write_now(self) -> Checkpoint | None:
        """Anchor every event now, lease or not (an evidence package, ``camera-ops custody
        checkpoint``); ``CheckpointFailed`` when it cannot. Two writers at once are harmless: a
        key is written once, overlapping checkpoints pin the same hashes."""
        try:
            self.keyring.private_key()
            self.store.ensure_ready()
            with session_scope(self.engine) as session:
                written = write_checkpoint(session, self.store, self.settings, self.keyring)
        except CameraOpsError as exc:
            self._record_failure(exc.message)
            raise CheckpointFailed(f"custody checkpoint not written: {exc.message}") from exc
        except OSError as exc:  # the key directory
            self._record_failure(f"{type(exc).__name__}: {exc}")
            raise CheckpointFailed(f"custody checkpoint not written: {exc}") from exc
        self._record_success(written)
        return written

    def tick(self, *, now: float | None = None) -> Checkpoint | None:
        """Once per interval, if this process holds (or takes) the lease. Never raises."""
        now = time.monotonic() if now is None else now
        if now - self._last_run < self.settings.custody_checkpoint_interval_s:
            return None
        try:
            if not self._take_lease():
                return None  # another process writes; ask again next poll (it may have died)
            self._last_run = now
            self._close_idle_viewings()
            return self.write_now()
        except CheckpointFailed:
            return None  # logged and recorded by write_now
        except Exception:  # noqa: BLE001 - the database itself is down: log, try next round
            log.exception("ALERT custody checkpoint: could not reach the database")
            return None

    def _close_idle_viewings(self) -> None:
        """Viewings that ended (idle) get their byte ranges chained first, so this checkpoint anchors
        them (``camera_ops.footage.viewings``); a failure leaves them open for the next round."""
        from camera_ops.footage.viewings import close_idle_viewings

        try:
            closed = close_idle_viewings(self.engine)
        except Exception:  # noqa: BLE001 - the checkpoint matters more; the viewings wait a round
            log.exception("idle viewings could not be closed on the custody ledger")
            return
        if closed:
            log.info("%d idle viewing(s) closed; their byte ranges are on the custody ledger", closed)

    def _take_lease(self) -> bool:
        now = utcnow()
        lease = timedelta(seconds=lease_s(self.settings))
        with session_scope(self.engine) as session:
            _ensure_row(session)
            taken = session.execute(
                update(CustodyAnchor)
                .where(CustodyAnchor.id == ANCHOR_ID,
                       or_(CustodyAnchor.lease_owner == self.owner, CustodyAnchor.lease_owner.is_(None),
                           CustodyAnchor.lease_until < now))
                .values(lease_owner=self.owner, lease_until=now + lease)
            )
            return taken.rowcount == 1  # type: ignore[attr-defined, no-any-return]

    def _record_success(self, written: Checkpoint | None) -> None:
        if written is not None:
            log.info("custody checkpoint at event %s", written.seq)
        try:
            with session_scope(self.engine) as session:
                _ensure_row(session)
                values: dict[str, Any] = {"last_at": utcnow(), "last_error": None, "last_error_at": None}
                if written is not None:
                    values["last_seq"] = written.seq
                session.execute(update(CustodyAnchor).where(CustodyAnchor.id == ANCHOR_ID).values(**values))
                self._end_episode(session, written)
        except Exception:  # noqa: BLE001 - the health row is best effort; the log line stands
            log.exception("custody checkpoint state could not be recorded")

    def _record_failure(self, message: str) -> None:
        log.error("ALERT custody checkpoint failed: %s", message)
        try:
            with session_scope(self.engine) as session:
                _ensure_row(session)
                now = utcnow()
                # compare-and-set: of every process failing at once, exactly one starts the episode
                started = session.execute(
                    update(CustodyAnchor).where(CustodyAnchor.id == ANCHOR_ID, CustodyAnchor.failing_since.is_(None))
                    .values(failing_since=now)).rowcount == 1  # type: ignore[attr-defined]
                session.execute(update(CustodyAnchor).where(CustodyAnchor.id == ANCHOR_ID).values(
                    last_error=message[:2000], last_error_at=now, failures=CustodyAnchor.failures + 1))
                if started:
                    self._alert(session, episode_failed(message, now, self.settings))
        except Exception:  # noqa: BLE001 - the health row is best effort; the log line stands
            log.exception("custody checkpoint state could not be recorded")

    def _end_episode(self, session: Session, written: Checkpoint | None) -> None:
        """The first success after failures closes the episode with one recovery alert."""
        since = session.execute(select(CustodyAnchor.failing_since).where(CustodyAnchor.id == ANCHOR_ID)).scalar()
        if since is None:
            return
        ended = session.execute(
            update(CustodyAnchor).where(CustodyAnchor.id == ANCHOR_ID, CustodyAnchor.failing_since == since)
            .values(failing_since=None)).rowcount == 1  # type: ignore[attr-defined]
        if ended:
            seq = written.seq if written is not None else session.execute(
                select(CustodyAnchor.last_seq).where(CustodyAnchor.id == ANCHOR_ID)).scalar()
            self._alert(session, episode_recovered(seq, since, utcnow()))
            log.warning("custody checkpoints are written again (failing since %s)", since.isoformat())

    def _alert(self, session: Session, alert: EpisodeAlert) -> None:
        from camera_ops.alerts.outbox import raise_alert

        raise_alert(session, self.settings, kind=alert.kind, area_id=None, text=alert.text, payload=alert.payload)

    # --- as a background thread (API, monitor) ------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="custody-checkpoints", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _loop(self) -> None:
        poll_s = min(30.0, self.settings.custody_checkpoint_interval_s / 4)
        while not self._stop.is_set():
            self.tick()
            self._stop.wait(poll_s)


def _ensure_row(session: Session) -> None:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(CustodyAnchor.__table__).values(id=ANCHOR_ID).on_conflict_do_nothing())


def stale_after_s(settings: Settings) -> float:
    """Health turns degraded when an event has waited this long for a checkpoint: two intervals
    (one missed run) and some slack — before verification calls the ledger broken (three)."""
    return 2 * settings.custody_checkpoint_interval_s + GRACE_S


def anchor_health(session: Session, settings: Settings, *, now: datetime | None = None) -> AnchorHealth:
    """"Last checkpoint at / last error": not ok after a failed checkpoint (until one succeeds) or
    when an event has waited for a checkpoint longer than :func:`stale_after_s`."""
    now = now or utcnow()
    row = session.get(CustodyAnchor, ANCHOR_ID, populate_existing=True)  # another process writes it
    head = session.execute(select(func.max(CustodyEvent.seq))).scalar() or 0
    last_at, last_seq = (row.last_at, row.last_seq) if row is not None else (None, None)
    problem = reason = None
    values: dict[str, Any] = {}
    if row is not None and row.last_error:
        since = row.failing_since or row.last_error_at
        reason, values = "custody_checkpoint_failed", {"error": row.last_error[:300],
                                                       "since": since.isoformat() if since else "-"}
        problem = f"the last checkpoint failed: {row.last_error}"
    elif head > (last_seq or 0):
        first = session.execute(select(CustodyEvent.at).where(CustodyEvent.seq == (last_seq or 0) + 1)).scalar()
        waited = (now - first).total_seconds() if first is not None else 0.0
        if waited > stale_after_s(settings):
            reason, values = "custody_unanchored", {"seconds": round(waited), "limit": round(stale_after_s(settings))}
            problem = (f"events since event {(last_seq or 0) + 1} are not anchored by a checkpoint "
                       f"({waited:.0f} s, more than {stale_after_s(settings):.0f} s)")
    return AnchorHealth(problem is None, last_at, last_seq, row.last_error if row else None,
                        row.last_error_at if row else None, row.lease_owner if row else None, problem,
                        failing_since=row.failing_since if row else None, failures=row.failures if row else 0,
                        reason=reason, values=values)
