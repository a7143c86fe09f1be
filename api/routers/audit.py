"""The audit log of administrative and registry actions, for administrators (and auditors)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from api.deps import SessionDep, SettingsDep, require
from api.schemas import AuditEventOut, Page
from camera_ops import audit, i18n
from camera_ops.access import Action
from storage.models import User

router = APIRouter(prefix="/audit", tags=["audit"])
AuditReader = Annotated[User, Depends(require(Action.read_audit))]


def audit_filter(
    actor: Annotated[str | None, Query(max_length=80, description="username")] = None,
    action: Annotated[str | None, Query(max_length=64, description="exact, or a prefix ending in '.' (camera.)")] = None,
    outcome: Annotated[str | None, Query(pattern="^(ok|denied|failed)$")] = None,
    target_type: Annotated[str | None, Query(max_length=32)] = None,
    target_id: Annotated[str | None, Query(max_length=64)] = None,
    since: datetime | None = None, until: datetime | None = None,
) -> audit.AuditFilter:
    return audit.AuditFilter(actor=actor, action=action, outcome=outcome, target_type=target_type,
                             target_id=target_id, since=since, until=until)


Filters = Annotated[audit.AuditFilter, Depends(audit_filter)]


@router.get("", response_model=Page[AuditEventOut], summary="Who did what: registry and user administration")
def list_audit(session: SessionDep, _: AuditReader, filters: Filters,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100,
               offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> Page[AuditEventOut]:
    rows, total = audit.list_events(session, filters, limit=limit, offset=offset)
    return Page(items=[AuditEventOut.model_validate(r) for r in rows], total=total, limit=limit, offset=offset)


@router.get("/export.csv", response_class=Response, summary="The filtered audit log as CSV (Vietnamese headers by default)",
            responses={200: {"content": {"text/csv": {}}}})
def export_audit(request: Request, session: SessionDep, settings: SettingsDep, _: AuditReader, filters: Filters,
                 lang: Annotated[str | None, Query(pattern="^(vi|en)$")] = None) -> Response:
    rows, _total = audit.list_events(session, filters, limit=audit.CSV_MAX_ROWS)
    chosen = i18n.parse_lang(lang) or i18n.DEFAULT_LANG
    return Response(audit.events_csv(rows, chosen, settings.timezone), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="nhat-ky-quan-tri.csv"'})
