"""The alert job: open problems for cameras down longer than the threshold, close them on recovery.

- A camera offline, degraded or unauthorized for ``alert_after_s`` opens a problem and one alert.
- When most of a hamlet goes offline together (:func:`hamlet_outage`: every camera of it, at least
  two; or at least three and at least half of it, that went offline within ``alert_after_s`` of
  each other), the hamlet gets ONE alert ("3 of 4 cameras offline — likely power or uplink") and
  each camera's problem points at it. A camera of that hamlet going down later while the grouped
  outage is open joins it silently.
- A problem that gets worse (:func:`escalated`: to offline or unauthorized from another status) is
  announced again once the worse status has lasted ``alert_after_s``; getting better without
  recovering (offline -> degraded) updates the problem quietly, so getting worse again is announced.
- A problem closes when its camera is online again (a recovery alert: per camera, or one per
  hamlet for a grouped alert once all its cameras are back), when the camera goes into
  maintenance (silenced: no alert) or is retired.
- A problem a person closed while the camera is still down is not reopened for that same outage.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from camera_ops.alerts import messages
from camera_ops.alerts.messages import CameraFacts
from camera_ops.alerts.outbox import raise_alert
from camera_ops.health.vocabulary import Status, ordered
from camera_ops.settings import Settings
from storage.models import Area, Camera, CameraStatus, Lifecycle, RegistrationState
from storage.models_monitoring import AlertKind, CloseReason, Problem, ProblemState
from storage.types import utcnow

log = logging.getLogger(__name__)

DOWN = (CameraStatus.offline, CameraStatus.degraded, CameraStatus.unauthorized)
# Grouping thresholds. A hamlet has ~4 cameras: "2 of 2" or "4 of 4" dark together is the hamlet's
# power or uplink; so is "3 of 4" (one camera on a battery or another feed). Two of a larger hamlet
# is as likely two separate faults, so partial outages need three cameras and half the hamlet.
GROUP_MIN_WHOLE = 2  # every camera of a hamlet of at least this many: one hamlet alert
GROUP_MIN_PART = 3  # otherwise at least this many cameras ...
GROUP_MIN_SHARE = 0.5  # ... and at least this share of the hamlet's active cameras
# Worse statuses announced again: the camera cannot be used at all any more (offline), or someone
# changed its password (unauthorized). Degraded after one of them is a partial recovery.
ESCALATION_TARGETS = frozenset({CameraStatus.offline, CameraStatus.unauthorized})
# a pending camera never connected is not part of the hamlet's outage (nor of its size)
_NOT_CONNECTED_YET = (Camera.registration == RegistrationState.pending) & (Camera.status == CameraStatus.unknown)


def hamlet_outage(down_together: int, active: int) -> bool:
    """Whether ``down_together`` of a hamlet's ``active`` cameras going offline together is one
    hamlet outage (one alert) rather than separate camera faults."""
    if down_together >= active >= GROUP_MIN_WHOLE:
        return True
    return down_together >= GROUP_MIN_PART and down_together >= GROUP_MIN_SHARE * active


def escalated(announced: CameraStatus, now: CameraStatus) -> bool:
    """Whether an open problem announced as ``announced`` got worse by being ``now``."""
    return now != announced and now in ESCALATION_TARGETS


@dataclass(frozen=True, slots=True)
class _Cam:
    id: int
    area_id: int
    code: str
    name: str
    status: CameraStatus
    since: datetime
    reasons: tuple[str, ...]

    def facts(self) -> CameraFacts:
        return CameraFacts(self.code, self.name, Status(self.status.value), ordered(self.reasons), self.since)

    def as_payload(self) -> dict[str, Any]:
        return {"id": self.id, "code": self.code, "name": self.name, "status": self.status.value,
                "reasons": list(self.reasons), "since": self.since.isoformat()}


_CAM_COLUMNS = (Camera.id, Camera.area_id, Camera.code, Camera.name, Camera.status, Camera.status_since,
                Camera.status_reasons)


def _cam(row: Any) -> _Cam:
    return _Cam(row.id, row.area_id, row.code, row.name, row.status, row.status_since, tuple(row.status_reasons or ()))


class AlertJob:
    name = "alerts"

    def __init__(self, session_maker, settings: Settings, *, interval_s: float | None = None) -> None:  # type: ignore[no-untyped-def]
        self._session_maker = session_maker
        self._settings = settings
        self.interval_s = interval_s or settings.alert_check_s

    def run_once(self, now: datetime | None = None) -> None:
        now = now or utcnow()
        with self._session_maker() as session, session.begin():
            self._close_finished(session, now)
            self._open_new(session, now)

    # --- opening ----------------------------------------------------------------------------------

    def _open_new(self, session: Session, now: datetime) -> None:
        window = timedelta(seconds=self._settings.alert_after_s)
        threshold = now - window
        unclosed = exists().where(Problem.camera_id == Camera.id, Problem.closed_at.is_(None))
        same_outage = exists().where(Problem.camera_id == Camera.id, Problem.started_at == Camera.status_since)
        due = [_cam(r) for r in session.execute(
            select(*_CAM_COLUMNS).where(Camera.lifecycle == Lifecycle.active, Camera.status.in_(DOWN),
                                        Camera.status_since <= threshold, ~unclosed, ~same_outage))]
        by_hamlet: dict[int, list[_Cam]] = defaultdict(list)
        for cam in due:
            by_hamlet[cam.area_id].append(cam)
        for hamlet_id, cams in by_hamlet.items():
            hamlet = session.get(Area, hamlet_id)
            assert hamlet is not None
            grouped = self._group_outage(session, hamlet, cams, window, now)
            for cam in cams:
                if cam.id not in grouped:
                    self._camera_down(session, hamlet, cam, now)

    def _group_outage(self, session: Session, hamlet: Area, due: list[_Cam], window: timedelta,
                      now: datetime) -> set[int]:
        """Ids of the due cameras a hamlet outage covers (a new grouped alert, or one still open)."""
        due_offline = [c for c in due if c.status == CameraStatus.offline]
        if not due_offline:
            return set()
        open_group = session.scalar(select(Problem.group_alert_id).where(
            Problem.area_id == hamlet.id, Problem.closed_at.is_(None), Problem.group_alert_id.is_not(None)).limit(1))
        if open_group is not None:  # the hamlet's outage is already announced: join it
            for cam in due_offline:
                self._open_problem(session, cam, now, group_alert_id=open_group)
            return {c.id for c in due_offline}
        members = [_cam(r) for r in session.execute(
            select(*_CAM_COLUMNS).where(Camera.area_id == hamlet.id, Camera.lifecycle == Lifecycle.active,
                                        ~_NOT_CONNECTED_YET))]
        first = min(c.since for c in due_offline)
        together = [m for m in members if m.status == CameraStatus.offline and abs(m.since - first) <= window]
        if not hamlet_outage(len(together), len(members)):
            return set()
        self._hamlet_down(session, hamlet, together, len(members), now)
        return {c.id for c in due_offline}

    def _camera_down(self, session: Session, hamlet: Area, cam: _Cam, now: datetime) -> None:
        text = messages.camera_down(cam.facts(), hamlet.name, self._settings.timezone)
        raise_alert(session, self._settings, kind=AlertKind.camera_down, area_id=hamlet.id, camera_id=cam.id,
                    text=text, now=now, payload={"area": _area(hamlet), "cameras": [cam.as_payload()]})
        self._open_problem(session, cam, now, group_alert_id=None)

    def _hamlet_down(self, session: Session, hamlet: Area, members: list[_Cam], active: int, now: datetime) -> None:
        text = messages.hamlet_down(hamlet.name, len(members), active)
        alert = raise_alert(session, self._settings, kind=AlertKind.hamlet_down, area_id=hamlet.id, text=text,
                            now=now, payload={"area": _area(hamlet), "cameras": [m.as_payload() for m in members]})
        open_ids = set(session.scalars(select(Problem.camera_id).where(
            Problem.camera_id.in_([m.id for m in members]), Problem.closed_at.is_(None))))
        for cam in members:
            if cam.id in open_ids:
                session.execute(Problem.__table__.update().where(
                    and_(Problem.camera_id == cam.id, Problem.closed_at.is_(None))).values(group_alert_id=alert.id))
            else:
                self._open_problem(session, cam, now, group_alert_id=alert.id)

    @staticmethod
    def _open_problem(session: Session, cam: _Cam, now: datetime, *, group_alert_id: int | None) -> None:
        session.add(Problem(camera_id=cam.id, area_id=cam.area_id, status=cam.status, reasons=list(cam.reasons),
                            started_at=cam.since, opened_at=now, state=ProblemState.open,
                            group_alert_id=group_alert_id))
        session.flush()

    # --- closing ------------------------------------------------------------------------------------

    def _close_finished(self, session: Session, now: datetime) -> None:
        rows = session.execute(
            select(Problem, *_CAM_COLUMNS, Camera.lifecycle).join(Camera, Camera.id == Problem.camera_id)
            .where(Problem.closed_at.is_(None))).all()
        recovered: list[tuple[Problem, _Cam]] = []
        held_since = now - timedelta(seconds=self._settings.alert_after_s)
        for row in rows:
            problem, cam = row[0], _cam(row)
            if row.lifecycle != Lifecycle.active or cam.status == CameraStatus.maintenance:
                reason = CloseReason.retired if row.lifecycle == Lifecycle.retired else CloseReason.maintenance
                _close(problem, now, reason)
            elif cam.status in DOWN:
                self._follow(session, problem, cam, held_since, now)
            elif cam.status == CameraStatus.online:
                _close(problem, cam.since, CloseReason.recovered)
                recovered.append((problem, cam))
        session.flush()
        self._announce_recoveries(session, recovered, now)

    def _follow(self, session: Session, problem: Problem, cam: _Cam, held_since: datetime, now: datetime) -> None:
        """Keep an open problem up to date with its camera; announce it when it got worse.

        ``problem.status`` is the status last announced (or a better one it improved to)."""
        problem.reasons = list(cam.reasons)
        if not escalated(problem.status, cam.status):
            if cam.status == CameraStatus.degraded:
                problem.status = cam.status  # better, not recovered: quietly
            return
        if cam.since > held_since:
            return  # worse for less than alert_after_s: it may be a blip
        hamlet = session.get(Area, problem.area_id)
        assert hamlet is not None
        was = Status(problem.status.value)
        text = messages.camera_worse(cam.facts(), hamlet.name, was, problem.started_at, self._settings.timezone)
        raise_alert(session, self._settings, kind=AlertKind.camera_worse, area_id=hamlet.id, camera_id=cam.id,
                    text=text, now=now, payload={"area": _area(hamlet), "cameras": [cam.as_payload()],
                                                 "problem_id": problem.id, "was": problem.status.value})
        problem.status = cam.status

    def _announce_recoveries(self, session: Session, recovered: list[tuple[Problem, _Cam]], now: datetime) -> None:
        groups: dict[int, list[tuple[Problem, _Cam]]] = defaultdict(list)
        for problem, cam in recovered:
            if problem.group_alert_id is None:
                hamlet = session.get(Area, problem.area_id)
                assert hamlet is not None
                text = messages.camera_recovered(cam.facts(), hamlet.name, cam.since - problem.started_at)
                raise_alert(session, self._settings, kind=AlertKind.camera_recovered, area_id=hamlet.id,
                            camera_id=cam.id, text=text, now=now,
                            payload={"area": _area(hamlet), "cameras": [cam.as_payload()], "problem_id": problem.id})
            else:
                groups[problem.group_alert_id].append((problem, cam))
        for group_id, members in groups.items():
            still_down = session.scalar(select(Problem.id).where(
                Problem.group_alert_id == group_id, Problem.closed_at.is_(None)).limit(1))
            if still_down is not None:
                continue  # the hamlet recovers when its last camera is back
            everyone = session.scalars(select(Problem).where(Problem.group_alert_id == group_id)).all()
            hamlet = session.get(Area, members[0][0].area_id)
            assert hamlet is not None
            started = min(p.started_at for p in everyone)
            back = max(p.closed_at or now for p in everyone)
            text = messages.hamlet_recovered(hamlet.name, len(everyone), back - started)
            raise_alert(session, self._settings, kind=AlertKind.hamlet_recovered, area_id=hamlet.id, text=text,
                        now=now, payload={"area": _area(hamlet), "cameras": [c.as_payload() for _, c in members],
                                          "group_alert_id": group_id})


def _close(problem: Problem, at: datetime, reason: CloseReason) -> None:
    problem.closed_at, problem.close_reason, problem.state = at, reason, ProblemState.closed


def _area(area: Area) -> dict[str, Any]:
    return {"id": area.id, "code": area.code, "name": area.name}
