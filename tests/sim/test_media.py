"""Picture, H.264 segments, RTP packetization and auth primitives (no sockets)."""

from __future__ import annotations

import struct

import av
import cv2
import numpy as np
import pytest

from camera_ops.sim.auth import check_digest, make_nonce
from camera_ops.sim.rtp import MAX_PAYLOAD, Packetizer, ReplayFlags, ntp_timestamp, onvif_extension
from camera_ops.sim.scene import Look, read_marker, render
from camera_ops.sim.video import encode_segment, parameter_sets, parameter_sets_of

T0 = 1_790_000_000.0
SIZE = (640, 360)


def gray(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def sharpness(frame: np.ndarray) -> float:
    return float(cv2.Laplacian(gray(frame), cv2.CV_64F).var())


@pytest.fixture(scope="module")
def normal() -> np.ndarray:
    return render(Look(seed=7, label="cam"), T0, SIZE)


def test_marker_round_trips_second_and_frame_at_main_and_sub_size() -> None:
    assert read_marker(render(Look(seed=1, label="a"), T0 + 5, SIZE, 7)) == (int(T0) + 5, 7)
    assert read_marker(render(Look(seed=1, label="a"), T0, (320, 180), 11)) == (int(T0), 11)


def test_normal_scene_is_textured_and_moves(normal: np.ndarray) -> None:
    later = render(Look(seed=7, label="cam"), T0 + 0.5, SIZE)
    assert sharpness(normal) > 500
    assert float(np.abs(normal.astype(int) - later.astype(int)).mean()) > 0.5


def test_picture_faults_look_like_their_names(normal: np.ndarray) -> None:
    black = render(Look(seed=7, label="cam", mode="black"), T0, SIZE)
    covered = render(Look(seed=7, label="cam", mode="covered"), T0, SIZE)
    blurred = render(Look(seed=7, label="cam", mode="defocused"), T0, SIZE)
    away = render(Look(seed=7, label="cam", mode="turned_away"), T0, SIZE)
    night = render(Look(seed=7, label="cam", night_ir=True), T0, SIZE)
    assert gray(black).mean() < 10
    assert 25 < gray(covered).mean() < 60 and gray(covered).std() < 5 and sharpness(covered) < 5
    assert sharpness(blurred) < 20 < sharpness(normal) / 20
    assert float(np.abs(gray(away).astype(int) - gray(normal).astype(int)).mean()) > 20
    b, g, r = cv2.split(night)
    assert (b == g).all() and (g == r).all() and gray(night).mean() < gray(normal).mean() * 0.7 and sharpness(night) > 300


def test_frozen_picture_ignores_time() -> None:
    look = Look(seed=7, label="cam", frozen_at=T0)
    assert np.array_equal(render(look, T0 + 10, SIZE, 3), render(look, T0 + 99, SIZE, 5))


def test_segment_is_one_decodable_gop_with_the_shared_parameter_sets() -> None:
    segment = encode_segment(Look(seed=3, label="cam"), (320, 180), 12, int(T0))
    assert len(segment.units) == 12 and segment.units[0].keyframe and not any(u.keyframe for u in segment.units[1:])
    assert parameter_sets_of(segment) == parameter_sets((320, 180), 12)
    decoder = av.CodecContext.create("h264", "r")
    markers = []
    for unit in segment.units:
        for frame in decoder.decode(av.Packet(b"".join(b"\x00\x00\x00\x01" + n for n in unit.nals))):
            markers.append(read_marker(frame.to_ndarray(format="bgr24")))
    assert markers == [(int(T0), i) for i in range(12)]


def test_packetizer_fragments_large_nals_and_marks_the_last_packet() -> None:
    big, small = bytes([0x65]) + bytes(range(256)) * 20, bytes([0x41, 1, 2, 3])
    packets = Packetizer(ssrc=1, sequence=65535).packetize((small, big), 1234, onvif_extension(T0, ReplayFlags(clean_point=True)))
    assert all(len(p) <= 12 + 16 + MAX_PAYLOAD for p in packets)
    assert [p[1] & 0x80 for p in packets] == [0] * (len(packets) - 1) + [0x80]
    assert packets[0][0] & 0x10 and not any(p[0] & 0x10 for p in packets[1:])
    assert struct.unpack("!HH", packets[0][12:16]) == (0xABAC, 3)
    assert struct.unpack("!Q", packets[0][16:24])[0] == ntp_timestamp(T0) and packets[0][24] == 0x80
    assert struct.unpack("!H", packets[1][2:4])[0] == 0  # sequence wraps
    fu = packets[1:]
    assert fu[0][12] & 0x1F == 28 and fu[0][13] == 0x80 | 5 and fu[-1][13] == 0x40 | 5
    assert b"".join(p[14:] for p in fu) == big[1:]


def test_digest_accepts_the_right_answer_only() -> None:
    import hashlib

    nonce = make_nonce()

    def header(password: str) -> str:
        ha1 = hashlib.md5(f"admin:realm:{password}".encode()).hexdigest()
        ha2 = hashlib.md5(b"DESCRIBE:rtsp://x/").hexdigest()
        resp = hashlib.md5(f"{ha1}:{nonce}:{ha2}".encode()).hexdigest()
        return f'Digest username="admin", realm="realm", nonce="{nonce}", uri="rtsp://x/", response="{resp}"'

    kwargs = dict(method="DESCRIBE", realm="realm", username="admin", password="pw")
    assert check_digest(header("pw"), **kwargs).ok
    assert not check_digest(header("nope"), **kwargs).ok
    assert not check_digest(header("pw").replace(nonce, "deadbeef" * 5), **kwargs).ok
