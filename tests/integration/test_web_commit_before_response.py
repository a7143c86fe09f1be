"""A page that redirects after a form must have committed what it saved *before* the response
leaves the server: the browser follows the redirect at once, and another worker (or connection)
must already see the row. The check is made at the moment the response starts (ASGI
``http.response.start``), from a separate connection, so it does not depend on timing."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text

from api.app import create_app
from camera_ops.i18n import local_time
from camera_ops.security import encrypt_secret
from storage.models import Camera, Donor, RecordingCapability, RegistrationState, Role
from storage.models_evidence import Case, ClipRequest
from tests.factories import make_commune, make_user, web_login
from tests.footage_fixtures import make_case, make_world
from storage.types import utcnow

pytestmark = pytest.mark.db
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


class ResponseStartProbe:
    """ASGI wrapper: when a POST's response starts, run ``check`` and keep what it returned."""

    def __init__(self, app, check: Callable[[], object]):
        self.app, self.check, self.seen = app, check, []

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)

        async def probing_send(message):
            if message["type"] == "http.response.start":
                self.seen.append(self.check())
            await send(message)

        return await self.app(scope, receive, probing_send)


def count_now(engine: Engine, model) -> Callable[[], int]:
    def check() -> int:
        with engine.connect() as conn:  # a separate connection: sees only committed rows
            return conn.execute(select(func.count()).select_from(model)).scalar_one()
    return check


def test_a_footage_request_is_committed_before_its_redirect_is_sent(engine, settings, session):
    world = make_world(session)
    camera = Camera(code="CAM-1", name="Cổng chợ", area_id=world.hamlet.id, host="127.0.0.1", onvif_port=9,
                    username="u", password_encrypted=encrypt_secret("p", settings),
                    replay_uri="rtsp://127.0.0.1:9/replay", recording=RecordingCapability.onvif_replay, registration=RegistrationState.registered)
    session.add(camera)
    case = make_case(session, world)
    session.commit()
    probe = ResponseStartProbe(create_app(settings, engine=engine), count_now(engine, ClipRequest))
    with TestClient(probe) as client:
        web_login(client, world.officer.username)
        page = client.get(f"/cases/{case.id}")
        end = utcnow() - timedelta(minutes=5)
        fmt = lambda at: local_time(at).strftime("%Y-%m-%dT%H:%M")  # noqa: E731
        probe.seen.clear()
        r = client.post(f"/cases/{case.id}/requests", data={
            "csrf_token": CSRF.search(page.text).group(1), "camera_ids": [str(camera.id)],
            "start": fmt(end - timedelta(minutes=2)), "end": fmt(end), "purpose": "xác minh vụ trộm xe"},
            follow_redirects=False)
    assert r.status_code == 303, r.text
    assert probe.seen == [1], "the request was not committed when the redirect started"


def test_every_form_post_has_released_its_connection_when_the_response_starts(engine, settings, session):
    """The generic form of the rule: no request still holds a database connection (an open
    transaction) when its response starts — true for every form, page and API call."""
    commune = make_commune(session)
    admin = make_user(session, Role.admin)
    session.commit()
    app = create_app(settings, engine=engine)
    probe = ResponseStartProbe(app, lambda: engine.pool.checkedout())
    session.close()
    with TestClient(probe) as client:
        web_login(client, admin.username)
        page = client.get("/donors")
        token = CSRF.search(page.text).group(1)
        client.post("/donors", data={"csrf_token": token, "name": "Hộ ông Ba", "kind": "household"},
                    follow_redirects=False)
        client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert probe.seen and all(n == 0 for n in probe.seen), probe.seen
