"""Managing a case from its page: add a member, place or release the legal hold, close the case.

The officer in charge and admins manage a case (``CaseAction.manage``); every change goes through
the footage module, which writes it on the case's custody trail. A refused form re-renders the case
page with the field to fix; nothing is half-written (each change runs in one savepoint).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from api.deps import SessionDep
from api.routers.cases import store_dep
from api.web import forms
from api.web.context import FormPage, WebPage
from api.web.pages.cases import _address, _case_context, _guard
from camera_ops.errors import CameraOpsError, ValidationFailed
from camera_ops.footage import cases as case_service
from camera_ops.footage.access import CaseAction, actor_for
from camera_ops.footage.holds import set_case_hold
from storage.models_evidence import Case, CaseStatus

router = APIRouter()


def _managed_case(session: Session, page: WebPage, case_id: int) -> Case:
    case = case_service.get_case(session, case_id)
    _guard(session, page, case, CaseAction.manage)
    return case


def _refused(session: Session, page: WebPage, case: Case, exc: CameraOpsError) -> Response:
    session.rollback()  # whatever the refused change touched is undone before the page is read again
    case = case_service.get_case(session, case.id)
    values = {k: v for k, v in page.form.items() if isinstance(v, str)}
    return page.render("case.html", status_code=422, error=exc, values=values, **_case_context(session, page, case))


def _back(case: Case) -> Response:
    return RedirectResponse(f"/cases/{case.id}#manage", status_code=303)


@router.post("/cases/{case_id}/members", response_class=HTMLResponse)
def add_member(case_id: int, page: FormPage, session: SessionDep) -> Response:
    case = _managed_case(session, page, case_id)
    try:
        user_id = forms.integer(page.form, "user_id")
        if user_id is None:
            raise ValidationFailed("choose the officer to add", field="user_id")
        with session.begin_nested():
            case_service.add_member(session, actor_for(page.user, _address(page.request)), case, user_id)
    except CameraOpsError as exc:
        return _refused(session, page, case, exc)
    return _back(case)


@router.post("/cases/{case_id}/legal-hold", response_class=HTMLResponse)
def legal_hold(case_id: int, page: FormPage, session: SessionDep) -> Response:
    case = _managed_case(session, page, case_id)
    try:
        on = forms.required(page.form, "hold") == "on"
        reason = forms.required(page.form, "hold_reason")
        with session.begin_nested():
            set_case_hold(session, store_dep(page.request, page.settings), actor_for(page.user, _address(page.request)),
                          case, on, reason=reason)
    except CameraOpsError as exc:
        return _refused(session, page, case, exc)
    return _back(case)


@router.post("/cases/{case_id}/close", response_class=HTMLResponse)
def close_case(case_id: int, page: FormPage, session: SessionDep) -> Response:
    case = _managed_case(session, page, case_id)
    try:
        if case.status is CaseStatus.closed:
            raise ValidationFailed("the case is already closed", field="confirm_close")
        if not forms.checked(page.form, "confirm_close"):
            raise ValidationFailed("tick the box to confirm closing the case", field="confirm_close")
        with session.begin_nested():
            case_service.close_case(session, actor_for(page.user, _address(page.request)), case)
    except CameraOpsError as exc:
        return _refused(session, page, case, exc)
    return _back(case)

