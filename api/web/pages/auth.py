"""Log in, log out, the language switch, the home redirect."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import TOKEN_COOKIE, SessionDep, SettingsDep
from api.web.context import CsrfRejected, FormPage, LoginRequired, _login, home_path, render
from api.web.csrf import same_origin
from camera_ops.errors import NotAuthenticated
from camera_ops.registry.users import authenticate
from camera_ops.security import issue_token

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
        user = authenticate(session, username=username, password=password)
    except NotAuthenticated:
        return render(request, "login.html", status_code=401, next=_safe_next(next) or "", failed=True,
                      username=username)
    response = RedirectResponse(_safe_next(next) or home_path(user), status_code=303)
    response.set_cookie(
        TOKEN_COOKIE, issue_token(user.id, settings), max_age=settings.access_token_minutes * 60,
        httponly=True, samesite="lax", secure=settings.environment == "production", path="/",
    )
    return response


@router.post("/logout")
def logout(_: FormPage) -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(TOKEN_COOKIE, path="/")
    return response
