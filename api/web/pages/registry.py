"""Registry pages: areas (communes and hamlets), donors, model dossiers with their reviews."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.deps import SessionDep
from api.web import forms
from api.web.context import FormPage, Page, WebPage
from camera_ops.access import Action
from camera_ops.errors import CameraOpsError, ValidationFailed
from camera_ops.registry.areas import list_areas, path_in_scope
from camera_ops.registry.donors import create_donor, list_donors
from camera_ops.registry.dossiers import add_review, get_model, list_models
from storage.models import Area, AreaKind, AreaName, Camera, DonorKind, Lifecycle, ReviewKind, ReviewVerdict

router = APIRouter()
MAX_AREAS = 2000  # a province's communes and hamlets; beyond that, filter by commune
PAGE_SIZE = 50


@router.get("/areas", response_class=HTMLResponse)
def areas(page: Page, session: SessionDep, q: str | None = None) -> Response:
    rows, _ = list_areas(session, scope=page.scope, q=q or None, limit=MAX_AREAS)
    ids = [a.id for a in rows]
    counts = dict(session.execute(
        select(Camera.area_id, func.count()).where(Camera.area_id.in_(ids), Camera.lifecycle != Lifecycle.retired)
        .group_by(Camera.area_id)).all()) if ids else {}
    former: dict[int, list[str]] = defaultdict(list)
    if ids:
        for area_id, name in session.execute(select(AreaName.area_id, AreaName.name).where(
                AreaName.area_id.in_(ids), AreaName.valid_to.is_not(None))):
            former[area_id].append(name)
    communes = [a for a in rows if a.kind == AreaKind.commune]
    hamlets: dict[int, list] = defaultdict(list)
    for a in rows:
        if a.kind == AreaKind.hamlet and a.parent_id is not None:
            hamlets[a.parent_id].append(a)
    return page.render("areas.html", communes=communes, hamlets=hamlets, counts=counts, former=former, q=q or "")


@router.get("/donors", response_class=HTMLResponse)
def donors(page: Page, session: SessionDep, q: str | None = None,
           offset: Annotated[int, Query(ge=0)] = 0) -> Response:
    rows, total = list_donors(session, scope=page.scope, q=q or None, limit=PAGE_SIZE, offset=offset)
    return page.render("donors.html", donors=rows, total=total, offset=offset, limit=PAGE_SIZE, q=q or "",
                       communes=_communes(session, page), kinds=list(DonorKind),
                       can_edit=page.can(Action.edit_donors), error=None, values={})


def _communes(session: Session, page: WebPage) -> list[Area]:
    """Communes inside the user's scope (list_areas also returns the scope's ancestors)."""
    rows, _ = list_areas(session, scope=page.scope, kind=AreaKind.commune, limit=MAX_AREAS)
    return [c for c in rows if path_in_scope(c.path, page.scope)]


@router.post("/donors", response_class=HTMLResponse)
def add_donor(page: FormPage, session: SessionDep) -> Response:
    page.require(Action.edit_donors)
    form = page.form
    communes = _communes(session, page)
    try:
        area_id = forms.integer(form, "area_id")
        if area_id not in {c.id for c in communes}:
            raise ValidationFailed("choose the commune", field="area_id")
        with session.begin_nested():
            create_donor(session, area_id=area_id, kind=forms.choice(form, "kind", DonorKind, DonorKind.household)
                         or DonorKind.household, name=forms.required(form, "name"),
                         contact_name=forms.text(form, "contact_name"), phone=forms.text(form, "phone"),
                         address=forms.text(form, "address"))
    except CameraOpsError as exc:
        rows, total = list_donors(session, scope=page.scope, limit=PAGE_SIZE)
        return page.render("donors.html", status_code=422, donors=rows, total=total, offset=0, limit=PAGE_SIZE,
                           q="", communes=communes, kinds=list(DonorKind),
                           can_edit=True, error=exc, values={k: v for k, v in form.items() if isinstance(v, str)})
    return RedirectResponse("/donors", status_code=303)


@router.get("/dossiers", response_class=HTMLResponse)
def dossiers(page: Page, session: SessionDep) -> Response:
    rows, total = list_models(session, scope=page.scope, limit=500)
    return page.render("dossiers.html", models=rows, total=total)


@router.get("/dossiers/{model_id}", response_class=HTMLResponse)
def dossier(model_id: int, page: Page, session: SessionDep) -> Response:
    model = get_model(session, model_id, scope=page.scope)
    cameras = session.scalar(select(func.count()).where(Camera.security_model_id == model.id,
                                                        Camera.lifecycle != Lifecycle.retired)) or 0
    return page.render("dossier.html", model=model, cameras=cameras, can_edit=page.can(Action.edit_dossiers),
                       kinds=list(ReviewKind), verdicts=list(ReviewVerdict), error=None)


@router.post("/dossiers/{model_id}/reviews", response_class=HTMLResponse)
def new_review(model_id: int, page: FormPage, session: SessionDep) -> Response:
    page.require(Action.edit_dossiers)
    model = get_model(session, model_id, scope=page.scope)
    form = page.form
    try:
        review_date = forms.day(form, "review_date")
        if review_date is None:
            raise ValidationFailed("give the review date", field="review_date")
        add_review(session, model, review_date=review_date,
                   kind=forms.choice(form, "kind", ReviewKind, ReviewKind.interim) or ReviewKind.interim,
                   findings=forms.required(form, "findings"),
                   verdict=forms.choice(form, "verdict", ReviewVerdict, ReviewVerdict.maintain) or ReviewVerdict.maintain)
    except CameraOpsError as exc:
        return page.render("dossier.html", status_code=422, model=model, cameras=0, can_edit=True,
                           kinds=list(ReviewKind), verdicts=list(ReviewVerdict), error=exc)
    return RedirectResponse(f"/dossiers/{model.id}", status_code=303)
