"""Who may touch a case's footage and trail. Every refusal is itself a custody event.

* retrieve (view, stream, download, links, package): the case's officers — the officer in charge
  and the members — if their role may request footage at all.
* read the trail and verify the ledger: auditors (the cases of their areas), admins, and the case's
  officers.
* manage a case (members, hold, close): its officer in charge, or an admin.

A case lies in an area when its officer in charge is scoped to it, or one of its clips comes from a
camera there (:func:`case_in_scope`): an auditor (kiểm sát) of one province or commune sees those
cases only.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

from sqlalchemy import ColumnElement, Engine, exists, or_, select
from sqlalchemy.orm import Session

from camera_ops.access import Action, allowed
from camera_ops.custody.ledger import Actor, EventType, append_now
from camera_ops.errors import PermissionDenied
from camera_ops.registry.areas import in_scope, scope_paths
from storage.models import Area, Camera, Role, User, UserArea
from storage.models_evidence import Case, Clip


class CaseAction(str, enum.Enum):
    retrieve = "retrieve footage"
    read_trail = "read the custody trail"
    manage = "manage the case"
    request = "request footage"
    read = "see the case"


def is_case_officer(case: Case, user: User) -> bool:
    return user.id == case.officer_id or any(member.id == user.id for member in case.members)


def may(user: User, case: Case, action: CaseAction, *, in_area: bool = True) -> bool:
    """``in_area``: the case lies in the user's areas (:func:`case_in_scope`; decides for auditors)."""
    officer = is_case_officer(case, user)
    overseer = user.role is Role.admin or (user.role is Role.auditor and in_area)
    if action in (CaseAction.retrieve, CaseAction.request):
        return allowed(user.role, Action.request_footage) and officer
    if action is CaseAction.read_trail:
        return allowed(user.role, Action.read_ledger) and (overseer or officer)
    if action is CaseAction.manage:
        return user.role is Role.admin or (user.id == case.officer_id and allowed(user.role, Action.request_footage))
    return overseer or officer


def case_scope_clause(scope: Sequence[str]) -> ColumnElement[bool]:
    """SQL: the case (``Case``) lies in one of the area subtrees ``scope``."""
    officer_there = exists().where(UserArea.user_id == Case.officer_id, UserArea.area_id == Area.id,
                                   in_scope(Area.path, scope))
    camera_there = exists().where(Clip.case_id == Case.id, Clip.camera_id == Camera.id, Camera.area_id == Area.id,
                                  in_scope(Area.path, scope))
    return or_(officer_there, camera_there)


def case_in_scope(session: Session, user: User, case: Case) -> bool:
    scope = scope_paths(user)
    if scope is None:
        return True
    return bool(session.scalar(select(exists().where(Case.id == case.id, case_scope_clause(scope)))))


def actor_for(user: User, client_address: str | None) -> Actor:
    return Actor(user.username, user.role.value, client_address)


def require_case(
    session: Session, engine: Engine, user: User, case: Case, action: CaseAction, *,
    client_address: str | None, clip_id: int | None = None, purpose: str | None = None,
) -> None:
    """Pass, or log the denied attempt (committed) and raise ``PermissionDenied``."""
    in_area = user.role is not Role.auditor or case_in_scope(session, user, case)
    if may(user, case, action, in_area=in_area):
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
    raise PermissionDenied(f"you may not {what} of this case", key="err.case.denied")


# A trail read without a stated purpose (a page that shows the trail) is recorded with this one.
TRAIL_READ_PURPOSE = "xem nhật ký truy xuất"


def log_trail_read(session: Session, engine: Engine, user: User, *, client_address: str | None, case_id: int,
                   clip_id: int | None = None, purpose: str | None = None, shown_as: str = "page") -> None:
    """Reading a trail is itself on the ledger, committed before the trail is read (fail closed)."""
    session.commit()  # SQLite: release the request's write lock before the ledger takes it
    append_now(engine, EventType.trail_read, actor_for(user, client_address), case_id=case_id, clip_id=clip_id,
               purpose=(purpose or "").strip() or TRAIL_READ_PURPOSE, details={"format": shown_as})
