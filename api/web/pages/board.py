"""Health board: counts per status by commune (a commune opens to its hamlets), problems by duration, maintenance on/off,
snapshot thumbnails."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from api.deps import SessionDep
from api.web import forms, health_view, integrations
from api.web.board_query import STATUS_ORDER, load_board
from api.web.context import FormPage, Page, WebPage
from camera_ops.access import Action
from camera_ops.errors import NotFound
from camera_ops.registry import cameras as camera_service
from storage.models import CameraStatus, Lifecycle, RegistrationState
from storage.types import utcnow

router = APIRouter()
THUMBNAIL_CACHE_S = 60  # thumbnails change at most once per probe cycle


def _local(path: str, default: str) -> str:
    return path if path.startswith("/") and not path.startswith("//") else default


@router.get("/board", response_class=HTMLResponse)
def board(page: Page, session: SessionDep, offset: Annotated[int, Query(ge=0)] = 0,
          communes_offset: Annotated[int, Query(ge=0)] = 0, commune: int | None = None) -> Response:
    page.require(Action.read_health)
    data = load_board(session, scope=page.scope, now=utcnow(), offset=offset, communes_offset=communes_offset,
                      expand=commune)
    ids = [p.camera_id for p in data.problems]
    monitoring = health_view.MONITORING
    return page.render(
        "board.html", board=data, statuses=STATUS_ORDER, monitoring=monitoring, pending=_pending(session, page),
        pending_unknown=_pending(session, page, CameraStatus.unknown),  # shown apart, not "unknown" twice
        snapshots=health_view.snapshot_times(session, ids) if monitoring else {},
        open_problems=health_view.open_problems(session, ids) if monitoring else {},
        problem_actions=integrations.problem_actions() is not None, can_handle=page.can(Action.handle_problems))


def _pending(session: Session, page: WebPage, status: CameraStatus | None = None) -> int:
    """Cameras saved but never connected ("chưa kết nối"): listed apart, never counted as offline."""
    _, total = camera_service.list_cameras(
        session, scope=page.scope, limit=0,
        filters=camera_service.CameraFilter(registration=RegistrationState.pending, status=status))
    return total or 0


@router.post("/cameras/{camera_id}/maintenance")
def maintenance(camera_id: int, page: FormPage, session: SessionDep, on: Annotated[str, Form()],
                back: Annotated[str, Form()] = "/board") -> Response:
    page.require(Action.handle_problems)
    camera = camera_service.get_camera(session, camera_id, scope=page.scope)
    switch = integrations.maintenance_switch()
    if switch is not None:
        switch.switch_maintenance(session, camera, on == "1")
    else:
        camera_service.set_lifecycle(session, camera, Lifecycle.maintenance if on == "1" else Lifecycle.active,
                                      actor=page.actor)
    return RedirectResponse(_local(back, "/board"), status_code=303)


@router.post("/problems/{problem_id}/{action}")
def handle_problem(problem_id: int, action: str, page: FormPage, session: SessionDep) -> Response:
    """Acknowledge, assign (to the hamlet head, the donor, a technician, the police) or close."""
    page.require(Action.handle_problems)
    service = integrations.problem_actions()
    if service is None or action not in ("acknowledge", "assign", "close"):
        raise NotFound("no such problem action", field="action", key="err.problem.action")
    view = service.get_problem(session, problem_id, scope=page.scope)
    note = forms.text(page.form, "note")
    if action == "assign":
        from storage.models_monitoring import AssigneeKind

        service.assign(session, view, page.user, kind=forms.choice(page.form, "kind", AssigneeKind,
                                                                    AssigneeKind.technician),
                       name=forms.text(page.form, "name") or "", phone=forms.text(page.form, "phone"), note=note)
    else:
        getattr(service, action)(session, view, page.user, note)
    return RedirectResponse(_local(forms.text(page.form, "back") or "/board", "/board"), status_code=303)


@router.get("/cameras/{camera_id}/snapshot.jpg")
def snapshot(camera_id: int, page: Page, session: SessionDep) -> Response:
    page.require(Action.read_health)
    camera_service.get_camera(session, camera_id, scope=page.scope)
    found = health_view.thumbnail(session, camera_id) if health_view.MONITORING else None
    if found is None:
        raise NotFound("no snapshot yet", field="camera_id", key="err.camera.no_snapshot")
    return Response(found[0], media_type="image/jpeg",
                    headers={"Cache-Control": f"private, max-age={THUMBNAIL_CACHE_S}"})
