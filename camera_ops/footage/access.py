"""Who may touch a case's footage and trail. Every refusal is itself a custody event.

* retrieve (view, stream, download, links, package): the case's officers — the officer in charge
  and the members — if their role may request footage at all.
* read the trail and verify the ledger: auditors (every case), admins, and the case's officers.
* manage a case (members, hold, close): its officer in charge, or an admin.
"""

from __future__ import annotations

import enum

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from camera_ops.access import Action, allowed
from camera_ops.custody.ledger import Actor, EventType, append_now
from camera_ops.errors import PermissionDenied
from storage.models import Role, User
from storage.models_evidence import Case


class CaseAction(str, enum.Enum):
    retrieve = "retrieve footage"
    read_trail = "read the custody trail"
    manage = "manage the case"
    request = "request footage"
    read = "see the case"


def is_case_officer(case: Case, user: User) -> bool:
    return user.id == case.officer_id or any(member.id == user.id for member in case.members)


def may(user: User, case: Case, action: CaseAction) -> bool:
    officer = is_case_officer(case, user)
    if action in (CaseAction.retrieve, CaseAction.request):
        return allowed(user.role, Action.request_footage) and officer
    if action is CaseAction.read_trail:
        return allowed(user.role, Action.read_ledger) and (user.role in (Role.auditor, Role.admin) or officer)
    if action is CaseAction.manage:
        return user.role is Role.admin or (user.id == case.officer_id and allowed(user.role, Action.request_footage))
    return user.role in (Role.auditor, Role.admin) or officer


def actor_for(user: User, client_address: str | None) -> Actor:
    return Actor(user.username, user.role.value, client_address)


def require_case(
    session: Session, engine: Engine, user: User, case: Case, action: CaseAction, *,
    client_address: str | None, clip_id: int | None = None, purpose: str | None = None,
) -> None:
    """Pass, or log the denied attempt (committed) and raise ``PermissionDenied``."""
    if may(user, case, action):
        return
    deny(session, engine, user, action.value, client_address=client_address, case_id=case.id,
         clip_id=clip_id, purpose=purpose)


def deny(
    session: Session, engine: Engine, user: User, what: str, *, client_address: str | None,
    case_id: int | None = None, clip_id: int | None = None, purpose: str | None = None,
) -> None:
    # End the request's transaction first: on SQLite it may hold the write lock the ledger needs.
    session.commit()
    append_now(engine, EventType.access_denied, actor_for(user, client_address), case_id=case_id, clip_id=clip_id,
               purpose=purpose, details={"attempted": what})
    raise PermissionDenied(f"you may not {what} of this case")
