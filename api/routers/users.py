from __future__ import annotations

from fastapi import APIRouter

from api.deps import SessionDep, UserAdmin
from api.schemas import UserIn, UserOut
from camera_ops.registry import users as user_service

router = APIRouter(prefix="/users", tags=["users"])


@router.get("", response_model=list[UserOut])
def list_users(session: SessionDep, _: UserAdmin) -> list[UserOut]:
    return [UserOut.model_validate(u) for u in user_service.list_users(session)]


@router.post("", response_model=UserOut, status_code=201)
def create_user(body: UserIn, session: SessionDep, _: UserAdmin) -> UserOut:
    user = user_service.create_user(session, **body.model_dump())
    return UserOut.model_validate(user)
