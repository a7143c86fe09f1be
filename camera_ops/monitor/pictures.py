"""Judge a snapshot (CPU work, run in a worker thread): picture verdict, new picture state, and a
small thumbnail for the UI. Also re-takes the reference picture when a person asked for it."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from camera_ops.errors import ValidationFailed
from camera_ops.health.picture import PictureAssessment, PictureState, assess_picture, jpeg_size, retake_reference
from camera_ops.health.vocabulary import PictureProblem

THUMBNAIL_JPEG_QUALITY = 70  # ~10-20 KB at 320 px wide: enough to recognise the scene
# after a new reference picture, judging the scene against the old one makes no sense
_NOT_AFTER_RETAKE = frozenset({PictureProblem.TURNED_AWAY, PictureProblem.BLURRED})


@dataclass(frozen=True, slots=True)
class PictureResult:
    assessment: PictureAssessment
    state: PictureState
    thumbnail: bytes | None
    reference_retaken: bool
    reference_error: str | None = None


def judge_snapshot(jpeg: bytes, state: PictureState | None, *, retake: bool, thumbnail_width: int) -> PictureResult:
    """Raises CameraProtocolError when the bytes are not a readable image."""
    assessment, new_state = assess_picture(jpeg, state)
    retaken, error = False, None
    if retake:
        try:
            new_state = retake_reference(new_state, jpeg)
            retaken = True
            problems = tuple(p for p in assessment.problems if p not in _NOT_AFTER_RETAKE)
            assessment = PictureAssessment(metrics=assessment.metrics, problems=problems)
        except ValidationFailed as exc:
            error = exc.message
    return PictureResult(assessment, new_state, make_thumbnail(jpeg, thumbnail_width), retaken, error)


def make_thumbnail(jpeg: bytes, width: int) -> bytes | None:
    size = jpeg_size(jpeg)
    flag = cv2.IMREAD_COLOR
    if size is not None and size[0] >= width * 4:
        flag = cv2.IMREAD_REDUCED_COLOR_4
    elif size is not None and size[0] >= width * 2:
        flag = cv2.IMREAD_REDUCED_COLOR_2
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), flag)
    if image is None:
        return None
    h, w = image.shape[:2]
    if w > width:
        image = cv2.resize(image, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, THUMBNAIL_JPEG_QUALITY])
    return encoded.tobytes() if ok else None
