"""Recording reach through the vendors' own search, over real sockets against the simulator's
Hikvision (ISAPI) and Dahua (CGI) personalities: learnt at registration and by the daily job (true
UTC whatever the camera's clock and zone), clip requests outside it refused, "not recording" when
the SD card is missing or failed, and every failure (wrong password, search not supported,
malformed answers, a custom template) a reach "unknown" with its reason — never a false
"not recording", never a crash."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from camera_ops.errors import ValidationFailed
from camera_ops.footage.reach_job import RecordingReachJob
from camera_ops.footage.requests import Window, create_request
from camera_ops.footage.vendor_reach import learn_vendor_reach
from camera_ops.monitor.store import PasswordCache, load_cameras
from camera_ops.registry import cameras as camera_service
from camera_ops.sim import CameraSpec
from camera_ops.sim.testing import running_fleet
from storage.db import session_factory
from storage.models import Camera, PlaybackClock, PlaybackStyle, RecordingCapability
from storage.models_evidence import Clip
from storage.types import utcnow
from tests.footage_fixtures import actor, make_case, make_world, sim_camera_row

pytestmark = [pytest.mark.db, pytest.mark.timeout(180)]

CARD_HOURS = 2.0
SKEW_S = 900.0  # the Hikvision camera's clock is 15 min fast
LOCAL = "Asia/Ho_Chi_Minh"
H, M = timedelta(hours=1), timedelta(minutes=1)


@pytest.fixture(scope="module")
def fleet():
    specs = [CameraSpec("vr-hik", vendor="hikvision", recording_hours=CARD_HOURS),
             CameraSpec("vr-dahua", vendor="dahua", profile_g=False, playback_local_tz=LOCAL,
                        recording_hours=CARD_HOURS),
             CameraSpec("vr-nvr", vendor="nvr", recording_hours=CARD_HOURS)]
    with running_fleet(specs) as handle:
        handle.set_faults("vr-hik", clock_skew_s=SKEW_S)
        yield handle


@pytest.fixture()
def faults(fleet):
    """Set faults for one test; the cameras are back to normal afterwards (the fleet is shared)."""
    touched: list[str] = []

    def set_faults(name: str, **changes) -> None:
        touched.append(name)
        fleet.set_faults(name, **changes)

    yield set_faults
    for name in touched:
        fleet.clear_faults(name)
        if name == "vr-hik":
            fleet.set_faults(name, clock_skew_s=SKEW_S)


def register(session, settings, world, cam, code, **extra) -> Camera:
    data = camera_service.CameraInput(code=code, name=code, area_id=world.hamlet.id, host=cam.host,
                                      onvif_port=cam.onvif_port, username=cam.username, password=cam.password,
                                      **extra)
    outcome = camera_service.register_camera(session, settings, data, scope=None)
    assert outcome.error is None, outcome.error
    return outcome.camera


def assert_reach_is_the_card(camera: Camera) -> None:
    now = utcnow()
    assert camera.recording_problem is None, camera.recording_problem
    assert abs(camera.recording_until - now) < 2 * M  # recording now, in true UTC
    assert abs(camera.recording_from - (now - CARD_HOURS * H)) < 2 * M
    assert abs(camera.recording_checked_at - now) < M


@pytest.fixture()
def hik(session, settings, fleet) -> Camera:
    settings.onvif_timeout_s = 5.0
    world = make_world(session)
    return register(session, settings, world, fleet.camera("vr-hik"), "VR-HIK")


@pytest.fixture()
def dahua(session, settings, fleet) -> Camera:
    settings.onvif_timeout_s = 5.0
    settings.timezone = LOCAL
    world = make_world(session)
    return register(session, settings, world, fleet.camera("vr-dahua"), "VR-DAHUA", playback_clock=PlaybackClock.local)


def test_registration_learns_the_reach_through_hikvision_isapi_search(hik) -> None:
    assert hik.recording is RecordingCapability.vendor_playback and hik.replay_uri is None
    assert abs(hik.clock_offset_s - SKEW_S) < 5  # the camera clock is fast: its times are shifted back
    assert_reach_is_the_card(hik)


def test_registration_learns_the_reach_through_dahua_cgi_search_in_local_time(dahua) -> None:
    assert dahua.recording is RecordingCapability.vendor_playback
    assert_reach_is_the_card(dahua)  # the camera speaks Vietnam time: 7 h would show if read as UTC


def test_a_recorder_channel_is_searched_on_its_own_track(session, settings, fleet) -> None:
    settings.onvif_timeout_s = 5.0
    world = make_world(session)
    camera = sim_camera_row(session, settings, fleet.camera("vr-nvr"), world.hamlet,
                            recording=RecordingCapability.vendor_playback)
    camera.channel, camera.playback_style = 3, PlaybackStyle.hikvision
    found = learn_vendor_reach(camera, fleet.camera("vr-nvr").password, timezone_name=settings.timezone,
                               timeout_s=5.0)
    assert found is not None and found.known
    assert_reach_is_the_card(camera)
    camera.channel = 9  # the recorder has four: it refuses the track, the reach is unknown, not "not recording"
    found = learn_vendor_reach(camera, fleet.camera("vr-nvr").password, timezone_name=settings.timezone,
                               timeout_s=5.0)
    assert found.problem == "malformed" and camera.recording_from is None


@pytest.mark.parametrize("which", ["hik", "dahua"])
def test_a_request_outside_the_vendor_reach_is_refused_and_one_near_its_edge_hurried(
        request, session, settings, which) -> None:
    camera = request.getfixturevalue(which)
    world = make_world(session)
    case = make_case(session, world, number=f"{which}/1/2026")
    now = utcnow()
    with pytest.raises(ValidationFailed) as info:
        create_request(session, settings, actor(world.officer), world.officer, case, camera_ids=[camera.id],
                       window=Window(now - 3 * H, now - 3 * H + 10 * M), purpose="xem lại vụ trộm xe")
    assert info.value.field == "start" and f"Camera {camera.code} chỉ còn dữ liệu từ" in info.value.message
    urgent = create_request(session, settings, actor(world.officer), world.officer, case, camera_ids=[camera.id],
                            window=Window(now - 100 * M, now - 95 * M), purpose="xem lại vụ trộm xe")
    assert urgent.clips[0].status_reason.startswith("Dữ liệu này sẽ bị ghi đè trong khoảng")


@pytest.mark.parametrize("name, style, card, code", [
    ("vr-hik", PlaybackStyle.hikvision, "missing", "card_missing"),
    ("vr-hik", PlaybackStyle.hikvision, "failed", "card_failed"),
    ("vr-dahua", PlaybackStyle.dahua, "missing", "card_missing"),
    ("vr-dahua", PlaybackStyle.dahua, "unformatted", "card_unformatted"),
])
def test_an_sd_card_fault_found_by_the_daily_job_is_not_recording(
        session, settings, engine, fleet, faults, name, style, card, code) -> None:
    settings.onvif_timeout_s = 5.0
    world = make_world(session)
    camera = sim_camera_row(session, settings, fleet.camera(name), world.hamlet,
                            recording=RecordingCapability.vendor_playback)
    camera.playback_style = style
    if name == "vr-dahua":
        settings.timezone, camera.playback_clock = LOCAL, PlaybackClock.local
    camera.recording_from, camera.recording_until = utcnow() - 30 * H, utcnow() - 28 * H
    camera.recording_checked_at = utcnow() - 28 * H  # yesterday's: due
    session.commit()
    faults(name, sd_card=card)
    assert RecordingReachJob(session_factory(engine), settings).run_once() == 0  # answered, but no reach
    session.expire_all()
    camera = session.get(Camera, camera.id)
    assert camera.recording_problem["code"] == code
    assert camera.recording_from is None and abs(camera.recording_checked_at - utcnow()) < M
    rows = load_cameras(session, PasswordCache(settings))
    assert rows[camera.id].target.not_recording  # the monitor's "not recording" reason
    case = make_case(session, world)
    now = utcnow()
    with pytest.raises(ValidationFailed) as info:
        create_request(session, settings, actor(world.officer), world.officer, case, camera_ids=[camera.id],
                       window=Window(now - 30 * M, now - 25 * M), purpose="xem lại vụ trộm xe")
    assert info.value.field == "camera_ids" and info.value.key == f"err.reach.{code}"
    assert session.scalars(select(Clip)).all() == []  # nothing half-saved


def test_firmware_that_wants_a_track_id_list_is_asked_again_in_its_words(session, settings, fleet, faults) -> None:
    world = make_world(session)
    camera = sim_camera_row(session, settings, fleet.camera("vr-hik"), world.hamlet,
                            recording=RecordingCapability.vendor_playback, offset_s=SKEW_S)
    camera.playback_style = PlaybackStyle.hikvision
    faults("vr-hik", vendor_search="track_id_list")
    found = learn_vendor_reach(camera, fleet.camera("vr-hik").password, timezone_name=settings.timezone,
                               timeout_s=5.0)
    assert found is not None and found.known, found
    assert_reach_is_the_card(camera)


@pytest.mark.parametrize("name, style, change, code", [
    ("vr-hik", PlaybackStyle.hikvision, {"vendor_search": "malformed"}, "malformed"),
    ("vr-dahua", PlaybackStyle.dahua, {"vendor_search": "malformed"}, "malformed"),
    ("vr-hik", PlaybackStyle.hikvision, {"vendor_search": "unsupported"}, "unsupported"),
    ("vr-dahua", PlaybackStyle.dahua, {"vendor_search": "unsupported"}, "unsupported"),
    ("vr-hik", PlaybackStyle.hikvision, {"password": "changed-by-someone"}, "auth"),
    ("vr-dahua", PlaybackStyle.dahua, {"password": "changed-by-someone"}, "auth"),
    ("vr-hik", PlaybackStyle.hikvision, {"latency_s": 3.0}, "timeout"),
])
def test_a_search_that_fails_leaves_the_reach_unknown_with_its_reason(
        session, settings, fleet, faults, name, style, change, code) -> None:
    world = make_world(session)
    camera = sim_camera_row(session, settings, fleet.camera(name), world.hamlet,
                            recording=RecordingCapability.vendor_playback)
    camera.playback_style = style
    camera.recording_from, camera.recording_until = utcnow() - 30 * H, utcnow() - 28 * H  # an old reach
    camera.recording_checked_at = utcnow() - 28 * H
    faults(name, **change)
    found = learn_vendor_reach(camera, fleet.camera(name).password, timezone_name=settings.timezone,
                               timeout_s=1.0 if code == "timeout" else 5.0)
    assert found is not None and found.problem == code, found
    assert camera.recording_problem["code"] == code
    assert camera.recording_from is None and camera.recording_until is None  # the old reach is not kept as stale
    session.commit()
    rows = load_cameras(session, PasswordCache(settings))
    assert not rows[camera.id].target.not_recording  # never a false "not recording"
    case = make_case(session, world)
    now = utcnow()
    queued = create_request(session, settings, actor(world.officer), world.officer, case, camera_ids=[camera.id],
                            window=Window(now - 30 * M, now - 25 * M), purpose="xem lại vụ trộm xe")
    assert queued.clips[0].status_reason is None  # accepted: the camera cannot tell, the general rule applies


def test_the_camera_page_says_why_the_reach_is_unknown_or_why_it_is_not_recording(
        session, settings, fleet) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from storage.models import Role
    from tests.factories import make_user, web_login

    world = make_world(session)
    custom = "/Streaming/tracks/101?starttime={start:%Y%m%dT%H%M%SZ}&endtime={end:%Y%m%dT%H%M%SZ}"
    cam = fleet.camera("vr-hik")
    settings.onvif_timeout_s = 5.0
    templated = register(session, settings, world, cam, "VR-CUSTOM", playback_style=PlaybackStyle.custom,
                         playback_template=custom, playback_clock=PlaybackClock.utc)
    assert templated.recording_problem["code"] == "custom_template" and templated.recording_from is None
    no_card = sim_camera_row(session, settings, fleet.camera("vr-dahua"), world.hamlet,
                             recording=RecordingCapability.vendor_playback)
    no_card.recording_problem = {"code": "card_missing", "detail": "card: missing"}
    no_card.recording_checked_at = utcnow()
    make_user(session, Role.admin, [], username="vreach-admin")
    session.commit()
    client = TestClient(create_app(settings))
    web_login(client, "vreach-admin")
    page = client.get(f"/cameras/{templated.id}")
    assert page.status_code == 200
    assert "Chưa rõ: camera dùng mẫu địa chỉ phát lại tự nhập" in page.text
    page = client.get(f"/cameras/{no_card.id}")
    assert "Không ghi hình: camera không có thẻ nhớ" in page.text
    api = client.get(f"/api/v1/cameras/{no_card.id}")
    assert api.status_code == 200, api.text
    assert api.json()["recording_problem"]["code"] == "card_missing"


def test_a_wrong_playback_clock_is_named_not_taken_for_a_stopped_camera(session, settings, engine, fleet) -> None:
    """The Dahua camera speaks Vietnam time; registered with UTC chosen by hand its newest recording
    would read 7 h in the future: the reach is unknown with the reason, and once the person sets
    the playback clock to local the daily job learns it."""
    settings.onvif_timeout_s = 5.0
    settings.timezone = LOCAL
    world = make_world(session)
    camera = register(session, settings, world, fleet.camera("vr-dahua"), "VR-ZONE", playback_clock=PlaybackClock.utc)
    assert camera.playback_clock is PlaybackClock.utc and not camera.playback_clock_auto
    assert camera.recording_problem["code"] == "clock_zone" and camera.recording_from is None
    session.commit()
    assert not load_cameras(session, PasswordCache(settings))[camera.id].target.not_recording
    camera = camera_service.update_camera(session, settings, camera, {"playback_clock": PlaybackClock.local},
                                          scope=None)
    assert camera.recording_checked_at is None and camera.recording_problem is None  # asked again first
    session.commit()
    assert RecordingReachJob(session_factory(engine), settings).run_once() == 1
    session.expire_all()
    assert_reach_is_the_card(session.get(Camera, camera.id))


def test_an_rtsp_only_camera_behind_a_port_forward_is_searched_through_the_entered_web_port(
        session, settings, fleet) -> None:
    """Registered by its stream URL through a router's forwards (the RTSP port and the web port
    forwarded to other outside ports): the vendor search goes to the entered host and HTTP port."""
    import random

    from camera_ops.sim.forwarder import running_forwarders
    from storage.models import CameraKind

    settings.onvif_timeout_s = 5.0
    settings.timezone = LOCAL
    cam = fleet.camera("vr-dahua")
    outside = f"127.{random.randrange(32, 64)}.{random.randrange(256)}.{random.randrange(2, 250)}"
    with running_forwarders(outside, [(cam.host, cam.onvif_port), (cam.host, cam.rtsp_port)]) as (web, rtsp):
        world = make_world(session)
        stream = cam.rtsp_main_url.replace(f"{cam.host}:{cam.rtsp_port}", f"{outside}:{rtsp.port}")
        outcome = camera_service.register_camera(session, settings, camera_service.CameraInput(
            code="VR-NAT", name="VR-NAT", area_id=world.hamlet.id, host="", kind=CameraKind.rtsp, stream_url=stream,
            http_port=web.port, username=cam.username, password=cam.password, playback_style=PlaybackStyle.dahua,
            playback_clock=PlaybackClock.local), scope=None)
        assert outcome.error is None, outcome.error
        camera = outcome.camera
        assert camera.host == outside and camera.recording is RecordingCapability.vendor_playback
        assert web.connections >= 1  # the search went through the forward, not to the camera's own address
        assert_reach_is_the_card(camera)


def test_a_camera_outside_the_camera_networks_is_not_searched_and_gets_no_password() -> None:
    """The allow-list (CAMERA_OPS_CAMERA_NETWORKS) holds on the vendor search too: a camera row whose
    host is (or now resolves) outside it is refused before anything is sent."""
    import asyncio
    import socket
    import threading
    from datetime import timezone

    from camera_ops import netpolicy
    from camera_ops.footage.vendor_reach import vendor_recordings

    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    accepted: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(1.0)
                accepted.append(conn.recv(4096))

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    netpolicy.configure(["10.0.0.0/8"])
    try:
        for style in ("hikvision", "dahua"):
            found = asyncio.run(vendor_recordings(style, f"http://127.0.0.1:{port}", "admin", "s3cret-pass",
                                                  channel=1, zone=timezone.utc, clock_offset_s=0.0, timeout_s=1.0))
            assert found.problem == "unreachable" and "camera_network_refused" in (found.detail or "")
            assert not found.known
    finally:
        netpolicy.configure(netpolicy.DEFAULT_CAMERA_NETWORKS)
        stop.set()
        thread.join()
        listener.close()
    assert accepted == []  # not even a connection, so no password


def test_the_camera_page_names_the_playback_clock_and_hikvisions_separate_web_users(session, settings, fleet) -> None:
    """A Hikvision camera whose search is refused (401) is told that its ONVIF users are not its web
    (ISAPI) users; a Dahua-style camera kept on UTC from before the by-style rule is pointed out,
    never changed; the edit form offers "automatic" first; the API says which clocks are automatic."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from storage.models import Role
    from tests.factories import make_user, web_login

    world = make_world(session)
    hik = sim_camera_row(session, settings, fleet.camera("vr-hik"), world.hamlet,
                         recording=RecordingCapability.vendor_playback)
    hik.playback_style = PlaybackStyle.hikvision
    hik.recording_problem = {"code": "auth", "detail": "HTTP 401 at /ISAPI/ContentMgmt/Storage"}
    hik.recording_checked_at = utcnow()
    old = sim_camera_row(session, settings, fleet.camera("vr-dahua"), world.hamlet,
                         recording=RecordingCapability.vendor_playback)
    old.playback_clock, old.playback_clock_auto = PlaybackClock.utc, False  # as migration 0017 leaves it
    old.recording_problem = {"code": "auth", "detail": "HTTP 401"}  # Dahua: no Hikvision words
    make_user(session, Role.admin, [], username="vclock-admin")
    session.commit()
    client = TestClient(create_app(settings))
    web_login(client, "vclock-admin")
    page = client.get(f"/cameras/{hik.id}").text
    assert ("camera từ chối mật khẩu khi tra cứu dữ liệu ghi. Trên camera Hikvision, danh sách người dùng ONVIF "
            "tách riêng với người dùng web (ISAPI)") in page
    english = client.get(f"/cameras/{hik.id}?lang=en").text
    assert "the ONVIF user list is separate from the web (ISAPI) users" in english
    assert 'id="playback-clock-hint"' not in page and "tự động theo kiểu phát lại" in page  # UTC, by style
    page = client.get(f"/cameras/{old.id}?lang=vi").text
    assert 'id="playback-clock-hint"' in page and "Camera kiểu Dahua (KBVision, Imou…) thường ghi giờ" in page
    assert "ONVIF tách riêng" not in page
    form = client.get(f"/cameras/{old.id}/edit").text
    select = form[form.index('name="playback_clock"'):]
    select = select[:select.index("</select>")]
    assert select.index('value="auto"') < select.index('value="utc"') and 'value="utc" selected' in select
    api = client.get(f"/api/v1/cameras/{old.id}").json()
    assert api["playback_clock"] == "utc" and api["playback_clock_auto"] is False
    assert client.get(f"/api/v1/cameras/{hik.id}").json()["playback_clock_auto"] is True


def test_the_api_applies_the_clock_rule(session, settings, fleet) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from storage.models import Role
    from tests.factories import api_login, make_user

    settings.onvif_timeout_s = 5.0
    world = make_world(session)
    make_user(session, Role.admin, [], username="vclock-api")
    session.commit()
    client = TestClient(create_app(settings))
    headers = api_login(client, "vclock-api")
    cam = fleet.camera("vr-dahua")
    body = {"code": "API-CUS", "name": "API-CUS", "area_id": world.hamlet.id, "host": cam.host,
            "onvif_port": cam.onvif_port, "username": cam.username, "password": cam.password, "pending": True,
            "playback_style": "custom", "playback_template": "/cam/playback?s={start:%s}&e={end:%s}"}
    refused = client.post("/api/v1/cameras", json=body, headers=headers)
    assert refused.status_code == 422, refused.text
    assert "playback_clock" in refused.text
    body.update(code="API-DH", playback_style="dahua")
    del body["playback_template"]
    made = client.post("/api/v1/cameras", json=body, headers=headers)
    assert made.status_code == 201, made.text
    made = made.json()["camera"]
    assert made["playback_clock"] == "local" and made["playback_clock_auto"] is True  # Dahua-style, by style
    patched = client.patch(f"/api/v1/cameras/{made['id']}", json={"playback_clock": "utc"}, headers=headers)
    assert patched.status_code == 200, patched.text
    assert patched.json()["playback_clock"] == "utc" and patched.json()["playback_clock_auto"] is False
    back = client.patch(f"/api/v1/cameras/{made['id']}", json={"playback_clock": "auto"}, headers=headers)
    assert back.json()["playback_clock"] == "local" and back.json()["playback_clock_auto"] is True
