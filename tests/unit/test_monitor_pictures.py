"""Snapshot judging in the monitor: thumbnails for the UI, and re-taking the reference picture."""

from __future__ import annotations

import cv2
import numpy as np

from camera_ops.health import synthetic
from camera_ops.health.picture import REFERENCE_SAMPLES, PictureState, assess_picture
from camera_ops.health.vocabulary import PictureProblem
from camera_ops.monitor.pictures import judge_snapshot, make_thumbnail


def jpeg(img: np.ndarray) -> bytes:
    return synthetic.to_jpeg(img)


def test_thumbnail_is_a_small_jpeg_of_the_requested_width():
    thumb = make_thumbnail(jpeg(synthetic.scene(1, (1920, 1080))), 320)
    assert thumb is not None and thumb[:2] == b"\xff\xd8" and len(thumb) < 40_000
    assert cv2.imdecode(np.frombuffer(thumb, np.uint8), cv2.IMREAD_COLOR).shape[:2] == (180, 320)


def test_retaking_the_reference_after_a_planned_move_clears_turned_away():
    old, new = synthetic.scene(1, (640, 360)), synthetic.scene(99, (640, 360))
    state = None
    for i in range(REFERENCE_SAMPLES):  # learn the old scene
        result = judge_snapshot(jpeg(synthetic.add_noise(old, 2.0, i)), state, retake=False, thumbnail_width=320)
        state = result.state
    moved = judge_snapshot(jpeg(synthetic.add_noise(new, 2.0, 10)), state, retake=False, thumbnail_width=320)
    assert PictureProblem.TURNED_AWAY in moved.assessment.problems
    retaken = judge_snapshot(jpeg(synthetic.add_noise(new, 2.0, 11)), moved.state, retake=True, thumbnail_width=320)
    assert retaken.reference_retaken and PictureProblem.TURNED_AWAY not in retaken.assessment.problems
    after = judge_snapshot(jpeg(synthetic.add_noise(new, 2.0, 12)), retaken.state, retake=False, thumbnail_width=320)
    assert PictureProblem.TURNED_AWAY not in after.assessment.problems


def test_a_black_picture_cannot_become_the_reference():
    result = judge_snapshot(jpeg(synthetic.black((640, 360))), None, retake=True, thumbnail_width=320)
    assert not result.reference_retaken and result.reference_error
    assert PictureProblem.BLACK in result.assessment.problems


def test_judging_a_snapshot_decodes_it_once_for_checks_and_thumbnail(monkeypatch):
    decodes = []
    real_imdecode = cv2.imdecode

    def counting_imdecode(buf, flags):
        decodes.append(flags)
        return real_imdecode(buf, flags)

    monkeypatch.setattr(cv2, "imdecode", counting_imdecode)
    snapshot = jpeg(synthetic.in_colour(synthetic.scene(1, (1920, 1080))))
    result = judge_snapshot(snapshot, None, retake=True, thumbnail_width=320)
    assert decodes == [cv2.IMREAD_REDUCED_COLOR_4]  # 480x270: the cheapest decode a 320 px thumbnail allows
    thumb = cv2.imdecode(np.frombuffer(result.thumbnail, np.uint8), cv2.IMREAD_COLOR)
    assert thumb.shape == (180, 320, 3) and result.reference_retaken


def test_a_state_stored_by_version_2_is_not_compared_with_the_first_new_snapshot():
    """v2 judged a gray 1/8 decode: its previous picture is forgotten, the learnt scene is kept."""
    still = jpeg(synthetic.add_noise(synthetic.scene(1, (1920, 1080)), 2.0, 1))
    v2 = PictureState.from_dict(assess_picture(still, None)[1].to_dict() | {"v": 2})
    first = judge_snapshot(still, v2, retake=False, thumbnail_width=320)
    assert first.assessment.ok and first.assessment.metrics.unchanged_fraction is None
    assert first.state.sharpness_samples == v2.sharpness_samples + 1  # learning goes on, not restarted
    again = judge_snapshot(still, first.state, retake=False, thumbnail_width=320)
    assert again.assessment.problems == (PictureProblem.FROZEN,)
