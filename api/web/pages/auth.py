"""Log in, log out, the language switch, the home redirect."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import TOKEN_COOKIE, SessionDep, SettingsDep, client_address, now_of
from api.web.context import CsrfRejected, FormPage, LoginRequired, Page, _login, home_path, render
from api.web.csrf import same_origin
from camera_ops.errors import NotAuthenticated, TooManyAttempts, ValidationFailed
from camera_ops.registry import sessions as session_service
from camera_ops.registry import users as user_service
from camera_ops.settings import Settings

router = APIRouter()


def _safe_next(target: str | None) -> str | None:
    """Only local paths: a login link must not bounce the user to another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    try:
        user, _ = _login(request, session, settings)
    except LoginRequired:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(home_path(user), status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", next=_safe_next(next) or "")


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request, session: SessionDep, settings: SettingsDep,
    username: Annotated[str, Form()], password: Annotated[str, Form()], next: Annotated[str, Form()] = "",
) -> Response:
    if not same_origin(request):
        raise CsrfRejected()
    try:
        user, token = session_service.login(session, request.app.state.engine, settings, username=username,
                                            password=password, address=client_address(request), now=now_of(request))
    except TooManyAttempts as exc:
        response = render(request, "login.html", status_code=429, next=_safe_next(next) or "", username=username,
                          locked_s=exc.retry_after_s)
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    except NotAuthenticated:
        return render(request, "login.html", status_code=401, next=_safe_next(next) or "", failed=True,
                      username=username)
    target = "/account/password" if user.must_change_password else _safe_next(next) or home_path(user)
    return _with_login_cookie(RedirectResponse(target, status_code=303), token, settings)


def _with_login_cookie(response: Response, token: str, settings: Settings) -> Response:
    response.set_cookie(
        TOKEN_COOKIE, token, max_age=settings.access_token_minutes * 60,
        httponly=True, samesite="lax", secure=settings.environment == "production", path="/",
    )
    return response


@router.post("/logout")
def logout(page: FormPage, session: SessionDep) -> Response:
    """Every login of this user ends on the server, not only this browser's cookie."""
    user_service.end_user_sessions(session, page.user, actor=page.actor, now=now_of(page.request), reason="logout")
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(TOKEN_COOKIE, path="/")
    return response


@router.get("/account/password", response_class=HTMLResponse)
def password_form(page: Page) -> Response:
    return page.render("password.html", forced=page.user.must_change_password)


@router.post("/account/password", response_class=HTMLResponse)
def change_password(page: FormPage, session: SessionDep) -> Response:
    now = now_of(page.request)
    try:
        user_service.change_own_password(session, page.user, current=str(page.form.get("current_password") or ""),
                                         new=str(page.form.get("new_password") or ""), actor=page.actor, now=now)
        if page.form.get("new_password") != page.form.get("new_password_again"):
            raise ValidationFailed("the two new passwords differ", field="new_password_again")
    except ValidationFailed as exc:
        session.rollback()
        return page.render("password.html", status_code=422, error=exc, forced=page.user.must_change_password)
    token = session_service.open_session(session, page.user, page.settings, address=client_address(page.request),
                                         now=now)
    return _with_login_cookie(RedirectResponse(home_path(page.user) + "?password_changed=1", status_code=303),
                              token, page.settings)
