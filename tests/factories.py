"""Small helpers that create rows for tests."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from camera_ops.registry.areas import create_area
from camera_ops.registry.users import create_user
from storage.models import Area, AreaKind, Role, User

_seq = itertools.count(1)
PASSWORD = "correct-horse-1"


@dataclass
class Commune:
    province: Area
    commune: Area
    hamlets: list[Area]


def make_commune(session: Session, *, province: Area | None = None, hamlets: int = 2, prefix: str | None = None) -> Commune:
    n = next(_seq)
    prefix = prefix or f"C{n}"
    if province is None:
        province = create_area(session, kind=AreaKind.province, code=f"P{n}", name=f"Tỉnh {n}", parent_id=None)
    commune = create_area(session, kind=AreaKind.commune, code=prefix, name=f"Xã {prefix}", parent_id=province.id)
    hs = [create_area(session, kind=AreaKind.hamlet, code=f"{prefix}-T{i}", name=f"Thôn {i} {prefix}",
                      parent_id=commune.id) for i in range(1, hamlets + 1)]
    session.flush()
    return Commune(province, commune, hs)


def make_user(session: Session, role: Role, areas: list[Area] | None = None, username: str | None = None) -> User:
    return create_user(session, username=username or f"user{next(_seq)}", password=PASSWORD,
                       full_name="Nguyễn Văn Test", role=role, area_ids=[a.id for a in (areas or [])])


def api_login(client: Any, username: str) -> dict[str, str]:
    """Bearer headers for ``username`` (the API's OAuth2 password flow)."""
    r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def web_login(client: Any, username: str) -> None:
    """Sign ``username`` in on the web pages (the session cookie stays with the client)."""
    r = client.post("/login", data={"username": username, "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303, r.text
