"""RTSP-only cameras (ONVIF off or absent) against simulated cameras over real sockets: registered by
stream URL (digest and basic), validated by DESCRIBE + one decoded keyframe, each bad input a
field-level error with nothing saved."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from camera_ops.errors import CameraAuthFailed, CameraOpsError, CameraProtocolError, CameraUnreachable, Conflict
from camera_ops.registry import cameras as camera_service
from camera_ops.sim import CameraSpec
from camera_ops.sim.testing import running_fleet
from storage.models import Camera, CameraKind, RecordingCapability, RegistrationState, Role
from tests.factories import api_login, make_commune, make_user

pytestmark = pytest.mark.db

SPECS = [
    CameraSpec(name="ro-digest", vendor="rtsp_only"),
    CameraSpec(name="ro-basic", vendor="rtsp_only", auth="basic"),
    CameraSpec(name="ro-faulty", vendor="rtsp_only"),
    CameraSpec(name="ro-hik", vendor="hikvision"),
]


@pytest.fixture(scope="module")
def fleet():
    with running_fleet(SPECS) as f:
        yield f


@pytest.fixture
def faulty(fleet):
    yield fleet.camera("ro-faulty")
    fleet.clear_faults("ro-faulty")


@pytest.fixture
def fast_settings(settings):
    settings.onvif_timeout_s = 2.0
    return settings


def rtsp_input(cam, hamlet_id: int, code: str | None = None, **kw) -> camera_service.CameraInput:
    data = dict(code=code or cam.name.upper(), name=cam.name, area_id=hamlet_id, host="", kind=CameraKind.rtsp,
                stream_url=cam.rtsp_main_url, sub_stream_url=cam.rtsp_sub_url, username=cam.username,
                password=cam.password)
    data.update(kw)
    return camera_service.CameraInput(**data)


def count(session) -> int:
    return session.scalar(select(func.count()).select_from(Camera))


@pytest.mark.parametrize("name", ["ro-digest", "ro-basic"])
def test_rtsp_only_camera_registers_by_stream_url_with_digest_or_basic(session, fast_settings, fleet, name):
    hamlet = make_commune(session).hamlets[0]
    cam = fleet.camera(name)
    outcome = camera_service.register_camera(session, fast_settings, rtsp_input(cam, hamlet.id), scope=None)
    assert outcome.error is None, outcome.error
    c = outcome.camera
    assert c.kind is CameraKind.rtsp and c.registration is RegistrationState.registered
    assert c.host == cam.host and c.main_stream_uri == cam.rtsp_main_url and c.sub_stream_uri == cam.rtsp_sub_url
    main = outcome.handshake["main"]
    assert main["codec"] == "h264" and (main["keyframe_width"], main["keyframe_height"]) == (640, 360)
    assert outcome.handshake["sub"]["keyframe_width"] == 320
    assert main["auth_method"] == ("basic" if name == "ro-basic" else "digest")
    assert c.recording is RecordingCapability.none  # live capture only unless a playback style is chosen


def test_credentials_typed_into_the_url_are_moved_out_and_never_stored_in_it(session, fast_settings, fleet):
    hamlet = make_commune(session).hamlets[0]
    cam = fleet.camera("ro-digest")
    url = cam.rtsp_main_url.replace("rtsp://", f"rtsp://{cam.username}:{cam.password}@")
    outcome = camera_service.register_camera(
        session, fast_settings, rtsp_input(cam, hamlet.id, stream_url=url, sub_stream_url=None, username="",
                                           password=""), scope=None)
    assert outcome.error is None, outcome.error
    assert cam.password not in outcome.camera.main_stream_uri and outcome.camera.username == cam.username


def test_an_http_snapshot_url_is_checked_too(session, fast_settings, fleet):
    hamlet = make_commune(session).hamlets[0]
    cam = fleet.camera("ro-digest")
    outcome = camera_service.register_camera(session, fast_settings,
                                             rtsp_input(cam, hamlet.id, snapshot_url=cam.snapshot_url), scope=None)
    assert outcome.error is None and outcome.camera.snapshot_uri == cam.snapshot_url
    assert outcome.handshake["snapshot_bytes"] > 1000
    other = fleet.camera("ro-basic")
    bad = other.snapshot_url.replace("/snapshot.jpg", "/nothing.jpg")
    outcome = camera_service.register_camera(session, fast_settings,
                                             rtsp_input(other, hamlet.id, snapshot_url=bad), scope=None)
    assert outcome.camera is None and outcome.error.field == "snapshot_url"


def test_each_bad_input_names_its_field_and_saves_nothing(session, fast_settings, fleet, faulty):
    hamlet = make_commune(session).hamlets[0]
    cam = fleet.camera("ro-digest")
    cases = [
        (rtsp_input(cam, hamlet.id, stream_url=cam.rtsp_main_url.replace("/live/main", "/live/nope")),
         CameraProtocolError, "stream_url", "404"),
        (rtsp_input(cam, hamlet.id, sub_stream_url=cam.rtsp_sub_url + "x"), CameraProtocolError, "sub_stream_url",
         "404"),
        (rtsp_input(cam, hamlet.id, password="wrong-one"), CameraAuthFailed, "password", "refused"),
        (rtsp_input(cam, hamlet.id, stream_url="http://" + cam.host + "/x"), CameraOpsError, "stream_url", "rtsp://"),
        (rtsp_input(cam, hamlet.id, stream_url=""), CameraOpsError, "stream_url", "rtsp://"),
    ]
    for data, error_type, field, words in cases:
        try:
            outcome = camera_service.register_camera(session, fast_settings, data, scope=None)
            error = outcome.error
            assert outcome.camera is None
        except CameraOpsError as exc:
            error = exc
        assert isinstance(error, error_type), (field, error)
        assert error.field == field and words in error.message, (field, error.field, error.message)
        assert "wrong-one" not in error.message
    fleet.set_faults("ro-faulty", mjpeg_only=True)
    outcome = camera_service.register_camera(session, fast_settings, rtsp_input(faulty, hamlet.id), scope=None)
    assert outcome.error.code == "no_usable_stream" and outcome.error.field == "stream_url"
    assert "JPEG" in outcome.error.message
    fleet.set_faults("ro-faulty", mjpeg_only=False, offline=True)
    outcome = camera_service.register_camera(session, fast_settings, rtsp_input(faulty, hamlet.id), scope=None)
    assert isinstance(outcome.error, CameraUnreachable) and outcome.error.field == "rtsp_port"
    fleet.set_faults("ro-faulty", offline=False, black_hole=True)
    outcome = camera_service.register_camera(session, fast_settings, rtsp_input(faulty, hamlet.id), scope=None)
    assert isinstance(outcome.error, CameraUnreachable) and outcome.error.field == "host"
    assert count(session) == 0


def test_the_same_stream_twice_is_a_duplicate(session, fast_settings, fleet):
    hamlet = make_commune(session).hamlets[0]
    cam = fleet.camera("ro-digest")
    camera_service.register_camera(session, fast_settings, rtsp_input(cam, hamlet.id), scope=None)
    with pytest.raises(Conflict) as err:
        camera_service.register_camera(session, fast_settings, rtsp_input(cam, hamlet.id, code="AGAIN"), scope=None)
    assert err.value.field == "stream_url"


def test_api_registers_an_rtsp_only_camera_and_connect_now_completes_a_pending_one(
        engine, session, fast_settings, fleet, faulty):
    commune = make_commune(session)
    make_user(session, Role.admin, username="boss")
    session.commit()
    cam = fleet.camera("ro-basic")
    body = {"code": "RO-1", "name": "Cổng chợ", "area_id": commune.hamlets[0].id, "kind": "rtsp",
            "stream_url": cam.rtsp_main_url, "sub_stream_url": cam.rtsp_sub_url, "username": cam.username,
            "password": cam.password, "playback_style": "none"}
    with TestClient(create_app(fast_settings, engine=engine)) as client:
        headers = api_login(client, "boss")
        response = client.post("/api/v1/cameras", json=body, headers=headers)
        assert response.status_code == 201, response.text
        camera = response.json()["camera"]
        assert camera["kind"] == "rtsp" and camera["registration"] == "registered" and "password" not in camera
        bad = client.post("/api/v1/cameras", json={**body, "code": "RO-2", "stream_url": cam.rtsp_main_url + "zz"},
                          headers=headers)
        assert bad.status_code == 502 and bad.json()["error"]["field"] == "stream_url"
        # an unreachable camera kept as pending: "not connected yet", then "connect now"
        fleet.set_faults("ro-faulty", offline=True)
        pending = client.post("/api/v1/cameras", headers=headers, json={
            **body, "code": "RO-3", "stream_url": faulty.rtsp_main_url, "sub_stream_url": None,
            "username": faulty.username, "password": faulty.password, "save_if_unreachable": True})
        assert pending.status_code == 201 and pending.json()["camera"]["registration"] == "pending"
        fleet.clear_faults("ro-faulty")
        connected = client.post(f"/api/v1/cameras/{pending.json()['camera']['id']}/handshake", headers=headers)
        assert connected.status_code == 200 and connected.json()["error"] is None
        assert connected.json()["camera"]["registration"] == "registered"


def test_csv_import_takes_a_stream_url_column(session, fast_settings, fleet):
    from camera_ops.registry.camera_import import import_cameras_csv

    commune = make_commune(session)
    cam = fleet.camera("ro-basic")
    hamlet = commune.hamlets[0].code
    text = ("code,name,hamlet_code,host,username,password,stream_url,sub_stream_url,rtsp_port\n"
            f"R1,Chợ,{hamlet},,{cam.username},{cam.password},{cam.rtsp_main_url},{cam.rtsp_sub_url},\n"
            f"R2,Cầu,{hamlet},,{cam.username},{cam.password},ftp://x/y,,\n"
            f"R3,Đình,{hamlet},,{cam.username},{cam.password},{cam.rtsp_main_url}?b=1,,99999\n")
    results = import_cameras_csv(session, fast_settings, text, scope=None, handshake=True)
    assert [r.outcome for r in results] == ["created", "error", "error"], results
    assert "stream_url" in results[1].message and "rtsp_port" in results[2].message
    camera = session.scalar(select(Camera).where(Camera.code == "R1"))
    assert camera.kind is CameraKind.rtsp and camera.registration is RegistrationState.registered
    assert camera.host == cam.host and camera.main_stream_uri == cam.rtsp_main_url


def test_web_form_adds_an_rtsp_only_camera_and_a_pending_one_is_not_connected_until_connect_now(
        engine, session, fast_settings, fleet, faulty):
    import re

    from tests.factories import web_login
    from tests.integration.test_web_pages import csrf

    commune = make_commune(session)
    make_user(session, Role.commune_police, [commune.commune], username="congan1")
    session.commit()
    cam = fleet.camera("ro-digest")
    base = {"name": "Cổng chợ", "area_id": str(commune.hamlets[0].id), "kind": "rtsp", "username": cam.username,
            "password": cam.password, "playback_style": "auto", "playback_clock": "utc"}
    with TestClient(create_app(fast_settings, engine=engine)) as client:
        web_login(client, "congan1")
        r = client.post("/cameras/new", data={**base, "csrf_token": csrf(client, "/cameras/new"), "code": "W-1",
                                              "stream_url": cam.rtsp_main_url, "sub_stream_url": cam.rtsp_sub_url})
        assert r.status_code == 201, r.text[-2000:]
        steps = dict(re.findall(r'data-step="(\w+)" data-state="(\w+)"', r.text))
        assert steps == {"rtsp_main": "found", "rtsp_sub": "found", "rtsp_snapshot": "warning"}
        r = client.post("/cameras/new", data={**base, "csrf_token": csrf(client, "/cameras/new"), "code": "W-2",
                                              "stream_url": cam.rtsp_main_url + "x"})
        assert r.status_code == 422 and "Kiểm tra đường dẫn luồng" in r.text
        fleet.set_faults("ro-faulty", offline=True)
        r = client.post("/cameras/new", data={**base, "csrf_token": csrf(client, "/cameras/new"), "code": "W-3",
                                              "stream_url": faulty.rtsp_main_url, "save_if_unreachable": "1"})
        assert r.status_code == 201
        pending = session.scalar(select(Camera).where(Camera.code == "W-3"))
        session.commit()  # the test session must not hold SQLite's write lock while the app writes
        page = client.get(f"/cameras/{pending.id}").text
        assert "Chưa kết nối" in page and 'id="connect-now"' in page and "Mất kết nối" not in page
        assert "Chưa kết nối" in client.get("/cameras?lang=vi").text
        fleet.clear_faults("ro-faulty")
        token = csrf(client, f"/cameras/{pending.id}")
        r = client.post(f"/cameras/{pending.id}/connect", data={"csrf_token": token}, follow_redirects=False)
        assert r.status_code == 303
        session.expire_all()
        assert session.get(Camera, pending.id).registration is RegistrationState.registered
        session.commit()
        assert 'id="not-connected"' not in client.get(f"/cameras/{pending.id}").text
        for lang in ("vi", "en"):
            assert client.get(f"/cameras/{pending.id}/edit", params={"lang": lang}).status_code == 200
