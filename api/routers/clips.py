"""Clip requests and clips: status, retrieval (HTTP range streaming, download, a short-lived link served
through us, evidence package), integrity re-check and the clip's custody trail.

Every retrieval is appended to the custody ledger and committed *before* the first byte is read;
if that write fails the answer is 503 and nothing is sent.
"""

from __future__ import annotations

import os
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError as DbIntegrityError
from sqlalchemy.orm import Session, selectinload
from starlette.background import BackgroundTask

from api.deps import CookieRetrievalGuard, CurrentUser, SessionDep, SettingsDep
from api.routers.cases import ClientAddress, EngineDep, StoreDep, TrailFormat, TrailPurpose, request_out, trail_response
from api.schemas_evidence import ClipCheckOut, ClipOut, ClipRequestOut, LinkIn, LinkOut, ViewingOut
from camera_ops.custody.ledger import MIN_PURPOSE_CHARS, EventType, append, append_now, events_for
from camera_ops.custody.anchor import CheckpointKeeper, process_name
from camera_ops.custody.checkpoint import covering
from camera_ops.custody.package import build_package
from camera_ops.errors import Conflict, NotFound, PermissionDenied
from camera_ops.footage import cases as case_service
from camera_ops.footage.access import CaseAction, actor_for, log_trail_read, require_case
from camera_ops.footage.integrity import cross_check_clip
from camera_ops.footage.links import issue_link, read_link
from camera_ops.footage.viewings import (Ended, close_idle_viewings, close_viewing, continue_viewing, others_of,
                                         start_viewing)
from camera_ops.footage.retrieval import ByteRange, parse_range, require_archived
from storage.clipstore.base import ClipStore
from storage.models import User
from storage.models_evidence import Case, Clip, ClipRequest, ClipViewing
from storage.types import utcnow

router = APIRouter(tags=["clips"])
ViewingId = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{8,64}$",
                                         description="the player's viewing id: one viewed event per viewing")]
Purpose = Annotated[str, Query(min_length=MIN_PURPOSE_CHARS, max_length=500, description="why (mandatory)")]


def _retrievable(session: Session, engine: EngineDep, user: User, clip_id: int, address: str | None,
                 purpose: str) -> Clip:
    clip = case_service.get_clip(session, clip_id)
    require_case(session, engine, user, clip.case, CaseAction.retrieve, client_address=address, clip_id=clip.id,
                 purpose=purpose)
    require_archived(clip)
    return clip


@router.get("/requests/{request_id}", response_model=ClipRequestOut)
def get_request(request_id: int, user: CurrentUser, session: SessionDep, engine: EngineDep,
                address: ClientAddress) -> ClipRequestOut:
    request = session.get(ClipRequest, request_id, options=[selectinload(ClipRequest.clips)])
    if request is None:
        raise NotFound(f"request {request_id} does not exist", field="request_id",
                       key="err.request.missing", params={"id": request_id})
    case = session.get(Case, request.case_id, options=[selectinload(Case.members)])
    assert case is not None
    require_case(session, engine, user, case, CaseAction.read, client_address=address)
    return request_out(request)


@router.get("/clips/{clip_id}", response_model=ClipOut)
def get_clip(clip_id: int, user: CurrentUser, session: SessionDep, engine: EngineDep, address: ClientAddress) -> ClipOut:
    clip = case_service.get_clip(session, clip_id)
    require_case(session, engine, user, clip.case, CaseAction.read, client_address=address, clip_id=clip.id)
    return ClipOut.model_validate(clip)


@router.get("/clips/{clip_id}/content", dependencies=[CookieRetrievalGuard])
def clip_content(
    clip_id: int, purpose: Purpose, user: CurrentUser, session: SessionDep, engine: EngineDep, store: StoreDep,
    address: ClientAddress, download: bool = False, range_header: Annotated[str | None, Header(alias="Range")] = None,
    viewing: ViewingId = None,
) -> StreamingResponse:
    clip = _retrievable(session, engine, user, clip_id, address, purpose)
    assert clip.size_bytes is not None and clip.object_key is not None
    span = parse_range(range_header, clip.size_bytes)
    if viewing and not download:
        _log_viewing(session, engine, user, address, clip, purpose, viewing, span)
        return _stream(store, clip, span, download=False)
    event = EventType.downloaded if download else (EventType.streamed if span.partial else EventType.viewed)
    session.commit()  # end the request's transaction before the ledger takes the write lock
    append_now(engine, event, actor_for(user, address), case_id=clip.case_id, clip_id=clip.id, purpose=purpose,
               details={"bytes": [span.start, span.end], "size": clip.size_bytes, "sha256": clip.sha256})
    return _stream(store, clip, span, download=download)


def _log_viewing(session: Session, engine: EngineDep, user: User, address: str | None, clip: Clip, purpose: str,
                 viewing: str, span: ByteRange) -> None:
    """One ``viewed`` event per viewing, at its first request; later ranges recorded on the viewing;
    a viewing that ended (idle, or this person's other viewing of the clip) chained with its ranges
    first. All of it committed before a byte is served (``camera_ops.footage.viewings``)."""
    where = {"clip_id": clip.id, "user_id": user.id, "span": (span.start, span.end)}
    going_on = continue_viewing(session, viewing, **where)
    if going_on is True:
        session.commit()
        return
    ended = [(going_on.event_seq, Ended.IDLE)] if isinstance(going_on, ClipViewing) else []
    ended += [(seq, Ended.NEXT_VIEWING) for seq in others_of(session, clip_id=clip.id, user_id=user.id, but=viewing)]
    session.commit()
    for seq, why in ended:
        close_viewing(engine, seq, why)
    record = append_now(engine, EventType.viewed, actor_for(user, address), case_id=clip.case_id, clip_id=clip.id,
                        purpose=purpose, details={"viewing": viewing, "bytes": [span.start, span.end],
                                                  "size": clip.size_bytes, "sha256": clip.sha256})
    start_viewing(session, viewing, event_seq=record.seq, **where)
    try:
        session.commit()
    except DbIntegrityError:  # the player's second connection started the same viewing a moment ago
        session.rollback()
        if continue_viewing(session, viewing, **where) is not True:
            raise Conflict("this viewing was started twice at once; start a new one", field="viewing") from None
        session.commit()


def _stream(store: ClipStore, clip: Clip, span: ByteRange, *, download: bool) -> StreamingResponse:
    assert clip.object_key is not None
    chunks = store.read(clip.object_key, version_id=clip.version_id, offset=span.start, length=span.length)
    name = os.path.basename(clip.object_key)
    headers = {"Accept-Ranges": "bytes", "Content-Length": str(span.length), "X-Content-SHA256": clip.sha256 or "",
               "Content-Disposition": f'{"attachment" if download else "inline"}; filename="{name}"'}
    if span.partial:
        headers["Content-Range"] = f"bytes {span.start}-{span.end}/{clip.size_bytes}"
    return StreamingResponse(chunks, status_code=206 if span.partial else 200, media_type="video/mp4", headers=headers)


@router.post("/clips/{clip_id}/link", response_model=LinkOut)
def clip_link(clip_id: int, body: LinkIn, user: CurrentUser, session: SessionDep, engine: EngineDep,
              settings: SettingsDep, address: ClientAddress, request: Request) -> LinkOut:
    """A short-lived link to send to a colleague or expert. It is served through us (never a
    direct link to the store): every use is a ``downloaded`` event, before its first byte."""
    clip = _retrievable(session, engine, user, clip_id, address, body.purpose)
    seconds = min(settings.presigned_link_s, 300)
    link = issue_link(settings, user, clip.id, body.purpose, seconds)
    append(session, EventType.link_issued, actor_for(user, address), case_id=clip.case_id, clip_id=clip.id,
           purpose=body.purpose, details={"link": link.link_id, "expires_at": link.expires_at.isoformat(),
                                          "seconds": seconds, "served_by": "camera-ops (each use logged)"})
    session.commit()  # on record before the link leaves the server
    return LinkOut(url=str(request.url_for("use_link", token=link.token)), expires_at=link.expires_at)


@router.get("/links/{token}", name="use_link", dependencies=[CookieRetrievalGuard])
def use_link(token: str, session: SessionDep, engine: EngineDep, store: StoreDep, settings: SettingsDep,
             address: ClientAddress, range_header: Annotated[str | None, Header(alias="Range")] = None
             ) -> StreamingResponse:
    """One use of a link: checked (signature, expiry, the issuer may still retrieve), logged, served."""
    grant = read_link(settings, token)
    user = session.get(User, grant.user_id)
    if user is None or not user.is_active:
        raise PermissionDenied("the person this link was issued to can no longer retrieve footage")
    clip = _retrievable(session, engine, user, grant.clip_id, address, grant.purpose)
    assert clip.size_bytes is not None and clip.object_key is not None
    span = parse_range(range_header, clip.size_bytes)
    session.commit()
    append_now(engine, EventType.downloaded, actor_for(user, address), case_id=clip.case_id, clip_id=clip.id,
               purpose=grant.purpose, details={"link": grant.link_id, "bytes": [span.start, span.end],
                                               "size": clip.size_bytes, "sha256": clip.sha256})
    return _stream(store, clip, span, download=True)


@router.get("/clips/{clip_id}/package", dependencies=[CookieRetrievalGuard])
def clip_package(clip_id: int, purpose: Purpose, user: CurrentUser, session: SessionDep, engine: EngineDep,
                 store: StoreDep, settings: SettingsDep, address: ClientAddress) -> FileResponse:
    clip = _retrievable(session, engine, user, clip_id, address, purpose)
    session.commit()
    close_idle_viewings(engine, clip_id=clip.id)  # their ranges chained: in the package, anchored below
    keeper = CheckpointKeeper(engine, settings, store=store, owner=process_name("api"))
    keyring = keeper.keyring
    append_now(engine, EventType.package_exported, actor_for(user, address), case_id=clip.case_id, clip_id=clip.id,
               purpose=purpose, details={"sha256": clip.sha256, "key_id": keyring.current().key_id})
    keeper.write_now()  # anchor the export itself at once; CheckpointFailed (503): no package
    events = events_for(session, clip_id=clip.id)
    checkpoints = covering(store, [e.seq for e in events])
    path = build_package(store, clip.case, clip, events, checkpoints, keyring=keyring, timezone=settings.timezone,
                         made_at=utcnow(), directory=settings.data_dir if settings.data_dir.exists() else None)
    return FileResponse(path, media_type="application/zip", filename=f"evidence-case{clip.case_id}-clip{clip.id}.zip",
                        background=BackgroundTask(path.unlink, missing_ok=True))


@router.post("/clips/{clip_id}/verify", response_model=ClipCheckOut)
def clip_verify(clip_id: int, user: CurrentUser, session: SessionDep, engine: EngineDep, store: StoreDep,
                address: ClientAddress) -> ClipCheckOut:
    clip = case_service.get_clip(session, clip_id)
    require_case(session, engine, user, clip.case, CaseAction.read_trail, client_address=address, clip_id=clip.id)
    result = cross_check_clip(store, clip, events_for(session, clip_id=clip.id))
    append(session, EventType.integrity_checked, actor_for(user, address), case_id=clip.case_id, clip_id=clip.id,
           details={"ok": result.ok, "problem": result.problem})
    return ClipCheckOut(clip_id=result.clip_id, ok=result.ok, problem=result.problem)


@router.get("/clips/{clip_id}/custody")
def clip_trail(clip_id: int, user: CurrentUser, session: SessionDep, settings: SettingsDep, engine: EngineDep,
               address: ClientAddress, format: Annotated[TrailFormat, Query()] = "json",
               purpose: TrailPurpose = None) -> Response:
    clip = case_service.get_clip(session, clip_id)
    require_case(session, engine, user, clip.case, CaseAction.read_trail, client_address=address, clip_id=clip.id)
    log_trail_read(session, engine, user, client_address=address, case_id=clip.case_id, clip_id=clip.id,
                   purpose=purpose, shown_as=format)
    close_idle_viewings(engine, clip_id=clip.id)  # ended viewings show with their ranges chained
    return trail_response(events_for(session, clip_id=clip.id), format,
                          f"case {clip.case.number}, clip #{clip.id} ({clip.camera.code})",
                          f"custody-clip-{clip.id}", settings.timezone)




@router.get("/clips/{clip_id}/viewings", response_model=list[ViewingOut])
def clip_viewings(clip_id: int, user: CurrentUser, session: SessionDep, engine: EngineDep,
                  address: ClientAddress) -> list[ViewingOut]:
    """Each viewing of the clip: its ``viewed`` event, every byte range served while seeking, and —
    once it ended — the ``viewing_ended`` event that chained those ranges (``closed_seq``)."""
    clip = case_service.get_clip(session, clip_id)
    require_case(session, engine, user, clip.case, CaseAction.read_trail, client_address=address, clip_id=clip.id)
    log_trail_read(session, engine, user, client_address=address, case_id=clip.case_id, clip_id=clip.id,
                   shown_as="viewings")
    close_idle_viewings(engine, clip_id=clip.id)
    rows = session.scalars(select(ClipViewing).where(ClipViewing.clip_id == clip.id)
                           .order_by(ClipViewing.started_at, ClipViewing.event_seq))
    return [ViewingOut.model_validate(r) for r in rows]
