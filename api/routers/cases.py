"""Cases, their members and legal hold, clip requests, and the case's custody trail."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import Engine, select

from api.deps import CurrentUser, Scope, SessionDep, SettingsDep
from api.schemas_evidence import CaseIn, CaseOut, ClipOut, ClipRequestIn, ClipRequestOut, HoldIn, MemberIn
from camera_ops.access import Action, allowed
from camera_ops.custody.ledger import events_for
from camera_ops.custody.trail import trail_csv, trail_html, trail_json
from camera_ops.footage import cases as case_service
from camera_ops.footage.access import CaseAction, actor_for, deny, log_trail_read, require_case
from camera_ops.footage.holds import set_case_hold
from camera_ops.footage.requests import Window, create_request, request_status
from storage.clipstore.base import ClipStore, clip_store_for
from storage.models_evidence import Clip, ClipRequest
from storage.types import utcnow

router = APIRouter(tags=["cases"])


def engine_dep(request: Request) -> Engine:
    return request.app.state.engine


def store_dep(request: Request, settings: SettingsDep) -> ClipStore:
    store = getattr(request.app.state, "clip_store", None)
    if store is None:
        store = request.app.state.clip_store = clip_store_for(settings)
    return store


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


EngineDep = Annotated[Engine, Depends(engine_dep)]
StoreDep = Annotated[ClipStore, Depends(store_dep)]
ClientAddress = Annotated[str | None, Depends(client_address)]
TrailFormat = Literal["json", "csv", "html"]
TrailPurpose = Annotated[str | None, Query(max_length=500, description="why (logged; reading a trail is recorded)")]


def request_out(request: ClipRequest) -> ClipRequestOut:
    return ClipRequestOut(
        id=request.id, case_id=request.case_id, status=request_status(request.clips), purpose=request.purpose,
        start_at=request.start_at, end_at=request.end_at, live=request.live, created_at=request.created_at,
        clips=[ClipOut.model_validate(c) for c in request.clips],
    )


def trail_response(events: list, fmt: TrailFormat, subject: str, filename: str, timezone: str) -> Response:  # type: ignore[type-arg]
    if fmt == "csv":
        return Response(trail_csv(events), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'})
    if fmt == "html":
        return Response(trail_html(events, subject=subject, timezone=timezone, printed=utcnow()),
                        media_type="text/html; charset=utf-8")
    return Response(trail_json(events, subject=subject), media_type="application/json")


@router.post("/cases", response_model=CaseOut, status_code=201)
def create_case(body: CaseIn, user: CurrentUser, session: SessionDep, engine: EngineDep, address: ClientAddress) -> CaseOut:
    if not allowed(user.role, Action.request_footage):
        deny(session, engine, user, "open a case", client_address=address)
    case = case_service.create_case(session, actor_for(user, address), user, number=body.number, title=body.title,
                                    legal_basis=body.legal_basis, unit=body.unit, officer_id=body.officer_id,
                                    member_ids=body.member_ids, legal_hold=body.legal_hold)
    return CaseOut.model_validate(case)


@router.get("/cases", response_model=list[CaseOut])
def list_cases(user: CurrentUser, session: SessionDep) -> list[CaseOut]:
    return [CaseOut.model_validate(c) for c in case_service.list_cases(session, user)]


@router.get("/cases/{case_id}", response_model=CaseOut)
def get_case(case_id: int, user: CurrentUser, session: SessionDep, engine: EngineDep, address: ClientAddress) -> CaseOut:
    case = case_service.get_case(session, case_id)
    require_case(session, engine, user, case, CaseAction.read, client_address=address)
    return CaseOut.model_validate(case)


@router.post("/cases/{case_id}/members", response_model=CaseOut)
def add_member(case_id: int, body: MemberIn, user: CurrentUser, session: SessionDep, engine: EngineDep,
               address: ClientAddress) -> CaseOut:
    case = case_service.get_case(session, case_id)
    require_case(session, engine, user, case, CaseAction.manage, client_address=address)
    return CaseOut.model_validate(case_service.add_member(session, actor_for(user, address), case, body.user_id))


@router.post("/cases/{case_id}/close", response_model=CaseOut)
def close_case(case_id: int, user: CurrentUser, session: SessionDep, engine: EngineDep, address: ClientAddress) -> CaseOut:
    case = case_service.get_case(session, case_id)
    require_case(session, engine, user, case, CaseAction.manage, client_address=address)
    return CaseOut.model_validate(case_service.close_case(session, actor_for(user, address), case))


@router.post("/cases/{case_id}/legal-hold", response_model=CaseOut)
def legal_hold(case_id: int, body: HoldIn, user: CurrentUser, session: SessionDep, engine: EngineDep,
               store: StoreDep, address: ClientAddress) -> CaseOut:
    case = case_service.get_case(session, case_id)
    require_case(session, engine, user, case, CaseAction.manage, client_address=address)
    set_case_hold(session, store, actor_for(user, address), case, body.on, reason=body.reason)
    return CaseOut.model_validate(case)


@router.post("/cases/{case_id}/requests", response_model=ClipRequestOut, status_code=202)
def request_clips(case_id: int, body: ClipRequestIn, user: CurrentUser, scope: Scope, session: SessionDep,
                  settings: SettingsDep, engine: EngineDep, address: ClientAddress) -> ClipRequestOut:
    case = case_service.get_case(session, case_id)
    require_case(session, engine, user, case, CaseAction.request, client_address=address, purpose=body.purpose)
    request = create_request(session, settings, actor_for(user, address), user, case, camera_ids=body.camera_ids,
                             window=Window(body.start, body.end), purpose=body.purpose, live=body.live, scope=scope)
    session.refresh(request, ["clips"])
    return request_out(request)


@router.get("/cases/{case_id}/clips", response_model=list[ClipOut])
def case_clips(case_id: int, user: CurrentUser, session: SessionDep, engine: EngineDep, address: ClientAddress) -> list[ClipOut]:
    case = case_service.get_case(session, case_id)
    require_case(session, engine, user, case, CaseAction.read, client_address=address)
    clips = session.scalars(select(Clip).where(Clip.case_id == case.id).order_by(Clip.id))
    return [ClipOut.model_validate(c) for c in clips]


@router.get("/cases/{case_id}/custody")
def case_trail(case_id: int, user: CurrentUser, session: SessionDep, settings: SettingsDep, engine: EngineDep,
               address: ClientAddress, format: Annotated[TrailFormat, Query()] = "json",
               purpose: TrailPurpose = None) -> Response:
    case = case_service.get_case(session, case_id)
    require_case(session, engine, user, case, CaseAction.read_trail, client_address=address)
    log_trail_read(session, engine, user, client_address=address, case_id=case.id, purpose=purpose, shown_as=format)
    return trail_response(events_for(session, case_id=case.id), format, f"case {case.number} ({case.unit})",
                          f"custody-case-{case.id}", settings.timezone)
