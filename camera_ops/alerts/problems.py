"""What people do with problems: list, acknowledge, assign, close. Scoped by the user's areas."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from camera_ops.errors import NotFound, ValidationFailed
from camera_ops.registry.areas import get_area, in_scope, path_in_scope
from storage.models import Area, Camera, User
from storage.models_monitoring import Alert, AssigneeKind, CloseReason, Problem, ProblemState
from storage.types import utcnow


@dataclass(frozen=True, slots=True)
class ProblemView:
    problem: Problem
    camera: Camera
    hamlet: Area


def list_problems(
    session: Session, *, scope: Sequence[str] | None, area_id: int | None = None, include_closed: bool = False,
    limit: int = 200, offset: int = 0,
) -> list[ProblemView]:
    """Open problems first, longest-running first."""
    stmt = (select(Problem, Camera, Area).join(Camera, Camera.id == Problem.camera_id)
            .join(Area, Area.id == Camera.area_id))
    if scope is not None:
        stmt = stmt.where(in_scope(Area.path, scope))
    if area_id is not None:
        stmt = stmt.where(Area.path.like(f"{get_area(session, area_id).path}%"))
    if not include_closed:
        stmt = stmt.where(Problem.closed_at.is_(None))
    stmt = stmt.order_by(Problem.closed_at.is_not(None), Problem.started_at, Problem.id).limit(limit).offset(offset)
    return [ProblemView(p, c, a) for p, c, a in session.execute(stmt)]


def get_problem(session: Session, problem_id: int, *, scope: Sequence[str] | None) -> ProblemView:
    row = session.execute(select(Problem, Camera, Area).join(Camera, Camera.id == Problem.camera_id)
                          .join(Area, Area.id == Camera.area_id).where(Problem.id == problem_id)).first()
    if row is None or not path_in_scope(row[2].path, scope):
        raise NotFound(f"problem {problem_id} does not exist", field="problem_id",
                       key="err.problem.missing", params={"id": problem_id})
    return ProblemView(*row)


def _require_open(problem: Problem) -> None:
    if problem.closed_at is not None:
        raise ValidationFailed("this problem is already closed", field="problem_id", key="err.problem.closed")


def acknowledge(session: Session, view: ProblemView, user: User, note: str | None = None) -> Problem:
    problem = view.problem
    _require_open(problem)
    problem.state, problem.acknowledged_at, problem.acknowledged_by = ProblemState.acknowledged, utcnow(), user.id
    if note:
        problem.note = _append(problem.note, user, note)
    session.flush()
    return problem


def assign(
    session: Session, view: ProblemView, user: User, *, kind: AssigneeKind, name: str, phone: str | None,
    note: str | None,
) -> Problem:
    problem = view.problem
    _require_open(problem)
    if not name.strip():
        raise ValidationFailed("say who the problem is assigned to", field="assignee_name", key="err.field.required")
    problem.assignee_kind, problem.assignee_name, problem.assignee_phone = kind, name.strip(), phone
    problem.assigned_at = utcnow()
    if problem.state == ProblemState.open:
        problem.state, problem.acknowledged_at, problem.acknowledged_by = ProblemState.acknowledged, utcnow(), user.id
    if note:
        problem.note = _append(problem.note, user, note)
    session.flush()
    return problem


def close(session: Session, view: ProblemView, user: User, note: str | None = None) -> Problem:
    problem = view.problem
    _require_open(problem)
    problem.closed_at, problem.closed_by, problem.close_reason = utcnow(), user.id, CloseReason.manual
    problem.state = ProblemState.closed
    if note:
        problem.note = _append(problem.note, user, note)
    session.flush()
    return problem


def _append(existing: str | None, user: User, note: str) -> str:
    line = f"[{utcnow():%Y-%m-%d %H:%M}Z {user.username}] {note.strip()}"
    return f"{existing}\n{line}" if existing else line


def list_alerts(session: Session, *, scope: Sequence[str] | None, limit: int = 100, offset: int = 0) -> list[Alert]:
    """The in-app list, newest first. Alerts about the whole service (no area: custody checkpoints)
    are for those who see every area."""
    stmt = select(Alert).outerjoin(Area, Area.id == Alert.area_id)
    if scope is not None:
        stmt = stmt.where(in_scope(Area.path, scope))
    return list(session.scalars(stmt.order_by(Alert.created_at.desc(), Alert.id.desc()).limit(limit).offset(offset)))
