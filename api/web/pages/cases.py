"""Cases and footage: open a case, request clips (camera picker by hamlet list and on the map, a
window in Vietnam time), live progress, the clip page (hashes, manifest, playback through the
logged streaming endpoint after a purpose is given, evidence package), the custody trail and its
verification.

Every access decision and ledger write is the footage module's (camera_ops.footage / custody):
these handlers only translate forms into its calls.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, selectinload

from api.deps import SessionDep
from api.routers.cases import store_dep
from api.web import forms
from api.web.context import FormPage, Formatter, Page, WebPage
from api.web.pages.map_page import map_points
from camera_ops.access import Action
from camera_ops.custody.anchor import anchor_health
from camera_ops.custody.checkpoint import verify_with_store
from camera_ops.custody.signing import Keyring, current_fingerprint
from camera_ops.custody.ledger import EventType, append, events_for
from camera_ops.errors import CameraOpsError, NotFound, PermissionDenied, ValidationFailed
from camera_ops.footage import cases as case_service
from camera_ops.footage.access import CaseAction, actor_for, log_trail_read, may, require_case
from camera_ops.footage.integrity import cross_check_clip
from camera_ops.footage.requests import Window, create_request, request_status
from camera_ops.footage.viewings import close_idle_viewings
from camera_ops.i18n import parse_local_datetime
from camera_ops.registry import cameras as camera_service
from storage.models_evidence import FINAL_CLIP_STATUSES, Case, Clip, ClipRequest

router = APIRouter()
MAX_PICKER_CAMERAS = 2000  # the hamlet-list picker; a commune has tens, a district thousands


def _engine(page: WebPage) -> Engine:
    return page.request.app.state.engine


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _guard(session: Session, page: WebPage, case: Case, action: CaseAction, **extra: Any) -> None:
    require_case(session, _engine(page), page.user, case, action, client_address=_address(page.request), **extra)


def _may_use_cases(page: WebPage) -> None:
    if not (page.can(Action.request_footage) or page.can(Action.read_ledger)):
        raise PermissionDenied("footage is for investigating officers and auditors", key="err.case.footage_roles")


@router.get("/cases", response_class=HTMLResponse)
def cases(page: Page, session: SessionDep) -> Response:
    _may_use_cases(page)
    return page.render("cases.html", cases=case_service.list_cases(session, page.user),
                       can_open=page.can(Action.request_footage), error=None, values={})


@router.post("/cases", response_class=HTMLResponse)
def open_case(page: FormPage, session: SessionDep) -> Response:
    page.require(Action.request_footage)
    form = page.form
    try:
        with session.begin_nested():
            case = case_service.create_case(
                session, actor_for(page.user, _address(page.request)), page.user,
                number=forms.required(form, "number"), title=forms.required(form, "title"),
                legal_basis=forms.required(form, "legal_basis"), unit=forms.text(form, "unit"),
                legal_hold=forms.checked(form, "legal_hold"))
    except CameraOpsError as exc:
        return page.render("cases.html", status_code=422, cases=case_service.list_cases(session, page.user),
                           can_open=True, error=exc, values={k: v for k, v in form.items() if isinstance(v, str)})
    return RedirectResponse(f"/cases/{case.id}", status_code=303)


def _case_context(session: Session, page: WebPage, case: Case) -> dict[str, Any]:
    requests = list(session.scalars(
        select(ClipRequest).where(ClipRequest.case_id == case.id).options(
            selectinload(ClipRequest.clips).joinedload(Clip.camera)).order_by(ClipRequest.id.desc())))
    can_request = may(page.user, case, CaseAction.request)
    outsiders = {m.id for m in case.members if case_service.from_other_commune(case.officer, m)}
    ctx: dict[str, Any] = {"case": case, "requests": requests, "request_status": request_status, "outsiders": outsiders,
                           "can_request": can_request, "can_trail": may(page.user, case, CaseAction.read_trail),
                           "final": FINAL_CLIP_STATUSES}
    if can_request:
        ctx.update(_picker(session, page))
    ctx["can_manage"] = may(page.user, case, CaseAction.manage)
    if ctx["can_manage"]:
        ctx["candidates"] = case_service.member_candidates(session, case)
    if ctx["can_trail"]:
        ctx["events"] = _read_trail(session, page, case.id)
    return ctx


def _read_trail(session: Session, page: WebPage, case_id: int, clip_id: int | None = None) -> list[Any]:
    """The trail shown on a page; the reading is logged first (fail closed)."""
    log_trail_read(session, _engine(page), page.user, client_address=_address(page.request), case_id=case_id,
                   clip_id=clip_id)
    close_idle_viewings(_engine(page), clip_id=clip_id)  # ended viewings shown with their ranges chained
    return events_for(session, case_id=case_id if clip_id is None else None, clip_id=clip_id)


def _picker(session: Session, page: WebPage) -> dict[str, Any]:
    """Cameras to choose from, grouped by hamlet, and the same cameras as map markers."""
    cameras, _ = camera_service.list_cameras(session, scope=page.scope, filters=camera_service.CameraFilter(),
                                             limit=MAX_PICKER_CAMERAS, with_total=False)
    by_hamlet: dict[str, list[Any]] = defaultdict(list)
    for camera in cameras:
        if camera.lifecycle.value != "retired":
            by_hamlet[camera.area.name].append(camera)
    points, _ = map_points(session, page.scope, Formatter(page.lang, page.settings.timezone))
    return {"by_hamlet": dict(sorted(by_hamlet.items())), "points": points, "tile_url": page.settings.tile_url}


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(case_id: int, page: Page, session: SessionDep) -> Response:
    _may_use_cases(page)
    case = case_service.get_case(session, case_id)
    _guard(session, page, case, CaseAction.read)
    return page.render("case.html", error=None, values={}, **_case_context(session, page, case))


@router.post("/cases/{case_id}/requests", response_class=HTMLResponse)
def request_footage(case_id: int, page: FormPage, session: SessionDep) -> Response:
    case = case_service.get_case(session, case_id)
    form = page.form
    purpose = forms.text(form, "purpose") or ""
    _guard(session, page, case, CaseAction.request, purpose=purpose)
    try:
        camera_ids = [int(v) for v in page.form_lists.get("camera_ids", []) if str(v).isdigit()]
        start, end = forms.required(form, "start"), forms.required(form, "end")
        try:
            window = Window(parse_local_datetime(start, page.settings.timezone),
                            parse_local_datetime(end, page.settings.timezone))
        except ValueError:
            raise ValidationFailed("give the start and end as date and time", field="start",
                                   key="err.window.not_datetime") from None
        with session.begin_nested():
            request = create_request(session, page.settings, actor_for(page.user, _address(page.request)), page.user,
                                     case, camera_ids=camera_ids, window=window, purpose=purpose,
                                     live=forms.checked(form, "live"), scope=page.scope)
    except CameraOpsError as exc:
        values = {k: v for k, v in form.items() if isinstance(v, str)}
        values["camera_ids"] = [str(v) for v in page.form_lists.get("camera_ids", [])]
        return page.render("case.html", status_code=422, error=exc, values=values,
                           **_case_context(session, page, case))
    return RedirectResponse(f"/cases/{case.id}#request-{request.id}", status_code=303)


@router.get("/requests/{request_id}/progress")
def request_progress(request_id: int, page: Page, session: SessionDep) -> JSONResponse:
    """What the case page polls while clips are being fetched."""
    request = session.get(ClipRequest, request_id, options=[selectinload(ClipRequest.clips)])
    if request is None:
        raise NotFound(f"request {request_id} does not exist", field="request_id",
                       key="err.request.missing", params={"id": request_id})
    _guard(session, page, case_service.get_case(session, request.case_id), CaseAction.read)
    f = Formatter(page.lang, page.settings.timezone)
    clips = [{"id": c.id, "status": c.status.value, "label": f.label(c.status, "clip_status"),
              "reason": f.clip_reason(c.status_reason), "done": c.status in FINAL_CLIP_STATUSES} for c in request.clips]
    status = request_status(request.clips)
    return JSONResponse({"id": request.id, "status": status, "label": f.label(status, "clip_status"),
                         "done": all(c["done"] for c in clips), "clips": clips})


@router.get("/clips/{clip_id}", response_class=HTMLResponse)
def clip_page(clip_id: int, page: Page, session: SessionDep) -> Response:
    _may_use_cases(page)
    clip = case_service.get_clip(session, clip_id)
    _guard(session, page, clip.case, CaseAction.read, clip_id=clip.id)
    can_trail = may(page.user, clip.case, CaseAction.read_trail)
    return page.render("clip.html", clip=clip, check=None, can_retrieve=may(page.user, clip.case, CaseAction.retrieve),
                       fingerprint=current_fingerprint(page.settings),
                       can_trail=can_trail, events=_read_trail(session, page, clip.case_id, clip.id) if can_trail else [])


@router.post("/clips/{clip_id}/verify", response_class=HTMLResponse)
def clip_verify(clip_id: int, page: FormPage, session: SessionDep) -> Response:
    """Re-hash the stored object now and log that the check was made (and its result)."""
    clip = case_service.get_clip(session, clip_id)
    _guard(session, page, clip.case, CaseAction.read_trail, clip_id=clip.id)
    check = cross_check_clip(store_dep(page.request, page.settings), clip, events_for(session, clip_id=clip.id))
    append(session, EventType.integrity_checked, actor_for(page.user, _address(page.request)), case_id=clip.case_id,
           clip_id=clip.id, details={"ok": check.ok, "problem": check.problem})
    session.flush()
    return page.render("clip.html", clip=clip, check=check, can_retrieve=may(page.user, clip.case, CaseAction.retrieve),
                       fingerprint=current_fingerprint(page.settings),
                       can_trail=True, events=_read_trail(session, page, clip.case_id, clip.id))


@router.get("/custody", response_class=HTMLResponse)
def custody(page: Page, session: SessionDep) -> Response:
    """The whole ledger's verification (auditors and admins)."""
    if page.user.role.value not in ("auditor", "admin"):
        raise PermissionDenied("the whole ledger is for auditors", key="err.custody.auditors")
    report = verify_with_store(session, store_dep(page.request, page.settings), page.settings)
    keys = Keyring.from_settings(page.settings).public_keys()
    return page.render("custody.html", report=report, health=anchor_health(session, page.settings), keys=keys)
