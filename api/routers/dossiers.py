from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ActorDep, DossierEditor, Reader, Scope, SessionDep
from api.schemas import ModelEndIn, ModelIn, ModelOut, ModelPatch, Page, ReviewIn, ReviewOut
from camera_ops import audit
from camera_ops.errors import ValidationFailed
from camera_ops.registry import dossiers as dossier_service
from camera_ops.registry.areas import get_area, path_in_scope
from storage.models import ModelStatus

router = APIRouter(prefix="/models", tags=["security model dossiers"])


@router.get("", response_model=Page[ModelOut])
def list_models(
    session: SessionDep, _: Reader, scope: Scope, area_id: int | None = None, status: ModelStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100, offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[ModelOut]:
    rows, total = dossier_service.list_models(session, scope=scope, area_id=area_id, status=status, limit=limit,
                                              offset=offset)
    return Page(items=[ModelOut.model_validate(m) for m in rows], total=total, limit=limit, offset=offset)


@router.get("/{model_id}", response_model=ModelOut)
def get_model(model_id: int, session: SessionDep, _: Reader, scope: Scope) -> ModelOut:
    return ModelOut.model_validate(dossier_service.get_model(session, model_id, scope=scope))


@router.post("", response_model=ModelOut, status_code=201)
def create_model(body: ModelIn, session: SessionDep, _: DossierEditor, scope: Scope, actor: ActorDep) -> ModelOut:
    if not path_in_scope(get_area(session, body.area_id).path, scope):
        raise ValidationFailed(f"area {body.area_id} does not exist", field="area_id", key="err.area.missing",
                               params={"id": body.area_id})
    data = body.model_dump()
    model = dossier_service.create_model(session, **data)
    audit.record(session, actor, "dossier.create", target_type="dossier", target_id=model.id, target_label=model.name,
                 changes=body.model_dump())
    return ModelOut.model_validate(model)


@router.patch("/{model_id}", response_model=ModelOut)
def update_model(model_id: int, body: ModelPatch, session: SessionDep, _: DossierEditor, scope: Scope,
                 actor: ActorDep) -> ModelOut:
    model = dossier_service.get_model(session, model_id, scope=scope)
    changes = body.model_dump(exclude_unset=True)
    model = dossier_service.update_model(session, model, dict(changes))
    audit.record(session, actor, "dossier.update", target_type="dossier", target_id=model.id, target_label=model.name,
                 changes=changes)
    return ModelOut.model_validate(model)


@router.post("/{model_id}/reviews", response_model=ReviewOut, status_code=201, summary="Record a sơ kết / tổng kết")
def add_review(model_id: int, body: ReviewIn, session: SessionDep, _: DossierEditor, scope: Scope,
               actor: ActorDep) -> ReviewOut:
    model = dossier_service.get_model(session, model_id, scope=scope)
    review = dossier_service.add_review(session, model, **body.model_dump())
    audit.record(session, actor, "dossier.review", target_type="dossier", target_id=model.id, target_label=model.name,
                 changes={"kind": review.kind, "verdict": review.verdict, "review_date": review.review_date})
    return ReviewOut.model_validate(review)


@router.post("/{model_id}/end", response_model=ModelOut, summary="End a model (kết thúc mô hình)")
def end_model(model_id: int, body: ModelEndIn, session: SessionDep, _: DossierEditor, scope: Scope,
              actor: ActorDep) -> ModelOut:
    model = dossier_service.get_model(session, model_id, scope=scope)
    model = dossier_service.end_model(session, model, ended_on=body.ended_on, reason=body.reason)
    audit.record(session, actor, "dossier.end", target_type="dossier", target_id=model.id, target_label=model.name,
                 changes={"ended_on": body.ended_on, "reason": body.reason})
    return ModelOut.model_validate(model)
