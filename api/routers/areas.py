from __future__ import annotations

from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Query, UploadFile

from api.deps import ActorDep, AreaEditor, Reader, Scope, SessionDep
from api.schemas import AreaDetailOut, AreaIn, AreaMergeIn, AreaOut, AreaRenameIn, ImportOut, Page, RowResultOut
from camera_ops import audit
from camera_ops.errors import NotFound
from camera_ops.registry import areas as area_service
from camera_ops.registry.csv_input import open_csv_text
from storage.models import AreaKind

router = APIRouter(prefix="/areas", tags=["areas"])


@router.get("", response_model=Page[AreaOut], summary="List and search areas (old names too)")
def list_areas(
    session: SessionDep, _: Reader, scope: Scope,
    kind: AreaKind | None = None, parent_id: int | None = None, q: str | None = None, include_closed: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100, offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[AreaOut]:
    rows, total = area_service.list_areas(session, scope=scope, kind=kind, parent_id=parent_id, q=q,
                                          include_closed=include_closed, limit=limit, offset=offset)
    return Page(items=[AreaOut.model_validate(a) for a in rows], total=total, limit=limit, offset=offset)


@router.get("/{area_id}", response_model=AreaDetailOut)
def get_area(area_id: int, session: SessionDep, _: Reader, scope: Scope) -> AreaDetailOut:
    area = area_service.get_area(session, area_id)
    visible = area_service.path_in_scope(area.path, scope) or any(p.startswith(area.path) for p in scope or [])
    if not visible:
        raise NotFound(f"area {area_id} does not exist", field="area_id",
                       key="err.area.missing", params={"id": area_id})
    return AreaDetailOut.model_validate(area)


@router.post("", response_model=AreaOut, status_code=201)
def create_area(body: AreaIn, session: SessionDep, _: AreaEditor, actor: ActorDep) -> AreaOut:
    area = area_service.create_area(session, **body.model_dump())
    audit.record(session, actor, "area.create", target_type="area", target_id=area.id, target_label=area.code,
                 changes={"name": area.name, "kind": area.kind, "parent_id": area.parent_id})
    return AreaOut.model_validate(area)


@router.post("/{area_id}/rename", response_model=AreaOut)
def rename_area(area_id: int, body: AreaRenameIn, session: SessionDep, _: AreaEditor, actor: ActorDep) -> AreaOut:
    before = area_service.get_area(session, area_id).name
    area = area_service.rename_area(session, area_id=area_id, new_name=body.name, reason=body.reason)
    audit.record(session, actor, "area.rename", target_type="area", target_id=area.id, target_label=area.code,
                 changes={"name": [before, area.name], "reason": body.reason})
    return AreaOut.model_validate(area)


@router.post("/{area_id}/merge", response_model=AreaOut, summary="Merge this unit into another of the same kind")
def merge_area(area_id: int, body: AreaMergeIn, session: SessionDep, _: AreaEditor, actor: ActorDep) -> AreaOut:
    into = area_service.merge_areas(session, absorbed_id=area_id, into_id=body.into_id, reason=body.reason)
    audit.record(session, actor, "area.merge", target_type="area", target_id=area_id, target_label=into.code,
                 changes={"merged_into": into.id, "reason": body.reason})
    return AreaOut.model_validate(into)


@router.post("/import", response_model=ImportOut, summary="Import areas from CSV (code,name,kind,parent_code)")
def import_areas(file: UploadFile, session: SessionDep, _: AreaEditor, actor: ActorDep) -> ImportOut:
    # a plain def: FastAPI runs it in a worker thread, so a large file never stalls the event loop
    results = area_service.import_areas_csv(session, open_csv_text(file.file))
    audit.record(session, actor, "area.import", target_type="area",
                 changes={"rows": len(results), "outcomes": dict(Counter(r.outcome for r in results))})
    return to_import_out(results)


def to_import_out(results: list[area_service.RowResult]) -> ImportOut:
    return ImportOut(counts=dict(Counter(r.outcome for r in results)),
                     rows=[RowResultOut(row=r.row, outcome=r.outcome, message=r.message, key=r.key) for r in results])
