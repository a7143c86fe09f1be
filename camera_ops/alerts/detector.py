"""The alert job: open problems for cameras down longer than the threshold, close them on recovery.

- A camera offline, degraded or unauthorized for ``alert_after_s`` opens a problem and one alert.
- When every active camera of a hamlet (at least two) is offline, the hamlet gets ONE alert
  ("4 of 4 cameras offline — likely power or uplink") and each camera's problem points at it.
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
from storage.models import Area, Camera, CameraStatus, Lifecycle
from storage.models_monitoring import AlertKind, CloseReason, Problem, ProblemState
from storage.types import utcnow

log = logging.getLogger(__name__)

DOWN = (CameraStatus.offline, CameraStatus.degraded, CameraStatus.unauthorized)
MIN_GROUP = 2  # a one-camera hamlet going dark is a camera alert, not a "whole hamlet" alert


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
        threshold = now - timedelta(seconds=self._settings.alert_after_s)
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
            members = [_cam(r) for r in session.execute(
                select(*_CAM_COLUMNS).where(Camera.area_id == hamlet_id, Camera.lifecycle == Lifecycle.active))]
            offline = [m for m in members if m.status == CameraStatus.offline]
            if len(members) >= MIN_GROUP and len(offline) == len(members):
                self._hamlet_down(session, hamlet, members, now)
            else:
                for cam in cams:
                    self._camera_down(session, hamlet, cam, now)

    def _camera_down(self, session: Session, hamlet: Area, cam: _Cam, now: datetime) -> None:
        text = messages.camera_down(cam.facts(), hamlet.name, self._settings.timezone)
        raise_alert(session, self._settings, kind=AlertKind.camera_down, area_id=hamlet.id, camera_id=cam.id,
                    text=text, now=now, payload={"area": _area(hamlet), "cameras": [cam.as_payload()]})
        self._open_problem(session, cam, now, group_alert_id=None)

    def _hamlet_down(self, session: Session, hamlet: Area, members: list[_Cam], now: datetime) -> None:
        text = messages.hamlet_down(hamlet.name, len(members), len(members))
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
        for row in rows:
            problem, cam = row[0], _cam(row)
            if row.lifecycle != Lifecycle.active or cam.status == CameraStatus.maintenance:
                reason = CloseReason.retired if row.lifecycle == Lifecycle.retired else CloseReason.maintenance
                _close(problem, now, reason)
            elif cam.status in DOWN:
                problem.status, problem.reasons = cam.status, list(cam.reasons)
            elif cam.status == CameraStatus.online:
                _close(problem, cam.since, CloseReason.recovered)
                recovered.append((problem, cam))
        session.flush()
        self._announce_recoveries(session, recovered, now)

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
