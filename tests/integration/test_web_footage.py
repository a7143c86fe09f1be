"""Cases and footage through the web pages: a request made with the form is archived by the worker
from a simulated camera, its progress is polled, the clip page shows the hashes, playback goes
through the logged streaming endpoint (the ledger gains the event), and the trail verifies."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from camera_ops.footage.worker import Worker
from camera_ops.i18n import local_time
from camera_ops.sim.spec import CameraSpec
from camera_ops.sim.testing import FleetHandle, running_fleet
from storage.models import Role
from storage.models_evidence import Clip, ClipStatus, CustodyEvent
from tests.factories import make_commune, make_user, web_login as login
from tests.footage_fixtures import make_case, make_world, recent_window, sim_camera_row

pytestmark = pytest.mark.db
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


@pytest.fixture(scope="module")
def fleet() -> Iterator[FleetHandle]:
    with running_fleet([CameraSpec("web", vendor="generic")]) as handle:
        yield handle


def local_input(at) -> str:
    return local_time(at).strftime("%Y-%m-%dT%H:%M:%S")


def test_a_request_made_in_the_form_is_archived_played_and_logged(client, session, engine, settings, fleet):
    world = make_world(session)
    camera = sim_camera_row(session, settings, fleet.camera("web"), world.hamlet)
    camera.latitude, camera.longitude = 21.0285, 105.8542
    case = make_case(session, world)
    session.commit()
    login(client, world.officer.username)

    page = client.get(f"/cases/{case.id}")
    assert page.status_code == 200 and f'value="{camera.id}"' in page.text  # the hamlet-list picker
    assert '"code": "CAM-web"' in page.text  # the same camera on the picker map
    start, end = recent_window(fleet.camera_clock("web"), 3)
    r = client.post(f"/cases/{case.id}/requests", data={
        "csrf_token": CSRF.search(page.text).group(1), "camera_ids": [str(camera.id)],
        "start": local_input(start), "end": local_input(end), "purpose": "xác minh vụ trộm xe"},
        follow_redirects=False)
    assert r.status_code == 303, r.text
    request_id = int(r.headers["location"].rsplit("-", 1)[1])
    progress = client.get(f"/requests/{request_id}/progress").json()
    assert progress["status"] == "queued" and progress["done"] is False and progress["label"] == "Đang chờ"

    assert [o.status for o in Worker(engine, settings).run_until_idle()] == [ClipStatus.archived]
    progress = client.get(f"/requests/{request_id}/progress").json()
    assert progress["done"] is True and progress["clips"][0]["label"] == "Đã lưu trữ"

    clip_id = progress["clips"][0]["id"]
    session.expire_all()
    clip = session.get(Clip, clip_id)
    session.commit()  # the test's session must not hold SQLite's write lock while the ledger appends
    html = client.get(f"/clips/{clip_id}").text
    assert clip.sha256 in html and clip.manifest_key in html and 'id="play-form"' in html
    assert html.count('name="purpose"') == 1  # asked once, for playing and for the package alike
    # a link from another site carries the cookie (SameSite=Lax) but not the page's form token
    forged = client.get(f"/api/v1/clips/{clip_id}/content", params={"purpose": "forged purpose"})
    assert forged.status_code == 403
    video = client.get(f"/api/v1/clips/{clip_id}/content", headers={"Range": "bytes=0-99"},
                       params={"purpose": "xem lại hiện trường", "csrf_token": CSRF.search(html).group(1)})
    assert video.status_code == 206 and len(video.content) == 100
    events = list(session.scalars(select(CustodyEvent.event_type).where(CustodyEvent.clip == clip_id)
                                  .order_by(CustodyEvent.seq)))
    purposes = list(session.scalars(select(CustodyEvent.purpose)))
    session.commit()
    assert events[-1] == "streamed", video.text
    assert "forged purpose" not in purposes
    trail = client.get(f"/clips/{clip_id}").text.split('id="trail"', 1)[1]
    assert 'data-event="streamed"' in trail and "Phát trực tuyến" in trail

    verify = client.post(f"/clips/{clip_id}/verify", data={"csrf_token": CSRF.search(html).group(1)})
    assert verify.status_code == 200 and "Toàn vẹn: dữ liệu lưu trữ khớp mã băm." in verify.text


def test_a_window_in_the_future_names_the_field_and_queues_nothing(client, session, settings, fleet):
    world = make_world(session)
    camera = sim_camera_row(session, settings, fleet.camera("web"), world.hamlet)
    case = make_case(session, world)
    session.commit()
    login(client, world.officer.username)
    token = CSRF.search(client.get(f"/cases/{case.id}").text).group(1)
    r = client.post(f"/cases/{case.id}/requests", data={
        "csrf_token": token, "camera_ids": [str(camera.id)], "start": "2099-01-01T10:00:00",
        "end": "2099-01-01T10:05:00", "purpose": "xác minh"})
    assert r.status_code == 422 and "Mục cần sửa: Đến (giờ Việt Nam)" in r.text
    assert "chỉ ghi trực tiếp mới ghi trước được" in r.text and "only live capture" not in r.text
    assert session.scalar(select(Clip.id)) is None


def test_an_officer_of_another_commune_cannot_open_the_case_or_the_clip(client, session, settings, fleet):
    world = make_world(session)
    case = make_case(session, world)
    other = make_commune(session)
    outsider = make_user(session, Role.officer, [other.commune], username="outsider")
    session.commit()
    login(client, outsider.username)
    assert client.get(f"/cases/{case.id}").status_code == 403
    assert "outsider" in [e.actor for e in session.scalars(select(CustodyEvent).where(
        CustodyEvent.event_type == "access_denied"))]


def test_opening_a_case_from_the_form(client, session):
    world = make_world(session)
    session.commit()
    login(client, world.officer.username)
    token = CSRF.search(client.get("/cases").text).group(1)
    r = client.post("/cases", data={"csrf_token": token, "number": "7/2026/VV", "title": "Mất trộm",
                                    "legal_basis": "Điều 145 BLTTHS", "legal_hold": "1"}, follow_redirects=False)
    assert r.status_code == 303
    assert "7/2026/VV" in client.get(r.headers["location"]).text
