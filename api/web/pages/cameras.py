"""Camera pages: list, detail, add (ONVIF handshake shown field by field), edit, CSV import."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from api.deps import SessionDep
from api.web import forms, health_view
from api.web.context import FormPage, Page, WebPage
from api.web.handshake_view import describe, describe_rtsp
from camera_ops.error_text import ShownError
from camera_ops.access import Action
from camera_ops.errors import CameraOpsError, ValidationFailed
from camera_ops.registry import cameras as camera_service
from camera_ops.registry import recorders as recorder_service
from camera_ops.registry.areas import list_areas
from camera_ops.registry.camera_import import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, import_cameras_csv, import_template_csv
from camera_ops.registry.csv_input import open_csv_text
from camera_ops.registry.discovered import find_cameras
from camera_ops.registry.playback_clock import AUTO
from camera_ops.registry.donors import list_donors
from camera_ops.registry.dossiers import list_models
from storage.models import (
    AreaKind,
    Camera,
    CameraKind,
    CameraStatus,
    Lifecycle,
    PlaybackClock,
    PlaybackStyle,
    RegistrationState,
    Role,
    Watches,
)
from storage.types import utcnow

router = APIRouter()
PAGE_SIZE = 50
MAX_CHOICES = 1000  # hamlets / donors offered in a select; a commune has tens


def choices(session: Session, page: WebPage) -> dict[str, Any]:
    hamlets, _ = list_areas(session, scope=page.scope, kind=AreaKind.hamlet, limit=MAX_CHOICES)
    donors, _ = list_donors(session, scope=page.scope, limit=MAX_CHOICES)
    models, _ = list_models(session, scope=page.scope, limit=MAX_CHOICES)
    return {"hamlets": hamlets, "donors": [d for d, _ in donors], "models": models, "watches": list(Watches),
            "kinds": [CameraKind.onvif, CameraKind.rtsp], "playback_styles": list(PlaybackStyle),
            "playback_clocks": list(PlaybackClock),
            "field_labels": {"area_id": page.t("common.hamlet")}}  # the camera form's own label


@router.get("/cameras", response_class=HTMLResponse)
def camera_list(
    page: Page, session: SessionDep, q: str | None = None, status: str | None = None,
    area_id: Annotated[int | None, Query()] = None, donor_id: Annotated[int | None, Query()] = None,
    offset: Annotated[int, Query(ge=0)] = 0, registration: str | None = None,
) -> Response:
    chosen = forms.choice({"status": status}, "status", CameraStatus) if status in set(CameraStatus) else None
    pending = RegistrationState.pending if registration == RegistrationState.pending.value else None
    filters = camera_service.CameraFilter(area_id=area_id, donor_id=donor_id, q=q or None, status=chosen,
                                          registration=pending)
    rows, total = camera_service.list_cameras(session, scope=page.scope, filters=filters, limit=PAGE_SIZE,
                                              offset=offset)
    hamlets, _ = list_areas(session, scope=page.scope, kind=AreaKind.hamlet, limit=MAX_CHOICES)
    return page.render("cameras.html", cameras=rows, total=total or 0, offset=offset, limit=PAGE_SIZE, q=q or "",
                       status=status or "", area_id=area_id, hamlets=hamlets, statuses=list(CameraStatus),
                       registration=pending.value if pending else "",
                       can_edit=page.can(Action.edit_cameras))


PREFILL_FIELDS = ("host", "onvif_port", "name", "kind")  # what a discovered device fills in


@router.get("/cameras/new", response_class=HTMLResponse)
def add_form(page: Page, session: SessionDep, request: Request) -> Response:
    page.require(Action.edit_cameras)
    values = {"onvif_port": "80", "watches": "other"}
    values |= {k: v[:255] for k in PREFILL_FIELDS if (v := request.query_params.get(k))}
    return page.render("camera_form.html", mode="add", values=values, **choices(session, page))


@router.get("/cameras/discover", response_class=HTMLResponse)
def discover_form(page: Page) -> Response:
    page.require(Action.edit_cameras)
    return page.render("discover.html", values={"multicast": True}, report=None, error=None)


@router.post("/cameras/discover", response_class=HTMLResponse)
def discover_run(page: FormPage, session: SessionDep) -> Response:
    """WS-Discovery from the server: the address range (unicast) and/or the server's LAN (multicast)."""
    page.require(Action.edit_cameras)
    form = page.form
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        timeout_s = float(str(form.get("timeout_s") or "3"))
    except ValueError:
        timeout_s = -1.0  # refused below with the field named
    try:
        report = find_cameras(session, range_text=str(form.get("range") or ""), multicast=forms.checked(form, "multicast"),
                              timeout_s=timeout_s, scope=page.scope, port=page.settings.discovery_port)
    except ValidationFailed as exc:
        return page.render("discover.html", status_code=422, values=values, report=None, error=exc)
    return page.render("discover.html", values=values, report=report, error=None)


@router.post("/cameras/new", response_class=HTMLResponse)
def add_camera(page: FormPage, session: SessionDep) -> Response:
    page.require(Action.edit_cameras)
    form = page.form
    outcome: camera_service.RegistrationOutcome | None = None
    error: CameraOpsError | None = None
    try:
        data = _camera_input(form)
        outcome = camera_service.register_camera(
            session, page.settings, data, scope=page.scope, pending=forms.checked(form, "pending"),
            save_if_unreachable=forms.checked(form, "save_if_unreachable"), actor=page.actor,
            detailed_errors=page.user.role == Role.admin)
        error = outcome.error
    except CameraOpsError as exc:
        error = exc
    camera = outcome.camera if outcome else None
    if camera is not None and outcome is not None and outcome.handshake and camera.kind is CameraKind.onvif:
        # show the addresses as stored (rewritten to the host and ports entered), not as reported
        outcome.handshake.update({name: getattr(camera, name) for name in
                                  ("main_stream_uri", "sub_stream_uri", "snapshot_uri", "replay_uri")})
    shown = ShownError.of(error, page.lang) if error else None
    if forms.checked(form, "pending") and camera:
        steps = []
    elif form.get("kind") == CameraKind.rtsp.value:
        steps = describe_rtsp(outcome.handshake if outcome else None, shown)
    else:
        steps = describe(
            outcome.handshake if outcome else None, shown, host=str(form.get("host") or ""), port=_port(form),
            username=str(form.get("username") or ""), clock_warning_s=page.settings.clock_warning_s)
    values = {k: v for k, v in form.items() if k != "password" and isinstance(v, str)}
    return page.render("camera_form.html", status_code=201 if camera else 422, mode="add", values=values,
                       error=error, steps=steps, saved=camera, warnings=outcome.warnings if outcome else [],
                       **choices(session, page))


def _port(form: dict[str, Any]) -> int:
    try:
        return forms.integer(form, "onvif_port") or 80
    except ValidationFailed:
        return 80


def _camera_input(form: dict[str, Any]) -> camera_service.CameraInput:
    area_id = forms.integer(form, "area_id")
    if area_id is None:
        raise ValidationFailed("choose the hamlet", field="area_id", key="err.field.choose")
    kind = forms.choice(form, "kind", CameraKind, CameraKind.onvif) or CameraKind.onvif
    rtsp = kind is CameraKind.rtsp
    return camera_service.CameraInput(
        kind=kind, stream_url=forms.text(form, "stream_url") if rtsp else None,
        sub_stream_url=forms.text(form, "sub_stream_url") if rtsp else None,
        snapshot_url=forms.text(form, "snapshot_url") if rtsp else None,
        rtsp_port=forms.integer(form, "rtsp_port"), http_port=forms.integer(form, "http_port"),
        playback_style=_playback_style(form), playback_template=forms.text(form, "playback_template"),
        playback_clock=_playback_clock(form),
        code=forms.required(form, "code"), name=forms.required(form, "name"), area_id=area_id,
        host=(forms.text(form, "host") or "") if rtsp else forms.required(form, "host"),
        username=forms.text(form, "username") or "" if rtsp else forms.required(form, "username"),
        password=str(form.get("password") or ""), onvif_port=forms.integer(form, "onvif_port") or 80,
        donor_id=forms.integer(form, "donor_id"), donated_on=forms.day(form, "donated_on"),
        security_model_id=forms.integer(form, "security_model_id"),
        install_point=forms.text(form, "install_point"), address=forms.text(form, "address"),
        latitude=forms.number(form, "latitude"), longitude=forms.number(form, "longitude"),
        watches=forms.choice(form, "watches", Watches, Watches.other) or Watches.other,
        bearing_deg=forms.number(form, "bearing_deg"), note=forms.text(form, "note"),
    )


def _playback_clock(form: dict[str, Any]) -> PlaybackClock | str:
    """The clock select: "auto" (the default, by the playback style) or a chosen clock."""
    value = form.get("playback_clock")
    if not value or value == AUTO:
        return AUTO
    return forms.choice(form, "playback_clock", PlaybackClock) or AUTO


def _playback_style(form: dict[str, Any]) -> PlaybackStyle | None:
    value = form.get("playback_style")
    return None if not value or value == "auto" else forms.choice(form, "playback_style", PlaybackStyle)


@router.get("/cameras/recorders/new", response_class=HTMLResponse)
def recorder_form(page: Page, session: SessionDep) -> Response:
    page.require(Action.edit_cameras)
    return page.render("recorder_form.html", values={"onvif_port": "80", "kind": "onvif"}, **choices(session, page))


@router.post("/cameras/recorders/new", response_class=HTMLResponse)
def add_recorder(page: FormPage, session: SessionDep) -> Response:
    """A DVR/NVR: one handshake (or one RTSP check per channel), each channel saved as a camera."""
    page.require(Action.edit_cameras)
    form = page.form
    outcome: recorder_service.RecorderOutcome | None = None
    error: CameraOpsError | None = None
    try:
        with session.begin_nested():  # all channels or none
            outcome = recorder_service.register_recorder(
                session, page.settings, _recorder_input(form), scope=page.scope, actor=page.actor,
                detailed_errors=page.user.role == Role.admin)
            error = outcome.error
    except CameraOpsError as exc:
        error = exc
    cameras = outcome.cameras if outcome and error is None else []
    values = {k: v for k, v in form.items() if k != "password" and isinstance(v, str)}
    return page.render("recorder_form.html", status_code=201 if cameras else 422, values=values, error=error,
                       saved=cameras, warnings=outcome.warnings if outcome else [], **choices(session, page))


def _recorder_input(form: dict[str, Any]) -> recorder_service.RecorderInput:
    area_id = forms.integer(form, "area_id")
    if area_id is None:
        raise ValidationFailed("choose the hamlet", field="area_id", key="err.field.choose")
    kind = forms.choice(form, "kind", CameraKind, CameraKind.onvif) or CameraKind.onvif
    channels_text = forms.text(form, "channels")
    channels = None
    if channels_text:
        try:
            channels = [int(part) for part in channels_text.replace(";", ",").split(",") if part.strip()]
        except ValueError:
            raise ValidationFailed(f"channels {channels_text!r}: whole numbers separated by commas",
                                   field="channels", key="err.recorder.channels_once") from None
    return recorder_service.RecorderInput(
        code=forms.required(form, "code"), name=forms.required(form, "name"), area_id=area_id, kind=kind,
        host=forms.text(form, "host") or "", onvif_port=forms.integer(form, "onvif_port") or 80,
        username=forms.text(form, "username") or "", password=str(form.get("password") or ""), channels=channels,
        stream_url_template=forms.text(form, "stream_url_template"),
        sub_stream_url_template=forms.text(form, "sub_stream_url_template"),
        rtsp_port=forms.integer(form, "rtsp_port"), http_port=forms.integer(form, "http_port"),
    )


@router.get("/cameras/import", response_class=HTMLResponse)
def import_form(page: Page) -> Response:
    page.require(Action.edit_cameras)
    return page.render("camera_import.html", required=REQUIRED_COLUMNS, optional=OPTIONAL_COLUMNS, results=None)


@router.get("/cameras/import/template.csv")
def import_template(page: Page) -> Response:
    """The columns to fill, with one example row, as a CSV Excel opens correctly (UTF-8 with BOM)."""
    page.require(Action.edit_cameras)
    return Response(import_template_csv().encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="mau-nhap-camera.csv"'})


@router.post("/cameras/import", response_class=HTMLResponse)
def import_file(page: FormPage, session: SessionDep, file: Annotated[UploadFile, File()]) -> Response:
    page.require(Action.edit_cameras)
    error: CameraOpsError | None = None
    results = []
    try:
        results = import_cameras_csv(session, page.settings, open_csv_text(file.file, file.filename), scope=page.scope,
                                     handshake=forms.checked(page.form, "handshake"), actor=page.actor,
                                     detailed_errors=page.user.role == Role.admin)
    except CameraOpsError as exc:
        error = exc
    summary = {k: sum(1 for r in results if r.outcome == k) for k in ("created", "duplicate", "error")}
    return page.render("camera_import.html", status_code=422 if error else 200, required=REQUIRED_COLUMNS,
                       optional=OPTIONAL_COLUMNS, results=[asdict(r) for r in results], summary=summary, error=error)


@router.get("/cameras/{camera_id}", response_class=HTMLResponse)
def camera_detail(camera_id: int, page: Page, session: SessionDep, days: int = 7) -> Response:
    camera = camera_service.get_camera(session, camera_id, scope=page.scope)
    days = 30 if days == 30 else 7
    timeline = snapshot_at = None
    if health_view.MONITORING:
        timeline = health_view.camera_timeline(session, camera.id, days=days, now=utcnow(),
                                              registered_at=camera.created_at)
        snapshot_at = health_view.snapshot_times(session, [camera.id]).get(camera.id)
    return page.render("camera.html", camera=camera, days=days, timeline=timeline, snapshot_at=snapshot_at,
                       playback=camera_service.playback_notes(camera),
                       monitoring=health_view.MONITORING, can_see_health=page.can(Action.read_health),
                       can_edit=page.can(Action.edit_cameras), can_handle=page.can(Action.handle_problems),
                       can_request=page.can(Action.request_footage), Lifecycle=Lifecycle)


@router.get("/cameras/{camera_id}/edit", response_class=HTMLResponse)
def edit_form(camera_id: int, page: Page, session: SessionDep) -> Response:
    page.require(Action.edit_cameras)
    camera = camera_service.get_camera(session, camera_id, scope=page.scope)
    return page.render("camera_form.html", mode="edit", camera=camera, values=_values(camera),
                       **choices(session, page))


def _values(camera: Camera) -> dict[str, str]:
    names = ("code", "name", "area_id", "host", "onvif_port", "username", "donor_id", "donated_on",
             "security_model_id", "install_point", "address", "latitude", "longitude", "bearing_deg", "note",
             "rtsp_port", "http_port")
    values = {n: "" if getattr(camera, n) is None else str(getattr(camera, n)) for n in names}
    values["watches"] = camera.watches.value
    values["kind"] = camera.kind.value
    values["stream_url"], values["sub_stream_url"] = camera.main_stream_uri or "", camera.sub_stream_uri or ""
    values["snapshot_url"] = camera.snapshot_uri or ""
    values["playback_style"] = camera.playback_style.value if camera.playback_style else "auto"
    values["playback_template"] = (camera.playback_url_template or "") if camera.playback_style else ""
    values["playback_clock"] = AUTO if camera.playback_clock_auto else camera.playback_clock.value
    return values


EDIT_FIELDS = ("name", "install_point", "address", "note", "host", "username")


@router.post("/cameras/{camera_id}/edit", response_class=HTMLResponse)
def edit_camera(camera_id: int, page: FormPage, session: SessionDep) -> Response:
    page.require(Action.edit_cameras)
    camera = camera_service.get_camera(session, camera_id, scope=page.scope)
    form = page.form
    try:
        changes: dict[str, Any] = {name: forms.text(form, name) for name in EDIT_FIELDS}
        changes["name"] = forms.required(form, "name")
        changes["host"] = forms.required(form, "host")
        changes.update(
            onvif_port=forms.integer(form, "onvif_port") or 80, donor_id=forms.integer(form, "donor_id"),
            donated_on=forms.day(form, "donated_on"), security_model_id=forms.integer(form, "security_model_id"),
            latitude=forms.number(form, "latitude"), longitude=forms.number(form, "longitude"),
            bearing_deg=forms.number(form, "bearing_deg"),
            watches=forms.choice(form, "watches", Watches, Watches.other))
        changes.update(rtsp_port=forms.integer(form, "rtsp_port"), http_port=forms.integer(form, "http_port"),
                       playback_style=_playback_style(form),
                       playback_clock=_playback_clock(form))
        if changes["playback_style"] is PlaybackStyle.custom:
            changes["playback_template"] = forms.text(form, "playback_template")
        if camera.kind is CameraKind.rtsp:  # only what the person changed (the rest follows the host)
            for field, attr in (("stream_url", "main_stream_uri"), ("sub_stream_url", "sub_stream_uri"),
                                ("snapshot_url", "snapshot_uri")):
                if (forms.text(form, field) or None) != getattr(camera, attr):
                    changes[attr] = forms.text(form, field)
        if forms.text(form, "password"):
            changes["password"] = str(form["password"])
        with session.begin_nested():
            camera_service.update_camera(session, page.settings, camera, changes, scope=page.scope,
                                         may_redirect_credentials=page.user.role == Role.admin, actor=page.actor)
            area_id = forms.integer(form, "area_id")
            if area_id is not None and area_id != camera.area_id:
                camera_service.move_camera(session, camera, area_id=area_id, scope=page.scope, reason="edited",
                                           actor=page.actor)
    except CameraOpsError as exc:
        session.expire(camera)
        values = {k: v for k, v in form.items() if k != "password" and isinstance(v, str)}
        return page.render("camera_form.html", status_code=422, mode="edit", camera=camera, values=values,
                           error=exc, **choices(session, page))
    return RedirectResponse(f"/cameras/{camera.id}", status_code=303)


@router.post("/cameras/{camera_id}/retire")
def retire(camera_id: int, page: FormPage, session: SessionDep) -> Response:
    page.require(Action.edit_cameras)
    camera = camera_service.get_camera(session, camera_id, scope=page.scope)
    camera_service.set_lifecycle(session, camera, Lifecycle.retired, actor=page.actor)
    return RedirectResponse(f"/cameras/{camera.id}", status_code=303)


@router.post("/cameras/{camera_id}/connect")
def connect_now(camera_id: int, page: FormPage, session: SessionDep) -> Response:
    """"Connect now": run the handshake (or the RTSP check) and complete the record; a failure is kept
    on the camera (``handshake_error``) and shown on its page."""
    page.require(Action.edit_cameras)
    camera = camera_service.get_camera(session, camera_id, scope=page.scope)
    if camera.lifecycle is not Lifecycle.retired:
        camera_service.retry_handshake(session, page.settings, camera)
    return RedirectResponse(f"/cameras/{camera.id}", status_code=303)
