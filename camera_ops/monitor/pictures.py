"""Judge a snapshot (CPU work, run in a worker thread): picture verdict, new picture state, and a
small thumbnail for the UI. Also re-takes the reference picture when a person asked for it.

The snapshot is decoded once, in colour, reduced in the JPEG's DCT domain to the smallest size that
still gives the thumbnail its width; the checks work on the same decode. (Decoding is ~90% of the
cost: a second decode for the thumbnail used to double it.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import cv2

from camera_ops.errors import CameraProtocolError, ValidationFailed
from camera_ops.health.picture import (
    ANALYSIS_MIN_SIZE,
    DEFAULT_THRESHOLDS,
    DecodedPicture,
    PictureAssessment,
    PictureState,
    PictureThresholds,
    assess_picture,
    decode_picture,
    retake_reference,
)
from camera_ops.health.vocabulary import PictureProblem

THUMBNAIL_JPEG_QUALITY = 70  # ~10-20 KB at 320 px wide: enough to recognise the scene
THUMBNAIL_LINEAR_MAX_RATIO = 2  # shrink by less than this bilinearly (a DCT-reduced decode nearly always is)
# The monitor runs one snapshot per executor thread (parallel across cameras). On these small images
# OpenCV's own thread pool only adds CPU: a 1080p colour snapshot took 4.1 ms CPU on one thread and
# 5.0 ms with the default pool of 2 (2-core machine), in the same wall time.
OPENCV_THREADS = 1
# after a new reference picture, judging the scene against the old one makes no sense
_NOT_AFTER_RETAKE = frozenset({PictureProblem.TURNED_AWAY, PictureProblem.BLURRED})

cv2.setNumThreads(OPENCV_THREADS)


@dataclass(frozen=True, slots=True)
class PictureResult:
    assessment: PictureAssessment
    state: PictureState
    thumbnail: bytes | None
    reference_retaken: bool
    reference_error: str | None = None


def judge_snapshot(
    jpeg: bytes, state: PictureState | None, *, retake: bool, thumbnail_width: int, at: datetime | None = None,
    thresholds: PictureThresholds = DEFAULT_THRESHOLDS,
) -> PictureResult:
    """Raises CameraProtocolError when the bytes are not a readable image."""
    decoded = decode_picture(jpeg, min_size=_decode_size(thumbnail_width), colour=True)
    assessment, new_state = assess_picture(decoded, state, at=at, thresholds=thresholds)
    retaken, error = False, None
    if retake:
        try:
            new_state = retake_reference(new_state, decoded, at=at, thresholds=thresholds)
            retaken = True
            problems = tuple(p for p in assessment.problems if p not in _NOT_AFTER_RETAKE)
            confirmed = tuple(p for p in assessment.confirmed if p not in _NOT_AFTER_RETAKE)
            assessment = PictureAssessment(metrics=assessment.metrics, problems=problems, confirmed=confirmed)
        except ValidationFailed as exc:
            error = exc.message
    return PictureResult(assessment, new_state, _encode_thumbnail(decoded, thumbnail_width), retaken, error)


def make_thumbnail(jpeg: bytes, width: int) -> bytes | None:
    """A UI thumbnail of a JPEG on its own (judge_snapshot makes it from the decode it shares)."""
    try:
        decoded = decode_picture(jpeg, min_size=(width, 1), colour=True)
    except CameraProtocolError:
        return None
    return _encode_thumbnail(decoded, width)


def _encode_thumbnail(decoded: DecodedPicture, width: int) -> bytes | None:
    """``width`` px wide (never enlarged), colour if the snapshot is, as a JPEG."""
    image = decoded.image
    h, w = image.shape[:2]
    if w > width:
        # Below 2x, bilinear is as good as INTER_AREA (44 dB apart for 480 -> 320 px, and as close to
        # an area mean of the full picture), and INTER_AREA's non-integer path costs 0.6 ms there.
        linear = w < THUMBNAIL_LINEAR_MAX_RATIO * width
        image = cv2.resize(image, (width, max(1, round(h * width / w))),
                           interpolation=cv2.INTER_LINEAR if linear else cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, THUMBNAIL_JPEG_QUALITY])
    return encoded.tobytes() if ok else None


def _decode_size(thumbnail_width: int) -> tuple[int, int]:
    """Smallest decode that serves both the checks and the thumbnail."""
    return max(thumbnail_width, ANALYSIS_MIN_SIZE[0]), ANALYSIS_MIN_SIZE[1]
