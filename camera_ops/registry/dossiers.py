"""Security model dossiers (hồ sơ mô hình "Camera an ninh"): decision, members, reviews, ending."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from camera_ops.errors import NotFound, ValidationFailed
from camera_ops.registry.areas import get_area, in_scope, path_in_scope
from storage.models import (
    Area,
    AreaKind,
    ModelMember,
    ModelReview,
    ModelStatus,
    ReviewKind,
    ReviewVerdict,
    SecurityModel,
)


def get_model(session: Session, model_id: int, *, scope: Sequence[str] | None) -> SecurityModel:
    model = session.get(SecurityModel, model_id, options=[selectinload(SecurityModel.members),
                                                          selectinload(SecurityModel.reviews)])
    if model is None or not path_in_scope(model.area.path, scope):
        raise NotFound(f"security model {model_id} does not exist", field="model_id", key="err.model.missing",
                       params={"id": model_id})
    return model


def create_model(
    session: Session, *, area_id: int, name: str, decision_number: str, decision_date: date, managing_unit: str,
    members: Sequence[dict[str, Any]] = (), note: str | None = None,
) -> SecurityModel:
    area = get_area(session, area_id)
    if area.kind not in (AreaKind.commune, AreaKind.hamlet):
        raise ValidationFailed("a model belongs to a commune or a hamlet", field="area_id", key="err.model.area")
    model = SecurityModel(area_id=area.id, name=name, decision_number=decision_number, decision_date=decision_date,
                          managing_unit=managing_unit, note=note)
    model.members = [ModelMember(**m) for m in members]
    session.add(model)
    session.flush()
    return model


def update_model(session: Session, model: SecurityModel, changes: dict[str, Any]) -> SecurityModel:
    members = changes.pop("members", None)
    for key, value in changes.items():
        setattr(model, key, value)
    if members is not None:
        model.members = [ModelMember(**m) for m in members]
    session.flush()
    return model


def add_review(
    session: Session, model: SecurityModel, *, review_date: date, kind: ReviewKind, findings: str,
    verdict: ReviewVerdict,
) -> ModelReview:
    if model.status == ModelStatus.ended:
        raise ValidationFailed("this model has ended; it takes no further reviews", field="model_id",
                               key="err.model.ended")
    review = ModelReview(model_id=model.id, review_date=review_date, kind=kind, findings=findings, verdict=verdict)
    model.reviews.append(review)
    session.flush()
    return review


def end_model(session: Session, model: SecurityModel, *, ended_on: date, reason: str) -> SecurityModel:
    if model.status == ModelStatus.ended:
        raise ValidationFailed("this model has already ended", field="model_id", key="err.model.ended")
    if not reason.strip():
        raise ValidationFailed("give the reason for ending the model", field="reason", key="err.field.required")
    if ended_on < model.decision_date:
        raise ValidationFailed("the end date is before the establishing decision", field="ended_on",
                               key="err.model.end_before_decision")
    model.status, model.ended_on, model.end_reason = ModelStatus.ended, ended_on, reason.strip()
    session.flush()
    return model


def list_models(
    session: Session, *, scope: Sequence[str] | None, area_id: int | None = None, status: ModelStatus | None = None,
    limit: int = 100, offset: int = 0,
) -> tuple[list[SecurityModel], int]:
    stmt = select(SecurityModel).join(Area, SecurityModel.area_id == Area.id)
    if scope is not None:
        stmt = stmt.where(in_scope(Area.path, scope))
    if area_id is not None:
        stmt = stmt.where(Area.path.like(f"{get_area(session, area_id).path}%"))
    if status is not None:
        stmt = stmt.where(SecurityModel.status == status)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.options(selectinload(SecurityModel.members), selectinload(SecurityModel.reviews))
        .order_by(SecurityModel.id).limit(limit).offset(offset)
    ).all()
    return list(rows), total
