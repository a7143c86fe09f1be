from __future__ import annotations

from fastapi import APIRouter

from api.deps import ActorDep, NowDep, SessionDep, UserAdmin
from api.schemas import PasswordResetIn, SessionsEndedOut, UserIn, UserOut, UserPatch
from camera_ops.registry import users as user_service
from storage.models import Role

router = APIRouter(prefix="/users", tags=["users"])


@router.get("", response_model=list[UserOut])
def list_users(session: SessionDep, _: UserAdmin, q: str | None = None, role: Role | None = None,
               active: bool | None = None) -> list[UserOut]:
    return [UserOut.model_validate(u) for u in user_service.list_users(session, q=q, role=role, active=active)]


@router.post("", response_model=UserOut, status_code=201)
def create_user(body: UserIn, session: SessionDep, _: UserAdmin, actor: ActorDep) -> UserOut:
    user = user_service.create_user(session, **body.model_dump(), actor=actor)
    return UserOut.model_validate(user)


@router.get("/{user_id}", response_model=UserOut)
def get_user(user_id: int, session: SessionDep, _: UserAdmin) -> UserOut:
    return UserOut.model_validate(user_service.get_user(session, user_id))


@router.patch("/{user_id}", response_model=UserOut,
              description="Role, areas, name, unit, phone, enabled. A role change or disabling ends every login "
                          "of that user at once.")
def update_user(user_id: int, body: UserPatch, session: SessionDep, _: UserAdmin, actor: ActorDep,
                now: NowDep) -> UserOut:
    user = user_service.get_user(session, user_id)
    changes = body.model_dump(exclude_unset=True)
    return UserOut.model_validate(user_service.update_user(session, user, changes, actor=actor, now=now))


@router.post("/{user_id}/reset-password", response_model=UserOut,
             summary="Set a temporary password (changed at the next login); every login of the user ends")
def reset_password(user_id: int, body: PasswordResetIn, session: SessionDep, _: UserAdmin, actor: ActorDep,
                   now: NowDep) -> UserOut:
    user = user_service.get_user(session, user_id)
    return UserOut.model_validate(user_service.reset_password(session, user, body.new_password, actor=actor, now=now))


@router.post("/{user_id}/end-sessions", response_model=SessionsEndedOut, summary="End every login of the user")
def end_sessions(user_id: int, session: SessionDep, _: UserAdmin, actor: ActorDep, now: NowDep) -> SessionsEndedOut:
    user = user_service.get_user(session, user_id)
    return SessionsEndedOut(ended=user_service.end_user_sessions(session, user, actor=actor, now=now,
                                                                 reason="ended by an administrator"))
