from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ActorDep, DonorEditor, Reader, Scope, SessionDep
from api.schemas import DonorIn, DonorOut, DonorPatch, Page
from camera_ops import audit
from camera_ops.errors import ValidationFailed
from camera_ops.registry import donors as donor_service
from camera_ops.registry.areas import get_area, path_in_scope

router = APIRouter(prefix="/donors", tags=["donors"])


@router.get("", response_model=Page[DonorOut], summary="Donors with the number of cameras each gave")
def list_donors(
    session: SessionDep, _: Reader, scope: Scope, area_id: int | None = None, q: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100, offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[DonorOut]:
    rows, total = donor_service.list_donors(session, scope=scope, area_id=area_id, q=q, limit=limit, offset=offset)
    items = [DonorOut.model_validate(d).model_copy(update={"camera_count": n}) for d, n in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/{donor_id}", response_model=DonorOut)
def get_donor(donor_id: int, session: SessionDep, _: Reader, scope: Scope) -> DonorOut:
    return DonorOut.model_validate(donor_service.get_donor(session, donor_id, scope=scope))


@router.post("", response_model=DonorOut, status_code=201)
def create_donor(body: DonorIn, session: SessionDep, _: DonorEditor, scope: Scope, actor: ActorDep) -> DonorOut:
    if not path_in_scope(get_area(session, body.area_id).path, scope):
        raise ValidationFailed(f"area {body.area_id} does not exist", field="area_id", key="err.area.missing",
                               params={"id": body.area_id})
    donor = donor_service.create_donor(session, **body.model_dump())
    audit.record(session, actor, "donor.create", target_type="donor", target_id=donor.id, target_label=donor.name,
                 changes=body.model_dump())
    return DonorOut.model_validate(donor)


@router.patch("/{donor_id}", response_model=DonorOut)
def update_donor(donor_id: int, body: DonorPatch, session: SessionDep, _: DonorEditor, scope: Scope,
                 actor: ActorDep) -> DonorOut:
    donor = donor_service.get_donor(session, donor_id, scope=scope)
    changes = body.model_dump(exclude_unset=True)
    before = {k: getattr(donor, k, None) for k in changes}
    donor = donor_service.update_donor(session, donor, dict(changes))
    audit.record(session, actor, "donor.update", target_type="donor", target_id=donor.id, target_label=donor.name,
                 changes={k: [before[k], v] for k, v in changes.items()})
    return DonorOut.model_validate(donor)
