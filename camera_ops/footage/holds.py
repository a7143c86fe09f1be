"""Legal hold per case: placed on (or released from) every archived object of the case, and on
the clips queued later (they inherit ``case.legal_hold``). Each change is a custody event."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from camera_ops.custody.ledger import Actor, EventType, append
from storage.clipstore.base import ClipStore
from storage.models_evidence import Case, Clip


def set_case_hold(session: Session, store: ClipStore, actor: Actor, case: Case, on: bool, *, reason: str) -> int:
    """Returns how many archived clips changed. Store first, then the row: a hold that the store
    refused is not recorded as placed."""
    case.legal_hold = on
    changed = 0
    for clip in session.scalars(select(Clip).where(Clip.case_id == case.id).order_by(Clip.id)):
        if clip.object_key is not None and clip.legal_hold != on:
            store.set_legal_hold(clip.object_key, clip.version_id, on)
            if clip.manifest_key:
                store.set_legal_hold(clip.manifest_key, clip.manifest_version_id, on)
            changed += 1
            append(session, EventType.hold_placed if on else EventType.hold_released, actor, case_id=case.id,
                   clip_id=clip.id, purpose=reason, details={"object_key": clip.object_key})
        clip.legal_hold = on
    if not changed:
        append(session, EventType.hold_placed if on else EventType.hold_released, actor, case_id=case.id,
               purpose=reason, details={"clips": 0})
    return changed
