"""Issue 12 findings 3 and 4: safe development secrets, login throttling, server-side sessions."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import jwt
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from storage.models import Role
from tests.factories import make_user

pytestmark = pytest.mark.db


@pytest.fixture
def users(session):
    made = {"admin": make_user(session, Role.admin, username="admin")}
    session.commit()
    return made


@pytest.fixture
def client(engine, settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine=engine)) as c:
        yield c


def test_a_token_forged_with_the_old_development_constant_is_refused(client, users):
    """Finding 4: without configuration, tokens were signed with a key anyone could compute from the
    source; a forged admin token got 200 on /api/v1/users."""
    old_constant = hashlib.sha256(b"camera-ops-development-jwt").hexdigest()
    now = datetime.now(timezone.utc)
    forged = jwt.encode({"sub": str(users["admin"].id), "iat": now, "exp": now + timedelta(hours=1)}, old_constant,
                        algorithm="HS256")
    r = client.get("/api/v1/users", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401
    r = client.get("/api/v1/users", cookies={"camera_ops_token": forged})
    assert r.status_code == 401
