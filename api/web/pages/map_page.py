"""Map: cameras at their install points, coloured by status (Leaflet, served from xstatic)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.deps import SessionDep
from api.web.board_query import STATUS_ORDER, effective_status
from api.web.context import Formatter, Page
from camera_ops.registry.areas import in_scope
from storage.models import Area, Camera, CameraStatus, Lifecycle

router = APIRouter()


def map_points(session: Session, scope: Sequence[str] | None, f: Formatter) -> tuple[list[dict[str, Any]], int]:
    """Markers for cameras with coordinates, and how many in scope have none."""
    status = effective_status().label("status")
    base = select(Camera.id).join(Area, Camera.area_id == Area.id).where(Camera.lifecycle != Lifecycle.retired)
    stmt = select(Camera.id, Camera.code, Camera.name, Area.name, status, Camera.status_since, Camera.latitude,
                  Camera.longitude).join(Area, Camera.area_id == Area.id).where(
        Camera.lifecycle != Lifecycle.retired, Camera.latitude.is_not(None), Camera.longitude.is_not(None))
    if scope is not None:
        stmt = stmt.where(in_scope(Area.path, scope))
        base = base.where(in_scope(Area.path, scope))
    points = [
        {"id": cid, "code": code, "name": name, "hamlet": hamlet, "status": st,
         "status_label": f.label(CameraStatus(st), "status"), "since": f.dt(since), "lat": lat, "lon": lon,
         "url": f"/cameras/{cid}"}
        for cid, code, name, hamlet, st, since, lat, lon in session.execute(stmt.order_by(Camera.code))
    ]
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    return points, total - len(points)


@router.get("/map", response_class=HTMLResponse)
def camera_map(page: Page, session: SessionDep) -> Response:
    f = Formatter(page.lang, page.settings.timezone)
    points, unplaced = map_points(session, page.scope, f)
    return page.render("map.html", points=points, unplaced=unplaced, tile_url=page.settings.tile_url,
                       statuses=STATUS_ORDER)
