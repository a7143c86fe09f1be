"""The audit log page: filter by who, what, outcome and period; export what is shown as CSV."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from api.deps import SessionDep
from api.web.context import Page, WebPage
from camera_ops import audit, i18n
from camera_ops.access import Action
from camera_ops.errors import ValidationFailed

router = APIRouter()
PAGE_SIZE = 100
OUTCOMES = ("ok", "denied", "failed")


def _filters(page: WebPage, actor: str | None, action: str | None, outcome: str | None, target_type: str | None,
             target_id: str | None, since: str | None, until: str | None) -> audit.AuditFilter:
    def day(text: str | None, name: str) -> datetime | None:
        if not text:
            return None
        try:
            return i18n.parse_local_datetime(text if " " in text or "T" in text else f"{text} 00:00", page.settings.timezone)
        except ValueError as exc:
            raise ValidationFailed(f"{name}: not a date", field=name) from exc

    until_at = day(until, "until")
    return audit.AuditFilter(actor=actor or None, action=action or None,
                             outcome=outcome if outcome in OUTCOMES else None, target_type=target_type or None,
                             target_id=target_id or None, since=day(since, "since"),
                             until=until_at + timedelta(days=1) if until_at and len(until or "") <= 10 else until_at)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    page: Page, session: SessionDep, actor: str | None = None, action: str | None = None, outcome: str | None = None,
    target_type: str | None = None, target_id: str | None = None, since: str | None = None, until: str | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    page.require(Action.read_audit)
    filters = _filters(page, actor, action, outcome, target_type, target_id, since, until)
    rows, total = audit.list_events(session, filters, limit=PAGE_SIZE, offset=offset)
    query = page.request.url.query
    return page.render("audit.html", events=rows, total=total, offset=offset, limit=PAGE_SIZE, outcomes=OUTCOMES,
                       values={"actor": actor or "", "action": action or "", "outcome": outcome or "",
                               "since": since or "", "until": until or ""},
                       export_url="/audit.csv" + (f"?{query}" if query else ""), changes_text=lambda changes: audit.changes_text(changes, page.lang))


@router.get("/audit.csv")
def audit_csv(
    page: Page, session: SessionDep, actor: str | None = None, action: str | None = None, outcome: str | None = None,
    target_type: str | None = None, target_id: str | None = None, since: str | None = None, until: str | None = None,
) -> Response:
    page.require(Action.read_audit)
    filters = _filters(page, actor, action, outcome, target_type, target_id, since, until)
    rows, _ = audit.list_events(session, filters, limit=audit.CSV_MAX_ROWS)
    return Response(audit.events_csv(rows, page.lang, page.settings.timezone), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="nhat-ky-quan-tri.csv"'})
