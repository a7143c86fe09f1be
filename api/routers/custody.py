"""The custody ledger as a whole: verification (first broken link) and the raw event list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from api.deps import CurrentUser, SessionDep, SettingsDep
from api.routers.cases import ClientAddress, EngineDep, StoreDep
from api.schemas_evidence import AnchorHealthOut, ClipCheckOut, CustodyEventOut, LedgerReportOut, PublicKeyOut
from camera_ops.access import Action, allowed
from camera_ops.custody.anchor import anchor_health
from camera_ops.custody.checkpoint import verify_with_store
from camera_ops.custody.signing import Keyring
from camera_ops.footage.access import case_scope_clause, deny
from camera_ops.registry.areas import scope_paths
from camera_ops.footage.integrity import verify_all_clips
from storage.models import Role
from storage.models_evidence import Case, CustodyEvent

router = APIRouter(tags=["custody"])
MAX_EVENTS_PAGE = 1000
REHASH_ROLES = (Role.admin, Role.auditor)


@router.get("/custody/verify", response_model=LedgerReportOut)
def verify(user: CurrentUser, session: SessionDep, engine: EngineDep, store: StoreDep, settings: SettingsDep,
           address: ClientAddress, clips: bool = False) -> LedgerReportOut:
    if not allowed(user.role, Action.read_ledger):
        deny(session, engine, user, "verify the custody ledger", client_address=address)
    if clips and user.role not in REHASH_ROLES:  # re-reading every clip is heavy and country-wide
        deny(session, engine, user, "re-hash all evidence", client_address=address)
    report = verify_with_store(session, store, settings)
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
    query = select(CustodyEvent).where(CustodyEvent.seq > after)
    if user.role is Role.auditor:  # the events of their areas' cases only
        query = query.where(CustodyEvent.case.in_(select(Case.id).where(case_scope_clause(scope_paths(user) or []))))
    rows = session.scalars(query.order_by(CustodyEvent.seq).limit(limit))
    return [CustodyEventOut.model_validate(r) for r in rows]


@router.get("/custody/keys", response_model=list[PublicKeyOut])
def keys(user: CurrentUser, settings: SettingsDep) -> list[PublicKeyOut]:
    """The public keys that sign checkpoints and evidence packages (current first), with fingerprints:
    what a court compares a package's key against."""
    return [PublicKeyOut(key_id=k.key_id, fingerprint=k.fingerprint, public_key_pem=k.pem.decode("ascii"),
                         current=k.current) for k in Keyring.from_settings(settings).public_keys()]


@router.get("/custody/anchor", response_model=AnchorHealthOut)
def anchor(user: CurrentUser, session: SessionDep, engine: EngineDep, settings: SettingsDep,
           address: ClientAddress) -> AnchorHealthOut:
    """Last checkpoint at / last error: the health of the ledger's anchoring."""
    if not allowed(user.role, Action.read_ledger):
        deny(session, engine, user, "see the custody checkpoints", client_address=address)
    return AnchorHealthOut(**anchor_health(session, settings).to_dict())
