"""Picture health from one snapshot: black, frozen, covered, blurred, turned away.

Pure: bytes (a JPEG, or any image OpenCV decodes) or a decoded frame in, an assessment and the
camera's new :class:`PictureState` out. The caller stores the state (``to_dict()``, JSON-able,
~5 KB) and passes it back at the next snapshot.

How each problem is judged, on a 240x135 grayscale working image:

- **black**: dark on average, nearly every pixel dark, *and* no edges. An infrared night picture is
  dark and grey but keeps its edges, so it is not black.
- **covered**: nearly uniform (small standard deviation) and no edges, at any brightness.
- **frozen**: the same picture as the previous snapshot: an identical working image (hash), or
  nearly every 10x9 block mean unchanged to within 1/32 grey level. A live camera's sensor noise
  moves every block mean a little; a frozen camera repeats its pixels (except perhaps a ticking
  on-screen clock, which touches a few blocks only).
- **blurred**: contrast-normalised sharpness (Laplacian variance / image variance, so it does not
  change with brightness or day/night gain) below a fraction of the camera's *own* baseline, an
  EWMA over its good pictures, judged only after a few samples.
- **turned away**: the *orientation structure* of the scene no longer matches the camera's reference.
  The reference is the per-pixel median of the camera's first good 64x36 thumbnails, so passing
  cars and people drop out of it. Each picture is cut into an 8x4 grid of cells; each cell gets a
  histogram of gradient orientations weighted by strength (a tiny HOG). The score is the mean
  cosine similarity of the cells, weighted by how much structure the reference has there. Gradient
  orientation ignores brightness, contrast and day/night gain; cells of ~8 pixels tolerate wind and
  vibration; a moving object changes a few cells only. Straight building and road edges against
  foliage or sky (a camera knocked upwards or sideways) differ strongly. Measured on the simulator's
  street scenes: same scene (day, IR night, traffic) >= 0.90, turned away <= 0.78.

Black or covered hide the other problems (nothing else can be judged on a blank picture).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field, replace
from typing import Any

import cv2
import numpy as np

from camera_ops.errors import CameraProtocolError, ValidationFailed
from camera_ops.health.vocabulary import PictureProblem

# (w, h) working image. 240x135 is exactly a 1080p JPEG decoded at 1/8 in the DCT domain (the
# cheapest decode, no resize); enough detail for edges and blur; ~0.3 ms for all metrics.
WORK_SIZE = (240, 135)
SIGNATURE_SIZE = (24, 15)  # frozen signature: means of 10x9 working-pixel blocks
SIGNATURE_SCALE = 256  # signature stored as uint16 fixed point: 1/256 grey level resolution
REFERENCE_SIZE = (64, 36)  # turned-away thumbnail: coarse scene layout, insensitive to small objects
REFERENCE_SAMPLES = 5  # good pictures whose per-pixel median is the reference (movers drop out)
ORIENTATION_CELLS = (8, 4)  # turned-away grid over the 64x36 thumbnail: cells of 8x9 pixels
ORIENTATION_BINS = 8  # unsigned gradient orientation, 22.5 degrees a bin
STATE_VERSION = 2  # bump when a stored size or encoding changes; older state is then relearned

_REDUCED_FLAGS = (  # (factor, flag): decode at 1/8, 1/4, 1/2 in the JPEG's DCT domain (cheap)
    (8, cv2.IMREAD_REDUCED_GRAYSCALE_8),
    (4, cv2.IMREAD_REDUCED_GRAYSCALE_4),
    (2, cv2.IMREAD_REDUCED_GRAYSCALE_2),
)
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # frame headers carrying the size


@dataclass(frozen=True, slots=True)
class PictureThresholds:
    """Where each verdict starts. Grey levels are 0-255 on the working image."""

    dark_level: int = 32  # a pixel darker than this counts as dark
    black_max_mean: float = 30.0  # black pictures are darker than this on average ...
    black_min_dark_fraction: float = 0.92  # ... with at least this share of dark pixels ...
    black_max_edge_density: float = 0.004  # ... and fewer edges (IR night scenes have ~2-10%)
    covered_max_std: float = 12.0  # a covered lens is this uniform or more ...
    covered_max_edge_density: float = 0.004  # ... and has (almost) no edges
    edge_low: int = 25  # Canny hysteresis thresholds: low enough for a dim IR scene's edges,
    edge_high: int = 60  # high enough that sensor noise on the working image makes none
    frozen_tolerance: float = 1 / 32  # grey levels a block mean may move and still count "unchanged"
    frozen_min_unchanged: float = 0.95  # unchanged share that makes a picture frozen: a ticking OSD
    # clock leaves ~99% of blocks unchanged; a live camera changes most (noise), a noiseless
    # simulated street with traffic ~15%
    blur_min_ratio: float = 0.40  # blurred below this fraction of the camera's own sharpness
    blur_min_samples: int = 5  # good pictures needed before judging blur (a baseline of one is noise)
    baseline_alpha: float = 0.10  # EWMA weight of a new good picture (~10 pictures of memory)
    turned_away_max_score: float = 0.84  # orientation similarity below this: the scene changed
    sharpness_var_floor: float = 25.0  # added to the variance so flat pictures don't divide by ~0


DEFAULT_THRESHOLDS = PictureThresholds()


@dataclass(frozen=True, slots=True)
class PictureState:
    """What one camera's picture health remembers between snapshots."""

    prev_hash: str | None = None  # blake2b-64 of the previous working image
    prev_signature: bytes | None = None  # SIGNATURE_SIZE uint16 little-endian fixed point
    reference: bytes | None = None  # REFERENCE_SIZE uint8 thumbnail of the reference picture
    reference_stack: bytes | None = None  # thumbnails it is the median of, until REFERENCE_SAMPLES
    sharpness_baseline: float | None = None
    sharpness_samples: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": STATE_VERSION,
            "prev_hash": self.prev_hash,
            "prev_signature": _b64(self.prev_signature),
            "reference": _b64(self.reference),
            "reference_stack": _b64(self.reference_stack),
            "sharpness_baseline": self.sharpness_baseline,
            "sharpness_samples": self.sharpness_samples,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PictureState:
        if data.get("v") != STATE_VERSION:
            return cls()  # stored by an incompatible version: relearn rather than misjudge
        return cls(
            prev_hash=data.get("prev_hash"),
            prev_signature=_unb64(data.get("prev_signature")),
            reference=_unb64(data.get("reference")),
            reference_stack=_unb64(data.get("reference_stack")),
            sharpness_baseline=data.get("sharpness_baseline"),
            sharpness_samples=int(data.get("sharpness_samples") or 0),
        )


@dataclass(frozen=True, slots=True)
class PictureMetrics:
    width: int  # of the source picture (0 if unknown)
    height: int
    mean: float  # grey level 0-255
    std: float
    dark_fraction: float  # 0-1
    laplacian_var: float  # raw sharpness on the working image
    sharpness: float  # laplacian_var / (variance + floor): brightness-independent
    edge_density: float  # share of working pixels on a Canny edge, 0-1
    unchanged_fraction: float | None = None  # share of signature blocks unchanged since last probe
    identical: bool = False  # working image bit-identical to the previous probe
    sharpness_ratio: float | None = None  # sharpness / camera baseline
    reference_score: float | None = None  # -1..1 correlation with the reference picture

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class PictureAssessment:
    metrics: PictureMetrics
    problems: tuple[PictureProblem, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True, slots=True)
class _Working:
    """One picture reduced to what every check needs."""

    image: np.ndarray  # WORK_SIZE uint8
    width: int
    height: int
    digest: str
    signature: np.ndarray  # SIGNATURE_SIZE uint16
    thumbnail: np.ndarray  # REFERENCE_SIZE uint8


def assess_picture(
    picture: bytes | bytearray | memoryview | np.ndarray,
    state: PictureState | None,
    *,
    thresholds: PictureThresholds = DEFAULT_THRESHOLDS,
) -> tuple[PictureAssessment, PictureState]:
    """Judge one snapshot against the camera's remembered state; return the verdict and new state.

    Raises :class:`CameraProtocolError` when the bytes are not a decodable image.
    """
    state = state or PictureState()
    work = _prepare(picture)
    metrics = _measure(work, thresholds)
    problems: list[PictureProblem] = []
    if _is_black(metrics, thresholds):
        problems.append(PictureProblem.BLACK)
    elif _is_covered(metrics, thresholds):
        problems.append(PictureProblem.COVERED)
    else:
        identical, unchanged = _compare_previous(work, state, thresholds)
        ratio = _sharpness_ratio(metrics.sharpness, state, thresholds)
        score = _reference_score(work.thumbnail, state.reference, thresholds)
        metrics = replace(
            metrics, identical=identical, unchanged_fraction=unchanged, sharpness_ratio=ratio, reference_score=score
        )
        if identical or (unchanged is not None and unchanged >= thresholds.frozen_min_unchanged):
            problems.append(PictureProblem.FROZEN)
        if score is not None and score < thresholds.turned_away_max_score:
            problems.append(PictureProblem.TURNED_AWAY)  # a new scene: its sharpness says nothing
        elif ratio is not None and ratio < thresholds.blur_min_ratio:
            problems.append(PictureProblem.BLURRED)
    assessment = PictureAssessment(metrics=metrics, problems=tuple(problems))
    return assessment, _next_state(state, work, assessment, thresholds)


def retake_reference(
    state: PictureState | None,
    picture: bytes | bytearray | memoryview | np.ndarray,
    *,
    thresholds: PictureThresholds = DEFAULT_THRESHOLDS,
) -> PictureState:
    """Make ``picture`` the camera's reference (after a planned move) and restart the sharpness baseline.

    Raises :class:`ValidationFailed` if the picture is black or covered: it cannot be a reference.
    """
    work = _prepare(picture)
    metrics = _measure(work, thresholds)
    if _is_black(metrics, thresholds) or _is_covered(metrics, thresholds):
        raise ValidationFailed("The picture is black or covered; it cannot be the reference.", field="reference")
    return replace(
        state or PictureState(),
        prev_hash=work.digest,
        prev_signature=work.signature.astype("<u2").tobytes(),
        reference=work.thumbnail.tobytes(),
        reference_stack=work.thumbnail.tobytes(),  # refined by the next good pictures of the new view
        sharpness_baseline=metrics.sharpness,
        sharpness_samples=1,
    )


# --- decoding -------------------------------------------------------------------------------------


def _prepare(picture: bytes | bytearray | memoryview | np.ndarray) -> _Working:
    gray, width, height = _decode(picture)
    interpolation = cv2.INTER_AREA if gray.shape[1] >= WORK_SIZE[0] else cv2.INTER_LINEAR
    image = cv2.resize(gray, WORK_SIZE, interpolation=interpolation)
    # INTER_AREA with integer factors is an exact block mean; float keeps sub-grey-level noise.
    means = cv2.resize(image.astype(np.float32), SIGNATURE_SIZE, interpolation=cv2.INTER_AREA)
    return _Working(
        image=image,
        width=width,
        height=height,
        digest=hashlib.blake2b(image.tobytes(), digest_size=8).hexdigest(),
        signature=np.rint(means * SIGNATURE_SCALE).astype(np.uint16),
        thumbnail=cv2.resize(image, REFERENCE_SIZE, interpolation=cv2.INTER_AREA),
    )


def _decode(picture: bytes | bytearray | memoryview | np.ndarray) -> tuple[np.ndarray, int, int]:
    if isinstance(picture, np.ndarray):
        if picture.ndim == 2:
            gray = picture
        elif picture.ndim == 3 and picture.shape[2] in (3, 4):
            code = cv2.COLOR_BGR2GRAY if picture.shape[2] == 3 else cv2.COLOR_BGRA2GRAY
            gray = cv2.cvtColor(picture, code)
        else:
            raise ValueError(f"expected a gray or BGR frame, got shape {picture.shape}")
        if gray.dtype != np.uint8:
            raise ValueError(f"expected an 8-bit frame, got {gray.dtype}")
        return gray, gray.shape[1], gray.shape[0]
    data = bytes(picture) if not isinstance(picture, bytes) else picture
    size = jpeg_size(data)
    flag = cv2.IMREAD_GRAYSCALE
    if size is not None:
        for factor, reduced in _REDUCED_FLAGS:
            if size[0] // factor >= WORK_SIZE[0] and size[1] // factor >= WORK_SIZE[1]:
                flag = reduced
                break
    gray = cv2.imdecode(np.frombuffer(data, np.uint8), flag) if data else None
    if gray is None or gray.size == 0:
        raise CameraProtocolError("The camera's snapshot is not a readable image.")
    width, height = size if size is not None else (gray.shape[1], gray.shape[0])
    return gray, width, height


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG's frame header without decoding; None if not a JPEG."""
    if len(data) < 4 or data[0] != 0xFF or data[1] != 0xD8:
        return None
    i, n = 2, len(data)
    while i + 9 < n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in _SOF_MARKERS:
            height = int.from_bytes(data[i + 5 : i + 7], "big")
            width = int.from_bytes(data[i + 7 : i + 9], "big")
            return (width, height) if width and height else None
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            i += 2
            continue
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return None


# --- metrics and checks ---------------------------------------------------------------------------


def _measure(work: _Working, t: PictureThresholds) -> PictureMetrics:
    img = work.image
    mean, std = (float(v[0][0]) for v in cv2.meanStdDev(img))
    _, lap_std = cv2.meanStdDev(cv2.Laplacian(img, cv2.CV_16S))
    laplacian_var = float(lap_std[0][0]) ** 2
    edges = cv2.Canny(img, t.edge_low, t.edge_high)
    return PictureMetrics(
        width=work.width,
        height=work.height,
        mean=mean,
        std=std,
        dark_fraction=np.count_nonzero(img < t.dark_level) / img.size,
        laplacian_var=laplacian_var,
        sharpness=laplacian_var / (std * std + t.sharpness_var_floor),
        edge_density=np.count_nonzero(edges) / edges.size,
    )


def _is_black(m: PictureMetrics, t: PictureThresholds) -> bool:
    return (
        m.mean <= t.black_max_mean
        and m.dark_fraction >= t.black_min_dark_fraction
        and m.edge_density <= t.black_max_edge_density
    )


def _is_covered(m: PictureMetrics, t: PictureThresholds) -> bool:
    return m.std <= t.covered_max_std and m.edge_density <= t.covered_max_edge_density


def _compare_previous(work: _Working, state: PictureState, t: PictureThresholds) -> tuple[bool, float | None]:
    identical = state.prev_hash == work.digest
    previous = _array(state.prev_signature, "<u2", SIGNATURE_SIZE)
    if previous is None:
        return identical, None
    moved = np.abs(work.signature.astype(np.int32) - previous.astype(np.int32))
    unchanged = np.count_nonzero(moved <= t.frozen_tolerance * SIGNATURE_SCALE) / moved.size
    return identical, float(unchanged)


def _sharpness_ratio(sharpness: float, state: PictureState, t: PictureThresholds) -> float | None:
    if state.sharpness_baseline is None or state.sharpness_samples < t.blur_min_samples:
        return None
    return sharpness / state.sharpness_baseline if state.sharpness_baseline > 0 else None


def _reference_score(thumbnail: np.ndarray, reference: bytes | None, t: PictureThresholds) -> float | None:
    ref = _array(reference, np.uint8, REFERENCE_SIZE)
    if ref is None:
        return None
    ref_hist, cur_hist = _orientation_cells(ref), _orientation_cells(thumbnail)
    ref_norm, cur_norm = np.linalg.norm(ref_hist, axis=1), np.linalg.norm(cur_hist, axis=1)
    if ref_norm.sum() < 1e-6 or cur_norm.sum() < 1e-6:
        return 0.0  # one of them has no structure at all: nothing matches
    cosine = (ref_hist * cur_hist).sum(axis=1) / np.maximum(ref_norm * cur_norm, 1e-6)
    return float((cosine * ref_norm).sum() / ref_norm.sum())


def _std(image: np.ndarray) -> float:
    return float(cv2.meanStdDev(image)[1][0][0])  # ~10x cheaper than ndarray.std() on tiny arrays


def _cell_index() -> np.ndarray:
    """Cell number of every thumbnail pixel (row-major over the ORIENTATION_CELLS grid)."""
    (w, h), (cols, rows) = REFERENCE_SIZE, ORIENTATION_CELLS
    ys, xs = np.mgrid[0:h, 0:w]
    return ((ys * rows // h) * cols + xs * cols // w).astype(np.int64)


_CELL_INDEX = _cell_index()


def _orientation_cells(thumbnail: np.ndarray) -> np.ndarray:
    """Per-cell histograms of unsigned gradient orientation, weighted by gradient strength."""
    smooth = cv2.GaussianBlur(thumbnail, (3, 3), 0).astype(np.float32)
    magnitude, angle = cv2.cartToPolar(cv2.Sobel(smooth, cv2.CV_32F, 1, 0), cv2.Sobel(smooth, cv2.CV_32F, 0, 1))
    bins = (np.mod(angle, np.pi) * (ORIENTATION_BINS / np.pi)).astype(np.int64).clip(0, ORIENTATION_BINS - 1)
    cells = ORIENTATION_CELLS[0] * ORIENTATION_CELLS[1]
    flat = np.bincount((_CELL_INDEX * ORIENTATION_BINS + bins).ravel(), weights=magnitude.ravel(),
                       minlength=cells * ORIENTATION_BINS)
    return flat.reshape(cells, ORIENTATION_BINS)


# --- state ----------------------------------------------------------------------------------------


def _next_state(state: PictureState, work: _Working, a: PictureAssessment, t: PictureThresholds) -> PictureState:
    new = replace(state, prev_hash=work.digest, prev_signature=work.signature.astype("<u2").tobytes())
    if not a.ok:
        return new  # a bad picture teaches nothing about the camera's normal sharpness or scene
    samples = state.sharpness_samples + 1
    sharpness = a.metrics.sharpness
    if state.sharpness_baseline is None:
        baseline = sharpness
    else:  # running mean for the first pictures, then an EWMA
        alpha = max(1.0 / samples, t.baseline_alpha)
        baseline = state.sharpness_baseline + alpha * (sharpness - state.sharpness_baseline)
    reference, stack = _learn_reference(state, work.thumbnail)
    return replace(new, sharpness_baseline=baseline, sharpness_samples=samples, reference=reference,
                   reference_stack=stack)


def _learn_reference(state: PictureState, thumbnail: np.ndarray) -> tuple[bytes | None, bytes | None]:
    """(reference, stack): while fewer than REFERENCE_SAMPLES good thumbnails are known, the
    reference is the per-pixel median of those so far; then it is fixed and the stack dropped."""
    if state.reference is not None and state.reference_stack is None:
        return state.reference, None  # learnt
    size = REFERENCE_SIZE[0] * REFERENCE_SIZE[1]
    stack = (state.reference_stack or b"") + thumbnail.tobytes()
    frames = np.frombuffer(stack, np.uint8).reshape(-1, REFERENCE_SIZE[1], REFERENCE_SIZE[0])
    reference = np.median(frames, axis=0).astype(np.uint8).tobytes()
    return reference, (None if len(stack) >= REFERENCE_SAMPLES * size else stack)


def _array(data: bytes | None, dtype: Any, size: tuple[int, int]) -> np.ndarray | None:
    if data is None:
        return None
    arr = np.frombuffer(data, dtype=dtype)
    w, h = size
    return arr.reshape(h, w) if arr.size == w * h else None  # wrong size: treat as absent


def _b64(data: bytes | None) -> str | None:
    return base64.b64encode(data).decode("ascii") if data is not None else None


def _unb64(text: str | None) -> bytes | None:
    return base64.b64decode(text) if text else None
