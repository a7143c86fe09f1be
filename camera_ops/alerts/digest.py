"""The daily digest: once per local day, after ``digest_hour_local``, one alert per commune with
its cameras' status, open problems and yesterday's uptime."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from camera_ops.alerts import messages
from camera_ops.alerts.outbox import raise_alert
from camera_ops.health.uptime import aggregate
from camera_ops.health.vocabulary import Status
from camera_ops.monitor.history import uptime_by_camera
from camera_ops.settings import Settings
from storage.models import Area, AreaKind, Camera, Lifecycle
from storage.models_monitoring import Alert, AlertKind, Problem
from storage.types import utcnow


class DigestJob:
    name = "daily-digest"

    def __init__(self, session_maker, settings: Settings, *, interval_s: float = 300.0) -> None:  # type: ignore[no-untyped-def]
        self._session_maker = session_maker
        self._settings = settings
        self.interval_s = interval_s

    def run_once(self, now: datetime | None = None) -> int:
        """Write today's digest for every commune that has none yet; returns how many were written."""
        now = now or utcnow()
        zone = ZoneInfo(self._settings.timezone)
        local_now = now.astimezone(zone)
        if local_now.hour < self._settings.digest_hour_local:
            return 0
        today = local_now.date()
        day_start = datetime(today.year, today.month, today.day, tzinfo=zone)
        written = 0
        with self._session_maker() as session, session.begin():
            done = set(session.scalars(select(Alert.area_id).where(Alert.kind == AlertKind.daily_digest,
                                                                  Alert.digest_date == today)))
            for commune in session.scalars(select(Area).where(Area.kind == AreaKind.commune, Area.valid_to.is_(None))):
                if commune.id not in done and self._digest(session, commune, day_start, now):
                    written += 1
        return written

    def _digest(self, session: Session, commune: Area, day_start: datetime, now: datetime) -> bool:
        cameras = session.execute(
            select(Camera.id, Camera.status, Camera.lifecycle).join(Area, Area.id == Camera.area_id)
            .where(Area.path.like(f"{commune.path}%"), Camera.lifecycle != Lifecycle.retired)).all()
        if not cameras:
            return False
        counts = Counter(Status.MAINTENANCE if c.lifecycle == Lifecycle.maintenance else Status(c.status.value)
                         for c in cameras)
        open_problems = session.scalar(select(func.count(Problem.id)).where(
            Problem.camera_id.in_([c.id for c in cameras]), Problem.closed_at.is_(None))) or 0
        reports = uptime_by_camera(session, [c.id for c in cameras], day_start - timedelta(days=1), day_start, now=now)
        fleet = aggregate(reports.values())
        day = day_start.strftime("%d/%m/%Y")
        text = messages.daily_digest(commune.name, day, counts, open_problems, fleet.uptime_pct)
        raise_alert(session, self._settings, kind=AlertKind.daily_digest, area_id=commune.id, text=text, now=now,
                    digest_date=day_start.date(), payload={
                        "area": {"id": commune.id, "code": commune.code, "name": commune.name},
                        "counts": {s.value: n for s, n in counts.items()}, "open_problems": open_problems,
                        "uptime_yesterday_pct": fleet.uptime_pct})
        return True
