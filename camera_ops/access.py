"""Who may do what: one table, pure. Area scoping (which part of the tree) is separate:
see :func:`camera_ops.registry.areas.scope_paths`."""

from __future__ import annotations

import enum

from storage.models import Role


class Action(str, enum.Enum):
    read_registry = "read_registry"  # areas, cameras, donors, dossiers
    edit_cameras = "edit_cameras"  # register, edit, move, import, maintenance
    edit_donors = "edit_donors"
    edit_dossiers = "edit_dossiers"  # security model dossiers, members, reviews
    edit_areas = "edit_areas"  # create, rename, merge, import
    manage_users = "manage_users"
    read_health = "read_health"
    handle_problems = "handle_problems"  # acknowledge / assign / close, maintenance on/off
    read_reports = "read_reports"
    request_footage = "request_footage"
    read_ledger = "read_ledger"
    read_audit = "read_audit"  # the audit log of registry and user administration


_ALL = set(Role)
PERMISSIONS: dict[Action, set[Role]] = {
    Action.read_registry: _ALL,
    Action.edit_cameras: {Role.admin, Role.commune_police},
    Action.edit_donors: {Role.admin, Role.commune_police, Role.manager},
    Action.edit_dossiers: {Role.admin, Role.commune_police, Role.manager},
    Action.edit_areas: {Role.admin},
    Action.manage_users: {Role.admin},
    Action.read_health: {Role.admin, Role.commune_police, Role.manager, Role.officer},
    Action.handle_problems: {Role.admin, Role.commune_police},
    Action.read_reports: {Role.admin, Role.commune_police, Role.manager, Role.auditor},
    Action.request_footage: {Role.admin, Role.officer},
    Action.read_ledger: {Role.admin, Role.officer, Role.auditor},
    Action.read_audit: {Role.admin, Role.auditor},
}


def allowed(role: Role, action: Action) -> bool:
    return role in PERMISSIONS[action]
