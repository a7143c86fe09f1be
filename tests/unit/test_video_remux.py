"""Stream copy: RTP-depacketized access units → fragmented MP4, proven with ffprobe/ffmpeg."""

import hashlib
import json
import subprocess
from datetime import datetime, timedelta, timezone

import av
import pytest

from camera_ops.errors import ClipUnavailable
from camera_ops.rtsp.depacketize import AccessUnit, Depacketizer
from camera_ops.rtsp.packetize import packetize_access_unit
from camera_ops.rtsp.rtp import ONVIF_REPLAY_EXTENSION_ID, build_onvif_extension, build_rtp, parse_rtp
from camera_ops.video.hashing import HashingSink
from camera_ops.video.remux import AccessUnitMuxer, remux_file
from camera_ops.video.testing import encode_clip, split_access_units

FPS = 25
TICKS = 90_000 // FPS
FRAMES = 50
START = datetime(2026, 11, 21, 14, 10, tzinfo=timezone.utc)


def ffprobe(path):
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
         "stream=codec_name,codec_tag_string,width,height,nb_read_frames,duration", "-of", "json", str(path)],
        check=True, capture_output=True, timeout=60,
    )
    return json.loads(out.stdout)["streams"][0]


def mp4_samples(path):
    """Every MP4 sample as the list of NAL units it holds (4-byte length prefixes removed)."""
    samples = []
    with av.open(str(path)) as container:
        for packet in container.demux(container.streams.video[0]):
            data, offset, nals = bytes(packet), 0, []
            while offset < len(data):
                size = int.from_bytes(data[offset : offset + 4], "big")
                nals.append(data[offset + 4 : offset + 4 + size])
                offset += 4 + size
            if data:
                samples.append(nals)
    return samples


def elementary_sha256(path, codec):
    bsf = "h264_mp4toannexb" if codec == "h264" else "hevc_mp4toannexb"
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-c", "copy", "-bsf:v", bsf, "-f", codec, "-"],
        check=True, capture_output=True, timeout=60,
    ).stdout
    return hashlib.sha256(raw).hexdigest()


def through_rtp(codec, units, *, ntp_start=None, gap_after=None):
    """Packetize like a camera, depacketize with our code."""
    depacketizer = Depacketizer(codec)
    out, seq, ts = [], 65500, 0xFFFF0000
    for number, nals in enumerate(units):
        payloads = packetize_access_unit(codec, nals, 1000)
        for part, payload in enumerate(payloads):
            ext = {}
            if ntp_start is not None and part == 0:
                when = ntp_start + timedelta(seconds=((ts - 0xFFFF0000) % 2**32) / 90_000)
                ext = {"extension_profile": ONVIF_REPLAY_EXTENSION_ID,
                       "extension": build_onvif_extension(when, end_of_section=number == gap_after)}
            raw = build_rtp(payload, sequence=seq, timestamp=ts, marker=part == len(payloads) - 1, **ext)
            out += depacketizer.push(parse_rtp(raw))
            seq += 1
        ts = (ts + TICKS + (90_000 * 5 if number == gap_after else 0)) % 2**32
    return out + depacketizer.flush()


@pytest.fixture(scope="module", params=["h264", "hevc"])
def source(request, tmp_path_factory):
    codec = request.param
    elementary = encode_clip(codec, frames=FRAMES, width=320, height=240, fps=FPS, gop=25)
    path = tmp_path_factory.mktemp("src") / f"in.{codec}"
    path.write_bytes(elementary)
    return codec, path, split_access_units(elementary, codec)


def mux(codec, units, sink, **kwargs):
    parameter_sets = tuple(n for n in units[0].nal_units if (n[0] & 0x1F) in (7, 8) or ((n[0] >> 1) & 0x3F) in (32, 33, 34))
    with AccessUnitMuxer(sink, codec, parameter_sets=parameter_sets, **kwargs) as muxer:
        for unit in units:
            muxer.write(unit)
        return muxer.close()


def test_muxed_clip_plays_with_codec_frames_duration_and_identical_elementary_stream(source, tmp_path):
    codec, src, nal_units = source
    target = tmp_path / "out.mp4"
    with target.open("wb") as file:
        sink = HashingSink(file)
        facts = mux(codec, through_rtp(codec, nal_units), sink)
    info = ffprobe(target)
    assert info["codec_name"] == codec and (info["width"], info["height"]) == (320, 240)
    assert int(info["nb_read_frames"]) == FRAMES
    assert float(info["duration"]) == pytest.approx(FRAMES / FPS, abs=1e-3)
    assert mp4_samples(target) == nal_units  # every sample is the camera's access unit, byte for byte
    if codec == "h264":  # FFmpeg's own extraction agrees (for H.265 its bsf re-inserts VPS/SPS/PPS)
        assert elementary_sha256(target, codec) == elementary_sha256(src, codec)
    else:
        assert info["codec_tag_string"] == "hev1"
    assert sink.sha256 == hashlib.sha256(target.read_bytes()).hexdigest()
    assert sink.sha512 == hashlib.sha512(target.read_bytes()).hexdigest()
    assert sink.bytes_written == target.stat().st_size
    assert (facts.frame_count, facts.keyframe_count, facts.gaps) == (FRAMES, 2, [])
    assert facts.duration_s == pytest.approx(FRAMES / FPS)


def test_same_input_remuxed_twice_gives_identical_bytes(source):
    codec, _, nal_units = source
    first, second = HashingSink(), HashingSink()
    mux(codec, through_rtp(codec, nal_units), first)
    mux(codec, through_rtp(codec, nal_units), second)
    assert first.sha256 == second.sha256 and first.bytes_written > 0


def test_frame_times_from_replay_extension_and_recording_gap_is_reported(source):
    codec, _, nal_units = source
    facts = mux(codec, through_rtp(codec, nal_units, ntp_start=START, gap_after=9), HashingSink())
    assert facts.time_source == "onvif_ntp" and facts.first_frame_time == START
    assert facts.last_frame_time == START + timedelta(seconds=(FRAMES - 1) / FPS + 5)
    assert len(facts.gaps) == 1
    gap = facts.gaps[0]
    assert gap.start == START + timedelta(seconds=9 / FPS) and gap.seconds == pytest.approx(5 + 1 / FPS)
    assert json.dumps(facts.to_dict())


def test_timestamp_jump_without_camera_flag_is_a_gap(source):
    codec, _, nal_units = source
    units = through_rtp(codec, nal_units)
    for unit in units[30:]:
        unit.rtp_timestamp += 90_000  # one second missing
    facts = mux(codec, units, HashingSink(), start_time=START)
    assert [g.reason for g in facts.gaps] == ["timestamp_jump"]
    assert facts.gaps[0].start == START + timedelta(seconds=29 / FPS)


def test_units_before_the_first_keyframe_are_skipped_and_counted(source):
    codec, _, nal_units = source
    units = through_rtp(codec, nal_units)[20:]  # starts mid-GOP
    facts = mux(codec, units, HashingSink())
    assert facts.skipped_before_keyframe == 5 and facts.frame_count == FRAMES - 25


def test_no_keyframe_at_all_is_clip_unavailable():
    unit = AccessUnit("h264", 0, [b"\x41\x9a\x00"])
    with pytest.raises(ClipUnavailable):
        mux("h264", [unit], HashingSink())


def test_remux_file_copies_without_reencoding(source, tmp_path):
    codec, src, _ = source
    mp4 = tmp_path / "a.mp4"
    with mp4.open("wb") as file:
        mux(codec, through_rtp(codec, source[2]), HashingSink(file))
    target = tmp_path / "b.mp4"
    with target.open("wb") as file:
        facts = remux_file(str(mp4), HashingSink(file))
    assert facts.frame_count == FRAMES and int(ffprobe(target)["nb_read_frames"]) == FRAMES
    assert mp4_samples(target) == source[2]


def test_hvc1_viewing_copy_moves_parameter_sets_out_of_the_samples(tmp_path):
    codec = "hevc"
    nal_units = split_access_units(encode_clip(codec, frames=FRAMES, fps=FPS, gop=25), codec)
    target = tmp_path / "view.mp4"
    with target.open("wb") as file:
        mux(codec, through_rtp(codec, nal_units), HashingSink(file), hevc_tag="hvc1")
    assert ffprobe(target)["codec_tag_string"] == "hvc1"
    assert int(ffprobe(target)["nb_read_frames"]) == FRAMES
    assert mp4_samples(target)[0] != nal_units[0]  # why evidence uses hev1
