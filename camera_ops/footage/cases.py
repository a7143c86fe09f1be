"""Cases (vụ án / vụ việc): number unique per unit, officer in charge, members, legal hold."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import exists, or_, select
from sqlalchemy.exc import IntegrityError as DbIntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from camera_ops.access import Action, allowed
from camera_ops.custody.ledger import Actor, EventType, append
from camera_ops.errors import Conflict, NotFound, ValidationFailed
from camera_ops.footage.access import case_scope_clause
from camera_ops.registry.areas import scope_paths
from storage.models import Role, User
from storage.models_evidence import Case, CaseMember, CaseStatus, Clip
from storage.types import utcnow


def create_case(
    session: Session, actor: Actor, creator: User, *, number: str, title: str, legal_basis: str,
    unit: str | None = None, officer_id: int | None = None, member_ids: Sequence[int] = (),
    legal_hold: bool = True,
) -> Case:
    unit = (unit or creator.unit or "").strip()
    if not unit:
        raise ValidationFailed("the unit the case belongs to is missing", field="unit", key="err.case.unit_missing")
    for name, value in (("number", number), ("title", title), ("legal_basis", legal_basis)):
        if not value.strip():
            raise ValidationFailed(f"{name.replace('_', ' ')} is empty", field=name, key="err.field.required")
    officer = _officer(session, officer_id or creator.id, field="officer_id")
    if session.scalar(select(exists().where(Case.unit == unit, Case.number == number.strip()))):
        raise Conflict(f"case {number} already exists in {unit}", field="number", key="err.case.duplicate",
                       params={"number": number, "unit": unit})
    case = Case(number=number.strip(), unit=unit, title=title.strip(), legal_basis=legal_basis.strip(),
                officer_id=officer.id, created_by_id=creator.id, legal_hold=legal_hold)
    session.add(case)
    try:
        session.flush()
    except DbIntegrityError as exc:  # a concurrent create of the same number
        raise Conflict(f"case {number} already exists in {unit}", field="number", key="err.case.duplicate",
                       params={"number": number, "unit": unit}) from exc
    for user_id in member_ids:
        _add_member(session, case, user_id)
    append(session, EventType.case_opened, actor, case_id=case.id,
           details={"number": case.number, "unit": unit, "title": case.title, "legal_basis": case.legal_basis,
                    "officer": officer.username, "members": sorted(member_ids), "legal_hold": legal_hold})
    session.flush()
    session.refresh(case, ["members"])
    return case


def _officer(session: Session, user_id: int, *, field: str) -> User:
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise ValidationFailed(f"user {user_id} does not exist", field=field, key="err.user.missing",
                               params={"id": user_id})
    if not allowed(user.role, Action.request_footage):
        raise ValidationFailed(f"{user.username} ({user.role.value}) cannot work on case footage", field=field,
                               key="err.case.member_role", params={"user": user.username, "role": user.role.value})
    return user


def _add_member(session: Session, case: Case, user_id: int) -> User:
    user = _officer(session, user_id, field="user_id")
    if session.get(CaseMember, (case.id, user.id)) is None and user.id != case.officer_id:
        session.add(CaseMember(case_id=case.id, user_id=user.id))
    return user


MAX_MEMBER_CANDIDATES = 500  # officers offered as members on the case page; a province has hundreds


def member_candidates(session: Session, case: Case) -> list[User]:
    """Active users who may work on footage and are not on the case yet (officers and admins)."""
    taken = {case.officer_id, *(m.id for m in case.members)}
    roles = [r for r in Role if allowed(r, Action.request_footage)]
    users = session.scalars(select(User).where(User.is_active.is_(True), User.role.in_(roles))
                            .order_by(User.full_name, User.username).limit(MAX_MEMBER_CANDIDATES))
    return [u for u in users if u.id not in taken]


def commune_prefix(path: str) -> str:
    """The commune part of an area path ("/province/commune/hamlet/" → "/province/commune/")."""
    parts = [p for p in path.split("/") if p]
    return "/" + "/".join(parts[:2]) + "/"


def from_other_commune(officer: User, member: User) -> bool:
    """Neither is scoped to the other's commune (unscoped users, admins, belong everywhere)."""
    mine = {commune_prefix(a.path) for a in officer.areas}
    theirs = {commune_prefix(a.path) for a in member.areas}
    if not mine or not theirs:
        return False
    return not any(a.startswith(b) or b.startswith(a) for a in mine for b in theirs)


def add_member(session: Session, actor: Actor, case: Case, user_id: int) -> Case:
    user = _add_member(session, case, user_id)
    details: dict[str, object] = {"member": user.username, "member_areas": sorted(a.name for a in user.areas)}
    if from_other_commune(case.officer, user):
        details["other_commune"] = True  # shown on the case page: footage leaves the commune's officers
    append(session, EventType.member_added, actor, case_id=case.id, details=details)
    session.flush()
    session.refresh(case, ["members"])
    return case


def close_case(session: Session, actor: Actor, case: Case) -> Case:
    if case.status is CaseStatus.closed:
        return case
    case.status, case.closed_at = CaseStatus.closed, utcnow()
    append(session, EventType.case_closed, actor, case_id=case.id)
    return case


def get_case(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id, options=[selectinload(Case.members)])
    if case is None:
        raise NotFound(f"case {case_id} does not exist", field="case_id",
                       key="err.case.missing", params={"id": case_id})
    return case


def get_clip(session: Session, clip_id: int) -> Clip:
    """A clip with its camera and its case's members (what every access decision needs)."""
    clip = session.get(Clip, clip_id, options=[joinedload(Clip.camera),
                                               joinedload(Clip.case).selectinload(Case.members)])
    if clip is None:
        raise NotFound(f"clip {clip_id} does not exist", field="clip_id",
                       key="err.clip.missing", params={"id": clip_id})
    return clip


def list_cases(session: Session, user: User) -> list[Case]:
    query = select(Case).options(selectinload(Case.members)).order_by(Case.created_at.desc(), Case.id.desc())
    if user.role is Role.auditor:  # the cases of their areas only
        query = query.where(case_scope_clause(scope_paths(user) or []))
    elif user.role is not Role.admin:
        member = exists().where(CaseMember.case_id == Case.id, CaseMember.user_id == user.id)
        query = query.where(or_(Case.officer_id == user.id, member))
    return list(session.scalars(query))
