"""Dependencies named as types, so route signatures read like sentences."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from api.errors import accept_lang
from camera_ops.access import Action, allowed
from camera_ops.audit import Actor, actor_of
from camera_ops.errors import CsrfFailed, NotAuthenticated, PasswordChangeRequired, PermissionDenied
from camera_ops.i18n import t
from camera_ops.registry.areas import scope_paths
from camera_ops.registry.sessions import user_for_token
from camera_ops.settings import Settings, get_settings
from storage.db import session_factory
from storage.models import User
from storage.types import utcnow

TOKEN_COOKIE = "camera_ops_token"
READ_METHODS = ("GET", "HEAD", "OPTIONS")  # requests whose session does not take SQLite's write lock
# what a user whose password was reset may still do
PASSWORD_CHANGE_PATHS = frozenset({"/api/v1/auth/me", "/api/v1/auth/password", "/api/v1/auth/logout"})


def now_of(request: Request) -> datetime:
    """The application's clock (``app.state.clock``; tests inject one)."""
    clock = getattr(request.app.state, "clock", None)
    return clock() if clock is not None else utcnow()


NowDep = Annotated[datetime, Depends(now_of)]
oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def settings_dep(request: Request) -> Settings:
    """``async``: nothing to wait for, so no trip through the thread pool (every request needs it)."""
    return getattr(request.app.state, "settings", None) or get_settings()


SettingsDep = Annotated[Settings, Depends(settings_dep)]


def get_db(request: Request) -> Iterator[Session]:
    """One session per request; reading requests do not take SQLite's write lock.

    Used with ``scope="function"``: the commit happens when the route function returns, *before*
    the response is sent. (FastAPI's default for a dependency with ``yield`` runs the code after
    ``yield`` once the response has gone out — a browser following a form's redirect could then
    read the page before the row it just saved was committed.)"""
    write = request.method not in ("GET", "HEAD", "OPTIONS")
    session = session_factory(request.app.state.engine, write=write)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_db, scope="function")]


def current_user(
    request: Request, session: SessionDep, settings: SettingsDep, token: Annotated[str | None, Depends(oauth2)]
) -> User:
    if not token:
        token = request.cookies.get(TOKEN_COOKIE)
        if token:
            _check_cookie_call(request, token, settings)
    if not token:
        raise NotAuthenticated("log in first", key="err.login.required")
    logged = user_for_token(session, request.app.state.engine, settings, token, now=now_of(request),
                            writing=request.method not in READ_METHODS)
    user = logged.user
    request.state.session_id = logged.session_id
    request.state.actor = actor_of(user, client_address(request))  # refusals are attributed (audit log)
    if user.must_change_password and request.url.path not in PASSWORD_CHANGE_PATHS:
        raise PasswordChangeRequired("your password was reset: change it first (POST /api/v1/auth/password)",
                                     key="err.login.password_change_required")
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def _check_cookie_call(request: Request, login_token: str, settings: Settings) -> None:
    """The login cookie on an unsafe API call must come with the CSRF header and our Origin
    (finding 2 of issue 12: a page on another port of the same host posted with the cookie)."""
    from api.web.csrf import api_cookie_call_allowed

    if not api_cookie_call_allowed(request, login_token, settings.jwt_key, settings.public_url):
        raise CsrfFailed(t("api.csrf_failed", accept_lang(request)), key="api.csrf_failed")


def cookie_retrieval_guard(request: Request, settings: SettingsDep) -> None:
    """Footage retrieval over GET with the login cookie (the web player, the package link) must
    carry the page's CSRF token: SameSite=Lax still sends the cookie on a cross-site link, which
    would otherwise put a retrieval, with a purpose of the attacker's choosing, on an officer's
    custody record. Bearer-token clients are unaffected."""
    from api.web.csrf import CSRF_FIELD, token_matches

    if request.headers.get("authorization"):
        return
    cookie = request.cookies.get(TOKEN_COOKIE)
    if cookie and not token_matches(request.query_params.get(CSRF_FIELD), cookie, settings.jwt_key):
        raise PermissionDenied("open the footage from its page in camera-ops (missing or wrong form token)",
                               key="err.clip.form_token")


CookieRetrievalGuard = Depends(cookie_retrieval_guard)


def require(action: Action) -> Callable[[User], Awaitable[User]]:
    async def check(user: CurrentUser) -> User:  # pure: runs on the event loop, no thread hop
        if not allowed(user.role, action):
            raise PermissionDenied(f"role {user.role.value} may not {action.value.replace('_', ' ')}",
                                   key="err.role.denied", params={"role": user.role.value})
        return user

    return check


async def _scope(user: CurrentUser) -> list[str] | None:
    return scope_paths(user)  # the areas came with the user's row (get_user): no I/O here


Scope = Annotated[list[str] | None, Depends(_scope)]
Reader = Annotated[User, Depends(require(Action.read_registry))]
CameraEditor = Annotated[User, Depends(require(Action.edit_cameras))]
DonorEditor = Annotated[User, Depends(require(Action.edit_donors))]
DossierEditor = Annotated[User, Depends(require(Action.edit_dossiers))]
AreaEditor = Annotated[User, Depends(require(Action.edit_areas))]
UserAdmin = Annotated[User, Depends(require(Action.manage_users))]


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _actor(request: Request, user: CurrentUser) -> Actor:
    return actor_of(user, client_address(request))


ActorDep = Annotated[Actor, Depends(_actor)]
