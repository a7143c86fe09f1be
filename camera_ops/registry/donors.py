"""Donors: households, businesses, organisations and people who paid for cameras."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from camera_ops.errors import Conflict, NotFound
from camera_ops.registry.areas import get_area, in_scope, path_in_scope
from storage.models import Area, Camera, Donor, DonorKind


def get_donor(session: Session, donor_id: int, *, scope: Sequence[str] | None) -> Donor:
    donor = session.get(Donor, donor_id)
    if donor is None or not path_in_scope(donor.area.path, scope):
        raise NotFound(f"donor {donor_id} does not exist", field="donor_id",
                       key="err.donor.missing", params={"id": donor_id})
    return donor


def create_donor(session: Session, *, area_id: int, kind: DonorKind, name: str, **fields: Any) -> Donor:
    get_area(session, area_id)
    donor = Donor(area_id=area_id, kind=kind, name=name.strip(), **fields)
    session.add(donor)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"donor {name!r} already exists in this area", field="name", key="err.donor.duplicate",
                       params={"name": name}) from exc
    return donor


def update_donor(session: Session, donor: Donor, changes: dict[str, Any]) -> Donor:
    for key, value in changes.items():
        setattr(donor, key, value)
    session.flush()
    return donor


def find_or_create_donor(session: Session, *, area_id: int, name: str, kind: DonorKind) -> tuple[Donor, bool]:
    donor = session.scalar(select(Donor).where(Donor.area_id == area_id, Donor.name == name.strip()))
    if donor is not None:
        return donor, False
    return create_donor(session, area_id=area_id, kind=kind, name=name), True


def list_donors(
    session: Session, *, scope: Sequence[str] | None, area_id: int | None = None, q: str | None = None,
    limit: int = 100, offset: int = 0,
) -> tuple[list[tuple[Donor, int]], int]:
    """Donors with how many cameras each gave."""
    cameras = select(Camera.donor_id, func.count().label("n")).group_by(Camera.donor_id).subquery()
    stmt = select(Donor, func.coalesce(cameras.c.n, 0)).join(Area, Donor.area_id == Area.id).outerjoin(
        cameras, cameras.c.donor_id == Donor.id
    )
    if scope is not None:
        stmt = stmt.where(in_scope(Area.path, scope))
    if area_id is not None:
        stmt = stmt.where(Area.path.like(f"{get_area(session, area_id).path}%"))
    if q:
        stmt = stmt.where(func.lower(Donor.name).like(f"%{q.strip().lower()}%"))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.execute(stmt.order_by(Donor.name).limit(limit).offset(offset)).all()
    return [(d, int(n)) for d, n in rows], total
