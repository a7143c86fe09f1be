"""Administrative areas: one tree (province → commune/ward → hamlet), with rename and merge history.

Units are never hard-deleted. A rename closes the current name in the rename log and opens a new
one; a merge closes the absorbed unit (``valid_to``, ``merged_into_id``) and moves its children and
cameras to the surviving unit, so history follows and old names stay findable.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from sqlalchemy import ColumnElement, false, func, or_, select, update
from sqlalchemy.orm import Session

from camera_ops.errors import Conflict, NotFound, ValidationFailed
from camera_ops.registry.csv_input import dict_rows
from camera_ops.registry.validation import control_char, control_char_message
from storage.models import AREA_PARENT_KIND, Area, AreaKind, AreaName, Camera, CameraAreaHistory, User, Role
from storage.types import utcnow

MAX_CODE_LEN = 32


def get_area(session: Session, area_id: int, *, scope: Sequence[str] | None = None) -> Area:
    """The area; outside the user's ``scope`` (path prefixes; None = everywhere) it is as if it
    did not exist."""
    area = session.get(Area, area_id)
    if area is None or not path_in_scope(area.path, scope):
        raise NotFound(f"area {area_id} does not exist", field="area_id",
                       key="err.area.missing", params={"id": area_id})
    return area


def find_current_by_code(session: Session, code: str) -> Area | None:
    return session.scalar(select(Area).where(Area.code == code, Area.valid_to.is_(None)))


def require_by_code(session: Session, code: str, *, field: str = "area_code") -> Area:
    area = find_current_by_code(session, code)
    if area is None:
        raise ValidationFailed(f"unknown area code {code!r}", field=field, key="err.area.unknown_code",
                               params={"code": code})
    return area


def create_area(
    session: Session, *, kind: AreaKind, code: str, name: str, parent_id: int | None, now: datetime | None = None
) -> Area:
    code, name = code.strip(), name.strip()
    if not code or len(code) > MAX_CODE_LEN:
        raise ValidationFailed(f"area code must be 1–{MAX_CODE_LEN} characters", field="code",
                               key="err.area.code_length",
                               params={"max": MAX_CODE_LEN})
    if not name:
        raise ValidationFailed("area name is empty", field="name", key="err.field.required")
    parent = get_area(session, parent_id) if parent_id is not None else None
    _check_parent(kind, parent)
    if find_current_by_code(session, code) is not None:
        raise Conflict(f"an area with code {code!r} already exists", field="code", key="err.area.duplicate",
                       params={"code": code})
    now = now or utcnow()
    area = Area(kind=kind, code=code, name=name, parent_id=parent.id if parent else None, valid_from=now)
    session.add(area)
    session.flush()
    area.path = f"{parent.path if parent else '/'}{area.id}/"
    session.add(AreaName(area_id=area.id, name=name, valid_from=now))
    session.flush()
    return area


def _check_parent(kind: AreaKind, parent: Area | None) -> None:
    expected = AREA_PARENT_KIND[kind]
    if expected is None and parent is not None:
        raise ValidationFailed("a province has no parent", field="parent_id", key="err.area.province_parent")
    if expected is not None and (parent is None or parent.kind != expected):
        raise ValidationFailed(f"a {kind.value} must sit under a {expected.value}", field="parent_id",
                               key="err.area.wrong_parent", params={"kind": kind.value, "parent": expected.value})
    if parent is not None and not parent.is_current:
        raise ValidationFailed(f"area {parent.code!r} was closed (merged); use the unit it became", field="parent_id",
                               key="err.area.closed", params={"code": parent.code})


def rename_area(session: Session, *, area_id: int, new_name: str, reason: str | None = None) -> Area:
    area = get_area(session, area_id)
    new_name = new_name.strip()
    if not new_name:
        raise ValidationFailed("area name is empty", field="name", key="err.field.required")
    if new_name == area.name:
        return area
    now = utcnow()
    session.execute(
        update(AreaName).where(AreaName.area_id == area.id, AreaName.valid_to.is_(None)).values(valid_to=now)
    )
    session.add(AreaName(area_id=area.id, name=new_name, valid_from=now, reason=reason))
    area.name = new_name
    session.flush()
    return area


def merge_areas(session: Session, *, absorbed_id: int, into_id: int, reason: str | None = None) -> Area:
    """Merge ``absorbed`` into ``into`` (same kind). Children and cameras move; the absorbed unit is
    closed, keeps its code and names, and points at the survivor."""
    absorbed, into = get_area(session, absorbed_id), get_area(session, into_id)
    if absorbed.id == into.id:
        raise ValidationFailed("cannot merge an area into itself", field="into_id", key="err.area.merge_self")
    if absorbed.kind != into.kind:
        raise ValidationFailed("only units of the same kind can merge", field="into_id", key="err.area.merge_kind")
    if not absorbed.is_current or not into.is_current:
        raise ValidationFailed("one of the units was already merged", field="into_id", key="err.area.merge_done")
    now = utcnow()
    for child in session.scalars(select(Area).where(Area.parent_id == absorbed.id, Area.valid_to.is_(None))):
        child.parent_id = into.id
        _repath(session, child, f"{into.path}{child.id}/")
    for camera in session.scalars(select(Camera).where(Camera.area_id == absorbed.id)):
        _reassign_camera(session, camera, into.id, now, reason=f"merge: {reason or absorbed.name}")
    absorbed.valid_to = now
    absorbed.merged_into_id = into.id
    session.execute(
        update(AreaName).where(AreaName.area_id == absorbed.id, AreaName.valid_to.is_(None)).values(valid_to=now)
    )
    # The survivor answers to the absorbed unit's name too (searching an old name finds it).
    session.add(AreaName(area_id=into.id, name=absorbed.name, valid_from=absorbed.valid_from, valid_to=now,
                         reason=f"merged from {absorbed.code}"))
    session.flush()
    from camera_ops.monitor import counts  # hamlets moved to another commune: no camera trigger saw it

    counts.rebuild(session)
    return into


def _repath(session: Session, area: Area, new_path: str) -> None:
    old = area.path
    session.execute(
        update(Area)
        .where(Area.path.like(f"{old}%"))
        .values(path=func.replace(Area.path, old, new_path))
        .execution_options(synchronize_session=False)
    )
    area.path = new_path


def _reassign_camera(session: Session, camera: Camera, area_id: int, now: datetime, *, reason: str) -> None:
    session.execute(
        update(CameraAreaHistory)
        .where(CameraAreaHistory.camera_id == camera.id, CameraAreaHistory.valid_to.is_(None))
        .values(valid_to=now)
    )
    session.add(CameraAreaHistory(camera_id=camera.id, area_id=area_id, valid_from=now, reason=reason))
    camera.area_id = area_id


def list_areas(
    session: Session,
    *,
    scope: Sequence[str] | None,
    kind: AreaKind | None = None,
    parent_id: int | None = None,
    q: str | None = None,
    include_closed: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Area], int]:
    stmt = select(Area)
    if scope is not None:
        stmt = stmt.where(in_scope(Area.path, scope, include_ancestors_of=True))
    if kind is not None:
        stmt = stmt.where(Area.kind == kind)
    if parent_id is not None:
        stmt = stmt.where(Area.parent_id == parent_id)
    if not include_closed:
        stmt = stmt.where(Area.valid_to.is_(None))
    if q:
        like = f"%{q.strip().lower()}%"
        old_names = select(AreaName.area_id).where(func.lower(AreaName.name).like(like))
        stmt = stmt.where(or_(func.lower(Area.name).like(like), func.lower(Area.code).like(like), Area.id.in_(old_names)))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Area.path).limit(limit).offset(offset)).all()
    return list(rows), total


# --- scoping ------------------------------------------------------------------------------------


def scope_paths(user: User) -> list[str] | None:
    """The subtree prefixes a user may see; ``None`` means everything (admin, or a user scoped to
    nothing would see nothing: an empty list)."""
    if user.role == Role.admin:
        return None
    return [a.path for a in user.areas]


def in_scope(path_column: ColumnElement[str], scope: Sequence[str], *, include_ancestors_of: bool = False) -> ColumnElement[bool]:
    """SQL condition: the row's area path lies in one of the scoped subtrees (and, for listing the
    tree itself, the ancestors of those subtrees, so a commune user sees their province's name)."""
    if not scope:
        return false()
    conditions: list[ColumnElement[bool]] = [path_column.like(f"{p}%") for p in scope]
    if include_ancestors_of:
        ancestors = {anc for p in scope for anc in _ancestor_paths(p)}
        if ancestors:
            conditions.append(path_column.in_(sorted(ancestors)))
    return or_(*conditions)


def _ancestor_paths(path: str) -> list[str]:
    ids = [p for p in path.strip("/").split("/") if p]
    return ["/" + "/".join(ids[:i]) + "/" for i in range(1, len(ids))]


def path_in_scope(path: str, scope: Sequence[str] | None) -> bool:
    return scope is None or any(path.startswith(p) for p in scope)


# --- CSV import ---------------------------------------------------------------------------------

AREA_CSV_COLUMNS = ("code", "name", "kind", "parent_code")


@dataclass(frozen=True)
class RowResult:
    row: int  # 1-based line number in the file, header = line 1
    outcome: str  # created | unchanged | renamed | error
    message: str = ""  # English (CLI, logs); pages render ``error`` / ``note_key`` in the user's language
    key: str = ""
    error: dict[str, Any] | None = None  # CameraOpsError.to_dict() of a failed row
    note_key: str | None = None  # message key of a non-error note (``import.note.*``)


def import_areas_csv(session: Session, source: str | TextIO) -> list[RowResult]:
    """Import areas (one per row; parents before children or in the same file). Idempotent:
    importing the same file again changes nothing. Each row is its own savepoint: a bad row
    changes nothing and the others still import. ``source``: text, or a text stream read row by row."""
    header, rows = dict_rows(source)
    missing = set(AREA_CSV_COLUMNS) - set(header)
    if missing:
        raise ValidationFailed(f"CSV header lacks column(s): {', '.join(sorted(missing))}", field="file",
                               key="err.import.missing_columns", params={"columns": ", ".join(sorted(missing))})
    results = []
    for line_no, row in enumerate(rows, start=2):
        results.append(_import_area_row(session, line_no, row))
    return results


def _import_area_row(session: Session, line_no: int, row: dict[str, str | None]) -> RowResult:
    code = (row.get("code") or "").strip()
    name = (row.get("name") or "").strip()
    kind_text = (row.get("kind") or "").strip().lower()
    parent_code = (row.get("parent_code") or "").strip()
    for field, value in (("code", code), ("name", name), ("parent_code", parent_code)):
        if (char := control_char(value)) is not None:
            return RowResult(line_no, "error", control_char_message(field, char), code)
    try:
        kind = AreaKind(kind_text)
    except ValueError:
        bad = ValidationFailed(f"kind must be province, commune or hamlet, not {kind_text!r}", field="kind",
                               key="err.field.not_allowed",
                               params={"value": kind_text, "allowed": "province, commune, hamlet"})
        return RowResult(line_no, "error", bad.message, code, error=bad.to_dict())
    existing = find_current_by_code(session, code) if code else None
    if existing is not None:
        if existing.name == name:
            return RowResult(line_no, "unchanged", "", code)
        rename_area(session, area_id=existing.id, new_name=name, reason="CSV import")
        return RowResult(line_no, "renamed", f"{existing.code}: renamed", code)
    try:
        with session.begin_nested():
            parent = require_by_code(session, parent_code, field="parent_code") if parent_code else None
            create_area(session, kind=kind, code=code, name=name, parent_id=parent.id if parent else None)
    except (ValidationFailed, Conflict, NotFound) as exc:
        return RowResult(line_no, "error", exc.message, code, error=exc.to_dict())
    return RowResult(line_no, "created", "", code)


def iter_subtree_ids(session: Session, area: Area) -> Iterable[int]:
    return session.scalars(select(Area.id).where(Area.path.like(f"{area.path}%")))
