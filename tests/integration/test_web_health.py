"""Health monitoring as the web pages show it: a camera's timeline and exact uptime over 7 / 30
days, the snapshot thumbnail, and problems acknowledged, assigned and closed from the board."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from camera_ops.health.synthetic import scene, to_jpeg
from camera_ops.health.vocabulary import reasons_to_mask
from storage.models import CameraStatus, Role
from storage.models_monitoring import CameraHealth, CameraStatusChange, Problem, ProblemState
from storage.types import utcnow
from tests.factories import PASSWORD, make_commune, make_user
from tests.integration.test_web_pages import add_camera

pytestmark = pytest.mark.db
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


@pytest.fixture
def world(session, settings):
    a = make_commune(session, prefix="HA")
    make_user(session, Role.commune_police, [a.commune], username="police")
    make_user(session, Role.commune_police, [make_commune(session, prefix="HB").commune], username="other")
    now = utcnow()
    cam = add_camera(session, settings, a.hamlets[0], "HA-1", status=CameraStatus.offline, hours=24,
                     reasons=["unreachable"])
    # registered 10 days ago, online then; 1 day ago offline: the last 7 days are 6 days up, 1 day down
    cam.created_at = now - timedelta(days=10)
    session.add_all([
        CameraStatusChange(camera_id=cam.id, at=now - timedelta(days=10), status=CameraStatus.online, reasons_mask=0),
        CameraStatusChange(camera_id=cam.id, at=cam.status_since, status=CameraStatus.offline,
                           reasons_mask=reasons_to_mask(["unreachable"])),
        CameraHealth(camera_id=cam.id, snapshot_at=now - timedelta(days=1, minutes=5),
                     thumbnail=to_jpeg(scene(1, (160, 90)))),
        Problem(camera_id=cam.id, area_id=a.hamlets[0].id, status=CameraStatus.offline, reasons=["unreachable"],
                started_at=cam.status_since),
    ])
    session.commit()
    return {"cam": cam}


@pytest.fixture
def client(engine, settings, world):
    with TestClient(create_app(settings, engine=engine)) as c:
        r = c.post("/login", data={"username": "police", "password": PASSWORD}, follow_redirects=False)
        assert r.status_code == 303
        yield c


def test_camera_page_shows_the_exact_uptime_and_the_timeline_of_7_and_30_days(client, world):
    cam = world["cam"]
    week = client.get(f"/cameras/{cam.id}").text
    assert re.search(r'id="uptime-pct">85,7\s%', week)  # 6 of 7 days up
    assert week.count('<rect x="') == 2 and 'class="fill-offline"' in week
    month = client.get(f"/cameras/{cam.id}?days=30").text
    assert re.search(r'id="uptime-pct">90,0\s%', month)  # 10 days since registration, 9 up
    assert "Không liên lạc được" in month
    assert 'class="fill-unknown"' not in month  # no "unknown" before the camera existed


def test_a_new_cameras_history_starts_at_its_registration_not_a_week_of_unknown(client, world, session, settings):
    from camera_ops.registry.areas import get_area
    hamlet = get_area(session, world["cam"].area_id)
    fresh = add_camera(session, settings, hamlet, "HA-NEW", status=CameraStatus.online)
    fresh.created_at = utcnow() - timedelta(hours=2)
    session.add(CameraStatusChange(camera_id=fresh.id, at=fresh.created_at + timedelta(minutes=1),
                                   status=CameraStatus.online, reasons_mask=0))
    session.commit()
    page = client.get(f"/cameras/{fresh.id}").text
    assert re.search(r'id="uptime-pct">100,0\s%', page)  # the minute before the first probe is not counted
    unknown = [float(w) for w in re.findall(r'width="([\d.]+)" height="6" class="fill-unknown"', page)]
    assert unknown and sum(unknown) < 1.0  # one minute of two hours; was 98.8 % of the bar (a week)


def test_board_shows_the_snapshot_thumbnail_and_the_endpoint_serves_it_in_scope(client, world, engine, settings):
    cam = world["cam"]
    board = client.get("/board").text
    assert f'src="/cameras/{cam.id}/snapshot.jpg?at=' in board
    jpeg = client.get(f"/cameras/{cam.id}/snapshot.jpg")
    assert jpeg.status_code == 200 and jpeg.headers["content-type"] == "image/jpeg" and jpeg.content[:2] == b"\xff\xd8"
    with TestClient(create_app(settings, engine=engine)) as other:
        other.post("/login", data={"username": "other", "password": PASSWORD})
        assert other.get(f"/cameras/{cam.id}/snapshot.jpg").status_code == 404


def test_a_problem_is_acknowledged_assigned_and_closed_from_the_board(client, world, session):
    board = client.get("/board").text
    token = CSRF.search(board).group(1)
    problem_id = int(re.search(r'action="/problems/(\d+)/acknowledge"', board).group(1))
    assert client.post(f"/problems/{problem_id}/acknowledge", data={"csrf_token": token},
                       follow_redirects=False).status_code == 303
    client.post(f"/problems/{problem_id}/assign", data={"csrf_token": token, "kind": "hamlet_head",
                                                         "name": "Ông Lê Văn Tư", "phone": "0912345678"})
    board = client.get("/board").text
    assert "Giao: Ông Lê Văn Tư" in board and "Đã biết" in board
    client.post(f"/problems/{problem_id}/close", data={"csrf_token": token})
    session.expire_all()
    problem = session.get(Problem, problem_id)
    session.commit()
    assert problem.state == ProblemState.closed and problem.assignee_phone == "0912345678"


def test_maintenance_from_the_board_closes_the_open_problem(client, world, session):
    cam = world["cam"]
    token = CSRF.search(client.get("/board").text).group(1)
    client.post(f"/cameras/{cam.id}/maintenance", data={"csrf_token": token, "on": "1"})
    session.expire_all()
    problem = session.query(Problem).one()
    health = session.get(CameraHealth, cam.id)
    session.commit()
    assert problem.close_reason.value == "maintenance" and health.maintenance_requested_at is not None
