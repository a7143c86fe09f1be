"""Clip requests archived end to end: simulated cameras over real sockets, the real database,
a local clip store or moto's S3 server over TLS. ffprobe checks what was stored."""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import av
import pytest
from sqlalchemy import select

from camera_ops.errors import ValidationFailed
from camera_ops.footage import jobs
from camera_ops.footage.archive import _acquire_and_store, _load, spool_paths
from camera_ops.footage.integrity import verify_clip
from camera_ops.footage.requests import Window, create_request
from camera_ops.footage.worker import Worker
from camera_ops.rtsp.client import ReplayRequest, RtspSession
from camera_ops.sim.spec import CameraSpec
from camera_ops.sim.testing import FleetHandle, running_fleet
from storage.clipstore.local import LocalClipStore
from storage.db import session_scope
from storage.models_evidence import ArchiveJob, Clip, ClipStatus, CustodyEvent, JobState
from storage.types import utcnow
from tests.footage_fixtures import actor, make_case, make_world, recent_window, sim_camera_row
from tests.s3server import S3Server, own_s3_server, s3_server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.db
FPS = 12  # the simulator's default frame rate
needs_ffprobe = pytest.mark.skipif(shutil.which("ffprobe") is None, reason="needs ffprobe")


@pytest.fixture(scope="module")
def fleet() -> Iterator[FleetHandle]:
    specs = [CameraSpec("gen", vendor="generic"), CameraSpec("hik", vendor="hikvision"),
             CameraSpec("dah", vendor="dahua", profile_g=False), CameraSpec("faulty", vendor="generic")]
    with running_fleet(specs) as handle:
        yield handle


@pytest.fixture
def faulty(fleet: FleetHandle) -> Iterator[str]:
    yield "faulty"
    fleet.clear_faults("faulty")


def ffprobe(path: Path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-show_entries",
         "stream=codec_name,width,height,nb_read_frames:format=duration", "-of", "json", str(path)],
        capture_output=True, text=True, timeout=30, check=True,
    )
    data = json.loads(out.stdout)
    return {**data["streams"][0], "duration": float(data["format"]["duration"])}


def request_clip(session, settings, world, camera, seconds: float, *, back_s: float = 20.0, fleet=None, name="gen",
                 live: bool = False, window: tuple | None = None):
    case = make_case(session, world)
    if window is None:
        window = recent_window(fleet.camera_clock(name), seconds, back_s=back_s)
    request = create_request(session, settings, actor(world.officer), world.officer, case, camera_ids=[camera.id],
                             window=Window(*window), purpose="xác minh vụ trộm xe", live=live)
    clip_id = request.clips[0].id
    session.commit()  # the test's session must not hold SQLite's write lock while the worker runs
    return clip_id


def archived_path(settings, clip: Clip) -> Path:
    return LocalClipStore(settings.data_dir / "clips").path_of(clip.object_key)


@needs_ffprobe
def test_onvif_replay_is_archived_unchanged_and_plays(session, engine, settings, fleet):
    world = make_world(session)
    camera = sim_camera_row(session, settings, fleet.camera("gen"), world.hamlet)
    clip_id = request_clip(session, settings, world, camera, 4, fleet=fleet)

    outcomes = Worker(engine, settings).run_until_idle()

    assert [o.status for o in outcomes] == [ClipStatus.archived]
    clip = session.get(Clip, clip_id)
    session.refresh(clip)
    assert clip.method.value == "onvif_replay" and clip.gaps == []
    assert clip.clock_offset_before_s is not None and clip.clock_offset_after_s is not None
    probe = ffprobe(archived_path(settings, clip))
    assert probe["codec_name"] == "h264" and (probe["width"], probe["height"]) == (640, 360)
    assert int(probe["nb_read_frames"]) == clip.frame_count
    assert 4 <= clip.frame_count / FPS <= 4 + 2  # starts at the keyframe at or before the start
    assert abs(probe["duration"] - clip.frame_count / FPS) < 0.2
    # the elementary stream is the camera's: pull the same window again and compare packet bytes
    info = fleet.camera("gen")

    async def pull() -> list[bytes]:
        replay = ReplayRequest(clip.camera_start_at, clip.camera_end_at, rate_control=False)
        async with RtspSession(info.replay_url, info.username, info.password, replay=replay) as rtsp:
            units = [u async for u in rtsp.access_units() if not u.ntp_time or u.ntp_time < clip.camera_end_at]
        return [u.length_prefixed() for u in units]

    sent = asyncio.run(pull())
    with av.open(str(archived_path(settings, clip))) as stored:
        packets = [bytes(p) for p in stored.demux(stored.streams.video[0]) if p.size]
    assert packets == sent
    events = [e.event_type for e in session.scalars(select(CustodyEvent).where(CustodyEvent.clip == clip_id)
                                                    .order_by(CustodyEvent.seq))]
    assert events == ["requested", "acquired", "verified", "archived"]
    manifest = json.loads(archived_path(settings, clip).with_name("manifest.json").read_text("utf-8"))
    assert manifest["object"]["sha256"] == clip.sha256 and manifest["camera"]["mac"] == info.mac
    assert manifest["case"]["title"] == "Trộm cắp xe máy"


@needs_ffprobe
@pytest.mark.parametrize("name", ["hik", "dah"])
def test_vendor_playback_urls_are_archived(session, engine, settings, fleet, name):
    world = make_world(session)
    camera = sim_camera_row(session, settings, fleet.camera(name), world.hamlet)
    assert camera.recording.value == "vendor_playback"
    clip_id = request_clip(session, settings, world, camera, 3, fleet=fleet, name=name)

    Worker(engine, settings).run_until_idle()

    clip = session.get(Clip, clip_id)
    session.refresh(clip)
    assert clip.status is ClipStatus.archived, clip.status_reason
    assert clip.method.value == "vendor_playback"
    probe = ffprobe(archived_path(settings, clip))
    assert probe["codec_name"] == "h264" and int(probe["nb_read_frames"]) == clip.frame_count
    assert 3 <= clip.frame_count / FPS <= 3 + 2


@needs_ffprobe
def test_live_capture_records_a_window_that_starts_now(session, engine, settings, fleet):
    world = make_world(session)
    camera = sim_camera_row(session, settings, fleet.camera("gen"), world.hamlet)
    start = utcnow() + timedelta(seconds=1)
    clip_id = request_clip(session, settings, world, camera, 0, live=True, window=(start, start + timedelta(seconds=3)))

    Worker(engine, settings).run_until_idle()

    clip = session.get(Clip, clip_id)
    session.refresh(clip)
    assert clip.status is ClipStatus.archived, clip.status_reason
    assert clip.method.value == "live"
    probe = ffprobe(archived_path(settings, clip))
    assert int(probe["nb_read_frames"]) == clip.frame_count
    assert 2.0 <= probe["duration"] <= 3 + 1.5  # begins at the keyframe at or before the start (1 s GOP)


def test_window_too_long_or_in_the_future_is_refused_at_once(session, settings, fleet):
    world = make_world(session)
    camera = sim_camera_row(session, settings, fleet.camera("gen"), world.hamlet)
    case = make_case(session, world)
    now = utcnow()
    cases = [
        (Window(now - timedelta(hours=3), now - timedelta(minutes=30)), False, "end", "at most 120 minutes"),
        (Window(now - timedelta(minutes=5), now + timedelta(minutes=5)), False, "end", "only live capture"),
        (Window(now - timedelta(minutes=5), now - timedelta(minutes=6)), False, "end", "start must be before end"),
        (Window(now - timedelta(hours=30), now - timedelta(hours=29)), False, "start", "keep about 24 hours"),
        (Window(now - timedelta(minutes=10), now + timedelta(minutes=1)), True, "start", "cannot reach back"),
    ]
    for window, live, field, words in cases:
        with pytest.raises(ValidationFailed) as caught:
            create_request(session, settings, actor(world.officer), world.officer, case, camera_ids=[camera.id],
                           window=window, purpose="kiểm tra", live=live)
        assert caught.value.field == field and words in caught.value.message
    assert session.scalars(select(Clip)).first() is None


def test_camera_offline_mid_transfer_is_retried_then_failed_never_archived(session, engine, settings, fleet, faulty):
    world = make_world(session)
    camera = sim_camera_row(session, settings, fleet.camera(faulty), world.hamlet)
    clip_id = request_clip(session, settings, world, camera, 30, back_s=60, fleet=fleet, name=faulty)
    fleet.set_faults(faulty, stream_drop_after_units=20)  # a count, not a time: a fast pull must not outrun it
    settings = settings.model_copy(update={"archive_max_attempts": 2, "archive_backoff_s": 0.0})
    worker = Worker(engine, settings)

    first = worker.run_once()
    assert first is not None and first.status is ClipStatus.queued and "retrying" in (first.reason or "")
    second = worker.run_once()

    assert second is not None and second.status is ClipStatus.failed
    clip = session.get(Clip, clip_id)
    session.refresh(clip)
    assert clip.status is ClipStatus.failed and clip.object_key is None
    assert "gave up after 2 attempts" in clip.status_reason and "closed the replay early" in clip.status_reason
    assert LocalClipStore(settings.data_dir / "clips").list_keys("cases/") == []
    job = session.scalars(select(ArchiveJob)).one()
    assert job.state is JobState.failed
    assert session.scalars(select(CustodyEvent.event_type).where(CustodyEvent.clip == clip_id)).all()[-1] == "acquisition_failed"


def test_replay_refused_by_the_camera_fails_with_a_plain_reason(session, engine, settings, fleet, faulty):
    world = make_world(session)
    camera = sim_camera_row(session, settings, fleet.camera(faulty), world.hamlet)
    fleet.set_faults(faulty, replay_unsupported=True)
    clip_id = request_clip(session, settings, world, camera, 3, fleet=fleet, name=faulty)

    Worker(engine, settings).run_until_idle()

    clip = session.get(Clip, clip_id)
    session.refresh(clip)
    assert clip.status is ClipStatus.failed and "cannot replay" in clip.status_reason


def test_recording_gap_makes_a_partial_clip_with_the_gap_listed(session, engine, settings, fleet, faulty):
    world = make_world(session)
    camera = sim_camera_row(session, settings, fleet.camera(faulty), world.hamlet)
    start, end = recent_window(fleet.camera_clock(faulty), 8, back_s=30)
    fleet.set_faults(faulty, recording_gap=(start + timedelta(seconds=3), start + timedelta(seconds=5)))
    clip_id = request_clip(session, settings, world, camera, 0, window=(start, end))

    Worker(engine, settings).run_until_idle()

    clip = session.get(Clip, clip_id)
    session.refresh(clip)
    assert clip.status is ClipStatus.partial, clip.status_reason
    assert len(clip.gaps) == 1 and clip.gaps[0]["seconds"] >= 2 and "gap" in clip.status_reason


def test_s3_server_stopped_mid_upload_is_retried_and_nothing_is_archived_meanwhile(
    session, engine, settings, fleet, own_s3_server: S3Server
):
    settings = settings.model_copy(update={**own_s3_server.settings_overrides("evidence-retry"),
                                           "archive_backoff_s": 0.0})
    store = own_s3_server.store("evidence-retry")
    world = make_world(session)
    camera = sim_camera_row(session, settings, fleet.camera("gen"), world.hamlet)
    clip_id = request_clip(session, settings, world, camera, 3, fleet=fleet)

    class StopServerDuringPut:
        """The real store, but the S3 server is stopped while the clip's bytes are being read."""

        def __init__(self) -> None:
            self.name, self.fired = store.name, False

        def __getattr__(self, name: str):
            return getattr(store, name)

        def put(self, key, source, **kw):
            if key.endswith(".mp4") and not self.fired:
                self.fired = True
                data = source.read()
                own_s3_server.stop()
                source = io.BytesIO(data)
            return store.put(key, source, **kw)

    first = Worker(engine, settings, store=StopServerDuringPut()).run_once()

    assert first is not None and first.status is ClipStatus.queued
    clip = session.get(Clip, clip_id)
    session.refresh(clip)
    assert clip.status is ClipStatus.queued and clip.object_key is None and "S3" in clip.status_reason
    spool, facts = spool_paths(settings, clip_id)
    assert spool.exists() and facts.exists()  # the retry uploads these bytes; the camera is not pulled again
    session.commit()

    own_s3_server.start()  # a fresh, empty server on the same port: the bucket is made again
    second = Worker(engine, settings, store=store).run_once()

    assert second is not None and second.status is ClipStatus.archived
    session.refresh(clip)
    versions = list(store.client.list_objects(store.bucket, prefix=f"cases/{clip.case_id}/", recursive=True,
                                              include_version=True))
    assert sorted(o.object_name.rsplit("/", 1)[-1] for o in versions) == sorted(
        [clip.object_key.rsplit("/", 1)[-1], "manifest.json"])
    stat = store.stat(clip.object_key)
    assert stat.version_id == clip.version_id and stat.lock["legal_hold"] == "ON"
    assert stat.lock["mode"] == "GOVERNANCE" and stat.metadata["sha256"] == clip.sha256
    assert verify_clip(store, clip).ok


def test_a_crashed_job_is_resumed_and_never_stores_a_second_object(session, engine, settings, fleet):
    world = make_world(session)
    camera = sim_camera_row(session, settings, fleet.camera("gen"), world.hamlet)
    clip_id = request_clip(session, settings, world, camera, 3, fleet=fleet)
    store = LocalClipStore(settings.data_dir / "clips")
    # worker A claims, stores the object, and dies before recording it
    with session_scope(engine) as s:
        claim = jobs.claim_next(s, owner="worker-a", lease_s=60)
    with session_scope(engine) as s:
        job = _load(s, settings, clip_id)
    _acquire_and_store(engine, store, settings, claim, job, *spool_paths(settings, clip_id))
    with session_scope(engine) as s:  # A's lease runs out
        s.get(ArchiveJob, claim.job_id).lease_until = utcnow() - timedelta(seconds=1)

    outcome = Worker(engine, settings, store=store, name="worker-b").run_once()

    assert outcome is not None and outcome.status is ClipStatus.archived
    clip = session.get(Clip, clip_id)
    session.refresh(clip)
    assert store.list_keys(f"cases/{clip.case_id}/") == sorted([clip.object_key, clip.manifest_key])
    job_row = session.get(ArchiveJob, claim.job_id)
    session.refresh(job_row)
    assert job_row.attempts == 2 and job_row.state is JobState.done
    assert verify_clip(store, clip).ok


def test_one_changed_byte_in_a_stored_clip_is_detected(session, engine, settings, fleet):
    world = make_world(session)
    camera = sim_camera_row(session, settings, fleet.camera("gen"), world.hamlet)
    clip_id = request_clip(session, settings, world, camera, 2, fleet=fleet)
    Worker(engine, settings).run_until_idle()
    clip = session.get(Clip, clip_id)
    session.refresh(clip)
    store = LocalClipStore(settings.data_dir / "clips")
    assert verify_clip(store, clip).ok
    path = store.path_of(clip.object_key)
    assert path.stat().st_mode & 0o222 == 0  # stored read-only
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))

    check = verify_clip(store, clip)

    assert not check.ok and "do not match" in check.problem
