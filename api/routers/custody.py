"""The custody ledger as a whole: verification (first broken link) and the raw event list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from api.deps import CurrentUser, SessionDep
from api.routers.cases import ClientAddress, EngineDep, StoreDep
from api.schemas_evidence import ClipCheckOut, CustodyEventOut, LedgerReportOut
from camera_ops.access import Action, allowed
from camera_ops.custody.checkpoint import verify_with_store
from camera_ops.footage.access import deny
from camera_ops.footage.integrity import verify_all_clips
from storage.models_evidence import CustodyEvent

router = APIRouter(tags=["custody"])
MAX_EVENTS_PAGE = 1000


@router.get("/custody/verify", response_model=LedgerReportOut)
def verify(user: CurrentUser, session: SessionDep, engine: EngineDep, store: StoreDep, address: ClientAddress,
           clips: bool = False) -> LedgerReportOut:
    if not allowed(user.role, Action.read_ledger):
        deny(session, engine, user, "verify the custody ledger", client_address=address)
    report = verify_with_store(session, store)
    out = LedgerReportOut(**report.to_dict())
    if clips:
        out.clips = [ClipCheckOut(clip_id=c.clip_id, ok=c.ok, problem=c.problem) for c in verify_all_clips(session, store)]
    return out


@router.get("/custody/events", response_model=list[CustodyEventOut])
def events(user: CurrentUser, session: SessionDep, engine: EngineDep, address: ClientAddress,
           after: Annotated[int, Query(ge=0)] = 0,
           limit: Annotated[int, Query(ge=1, le=MAX_EVENTS_PAGE)] = 100) -> list[CustodyEventOut]:
    if not allowed(user.role, Action.read_ledger) or user.role.value == "officer":
        deny(session, engine, user, "read the whole custody ledger", client_address=address)
    rows = session.scalars(select(CustodyEvent).where(CustodyEvent.seq > after).order_by(CustodyEvent.seq).limit(limit))
    return [CustodyEventOut.model_validate(r) for r in rows]
