"""Recording access chosen explicitly and tested against the simulator's personalities: an OEM
camera that reports another brand gets Dahua-style playback once a person picks it; a custom
template works; a camera that reads playback times as local time is asked in local time; a
choice that cannot work is refused naming its field. The playback clock nobody chose follows the
style (Dahua-style local time, as the simulated Dahua firmware answers; Hikvision-style UTC); a
clock somebody chose is never overridden. The cards hold 2 h: a window read 7 h off finds nothing."""

from __future__ import annotations

import shutil

import pytest

from camera_ops.errors import ValidationFailed
from camera_ops.footage.requests import Window, create_request
from camera_ops.footage.worker import Worker
from camera_ops.registry import cameras as camera_service
from camera_ops.sim import CameraSpec
from camera_ops.sim.testing import running_fleet
from datetime import timedelta

from storage.models import PlaybackClock, PlaybackStyle, RecordingCapability
from storage.types import utcnow
from storage.models_evidence import Clip, ClipStatus
from tests.footage_fixtures import actor, make_case, make_world, recent_window

pytestmark = [pytest.mark.db, pytest.mark.timeout(180),
              pytest.mark.skipif(shutil.which("ffprobe") is None, reason="needs ffprobe")]
LOCAL = "Asia/Ho_Chi_Minh"


@pytest.fixture(scope="module")
def fleet():
    specs = [CameraSpec("pb-oem", vendor="dahua", oem_brand="Vantech", profile_g=False),
             CameraSpec("pb-hik", vendor="hikvision", recording_hours=2.0),
             CameraSpec("pb-dahua", vendor="dahua", profile_g=False, recording_hours=2.0),  # the sim's default clock
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
                      playback_template=custom, playback_clock=PlaybackClock.utc)
    assert camera.playback_url_template == f"rtsp://{cam.host}:{cam.rtsp_port}" + custom
    clip = pull(session, engine, settings, world, fleet, camera, cam.name)
    assert clip.status is ClipStatus.archived, clip.status_reason


def test_a_camera_reading_playback_times_as_local_time_is_asked_in_local_time(session, engine, settings, fleet):
    """A clock the person chose is used as chosen, even when it is wrong for the camera: UTC on a
    camera that reads local time looks 7 hours away; set to local, the footage comes."""
    settings.onvif_timeout_s = 5.0
    settings.timezone = LOCAL
    world = make_world(session)
    cam = fleet.camera("pb-local")
    camera = register(session, settings, world, cam, "LOC-1", playback_clock=PlaybackClock.utc)
    assert camera.recording is RecordingCapability.vendor_playback  # Dahua, from the brand
    assert camera.playback_clock is PlaybackClock.utc and not camera.playback_clock_auto  # the choice stands
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
        ({"playback_style": PlaybackStyle.custom, "playback_template": "/x?from={start}", "playback_clock": "utc"},
         "{start} and {end}"),
        ({"playback_style": PlaybackStyle.custom, "playback_template": "/x?a={start.nope}&b={end}",
          "playback_clock": PlaybackClock.local}, "cannot be"),
        ({"playback_style": PlaybackStyle.custom, "playback_clock": PlaybackClock.utc,
          "playback_template": "rtsp://203.0.113.7/p?s={start:%s}&e={end:%s}"}, "camera's host"),
        ({"playback_style": PlaybackStyle.custom, "playback_template": "/p?s={start:%s}&e={end:%s}"}, "clock chosen"),
        ({"playback_style": PlaybackStyle.custom, "playback_template": "/p?s={start:%s}&e={end:%s}",
          "playback_clock": "auto"}, "clock chosen"),
    ):
        data = camera_service.CameraInput(code="BAD", name="BAD", area_id=world.hamlet.id, host=cam.host,
                                          onvif_port=cam.onvif_port, username=cam.username, password=cam.password,
                                          **extra)
        with pytest.raises(ValidationFailed) as err:
            camera_service.register_camera(session, settings, data, scope=None)
        assert err.value.field in ("playback_style", "playback_template", "playback_clock"), extra
        assert words in err.value.message, extra
        assert (err.value.field == "playback_clock") == (words == "clock chosen"), extra


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


def assert_pulled_the_asked_window(session, engine, settings, world, fleet, camera, name, case_no="1") -> None:
    clip = pull(session, engine, settings, world, fleet, camera, name, case_no)
    assert clip.status is ClipStatus.archived, clip.status_reason  # 7 h off would be outside the 2 h card
    assert clip.method.value == "vendor_playback" and clip.frame_count > 0
    assert abs(clip.first_frame_at - clip.start_at) <= timedelta(seconds=5)
    # what the camera served: each simulated frame carries its capture second (camera clock = true UTC here)
    import av

    from camera_ops.sim.scene import read_marker
    from storage.clipstore.local import LocalClipStore

    with av.open(str(LocalClipStore(settings.data_dir / "clips").path_of(clip.object_key))) as container:
        seconds = [m[0] for m in (read_marker(f.to_ndarray(format="bgr24")) for f in container.decode(video=0)) if m]
    assert seconds, "no marked frame in the clip"
    asked = int(clip.start_at.timestamp())
    assert asked - 2 <= seconds[0] <= asked and max(seconds) <= int(clip.end_at.timestamp())


def assert_reach_is_the_card(camera) -> None:
    now = utcnow()
    assert camera.recording_problem is None, camera.recording_problem  # not "clock_zone"
    assert abs(camera.recording_until - now) < timedelta(minutes=2)
    assert abs(camera.recording_from - (now - timedelta(hours=2))) < timedelta(minutes=2)


def test_a_dahua_style_camera_registered_with_defaults_is_asked_in_local_time(session, engine, settings, fleet):
    """The field case: a Dahua camera registered as a new user would (no clock chosen) gets its
    footage from the asked window and its recording reach right, both asked in Vietnam time."""
    settings.onvif_timeout_s = 5.0
    settings.timezone = LOCAL
    world = make_world(session)
    cam = fleet.camera("pb-dahua")
    camera = register(session, settings, world, cam, "DH-1")
    assert camera.recording is RecordingCapability.vendor_playback and camera.playback_style is None  # brand
    assert camera.playback_clock is PlaybackClock.local and camera.playback_clock_auto
    assert_reach_is_the_card(camera)
    assert_pulled_the_asked_window(session, engine, settings, world, fleet, camera, cam.name)


def test_a_hikvision_style_camera_registered_with_defaults_stays_on_utc(session, engine, settings, fleet):
    settings.onvif_timeout_s = 5.0
    settings.timezone = LOCAL
    world = make_world(session)
    cam = fleet.camera("pb-hik")
    camera = register(session, settings, world, cam, "HK-1")
    assert camera.playback_clock is PlaybackClock.utc and camera.playback_clock_auto
    assert_reach_is_the_card(camera)
    assert_pulled_the_asked_window(session, engine, settings, world, fleet, camera, cam.name)


def test_an_automatic_clock_is_resolved_at_connect_now_and_follows_a_style_change(session, engine, settings, fleet):
    settings.onvif_timeout_s = 5.0
    settings.timezone = LOCAL
    world = make_world(session)
    cam = fleet.camera("pb-oem")  # Dahua firmware under another brand name: no style from the brand
    data = camera_service.CameraInput(code="OEM-P", name="OEM-P", area_id=world.hamlet.id, host=cam.host,
                                      onvif_port=cam.onvif_port, username=cam.username, password=cam.password)
    camera = camera_service.register_camera(session, settings, data, scope=None, pending=True).camera
    assert camera.playback_clock_auto and camera.playback_clock is PlaybackClock.utc  # not known yet
    outcome = camera_service.retry_handshake(session, settings, camera)  # "connect now"
    assert outcome.error is None, outcome.error
    assert camera.playback_clock is PlaybackClock.utc  # Vantech: no brand style, nothing to follow
    camera = camera_service.update_camera(session, settings, camera, {"playback_style": PlaybackStyle.dahua},
                                          scope=None, may_redirect_credentials=True)
    assert camera.playback_clock is PlaybackClock.local and camera.playback_clock_auto
    session.commit()
    assert_pulled_the_asked_window(session, engine, settings, world, fleet, camera, cam.name)
    camera = camera_service.update_camera(session, settings, camera, {"playback_style": PlaybackStyle.hikvision},
                                          scope=None, may_redirect_credentials=True)
    assert camera.playback_clock is PlaybackClock.utc


def test_a_clock_a_person_chose_is_never_overridden(session, settings, fleet):
    settings.onvif_timeout_s = 5.0
    settings.timezone = LOCAL
    world = make_world(session)
    cam = fleet.camera("pb-dahua")
    data = camera_service.CameraInput(code="DH-UTC", name="DH-UTC", area_id=world.hamlet.id, host=cam.host,
                                      onvif_port=cam.onvif_port, username=cam.username, password=cam.password,
                                      playback_clock=PlaybackClock.utc)  # this person's firmware is on UTC
    camera = camera_service.register_camera(session, settings, data, scope=None, pending=True).camera
    assert camera.playback_clock is PlaybackClock.utc and not camera.playback_clock_auto
    assert camera_service.retry_handshake(session, settings, camera).error is None  # "connect now": Dahua brand
    assert camera.playback_clock is PlaybackClock.utc
    for style in (PlaybackStyle.dahua, None, PlaybackStyle.hikvision, PlaybackStyle.dahua):
        camera = camera_service.update_camera(session, settings, camera, {"playback_style": style}, scope=None,
                                              may_redirect_credentials=True)
        assert camera.playback_clock is PlaybackClock.utc and not camera.playback_clock_auto, style
    assert camera_service.playback_notes(camera).clock_hint == "dahua_on_utc"  # pointed out, not changed
    camera = camera_service.update_camera(session, settings, camera, {"playback_clock": "auto"}, scope=None)
    assert camera.playback_clock is PlaybackClock.local and camera.playback_clock_auto  # only when asked
    assert camera_service.playback_notes(camera).clock_hint is None
    with pytest.raises(ValidationFailed) as err:  # automatic has no answer for a custom template
        camera_service.update_camera(session, settings, camera, {
            "playback_style": PlaybackStyle.custom, "playback_template": "/cam/playback?s={start:%s}&e={end:%s}"},
            scope=None, may_redirect_credentials=True)
    assert err.value.field == "playback_clock" and err.value.key == "err.playback.clock_required"
