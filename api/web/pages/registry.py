"""Registry pages: areas (communes and hamlets: add, rename, merge), donors, model dossiers (create,
review, end)."""

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
from api.web.pages.review_report import review_defaults
from camera_ops import audit
from camera_ops.access import Action
from camera_ops.errors import CameraOpsError, ValidationFailed
from camera_ops.registry.areas import create_area, get_area, list_areas, merge_areas, path_in_scope, rename_area
from camera_ops.registry.donors import create_donor, list_donors
from camera_ops.registry.dossiers import add_review, create_model, end_model, get_model, list_models
from storage.models import Area, AreaKind, AreaName, Camera, DonorKind, Lifecycle, ReviewKind, ReviewVerdict
from storage.types import utcnow

router = APIRouter()
MAX_AREAS = 2000  # a province's communes and hamlets; beyond that, filter by commune
PAGE_SIZE = 50


@router.get("/areas", response_class=HTMLResponse)
def areas(page: Page, session: SessionDep, q: str | None = None) -> Response:
    return _areas_page(session, page, q=q or "")


def _areas_page(session: Session, page: WebPage, *, q: str = "", error: CameraOpsError | None = None,
                values: dict[str, str] | None = None, status_code: int = 200) -> Response:
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
    can_edit = page.can(Action.edit_areas)
    return page.render("areas.html", status_code=status_code, communes=communes, hamlets=hamlets, counts=counts,
                       former=former, q=q, can_edit=can_edit, parents=_parents(session, page) if can_edit else [],
                       kinds=[AreaKind.commune, AreaKind.hamlet], error=error, values=values or {})


def _parents(session: Session, page: WebPage) -> list[Area]:
    """Where a new unit may go: the provinces (for a commune) and the communes (for a hamlet) in scope."""
    rows, _ = list_areas(session, scope=page.scope, limit=MAX_AREAS)
    return [a for a in rows if a.kind in (AreaKind.province, AreaKind.commune)]


@router.post("/areas", response_class=HTMLResponse)
def add_area(page: FormPage, session: SessionDep) -> Response:
    page.require(Action.edit_areas)
    form = page.form
    try:
        kind = forms.choice(form, "kind", AreaKind, AreaKind.hamlet) or AreaKind.hamlet
        parent_id = forms.integer(form, "parent_id")
        if parent_id is not None and parent_id not in {a.id for a in _parents(session, page)}:
            raise ValidationFailed("choose the unit it belongs to", field="parent_id", key="err.field.choose")
        with session.begin_nested():
            area = create_area(session, kind=kind, code=forms.required(form, "code"),
                               name=forms.required(form, "name"), parent_id=parent_id)
            audit.record(session, page.actor, "area.create", target_type="area", target_id=area.id,
                         target_label=area.code, changes={"name": area.name, "kind": kind, "parent_id": parent_id})
    except CameraOpsError as exc:
        return _areas_page(session, page, error=exc, values=_strings(form), status_code=422)
    return RedirectResponse("/areas", status_code=303)


def _strings(form: dict[str, object]) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _editable_area(session: Session, page: WebPage, area_id: int) -> Area:
    page.require(Action.edit_areas)
    return get_area(session, area_id, scope=page.scope)


def _merge_targets(session: Session, page: WebPage, area: Area) -> list[Area]:
    rows, _ = list_areas(session, scope=page.scope, kind=area.kind, limit=MAX_AREAS)
    return [a for a in rows if a.id != area.id and path_in_scope(a.path, page.scope)]


def _edit_page(session: Session, page: WebPage, area: Area, *, error: CameraOpsError | None = None,
               values: dict[str, str] | None = None, status_code: int = 200) -> Response:
    names = list(session.scalars(select(AreaName).where(AreaName.area_id == area.id).order_by(AreaName.valid_from)))
    cameras = session.scalar(select(func.count()).where(Camera.area_id == area.id,
                                                        Camera.lifecycle != Lifecycle.retired)) or 0
    return page.render("area_edit.html", status_code=status_code, area=area, names=names, cameras=cameras,
                       targets=_merge_targets(session, page, area), error=error, values=values or {})


@router.get("/areas/{area_id}/edit", response_class=HTMLResponse)
def edit_area(area_id: int, page: Page, session: SessionDep) -> Response:
    return _edit_page(session, page, _editable_area(session, page, area_id))


@router.post("/areas/{area_id}/rename", response_class=HTMLResponse)
def rename_area_form(area_id: int, page: FormPage, session: SessionDep) -> Response:
    area = _editable_area(session, page, area_id)
    try:
        with session.begin_nested():
            before = area.name
            rename_area(session, area_id=area.id, new_name=forms.required(page.form, "name"),
                        reason=forms.text(page.form, "reason"))
            audit.record(session, page.actor, "area.rename", target_type="area", target_id=area.id,
                         target_label=area.code, changes={"name": [before, area.name],
                                                          "reason": forms.text(page.form, "reason")})
    except CameraOpsError as exc:
        return _edit_page(session, page, area, error=exc, values=_strings(page.form), status_code=422)
    return RedirectResponse(f"/areas/{area.id}/edit", status_code=303)


@router.post("/areas/{area_id}/merge", response_class=HTMLResponse)
def merge_area_form(area_id: int, page: FormPage, session: SessionDep) -> Response:
    area = _editable_area(session, page, area_id)
    try:
        into_id = forms.integer(page.form, "into_id")
        if into_id is None or into_id not in {a.id for a in _merge_targets(session, page, area)}:
            raise ValidationFailed("choose the unit it merges into", field="into_id", key="err.field.choose")
        if not forms.checked(page.form, "confirm"):
            raise ValidationFailed("tick the box to confirm the merge", field="confirm", key="err.area.merge_confirm")
        with session.begin_nested():
            into = merge_areas(session, absorbed_id=area.id, into_id=into_id, reason=forms.text(page.form, "reason"))
            audit.record(session, page.actor, "area.merge", target_type="area", target_id=area.id,
                         target_label=area.code, changes={"merged_into": into.id,
                                                          "reason": forms.text(page.form, "reason")})
    except CameraOpsError as exc:
        return _edit_page(session, page, area, error=exc, values=_strings(page.form), status_code=422)
    return RedirectResponse(f"/areas/{into.id}/edit", status_code=303)


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
            raise ValidationFailed("choose the commune", field="area_id", key="err.field.choose")
        with session.begin_nested():
            donor = create_donor(session, area_id=area_id,
                                 kind=forms.choice(form, "kind", DonorKind, DonorKind.household) or DonorKind.household,
                                 name=forms.required(form, "name"), contact_name=forms.text(form, "contact_name"),
                                 phone=forms.text(form, "phone"), address=forms.text(form, "address"))
            audit.record(session, page.actor, "donor.create", target_type="donor", target_id=donor.id,
                         target_label=donor.name, changes={"area_id": area_id, "kind": donor.kind})
    except CameraOpsError as exc:
        rows, total = list_donors(session, scope=page.scope, limit=PAGE_SIZE)
        return page.render("donors.html", status_code=422, donors=rows, total=total, offset=0, limit=PAGE_SIZE,
                           q="", communes=communes, kinds=list(DonorKind),
                           can_edit=True, error=exc, values={k: v for k, v in form.items() if isinstance(v, str)},
                           field_labels={"area_id": page.t("common.commune")})
    return RedirectResponse("/donors", status_code=303)


@router.get("/dossiers", response_class=HTMLResponse)
def dossiers(page: Page, session: SessionDep) -> Response:
    return _dossiers_page(session, page)


def _dossier_areas(session: Session, page: WebPage) -> list[Area]:
    """A model belongs to a commune or a hamlet inside the user's scope."""
    rows, _ = list_areas(session, scope=page.scope, limit=MAX_AREAS)
    return [a for a in rows if a.kind in (AreaKind.commune, AreaKind.hamlet) and path_in_scope(a.path, page.scope)]


def _dossiers_page(session: Session, page: WebPage, *, error: CameraOpsError | None = None,
                   values: dict[str, str] | None = None, status_code: int = 200) -> Response:
    rows, total = list_models(session, scope=page.scope, limit=500)
    can_edit = page.can(Action.edit_dossiers)
    return page.render("dossiers.html", status_code=status_code, models=rows, total=total, can_edit=can_edit,
                       areas=_dossier_areas(session, page) if can_edit else [], error=error, values=values or {})


MAX_MEMBERS = 50  # a dossier lists its responsible people; more lines than this is a pasted mistake


def parse_members(value: str | None) -> list[dict[str, str | None]]:
    """One person per line: ``name; role; phone`` (phone optional). A line without a role names its
    line number (field ``members``)."""
    members: list[dict[str, str | None]] = []
    for number, line in enumerate((value or "").splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.replace("|", ";").split(";")]
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise ValidationFailed(f"line {number}: write name; role; phone", field="members", key="err.model.member_line",
                                   params={"line": number})
        members.append({"name": parts[0], "role": parts[1], "phone": (parts[2] if len(parts) > 2 else "") or None})
    if len(members) > MAX_MEMBERS:
        raise ValidationFailed(f"at most {MAX_MEMBERS} people", field="members", key="err.model.members_max",
                               params={"max": MAX_MEMBERS})
    return members


@router.post("/dossiers", response_class=HTMLResponse)
def new_dossier(page: FormPage, session: SessionDep) -> Response:
    page.require(Action.edit_dossiers)
    form = page.form
    try:
        area_id = forms.integer(form, "area_id")
        if area_id is None or area_id not in {a.id for a in _dossier_areas(session, page)}:
            raise ValidationFailed("choose the commune or hamlet", field="area_id", key="err.field.choose")
        decision_date = forms.day(form, "decision_date")
        if decision_date is None:
            raise ValidationFailed("give the decision date", field="decision_date", key="err.field.required")
        if decision_date > utcnow().date():
            raise ValidationFailed("the decision date is in the future", field="decision_date",
                                   key="err.model.decision_future")
        with session.begin_nested():
            model = create_model(session, area_id=area_id, name=forms.required(form, "name"),
                                 decision_number=forms.required(form, "decision_number"), decision_date=decision_date,
                                 managing_unit=forms.required(form, "managing_unit"),
                                 members=parse_members(forms.text(form, "members")), note=forms.text(form, "note"))
            audit.record(session, page.actor, "dossier.create", target_type="dossier", target_id=model.id,
                         target_label=model.name, changes={"area_id": area_id, "decision_number": model.decision_number})
    except CameraOpsError as exc:
        return _dossiers_page(session, page, error=exc, values=_strings(form), status_code=422)
    return RedirectResponse(f"/dossiers/{model.id}", status_code=303)


@router.get("/dossiers/{model_id}", response_class=HTMLResponse)
def dossier(model_id: int, page: Page, session: SessionDep) -> Response:
    model = get_model(session, model_id, scope=page.scope)
    cameras = session.scalar(select(func.count()).where(Camera.security_model_id == model.id,
                                                        Camera.lifecycle != Lifecycle.retired)) or 0
    return page.render("dossier.html", model=model, cameras=cameras, can_edit=page.can(Action.edit_dossiers),
                       kinds=list(ReviewKind), verdicts=list(ReviewVerdict), error=None,
                       report_values=review_defaults(model, page.settings.timezone))


@router.post("/dossiers/{model_id}/reviews", response_class=HTMLResponse)
def new_review(model_id: int, page: FormPage, session: SessionDep) -> Response:
    page.require(Action.edit_dossiers)
    model = get_model(session, model_id, scope=page.scope)
    form = page.form
    try:
        review_date = forms.day(form, "review_date")
        if review_date is None:
            raise ValidationFailed("give the review date", field="review_date", key="err.field.required")
        review = add_review(session, model, review_date=review_date,
                            kind=forms.choice(form, "kind", ReviewKind, ReviewKind.interim) or ReviewKind.interim,
                            findings=forms.required(form, "findings"),
                            verdict=forms.choice(form, "verdict", ReviewVerdict, ReviewVerdict.maintain)
                            or ReviewVerdict.maintain)
        audit.record(session, page.actor, "dossier.review", target_type="dossier", target_id=model.id,
                     target_label=model.name, changes={"kind": review.kind, "verdict": review.verdict,
                                                       "review_date": review_date})
    except CameraOpsError as exc:
        return page.render("dossier.html", status_code=422, model=model, cameras=0, can_edit=True,
                           kinds=list(ReviewKind), verdicts=list(ReviewVerdict), error=exc)
    return RedirectResponse(f"/dossiers/{model.id}", status_code=303)


@router.post("/dossiers/{model_id}/end", response_class=HTMLResponse)
def end_dossier(model_id: int, page: FormPage, session: SessionDep) -> Response:
    page.require(Action.edit_dossiers)
    model = get_model(session, model_id, scope=page.scope)
    form = page.form
    try:
        ended_on = forms.day(form, "ended_on")
        if ended_on is None:
            raise ValidationFailed("give the end date", field="ended_on", key="err.field.required")
        with session.begin_nested():
            end_model(session, model, ended_on=ended_on, reason=forms.required(form, "end_reason"))
            audit.record(session, page.actor, "dossier.end", target_type="dossier", target_id=model.id,
                         target_label=model.name, changes={"ended_on": ended_on, "reason": model.end_reason})
    except CameraOpsError as exc:
        if exc.field == "reason":
            exc.field = "end_reason"
        session.refresh(model)
        return page.render("dossier.html", status_code=422, model=model, cameras=0, can_edit=True,
                           kinds=list(ReviewKind), verdicts=list(ReviewVerdict), error=exc)
    return RedirectResponse(f"/dossiers/{model.id}", status_code=303)
