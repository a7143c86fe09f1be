"""Dependencies named as types, so route signatures read like sentences."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from typing import Annotated

import asyncio
import functools

import anyio.to_thread
from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from api.errors import accept_lang
from api.freshness import AnswerCache
from camera_ops.access import Action, allowed
from camera_ops.audit import Actor, actor_of
from camera_ops.errors import CsrfFailed, NotAuthenticated, PasswordChangeRequired, PermissionDenied
from camera_ops.i18n import t
from camera_ops.registry.areas import scope_paths
from camera_ops.registry.principals import Principal, PrincipalCache
from camera_ops.registry.sessions import principal_for_token, user_for_token
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


def principal_cache(request: Request) -> PrincipalCache:
    """The app's remembered logins (``camera_ops.registry.principals``), made with the app."""
    return request.app.state.principals  # type: ignore[no-any-return]


async def current_principal(
    request: Request, settings: SettingsDep, token: Annotated[str | None, Depends(oauth2)]
) -> Principal:
    """:func:`current_user` for the hot read endpoints, as a read-only :class:`Principal`: believed
    for ``api_session_check_s`` after the database last said so (``camera_ops.registry.principals``
    says how revocation stays bounded); on the event loop when remembered, else one trip to a thread."""
    if not token:
        token = request.cookies.get(TOKEN_COOKIE)
        if token:
            _check_cookie_call(request, token, settings)
    if not token:
        raise NotAuthenticated("log in first", key="err.login.required")
    now = now_of(request)
    cache = principal_cache(request)
    principal = cache.get(token, now)
    if principal is None:
        principal = await _look_up_once(request, settings, token, now)
    elif cache.ageing(token, now) and (token, cache.epoch) not in request.app.state.principal_lookups:
        _check_again_in_background(request, settings, token, now)
    request.state.session_id = principal.session_id
    request.state.actor = actor_of(principal, client_address(request))
    if principal.must_change_password and request.url.path not in PASSWORD_CHANGE_PATHS:
        raise PasswordChangeRequired("your password was reset: change it first (POST /api/v1/auth/password)",
                                     key="err.login.password_change_required")
    return principal


async def _look_up_once(request: Request, settings: Settings, token: str, now: datetime) -> Principal:
    """The database's answer for ``token``, asked once however many requests with it arrive
    together (a client's 64 connections all miss when the remembered answer expires). A request
    never joins, and the cache never keeps, a check started before a login was forgotten
    (``PrincipalCache.epoch``): it may have read the session before its logout."""
    lookups: dict[tuple[str, int], asyncio.Future[Principal]] = request.app.state.principal_lookups
    cache = principal_cache(request)
    key = (token, cache.epoch)
    pending = lookups.get(key)
    if pending is not None:
        return await asyncio.shield(pending)
    pending = lookups[key] = asyncio.get_running_loop().create_future()
    try:
        principal = await anyio.to_thread.run_sync(
            functools.partial(principal_for_token, request.app.state.engine, settings, token, now=now))
    except BaseException as exc:
        pending.set_exception(exc)
        pending.exception()  # retrieved: nobody else may be waiting
        raise
    finally:
        del lookups[key]
    pending.set_result(principal)
    cache.put(token, principal, now, epoch=key[1])
    return principal


def _check_again_in_background(request: Request, settings: Settings, token: str, now: datetime) -> None:
    """Refresh a remembered login before it expires; a login found ended is forgotten at once."""
    cache = principal_cache(request)

    def settle(task: asyncio.Task[Principal]) -> None:
        if not task.cancelled() and isinstance(task.exception(), NotAuthenticated):
            cache.forget_token(token)

    asyncio.ensure_future(_look_up_once(request, settings, token, now)).add_done_callback(settle)


def require_principal(action: Action) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not allowed(principal.role, action):
            raise PermissionDenied(f"role {principal.role.value} may not {action.value.replace('_', ' ')}",
                                   key="err.role.denied", params={"role": principal.role.value})
        return principal

    return check


RegistryReader = Annotated[Principal, Depends(require_principal(Action.read_registry))]
HealthReaderPrincipal = Annotated[Principal, Depends(require_principal(Action.read_health))]


def answer_cache(request: Request) -> AnswerCache:
    """The app's copies of hot answers (``api.freshness``), made with the app."""
    return request.app.state.answers  # type: ignore[no-any-return]


def engine_of(request: Request) -> Engine:
    return request.app.state.engine  # type: ignore[no-any-return]


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
