from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from api.deps import ActorDep, CurrentUser, NowDep, SessionDep, SettingsDep, client_address
from api.schemas import PasswordChangeIn, SessionsEndedOut, TokenOut, UserOut
from camera_ops.registry import sessions as session_service
from camera_ops.registry import users as user_service

router = APIRouter(prefix="/auth", tags=["auth"])
THROTTLED = {429: {"description": "too many failed logins for this username or address; see Retry-After"}}


@router.post("/token", response_model=TokenOut, summary="Log in (OAuth2 password flow)", responses=THROTTLED)
def login(form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request, session: SessionDep,
          settings: SettingsDep, now: NowDep) -> TokenOut:
    _, token = session_service.login(session, request.app.state.engine, settings, username=form.username,
                                     password=form.password, address=client_address(request), now=now)
    return TokenOut(access_token=token)


@router.get("/me", response_model=UserOut)
def me(user: CurrentUser) -> UserOut:
    return UserOut.model_validate(user)


@router.post("/logout", response_model=SessionsEndedOut, summary="Log out: every login of this user ends")
def logout(user: CurrentUser, session: SessionDep, actor: ActorDep, now: NowDep) -> SessionsEndedOut:
    return SessionsEndedOut(ended=user_service.end_user_sessions(session, user, actor=actor, now=now, reason="logout"))


@router.post("/password", response_model=TokenOut,
             summary="Change your own password (every login ends; a new token is returned)")
def change_password(body: PasswordChangeIn, request: Request, user: CurrentUser, session: SessionDep,
                    settings: SettingsDep, actor: ActorDep, now: NowDep) -> TokenOut:
    user_service.change_own_password(session, user, current=body.current_password, new=body.new_password,
                                     actor=actor, now=now)
    token = session_service.open_session(session, user, settings, address=client_address(request), now=now)
    return TokenOut(access_token=token)
