"""Recording access chosen explicitly and tested against the simulator's personalities: an OEM
camera that reports another brand gets Dahua-style playback once a person picks it; a custom
template works; a camera that reads playback times as local time is asked in local time; a
choice that cannot work is refused naming its field."""

from __future__ import annotations

import shutil

import pytest

from camera_ops.errors import ValidationFailed
from camera_ops.footage.requests import Window, create_request
from camera_ops.footage.worker import Worker
from camera_ops.registry import cameras as camera_service
from camera_ops.sim import CameraSpec
from camera_ops.sim.testing import running_fleet
from storage.models import PlaybackClock, PlaybackStyle, RecordingCapability
from storage.models_evidence import Clip, ClipStatus
from tests.footage_fixtures import actor, make_case, make_world, recent_window

pytestmark = [pytest.mark.db, pytest.mark.timeout(180),
              pytest.mark.skipif(shutil.which("ffprobe") is None, reason="needs ffprobe")]
LOCAL = "Asia/Ho_Chi_Minh"


@pytest.fixture(scope="module")
def fleet():
    specs = [CameraSpec("pb-oem", vendor="dahua", oem_brand="Vantech", profile_g=False),
             CameraSpec("pb-hik", vendor="hikvision"),
             CameraSpec("pb-local", vendor="dahua", profile_g=False, playback_local_tz=LOCAL, recording_hours=2.0),
             CameraSpec("pb-gen", vendor="generic", profile_g=False)]
    with running_fleet(specs) as handle:
        yield handle


def register(session, settings, world, cam, code, **extra):
    data = camera_service.CameraInput(code=code, name=code, area_id=world.hamlet.id, host=cam.host,
                                      onvif_port=cam.onvif_port, username=cam.username, password=cam.password,
                                      **extra)
    outcome = camera_service.register_camera(session, settings, data, scope=None)
    assert outcome.error is None, outcome.error
    return outcome.camera


def pull(session, engine, settings, world, fleet, camera, name, case_no: str = "1") -> Clip:
    request = create_request(session, settings, actor(world.officer), world.officer,
                             make_case(session, world, number=f"{camera.code}/{case_no}/2026"), camera_ids=[camera.id],
                             window=Window(*recent_window(fleet.camera_clock(name), 3)), purpose="xác minh vụ việc")
    clip_id = request.clips[0].id
    session.commit()
    Worker(engine, settings).run_until_idle()
    clip = session.get(Clip, clip_id)
    session.refresh(clip)
    return clip


def test_an_oem_camera_gets_dahua_playback_when_a_person_picks_it(session, engine, settings, fleet):
    settings.onvif_timeout_s = 5.0
    world = make_world(session)
    cam = fleet.camera("pb-oem")
    camera = register(session, settings, world, cam, "OEM-1")
    assert camera.manufacturer == "Vantech" and camera.recording is RecordingCapability.none  # brand unknown
    camera = camera_service.update_camera(session, settings, camera, {"playback_style": PlaybackStyle.dahua},
                                          scope=None, may_redirect_credentials=True)
    assert camera.recording is RecordingCapability.vendor_playback
    assert "/cam/playback?channel=1&starttime={start:%Y_%m_%d_%H_%M_%S}" in camera.playback_url_template
    clip = pull(session, engine, settings, world, fleet, camera, cam.name)
    assert clip.status is ClipStatus.archived, clip.status_reason
    assert clip.method.value == "vendor_playback" and clip.frame_count > 0


def test_a_custom_template_is_used_as_typed(session, engine, settings, fleet):
    settings.onvif_timeout_s = 5.0
    world = make_world(session)
    cam = fleet.camera("pb-hik")
    custom = "/Streaming/tracks/101?starttime={start:%Y%m%dT%H%M%SZ}&endtime={end:%Y%m%dT%H%M%SZ}"
    camera = register(session, settings, world, cam, "CUS-1", playback_style=PlaybackStyle.custom,
                      playback_template=custom)
    assert camera.playback_url_template == f"rtsp://{cam.host}:{cam.rtsp_port}" + custom
    clip = pull(session, engine, settings, world, fleet, camera, cam.name)
    assert clip.status is ClipStatus.archived, clip.status_reason


def test_a_camera_reading_playback_times_as_local_time_is_asked_in_local_time(session, engine, settings, fleet):
    settings.onvif_timeout_s = 5.0
    settings.timezone = LOCAL
    world = make_world(session)
    cam = fleet.camera("pb-local")
    camera = register(session, settings, world, cam, "LOC-1")
    assert camera.recording is RecordingCapability.vendor_playback  # Dahua, from the brand
    wrong = pull(session, engine, settings, world, fleet, camera, cam.name)
    assert wrong.status is not ClipStatus.archived  # asked in UTC, the camera looks 7 hours away
    camera = camera_service.update_camera(session, settings, camera, {"playback_clock": PlaybackClock.local},
                                          scope=None)
    session.commit()
    right = pull(session, engine, settings, world, fleet, camera, cam.name, "2")
    assert right.status is ClipStatus.archived, right.status_reason


def test_a_playback_choice_that_cannot_work_names_its_field(session, settings, fleet):
    settings.onvif_timeout_s = 5.0
    world = make_world(session)
    cam = fleet.camera("pb-gen")
    for extra, words in (
        ({"playback_style": PlaybackStyle.onvif_replay}, "no ONVIF replay"),
        ({"playback_style": PlaybackStyle.custom, "playback_template": "/x?from={start}"}, "{start} and {end}"),
        ({"playback_style": PlaybackStyle.custom, "playback_template": "/x?a={start.nope}&b={end}"}, "cannot be"),
        ({"playback_style": PlaybackStyle.custom,
          "playback_template": "rtsp://203.0.113.7/p?s={start:%s}&e={end:%s}"}, "camera's host"),
    ):
        data = camera_service.CameraInput(code="BAD", name="BAD", area_id=world.hamlet.id, host=cam.host,
                                          onvif_port=cam.onvif_port, username=cam.username, password=cam.password,
                                          **extra)
        with pytest.raises(ValidationFailed) as err:
            camera_service.register_camera(session, settings, data, scope=None)
        assert err.value.field in ("playback_style", "playback_template") and words in err.value.message, extra


def test_an_rtsp_only_camera_gives_recorded_footage_with_the_template_the_user_picked(
        session, engine, settings, fleet):
    from storage.models import CameraKind

    settings.onvif_timeout_s = 5.0
    world = make_world(session)
    cam = fleet.camera("pb-hik")  # its ONVIF is not used: registered by its stream URL only
    outcome = camera_service.register_camera(session, settings, camera_service.CameraInput(
        code="RO-HIK", name="RO-HIK", area_id=world.hamlet.id, host="", kind=CameraKind.rtsp,
        stream_url=cam.rtsp_main_url, username=cam.username, password=cam.password,
        playback_style=PlaybackStyle.hikvision), scope=None)
    assert outcome.error is None, outcome.error
    camera = outcome.camera
    assert camera.recording is RecordingCapability.vendor_playback
    clip = pull(session, engine, settings, world, fleet, camera, cam.name)
    assert clip.status is ClipStatus.archived, clip.status_reason
    assert clip.method.value == "vendor_playback"
