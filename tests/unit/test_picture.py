"""Picture health on synthetic pictures: each fault is recognised, and normal variation is not a fault."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable

import cv2
import numpy as np
import pytest

from camera_ops.errors import CameraProtocolError, ValidationFailed
from camera_ops.health import synthetic as syn
from camera_ops.health.picture import (
    REFERENCE_SIZE,
    WORK_SIZE,
    Picture,
    PictureState,
    assess_picture,
    decode_picture,
    jpeg_size,
    retake_reference,
)
from camera_ops.health.vocabulary import PictureProblem, Reason

P = PictureProblem
LEARNING_PICTURES = 6  # more than blur_min_samples, so blur is judged
MONITOR_DECODE_SIZE = (320, 135)  # what the monitor decodes for its default 320 px thumbnail


@pytest.fixture(scope="module")
def base() -> np.ndarray:
    return syn.scene(1)


@pytest.fixture(scope="module")
def learned(base: np.ndarray) -> tuple[PictureState, bytes]:
    """A camera that has seen a few normal (noisy) pictures of its scene; returns state and last JPEG."""
    state = None
    for i in range(LEARNING_PICTURES):
        jpeg = syn.to_jpeg(syn.add_noise(base, 3.0, seed=100 + i))
        assessment, state = assess_picture(jpeg, state)
        assert assessment.ok, assessment
    assert state is not None
    return state, jpeg


def _panned(base_seed: int, shift_px: int) -> np.ndarray:
    wide = syn.scene(base_seed, (1920 + 600, 1080))
    return np.ascontiguousarray(wide[:, shift_px : shift_px + 1920])


def _with_clock_overlay(img: np.ndarray, text: str) -> np.ndarray:
    out = img.copy()
    cv2.putText(out, text, (40, 60), cv2.FONT_HERSHEY_SIMPLEX, 1.5, 255, 3)
    return out


PICTURES: list[tuple[str, Callable[[np.ndarray], np.ndarray], tuple[PictureProblem, ...]]] = [
    ("same scene, new sensor noise", lambda b: syn.add_noise(b, 3.0, seed=7), ()),
    ("same scene with a moving motorbike and noise", lambda b: syn.add_noise(syn.with_moving_object(b), 3.0, 8), ()),
    ("infrared night", lambda b: syn.ir_night(b), ()),
    ("very dark infrared night, still textured", lambda b: syn.ir_night(b, gain=0.2, offset=2.0), ()),
    ("infrared night lighting the near field only", lambda b: syn.ir_night(b, gain=0.5, gamma=2.2), ()),
    ("infrared night with a moving object", lambda b: syn.ir_night(syn.with_moving_object(b), seed=3), ()),
    ("small pan from wind (3% of the view)", lambda b: syn.add_noise(_panned(1, 60), 3.0, 9), ()),
    ("all black", lambda b: syn.black(), (P.BLACK,)),
    ("black but lifted by the encoder to grey level 20", lambda b: syn.black(level=20), (P.BLACK,)),
    ("lens covered, mid grey", lambda b: syn.covered(level=128), (P.COVERED,)),
    ("lens covered, darkish", lambda b: syn.covered(level=40), (P.COVERED,)),
    ("lens covered, bright", lambda b: syn.covered(level=220), (P.COVERED,)),
    ("out of focus", lambda b: syn.blurred(syn.add_noise(b, 3.0, 10), 6.0), (P.BLURRED,)),
    ("a different scene", lambda b: syn.add_noise(syn.scene(2), 3.0, 11), (P.TURNED_AWAY,)),
    ("another different scene", lambda b: syn.add_noise(syn.scene(5), 3.0, 12), (P.TURNED_AWAY,)),
    ("panned by an eighth of the view", lambda b: syn.add_noise(_panned(1, 240), 3.0, 13), (P.TURNED_AWAY,)),
]


@pytest.mark.parametrize(("name", "make", "expected"), PICTURES, ids=[p[0] for p in PICTURES])
def test_picture_verdict(
    name: str,
    make: Callable[[np.ndarray], np.ndarray],
    expected: tuple[PictureProblem, ...],
    base: np.ndarray,
    learned: tuple[PictureState, bytes],
) -> None:
    state, _ = learned
    if name.startswith(("small pan", "panned")):  # the panned views come from a wider scene
        _, state = _learn(_panned(1, 0))
    assessment, _ = assess_picture(syn.to_jpeg(make(base)), state)
    assert assessment.problems == expected, assessment.metrics


def _learn(img: np.ndarray) -> tuple[bytes, PictureState]:
    state = None
    for i in range(LEARNING_PICTURES):
        jpeg = syn.to_jpeg(syn.add_noise(img, 3.0, seed=200 + i))
        _, state = assess_picture(jpeg, state)
    assert state is not None
    return jpeg, state


def test_the_same_snapshot_again_is_frozen(learned: tuple[PictureState, bytes]) -> None:
    state, last_jpeg = learned
    assessment, _ = assess_picture(last_jpeg, state)
    assert assessment.problems == (P.FROZEN,)
    assert assessment.metrics.identical


def test_frozen_picture_with_a_ticking_clock_overlay_is_frozen(base: np.ndarray) -> None:
    still = syn.add_noise(base, 3.0, seed=1)
    _, state = assess_picture(syn.to_jpeg(_with_clock_overlay(still, "2026-11-21 21:10:00")), None)
    assessment, _ = assess_picture(syn.to_jpeg(_with_clock_overlay(still, "2026-11-21 21:25:00")), state)
    assert assessment.problems == (P.FROZEN,)
    assert not assessment.metrics.identical


def test_black_repeated_is_reported_as_black_only() -> None:
    jpeg = syn.to_jpeg(syn.black())
    _, state = assess_picture(jpeg, None)
    assessment, _ = assess_picture(jpeg, state)
    assert assessment.problems == (P.BLACK,)


def test_first_good_picture_is_the_first_reference_sample_not_the_reference(base: np.ndarray) -> None:
    assessment, state = assess_picture(syn.to_jpeg(base), None)
    assert assessment.ok
    scene = state.scene("mono")  # the synthetic scenes are grey
    assert scene.reference is None and scene.samples == 1
    assert len(scene.stack or b"") == REFERENCE_SIZE[0] * REFERENCE_SIZE[1]
    assert state.sharpness_samples == 1
    assert state.sharpness_baseline == pytest.approx(assessment.metrics.sharpness)


def test_blur_is_not_judged_before_enough_samples(base: np.ndarray) -> None:
    _, state = assess_picture(syn.to_jpeg(syn.add_noise(base, 3.0, 1)), None)
    assessment, _ = assess_picture(syn.to_jpeg(syn.blurred(base, 6.0)), state)
    assert P.BLURRED not in assessment.problems
    assert assessment.metrics.sharpness_ratio is None


def test_blur_is_judged_against_the_cameras_own_baseline(base: np.ndarray) -> None:
    """A camera that is always a little soft is not 'blurred'; it is blurred when softer than itself."""
    soft = syn.blurred(base, 3.0)
    _, state = _learn(soft)
    same_softness, _ = assess_picture(syn.to_jpeg(syn.add_noise(soft, 3.0, 50)), state)
    much_softer, _ = assess_picture(syn.to_jpeg(syn.blurred(base, 12.0)), state)
    assert same_softness.ok
    assert much_softer.problems == (P.BLURRED,)


def test_bad_pictures_teach_nothing(learned: tuple[PictureState, bytes]) -> None:
    state, _ = learned
    for img in (syn.black(), syn.covered(), syn.blurred(syn.scene(1), 6.0), syn.scene(3)):
        assessment, new = assess_picture(syn.to_jpeg(img), state)
        assert not assessment.ok
        assert new.sharpness_baseline == state.sharpness_baseline
        assert new.sharpness_samples == state.sharpness_samples
        assert (new.colour, new.mono) == (state.colour, state.mono)
        assert new.prev_hash != state.prev_hash  # but frozen compares with the latest picture


def test_black_first_picture_sets_no_reference() -> None:
    _, state = assess_picture(syn.to_jpeg(syn.black()), None)
    assert state.colour.samples == state.mono.samples == 0 and state.sharpness_samples == 0


def test_retaken_reference_accepts_the_new_view(learned: tuple[PictureState, bytes]) -> None:
    state, _ = learned
    moved = syn.scene(4)
    before, _ = assess_picture(syn.to_jpeg(syn.add_noise(moved, 3.0, 1)), state)
    assert before.problems == (P.TURNED_AWAY,)
    retaken = retake_reference(state, syn.to_jpeg(syn.add_noise(moved, 3.0, 2)))
    after, _ = assess_picture(syn.to_jpeg(syn.add_noise(moved, 3.0, 3)), retaken)
    assert after.ok
    assert retaken.sharpness_samples == 1


def test_a_black_picture_cannot_be_the_reference(learned: tuple[PictureState, bytes]) -> None:
    with pytest.raises(ValidationFailed):
        retake_reference(learned[0], syn.to_jpeg(syn.black()))


def test_state_survives_a_json_round_trip(learned: tuple[PictureState, bytes]) -> None:
    state, _ = learned
    restored = PictureState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert restored == state


def test_state_from_another_version_is_relearned(learned: tuple[PictureState, bytes]) -> None:
    data = learned[0].to_dict() | {"v": 0}
    assert PictureState.from_dict(data) == PictureState()


def _old_format(state: PictureState, version: int, *, complete: bool) -> dict[str, object]:
    data = state.to_dict()
    reference = data["references"]["mono"]["reference"]  # type: ignore[index]
    del data["references"], data["seen"]
    return data | {"v": version, "reference": reference, "reference_stack": None if complete else reference}


def test_state_from_version_2_keeps_the_learnt_scene_and_forgets_the_previous_picture(
    learned: tuple[PictureState, bytes],
) -> None:
    """v2 took its previous picture from another decode: block means not comparable at 1/32 grey level."""
    state, _ = learned
    restored = PictureState.from_dict(_old_format(state, 2, complete=True))
    assert restored.prev_hash is None and restored.prev_signature is None
    assert restored.colour.reference == state.mono.reference
    assert (restored.sharpness_baseline, restored.sharpness_samples) == (state.sharpness_baseline, state.sharpness_samples)


def test_state_from_version_3_keeps_a_complete_reference_and_relearns_one_still_being_learnt(
    learned: tuple[PictureState, bytes],
) -> None:
    """v3 judged turned-away against a reference of one picture (the bug): an incomplete one is dropped."""
    state, _ = learned
    complete = PictureState.from_dict(_old_format(state, 3, complete=True))
    assert complete.colour.reference == state.mono.reference and complete.prev_hash == state.prev_hash
    incomplete = PictureState.from_dict(_old_format(state, 3, complete=False))
    assert incomplete.colour.reference is None and incomplete.mono.reference is None


@pytest.mark.parametrize(
    ("source", "min_size", "colour", "decoded_shape"),
    [
        (syn.UHD_4K, WORK_SIZE, False, (270, 480)),  # 1/8
        (syn.FULL_HD, WORK_SIZE, False, (135, 240)),  # 1/8: exactly the working image
        (syn.FULL_HD, MONITOR_DECODE_SIZE, True, (270, 480, 3)),  # 1/4: a 320 px thumbnail needs more than 1/8
        (syn.HD_720P, WORK_SIZE, False, (180, 320)),  # 1/4
        (syn.SD_360P, WORK_SIZE, False, (180, 320)),  # 1/2
        ((320, 180), WORK_SIZE, False, (180, 320)),  # too small to reduce
    ],
)
def test_snapshot_is_decoded_at_the_cheapest_reduction_that_is_large_enough(
    source: tuple[int, int], min_size: tuple[int, int], colour: bool, decoded_shape: tuple[int, ...]
) -> None:
    decoded = decode_picture(syn.to_jpeg(syn.scene(1, source)), min_size=min_size, colour=colour)
    assert decoded.image.shape == decoded_shape
    assert (decoded.width, decoded.height) == source


def test_a_shared_colour_decode_is_judged_like_the_snapshot_itself(base: np.ndarray) -> None:
    state = None
    for i in range(LEARNING_PICTURES):  # a colour camera learns its colour (day) reference
        _, state = assess_picture(syn.to_jpeg(syn.in_colour(syn.add_noise(base, 3.0, 200 + i), seed=1)), state)
    for img, expected in [(syn.add_noise(syn.scene(1), 3.0, 21), ()), (syn.scene(6), (P.TURNED_AWAY,))]:
        jpeg = syn.to_jpeg(syn.in_colour(img, seed=1))
        decoded = decode_picture(jpeg, min_size=MONITOR_DECODE_SIZE, colour=True)
        from_bytes, _ = assess_picture(jpeg, state)
        from_decoded, _ = assess_picture(decoded, state)
        assert from_bytes.problems == from_decoded.problems == expected
        assert from_decoded.metrics.sharpness == pytest.approx(from_bytes.metrics.sharpness, rel=0.02)


def test_edges_are_measured_only_on_pictures_they_could_make_black_or_covered(base: np.ndarray) -> None:
    normal, _ = assess_picture(syn.to_jpeg(syn.add_noise(base, 3.0, 1)), None)
    night, _ = assess_picture(syn.to_jpeg(syn.ir_night(base, gain=0.2, offset=2.0)), None)
    black, _ = assess_picture(syn.to_jpeg(syn.black()), None)
    assert normal.metrics.edge_density is None
    assert black.metrics.edge_density is not None and black.problems == (P.BLACK,)
    assert night.metrics.edge_density is not None and night.ok  # dark, but its edges say it is not black


def test_decoded_frames_are_accepted(base: np.ndarray) -> None:
    bgr = cv2.cvtColor(base, cv2.COLOR_GRAY2BGR)
    assessment, state = assess_picture(bgr, None)
    assert assessment.ok and assessment.metrics.width == 1920
    gray_again, _ = assess_picture(base, state)
    assert gray_again.problems == (P.FROZEN,)


def test_360p_snapshot_is_assessed(base: np.ndarray) -> None:
    small = cv2.resize(base, syn.SD_360P, interpolation=cv2.INTER_AREA)
    assessment, _ = assess_picture(syn.to_jpeg(small), None)
    assert assessment.ok
    assert (assessment.metrics.width, assessment.metrics.height) == syn.SD_360P


@pytest.mark.parametrize("junk", [b"", b"not a jpeg", b"\xff\xd8\xff\xe0" + b"\x00" * 100])
def test_unreadable_snapshot_is_a_protocol_error(junk: bytes) -> None:
    with pytest.raises(CameraProtocolError):
        assess_picture(junk, None)


def test_jpeg_size_reads_the_frame_header_without_decoding(base: np.ndarray) -> None:
    assert jpeg_size(syn.to_jpeg(base)) == (1920, 1080)
    assert jpeg_size(b"\x89PNG....") is None


def test_every_picture_problem_is_a_status_reason() -> None:
    assert all(Reason(p.value) is p.reason for p in PictureProblem)


def _as_snapshot(jpeg: bytes) -> Picture:
    return jpeg  # assess_picture decodes it: gray, at 1/8 for 1080p


def _as_monitor_decodes(jpeg: bytes) -> Picture:
    return decode_picture(jpeg, min_size=MONITOR_DECODE_SIZE, colour=True)  # shared with the thumbnail


DECODES: dict[str, Callable[[bytes], Picture]] = {"snapshot": _as_snapshot, "monitor": _as_monitor_decodes}


@pytest.mark.slow
def test_calibration_no_false_alarm_on_healthy_pictures_and_every_turned_away_camera_detected() -> None:
    """The thresholds' claim, on 30 street scenes, day and infrared night, through both decodes."""
    false_alarms: list[tuple[str, int, str, tuple[PictureProblem, ...]]] = []
    healthy: Counter[str] = Counter()
    detected: Counter[str] = Counter()
    for seed in range(1, syn.CALIBRATION_SCENES + 1):
        case = syn.calibration_case(seed)
        learning = [syn.to_jpeg(img) for img in case.learning]
        judged = {what: syn.to_jpeg(img) for what, img in case.healthy.items()}
        away = syn.to_jpeg(case.turned_away)
        for path, decode in DECODES.items():
            state = None
            for jpeg in learning:
                _, state = assess_picture(decode(jpeg), state)
            for what, jpeg in judged.items():
                verdict, _ = assess_picture(decode(jpeg), state)
                healthy[path] += 1
                false_alarms += [] if verdict.ok else [(path, seed, what, verdict.problems)]
            verdict, _ = assess_picture(decode(away), state)
            detected[path] += verdict.problems == (P.TURNED_AWAY,)
    assert healthy == {"snapshot": 210, "monitor": 210}
    assert false_alarms == []
    assert detected == {"snapshot": 30, "monitor": 30}
