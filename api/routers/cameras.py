from __future__ import annotations

import functools
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, UploadFile
from pydantic_core import to_json
from sqlalchemy import Engine

from api.deps import (
    ActorDep,
    CameraEditor,
    Reader,
    RegistryReader,
    Scope,
    SessionDep,
    SettingsDep,
    answer_cache,
    engine_of,
)
from api.routers.areas import to_import_out
from api.schemas import (
    CameraDetailOut,
    CameraIn,
    CameraMoveIn,
    CameraOut,
    CameraPatch,
    DiscoveredOut,
    DiscoverIn,
    DiscoverOut,
    HandshakeIn,
    ImportOut,
    LifecycleIn,
    Page,
    ProblemOut,
    RecorderIn,
    RecorderOut,
    RegistrationOut,
    RejectedReplyOut,
)
from camera_ops.registry import cameras as camera_service
from camera_ops.registry import recorders as recorder_service
from camera_ops.registry.camera_import import import_cameras_csv
from camera_ops.registry.csv_input import open_csv_text
from camera_ops.registry.discovered import find_cameras, rejected_message
from storage.db import session_scope
from storage.models import CameraStatus, Lifecycle, RegistrationState, Role

router = APIRouter(prefix="/cameras", tags=["cameras"])
CAMERA_OUT_FIELDS = tuple(CameraOut.model_fields)  # camera columns, and ``area``


def camera_page_json(engine: Engine, scope: list[str] | None, filters: camera_service.CameraFilter,
                     limit: int, offset: int) -> bytes:
    """One page of the list as JSON bytes, in a reading transaction of its own (a worker thread).
    The rows come as ``CameraOut`` serializes (fields in order, enumerations as values, the
    database's own typed columns): written out directly, not validated again (checked byte for byte
    against the model in tests/integration/test_api_hot_paths.py)."""
    with session_scope(engine, write=False) as session:
        rows, total = camera_service.camera_rows(session, scope=scope, filters=filters, columns=CAMERA_OUT_FIELDS,
                                                 limit=limit, offset=offset)
    return to_json({"items": rows, "total": total, "limit": limit, "offset": offset})


@router.get("", response_model=Page[CameraOut], summary="List cameras with filters",
            description="Answered from a copy per scope and query at most `CAMERA_OPS_API_READ_CACHE_S` old "
                        "(default 1 s: a status the monitor just wrote may show a second late); a change made "
                        "through the API is seen at once.")
async def list_cameras(
    request: Request, reader: RegistryReader,
    area_id: Annotated[int | None, Query(description="a province, commune or hamlet: its whole subtree")] = None,
    status: CameraStatus | None = None, donor_id: int | None = None, security_model_id: int | None = None,
    lifecycle: Lifecycle | None = None, registration: RegistrationState | None = None,
    q: Annotated[str | None, Query(description="code, name, address, serial, MAC or host contains")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100, offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """The hot path of the API (bench/bench_api_load.py): the login from ``Principal`` (no database
    read when remembered); the page from a copy at most ``api_read_cache_s`` old for the same scope and
    query (``api.freshness``), else one trip to a worker thread, JSON written straight from the rows
    (``response_model`` documents the shape; FastAPI does not validate it again)."""
    filters = camera_service.CameraFilter(area_id=area_id, status=status, donor_id=donor_id,
                                          security_model_id=security_model_id, lifecycle=lifecycle,
                                          registration=registration, q=q)
    cache = answer_cache(request)
    key = ("cameras", reader.scope, area_id, status, donor_id, security_model_id, lifecycle, registration, q,
           limit, offset)
    make = functools.partial(camera_page_json, engine_of(request), reader.scope_list, filters, limit, offset)
    body = await cache.answer(key, make)
    return Response(body, media_type="application/json")


@router.get("/{camera_id}", response_model=CameraDetailOut)
def get_camera(camera_id: int, session: SessionDep, _: Reader, scope: Scope) -> CameraDetailOut:
    return CameraDetailOut.model_validate(camera_service.get_camera(session, camera_id, scope=scope))


def _registration_out(outcome: camera_service.RegistrationOutcome) -> RegistrationOut:
    error = outcome.error
    return RegistrationOut(
        saved=outcome.camera is not None,
        camera=CameraDetailOut.model_validate(outcome.camera) if outcome.camera is not None else None,
        handshake=outcome.handshake,
        error=ProblemOut(code=error.code, field=error.field, message=error.message) if error else None,
        warnings=outcome.warnings,
    )


@router.post("", response_model=RegistrationOut, status_code=201,
             summary="Register a camera through the ONVIF handshake",
             responses={422: {"description": "handshake failed; `error.field` says what to fix"}})
def register_camera(body: CameraIn, session: SessionDep, settings: SettingsDep, user: CameraEditor,
                    scope: Scope, actor: ActorDep) -> RegistrationOut:
    data = camera_service.CameraInput(**body.model_dump(exclude={"pending", "save_if_unreachable"}))
    outcome = camera_service.register_camera(session, settings, data, scope=scope, pending=body.pending,
                                             save_if_unreachable=body.save_if_unreachable, actor=actor,
                                             detailed_errors=user.role == Role.admin)
    if outcome.camera is None and outcome.error is not None:
        raise outcome.error
    return _registration_out(outcome)


@router.post("/recorders", response_model=RecorderOut, status_code=201,
             summary="Register a DVR/NVR: one handshake, each channel a camera",
             responses={422: {"description": "a channel the recorder lacks, or bad input; `error.field` says which"}})
def register_recorder(body: RecorderIn, session: SessionDep, settings: SettingsDep, user: CameraEditor,
                      scope: Scope, actor: ActorDep) -> RecorderOut:
    outcome = recorder_service.register_recorder(session, settings, recorder_service.RecorderInput(**body.model_dump()),
                                                 scope=scope, actor=actor, detailed_errors=user.role == Role.admin)
    if outcome.error is not None:
        raise outcome.error
    return RecorderOut(saved=True, cameras=[CameraDetailOut.model_validate(c) for c in outcome.cameras],
                       handshake=outcome.handshake, warnings=outcome.warnings)


@router.post("/discover", response_model=DiscoverOut, summary="Find ONVIF devices with WS-Discovery")
def discover_cameras(body: DiscoverIn, session: SessionDep, settings: SettingsDep, _: CameraEditor,
                     scope: Scope) -> DiscoverOut:
    """Multicast probe on the server's LAN and/or unicast probes to an address range; each device says
    whether it is registered already (MAC, serial, endpoint) and what pre-fills the registration form."""
    report = find_cameras(session, range_text=body.range, multicast=body.multicast, timeout_s=body.timeout_s,
                          scope=scope, port=settings.discovery_port)
    devices = [DiscoveredOut(address=r.device.address, onvif_port=r.device.onvif_port, endpoint=r.device.endpoint,
                             xaddrs=list(r.device.xaddrs), name=r.device.name, hardware=r.device.hardware,
                             mac=r.device.mac, warnings=list(r.device.warnings),
                             registered=r.to_dict()["registered"], prefill=r.prefill) for r in report.rows]
    rejected = [RejectedReplyOut(source=x.source, code=x.code, message=rejected_message(x, "vi"))
                for x in report.rejected]
    return DiscoverOut(probed=report.probed, devices=devices, rejected=rejected)


@router.post("/{camera_id}/handshake", response_model=RegistrationOut, summary="Retry the ONVIF handshake",
             description="With `password` (typed again), a camera that accepts only plain-text WS-Security "
                         "passwords may be handshaken; without it, only if it was registered needing one.")
def retry_handshake(camera_id: int, session: SessionDep, settings: SettingsDep, user: CameraEditor,
                    scope: Scope, actor: ActorDep, body: HandshakeIn | None = None) -> RegistrationOut:
    camera = camera_service.get_camera(session, camera_id, scope=scope)
    return _registration_out(camera_service.retry_handshake(
        session, settings, camera, password=body.password if body else None, actor=actor,
        detailed_errors=user.role == Role.admin))


@router.patch("/{camera_id}", response_model=CameraDetailOut,
              description="Changing the host, a port or a stream/snapshot address needs `password` "
                          "(the camera's, typed again) unless you are an administrator.")
def update_camera(camera_id: int, body: CameraPatch, session: SessionDep, settings: SettingsDep, user: CameraEditor,
                  scope: Scope, actor: ActorDep) -> CameraDetailOut:
    camera = camera_service.get_camera(session, camera_id, scope=scope)
    changes = body.model_dump(exclude_unset=True)
    return CameraDetailOut.model_validate(camera_service.update_camera(
        session, settings, camera, changes, scope=scope, may_redirect_credentials=user.role == Role.admin,
        actor=actor))


@router.post("/{camera_id}/move", response_model=CameraDetailOut, summary="Move a camera to another hamlet")
def move_camera(camera_id: int, body: CameraMoveIn, session: SessionDep, _: CameraEditor,
                scope: Scope, actor: ActorDep) -> CameraDetailOut:
    camera = camera_service.get_camera(session, camera_id, scope=scope)
    return CameraDetailOut.model_validate(
        camera_service.move_camera(session, camera, area_id=body.area_id, scope=scope, reason=body.reason,
                                   actor=actor))


@router.post("/{camera_id}/lifecycle", response_model=CameraDetailOut, summary="active / maintenance / retired")
def set_lifecycle(camera_id: int, body: LifecycleIn, session: SessionDep, _: CameraEditor,
                  scope: Scope, actor: ActorDep) -> CameraDetailOut:
    camera = camera_service.get_camera(session, camera_id, scope=scope)
    return CameraDetailOut.model_validate(camera_service.set_lifecycle(session, camera, body.lifecycle, actor=actor))


@router.post("/import", response_model=ImportOut, summary="Import cameras from CSV (pending, or with handshake)")
def import_cameras(file: UploadFile, session: SessionDep, settings: SettingsDep, user: CameraEditor, scope: Scope,
                   actor: ActorDep, handshake: bool = False) -> ImportOut:
    # A plain def: FastAPI runs it in a worker thread. Rows stream from the spooled upload, the event
    # loop keeps serving other requests, and a handshake can run its own event loop (asyncio.run).
    rows = open_csv_text(file.file)
    return to_import_out(import_cameras_csv(session, settings, rows, scope=scope, handshake=handshake, actor=actor,
                                            detailed_errors=user.role == Role.admin))
