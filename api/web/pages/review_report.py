"""The review report of a model dossier (báo cáo sơ kết / tổng kết): the printable page, the form on
the dossier page that generates it and stores it as a review with its Word file, and the download."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.deps import SessionDep
from api.web import forms
from api.web.context import FormPage, Page, WebPage
from camera_ops import audit
from camera_ops.access import Action
from camera_ops.errors import CameraOpsError, NotFound, ValidationFailed
from camera_ops.i18n import local_time
from camera_ops.registry.dossiers import add_review, get_model
from camera_ops.reports.review import NO_REASON, ReviewReport, build_review
from camera_ops.reports.review_docx import model_title, review_docx
from storage.models import Camera, Lifecycle, ModelReview, ReviewKind, ReviewVerdict, SecurityModel
from storage.types import utcnow

router = APIRouter()
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
FIELDS = ("from", "to", "kind", "number", "verdict", "findings")
DAY_LAYOUTS = ("%d/%m/%Y", "%Y-%m-%d")


def field_labels(page: WebPage) -> dict[str, str]:
    return {"from": page.t("review.from"), "to": page.t("review.to"), "number": page.t("review.number"),
            "verdict": page.t("dossier.verdict"), "findings": page.t("dossier.findings"),
            "kind": page.t("common.kind")}


def review_defaults(model: SecurityModel, tz: str) -> dict[str, str]:
    """The form's first values: from 1 January (or the decision, if later) to today, Vietnam dates."""
    today = local_time(utcnow(), tz).date()
    start = max(date(today.year, 1, 1), min(model.decision_date, today))
    return {"from": f"{start:%d/%m/%Y}", "to": f"{today:%d/%m/%Y}", "kind": ReviewKind.interim.value}


def parse_day(values: dict[str, Any], name: str) -> date | None:
    """``dd/mm/yyyy`` as the form asks (whatever the browser's locale) or ISO ``yyyy-mm-dd`` (links)."""
    text = forms.text(values, name)
    if text is None:
        return None
    for layout in DAY_LAYOUTS:
        try:
            return datetime.strptime(text, layout).date()
        except ValueError:
            continue
    raise ValidationFailed(f"{name}: {text!r} is not a date", field=name, key="err.field.not_date",
                           params={"value": text})


def _read(values: dict[str, Any], page: WebPage, session: Session, model: SecurityModel, *,
          need_verdict: bool) -> ReviewReport:
    """A report from the form's (or the query's) fields; a bad one names its field."""
    kind = forms.choice(values, "kind", ReviewKind, ReviewKind.interim) or ReviewKind.interim
    start, end = parse_day(values, "from"), parse_day(values, "to")
    verdict = forms.choice(values, "verdict", ReviewVerdict)
    number = forms.text(values, "number") or ""
    if len(number) > 64:
        raise ValidationFailed("the number is too long", field="number", key="err.field.too_long", params={"max": 64})
    findings = forms.text(values, "findings") or ""
    report = build_review(session, model, kind=kind, period_from=start, period_to=end,  # type: ignore[arg-type]
                          tz=page.settings.timezone, number=number, verdict=verdict, findings=findings)
    if need_verdict and verdict is None:
        raise ValidationFailed("choose maintain, replicate or end", field="verdict", key="err.review.verdict")
    if need_verdict and not findings:
        raise ValidationFailed("findings is required", field="findings", key="err.field.required")
    return report


@router.get("/dossiers/{model_id}/review-report", response_class=HTMLResponse)
def review_report_page(model_id: int, page: Page, session: SessionDep) -> Response:
    model = get_model(session, model_id, scope=page.scope)
    values: dict[str, Any] = {k: page.request.query_params.get(k) for k in FIELDS}
    review_id = page.request.query_params.get("review")
    if review_id:
        review = _stored(model, review_id)
        values = {"from": _iso(review.period_from), "to": _iso(review.period_to), "kind": review.kind.value,
                  "number": review.doc_number or "", "verdict": review.verdict.value, "findings": review.findings}
    try:
        report = _read(values, page, session, model, need_verdict=False)
    except CameraOpsError as exc:
        return _dossier(session, page, model, error=exc, values=values, status_code=422)
    return _printable(page, report)


def _printable(page: WebPage, report: ReviewReport) -> Response:
    return page.render("review_report.html", r=report, title=model_title(report), no_reason=NO_REASON)


@router.post("/dossiers/{model_id}/review-report", response_class=HTMLResponse)
def generate_review_report(model_id: int, page: FormPage, session: SessionDep) -> Response:
    page.require(Action.edit_dossiers)
    model = get_model(session, model_id, scope=page.scope)
    if page.form.get("action") == "preview":  # the form's "Xem trước bản in": the page, nothing stored
        try:
            report = _read(page.form, page, session, model, need_verdict=False)
        except CameraOpsError as exc:
            return _dossier(session, page, model, error=exc, values=_strings(page.form), status_code=422)
        return _printable(page, report)
    try:
        report = _read(page.form, page, session, model, need_verdict=True)
        document = review_docx(report)
        with session.begin_nested():
            review = add_review(session, model, review_date=report.issued_on, kind=report.kind,
                                findings=report.findings, verdict=report.verdict)  # type: ignore[arg-type]
            review.period_from, review.period_to = report.period_from, report.period_to
            review.doc_number, review.document = report.number or None, document
            session.flush()
            audit.record(session, page.actor, "dossier.review_report", target_type="dossier", target_id=model.id,
                         target_label=model.name, changes={"kind": report.kind, "verdict": report.verdict,
                                                           "period": [report.period_from, report.period_to],
                                                           "number": report.number})
    except CameraOpsError as exc:
        return _dossier(session, page, model, error=exc, values=_strings(page.form), status_code=422)
    return RedirectResponse(f"/dossiers/{model.id}#review-{review.id}", status_code=303)


@router.get("/dossiers/{model_id}/reviews/{review_id}/report.docx")
def download_review_report(model_id: int, review_id: int, page: Page, session: SessionDep) -> Response:
    model = get_model(session, model_id, scope=page.scope)
    review = _stored(model, str(review_id))
    document = session.scalar(select(ModelReview.document).where(ModelReview.id == review.id))
    if document is None:
        raise NotFound(f"review {review_id} has no report file", field="review_id", key="err.review.no_file")
    name = f"bao-cao-{'so-ket' if review.kind == ReviewKind.interim else 'tong-ket'}-mo-hinh-{model.id}-{review.id}.docx"
    return Response(document, media_type=DOCX,
                    headers={"Content-Disposition": f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(name)}"})


def _stored(model: SecurityModel, review_id: str) -> ModelReview:
    for review in model.reviews:
        if str(review.id) == review_id and review.period_from is not None:
            return review
    raise NotFound(f"review {review_id} does not exist", field="review_id", key="err.review.missing")


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""


def _strings(form: dict[str, Any]) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str) and k in FIELDS}


def _dossier(session: Session, page: WebPage, model: SecurityModel, *, error: CameraOpsError,
             values: dict[str, Any], status_code: int) -> Response:
    """The dossier page again, the report form refilled and the field to fix marked."""
    session.rollback()
    model = get_model(session, model.id, scope=page.scope)
    cameras = session.scalar(select(func.count()).where(Camera.security_model_id == model.id,
                                                        Camera.lifecycle != Lifecycle.retired)) or 0
    return page.render("dossier.html", status_code=status_code, model=model, cameras=cameras,
                       can_edit=page.can(Action.edit_dossiers), kinds=list(ReviewKind), verdicts=list(ReviewVerdict),
                       error=error, error_form="report", report_values={k: v or "" for k, v in values.items()},
                       field_labels=field_labels(page))
