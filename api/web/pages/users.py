"""User administration pages (administrators): list, add, edit role and areas, disable/enable,
reset a password (changed at the next login), end a user's logins. Every action is audited."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from api.deps import SessionDep, now_of
from api.web import forms
from api.web.context import FormPage, Page, WebPage
from camera_ops.access import Action
from camera_ops.errors import CameraOpsError, ValidationFailed
from camera_ops.registry import users as user_service
from camera_ops.registry.areas import list_areas
from storage.models import AreaKind, Role

router = APIRouter()
MAX_AREAS = 2000


def _areas(session: Session) -> list[Any]:
    rows, _ = list_areas(session, scope=None, kind=AreaKind.commune, limit=MAX_AREAS)
    provinces, _ = list_areas(session, scope=None, kind=AreaKind.province, limit=MAX_AREAS)
    return list(provinces) + list(rows)


def _form_values(page: WebPage) -> dict[str, Any]:
    form = page.form
    area_ids = [int(v) for v in page.form_lists.get("area_ids", []) if str(v).isdigit()]
    return {"full_name": forms.required(form, "full_name"), "role": forms.choice(form, "role", Role, Role.commune_police),
            "unit": forms.text(form, "unit"), "phone": forms.text(form, "phone"), "area_ids": area_ids}


def _render_list(page: WebPage, session: Session, *, status_code: int = 200, error: Any = None,
                 values: dict[str, Any] | None = None, q: str | None = None) -> Response:
    return page.render("users.html", status_code=status_code, users=user_service.list_users(session, q=q),
                       roles=list(Role), areas=_areas(session), error=error, values=values or {}, q=q or "")


@router.get("/users", response_class=HTMLResponse)
def users(page: Page, session: SessionDep, q: str | None = None) -> Response:
    page.require(Action.manage_users)
    return _render_list(page, session, q=q)


@router.post("/users", response_class=HTMLResponse)
def add_user(page: FormPage, session: SessionDep) -> Response:
    page.require(Action.manage_users)
    try:
        values = _form_values(page)
        user = user_service.create_user(session, username=forms.required(page.form, "username"),
                                        password=str(page.form.get("password") or ""), actor=page.actor,
                                        must_change_password=forms.checked(page.form, "must_change_password"),
                                        **values)
    except CameraOpsError as exc:
        session.rollback()
        shown = {k: v for k, v in page.form.items() if k != "password" and isinstance(v, str)}
        return _render_list(page, session, status_code=422, error=exc, values=shown)
    return RedirectResponse(f"/users/{user.id}?saved=1", status_code=303)


@router.get("/users/{user_id}", response_class=HTMLResponse)
def user_page(user_id: int, page: Page, session: SessionDep, saved: str | None = None) -> Response:
    page.require(Action.manage_users)
    user = user_service.get_user(session, user_id)
    return page.render("user.html", subject=user, roles=list(Role), areas=_areas(session), error=None,
                       saved=saved, area_ids={a.id for a in user.areas})


@router.post("/users/{user_id}/{action}", response_class=HTMLResponse)
def user_action(user_id: int, action: str, page: FormPage, session: SessionDep) -> Response:
    """edit | disable | enable | reset-password | end-sessions"""
    page.require(Action.manage_users)
    user = user_service.get_user(session, user_id)
    now = now_of(page.request)
    try:
        if action == "edit":
            user_service.update_user(session, user, _form_values(page), actor=page.actor, now=now)
        elif action in ("disable", "enable"):
            user_service.update_user(session, user, {"is_active": action == "enable"}, actor=page.actor, now=now)
        elif action == "reset-password":
            user_service.reset_password(session, user, str(page.form.get("new_password") or ""), actor=page.actor,
                                        now=now)
        elif action == "end-sessions":
            user_service.end_user_sessions(session, user, actor=page.actor, now=now, reason="ended by an administrator")
        else:
            raise ValidationFailed(f"unknown action {action}", field="action")
    except CameraOpsError as exc:
        session.rollback()
        user = user_service.get_user(session, user_id)
        return page.render("user.html", status_code=422, subject=user, roles=list(Role), areas=_areas(session),
                           error=exc, saved=None, area_ids={a.id for a in user.areas})
    return RedirectResponse(f"/users/{user_id}?saved={action}", status_code=303)
