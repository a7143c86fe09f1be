"""Snapshot judging in the monitor: thumbnails for the UI, and re-taking the reference picture."""

from __future__ import annotations

import cv2
import numpy as np

from camera_ops.health import synthetic
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
    for i in range(3):  # learn the old scene
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
