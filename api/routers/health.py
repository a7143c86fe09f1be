"""Health: fleet summary, one camera's status / history / uptime / snapshot, maintenance, the
reference picture, problems and the in-app alert list. Scoped by the user's areas."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import Engine

from api.deps import HealthReaderPrincipal, Scope, SessionDep, answer_cache, engine_of, require
from api.schemas_health import (
    AlertOut,
    AreaCountsOut,
    AreaHourlyOut,
    AreaHourOut,
    AssignIn,
    CameraHealthOut,
    CameraProblemOut,
    ChangeOut,
    FleetSummaryOut,
    HistoryOut,
    HourOut,
    Label,
    MaintenanceIn,
    NoteIn,
    PictureOut,
    ProblemOut,
    ReasonOut,
    ReferenceOut,
    UptimeOut,
)
from camera_ops.access import Action
from camera_ops.alerts import problems as problem_service
from camera_ops.errors import NotFound, ValidationFailed
from camera_ops.health.labels import reason_label, status_label
from camera_ops.health.uptime import UptimeReport, aggregate, hourly_rollup
from camera_ops.monitor import summary as health_service
from camera_ops.monitor.history import (
    area_hourly,
    change_rows,
    rolled_up_until,
    uptime_by_camera,
)
from camera_ops.registry.areas import get_area
from camera_ops.registry.cameras import get_camera
from storage.db import session_scope
from storage.models import AreaKind, User
from storage.types import utcnow

router = APIRouter(prefix="/health", tags=["health"])
HealthReader = Annotated[User, Depends(require(Action.read_health))]
ProblemHandler = Annotated[User, Depends(require(Action.handle_problems))]
DEFAULT_WINDOW = timedelta(days=7)
Start = Annotated[datetime | None, Query(description="UTC (ISO 8601 with zone); default: a week before end")]
End = Annotated[datetime | None, Query(description="UTC (ISO 8601 with zone); default: now")]


def _window(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    end = end or utcnow()
    start = start or end - DEFAULT_WINDOW
    for value in (start, end):
        if value.tzinfo is None:
            raise ValidationFailed("give times with a zone (e.g. 2026-11-01T00:00:00Z)", field="start",
                                   key="err.window.no_zone")
    health_service.check_window(start, end)
    return start, end


def _label_status(status: str) -> Label:
    return Label(vi=status_label(status, "vi"), en=status_label(status, "en"))


def _reasons(codes: list[str]) -> list[ReasonOut]:
    return [ReasonOut(code=c, label=Label(vi=reason_label(c, "vi"), en=reason_label(c, "en"))) for c in codes]


def summary_json(engine: Engine, scope: list[str] | None, area_id: int | None) -> bytes:
    """The fleet summary as JSON bytes, in a reading transaction of its own (a worker thread)."""
    with session_scope(engine, write=False) as session:
        s = health_service.fleet_summary(session, scope=scope, area_id=area_id)
    return FleetSummaryOut(
        area_id=s.area_id, total=sum(s.counts.values()), counts=dict(s.counts),
        children=[AreaCountsOut(area_id=c.area_id, code=c.code, name=c.name, kind=c.kind, total=sum(c.counts.values()),
                                counts=dict(c.counts)) for c in s.children],
        problems=[CameraProblemOut(
                      camera_id=p.camera_id, code=p.code, name=p.name, hamlet_id=p.hamlet_id, hamlet=p.hamlet,
                      status=p.status, status_label=_label_status(p.status), reasons=_reasons(p.reasons),
                      since=p.since, duration_s=p.duration_s, problem_id=p.problem_id, problem_state=p.problem_state,
                      assignee_name=p.assignee_name)
                  for p in s.problems],
    ).model_dump_json().encode()


@router.get("/summary", response_model=FleetSummaryOut, summary="Counts per status by area, cameras down longest first",
            description="Answered from a copy per scope at most `CAMERA_OPS_API_READ_CACHE_S` old (default 1 s; "
                        "`duration_s` is as old as the copy); a change made through the API is seen at once.")
async def fleet_summary(request: Request, reader: HealthReaderPrincipal,
                        area_id: Annotated[int | None, Query(description="province, commune or hamlet")] = None
                        ) -> Response:
    cache = answer_cache(request)
    key = ("summary", reader.scope, area_id)
    body = await cache.answer(key, functools.partial(summary_json, engine_of(request), reader.scope_list, area_id))
    return Response(body, media_type="application/json")


@router.get("/cameras/{camera_id}", response_model=CameraHealthOut)
def camera_health(camera_id: int, session: SessionDep, _: HealthReader, scope: Scope) -> CameraHealthOut:
    camera = get_camera(session, camera_id, scope=scope)
    health = health_service.health_row(session, camera.id)
    problem = health_service.open_problem(session, camera.id)
    status = health_service.status_of(camera).value
    return CameraHealthOut(
        camera_id=camera.id, code=camera.code, name=camera.name, lifecycle=camera.lifecycle.value, status=status,
        status_label=_label_status(status), since=camera.status_since, reasons=_reasons(list(camera.status_reasons or ())),
        last_probe_at=health.last_probe_at, last_seen_at=health.last_seen_at, rtt_ms=health.rtt_ms,
        clock_offset_s=health.clock_offset_s, last_error=health.last_error,
        picture=PictureOut(snapshot_at=health.snapshot_at, problems=list(health.picture_problems or ()),
                           metrics=health.picture_metrics, reference_taken_at=health.reference_taken_at,
                           reference_requested_at=health.reference_requested_at),
        has_snapshot=health.thumbnail is not None, problem_id=problem.id if problem else None,
    )


@router.get("/cameras/{camera_id}/history", response_model=HistoryOut, summary="Status changes and hourly chart")
def camera_history(camera_id: int, session: SessionDep, _: HealthReader, scope: Scope,
                   start: Start = None, end: End = None) -> HistoryOut:
    camera = get_camera(session, camera_id, scope=scope)
    start, end = _window(start, end)
    opening, rows = change_rows(session, camera.id, start, end)
    changes = [(r.at, r.status) for r in rows]
    hours = hourly_rollup(changes, start, end, now=utcnow(), before=opening.status if opening else "unknown")

    def out(r) -> ChangeOut:  # type: ignore[no-untyped-def]
        return ChangeOut(at=r.at, status=r.status.value, reasons=[x.value for x in r.reasons])

    return HistoryOut(camera_id=camera.id, start=start, end=end, opening=out(opening) if opening else None,
                      changes=[out(r) for r in rows],
                      hourly=[HourOut(hour=h.hour, seconds={k.value: v for k, v in h.seconds.items()}) for h in hours])


def _uptime_out(start: datetime, end: datetime, reports: list[UptimeReport]) -> UptimeOut:
    fleet = aggregate(reports)
    return UptimeOut(start=start, end=min(end, utcnow()), cameras=fleet.cameras,
                     seconds={k.value: v for k, v in fleet.seconds.items()}, uptime_pct=fleet.uptime_pct,
                     useful_pct=fleet.useful_pct, camera_hours_up=fleet.camera_hours_up)


@router.get("/cameras/{camera_id}/uptime", response_model=UptimeOut, summary="Exact uptime of one camera")
def camera_uptime(camera_id: int, session: SessionDep, _: HealthReader, scope: Scope,
                  start: Start = None, end: End = None) -> UptimeOut:
    camera = get_camera(session, camera_id, scope=scope)
    start, end = _window(start, end)
    return _uptime_out(start, end, list(uptime_by_camera(session, [camera.id], start, end).values()))


@router.get("/uptime", response_model=UptimeOut, summary="Exact uptime of a hamlet, commune, province or model")
def group_uptime(session: SessionDep, _: HealthReader, scope: Scope, area_id: int | None = None,
                 security_model_id: int | None = None, start: Start = None, end: End = None) -> UptimeOut:
    start, end = _window(start, end)
    ids = health_service.cameras_of_group(session, scope=scope, area_id=area_id, security_model_id=security_model_id)
    return _uptime_out(start, end, list(uptime_by_camera(session, ids, start, end).values()))


@router.get("/areas/{area_id}/hourly", response_model=AreaHourlyOut,
            summary="Hourly chart of a hamlet, commune or province (seconds per status, cameras counted)")
def area_hourly_chart(area_id: int, session: SessionDep, _: HealthReader, scope: Scope,
                      start: Start = None, end: End = None) -> AreaHourlyOut:
    start, end = _window(start, end)
    area = get_area(session, area_id, scope=scope)  # 404 outside the user's areas
    hours = area_hourly(session, area, start, end)
    hamlet = area.kind is AreaKind.hamlet
    return AreaHourlyOut(
        area_id=area.id, start=start, end=end, source="changes" if hamlet else "rollups",
        rolled_up_until=None if hamlet else rolled_up_until(session),
        hourly=[AreaHourOut(hour=h.hour, cameras=h.cameras, seconds={k.value: v for k, v in h.seconds.items() if v})
                for h in hours],
    )


@router.get("/cameras/{camera_id}/snapshot", response_class=Response, summary="The last snapshot (small JPEG)",
            responses={200: {"content": {"image/jpeg": {}}}})
def camera_snapshot(camera_id: int, session: SessionDep, _: HealthReader, scope: Scope) -> Response:
    camera = get_camera(session, camera_id, scope=scope)
    health = health_service.health_row(session, camera.id)
    if health.thumbnail is None:
        raise NotFound("no snapshot of this camera yet", field="camera_id", key="err.camera.no_snapshot")
    return Response(health.thumbnail, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=60"})


@router.post("/cameras/{camera_id}/maintenance", response_model=CameraHealthOut, summary="Maintenance on / off")
def camera_maintenance(camera_id: int, body: MaintenanceIn, session: SessionDep, user: ProblemHandler,
                       scope: Scope) -> CameraHealthOut:
    camera = get_camera(session, camera_id, scope=scope)
    health_service.switch_maintenance(session, camera, body.on)
    return camera_health(camera_id, session, user, scope)


@router.post("/cameras/{camera_id}/reference", response_model=ReferenceOut, status_code=202,
             summary="Re-take the reference picture (after a planned move) at the next probe")
def camera_reference(camera_id: int, session: SessionDep, _: ProblemHandler, scope: Scope) -> ReferenceOut:
    camera = get_camera(session, camera_id, scope=scope)
    at = health_service.request_reference(session, camera)
    return ReferenceOut(camera_id=camera.id, requested_at=at,
                        message="the monitor takes the new reference picture at the camera's next probe")


# --- problems and alerts ------------------------------------------------------------------------------


def _problem_out(view: problem_service.ProblemView) -> ProblemOut:
    p = view.problem
    return ProblemOut(
        id=p.id, camera_id=p.camera_id, camera_code=view.camera.code, camera_name=view.camera.name,
        hamlet=view.hamlet.name, status=p.status.value, reasons=list(p.reasons or ()), started_at=p.started_at,
        opened_at=p.opened_at, state=p.state.value, group_alert_id=p.group_alert_id, acknowledged_at=p.acknowledged_at,
        assignee_kind=p.assignee_kind.value if p.assignee_kind else None, assignee_name=p.assignee_name,
        assignee_phone=p.assignee_phone, note=p.note, closed_at=p.closed_at,
        close_reason=p.close_reason.value if p.close_reason else None,
    )


@router.get("/problems", response_model=list[ProblemOut], summary="Problems, open first, longest first")
def list_problems(session: SessionDep, _: HealthReader, scope: Scope, area_id: int | None = None,
                  include_closed: bool = False, limit: Annotated[int, Query(ge=1, le=1000)] = 200,
                  offset: Annotated[int, Query(ge=0)] = 0) -> list[ProblemOut]:
    views = problem_service.list_problems(session, scope=scope, area_id=area_id, include_closed=include_closed,
                                          limit=limit, offset=offset)
    return [_problem_out(v) for v in views]


@router.post("/problems/{problem_id}/acknowledge", response_model=ProblemOut)
def acknowledge_problem(problem_id: int, body: NoteIn, session: SessionDep, user: ProblemHandler,
                        scope: Scope) -> ProblemOut:
    view = problem_service.get_problem(session, problem_id, scope=scope)
    problem_service.acknowledge(session, view, user, body.note)
    return _problem_out(view)


@router.post("/problems/{problem_id}/assign", response_model=ProblemOut)
def assign_problem(problem_id: int, body: AssignIn, session: SessionDep, user: ProblemHandler,
                   scope: Scope) -> ProblemOut:
    view = problem_service.get_problem(session, problem_id, scope=scope)
    problem_service.assign(session, view, user, kind=body.assignee_kind, name=body.assignee_name,
                           phone=body.assignee_phone, note=body.note)
    return _problem_out(view)


@router.post("/problems/{problem_id}/close", response_model=ProblemOut)
def close_problem(problem_id: int, body: NoteIn, session: SessionDep, user: ProblemHandler,
                  scope: Scope) -> ProblemOut:
    view = problem_service.get_problem(session, problem_id, scope=scope)
    problem_service.close(session, view, user, body.note)
    return _problem_out(view)


@router.get("/alerts", response_model=list[AlertOut], summary="The in-app alert list, newest first")
def list_alerts(session: SessionDep, _: HealthReader, scope: Scope,
                limit: Annotated[int, Query(ge=1, le=500)] = 100, offset: Annotated[int, Query(ge=0)] = 0) -> list[AlertOut]:
    return [AlertOut.model_validate(a) for a in problem_service.list_alerts(session, scope=scope, limit=limit,
                                                                            offset=offset)]
