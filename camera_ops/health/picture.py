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
  The reference is the per-pixel median of ``REFERENCE_SAMPLES`` good 64x36 thumbnails taken at least
  ``reference_spacing_s`` apart, so passing cars, people and a parked truck drop out of it; turned away
  is not judged before the reference exists. A camera keeps one reference per light mode: colour
  (day) and monochrome (infrared night), so the first night is never compared with the day. Each picture is cut into an 8x4 grid of cells; each cell gets a
  histogram of gradient orientations weighted by strength (a tiny HOG). The score is the mean
  cosine similarity of the cells, weighted by how much structure the reference has there. Gradient
  orientation ignores brightness, contrast and day/night gain; cells of ~8 pixels tolerate wind and
  vibration; a moving object changes a few cells only. Straight building and road edges against
  foliage or sky (a camera knocked upwards or sideways) differ strongly. Measured on the simulator's
  street scenes: same scene (day, IR night, traffic) >= 0.90, turned away <= 0.78.

Black or covered hide the other problems (nothing else can be judged on a blank picture). A picture
with almost no fine detail left (sharpness below the blur ratio: a hand, a bag, fog on the lens) is
blurred when the scene is still recognisable and covered when it is not, never turned away. A night
picture dazzled by a light (headlights, a lamp in the lens) gets no scene verdict at all.

**Confirmation.** A snapshot's problems are what it *shows*; what changes the camera's status are the
*confirmed* ones. Turned away, blurred, frozen and covered are confirmed only when the next snapshot
(the monitor takes it ``picture_confirm_s`` later) shows them again: someone walking past the lens, a
truck filling the view or a passing cloud is gone by then. Black is confirmed at once.

Cost: decoding dominates, and most of a decode is libjpeg's Huffman decoding, ~10 us per KB of JPEG
here whatever the output size (the DCT-domain reduction saves only the inverse DCT and colour work).
So a snapshot is decoded once, reduced as far as its users allow (:func:`decode_picture`), and the
monitor makes its UI thumbnail from that same decode. Everything after the decode is ~0.3 ms.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import cv2
import numpy as np

from camera_ops.errors import CameraProtocolError, ValidationFailed
from camera_ops.health.vocabulary import PictureProblem

# (w, h) working image. 240x135 is exactly a 1080p JPEG decoded at 1/8 in the DCT domain (the
# cheapest decode, no resize); enough detail for edges and blur; ~0.3 ms for all metrics.
WORK_SIZE = (240, 135)
ANALYSIS_MIN_SIZE = WORK_SIZE  # smallest decode that still fills the working image (no upscaling)
SIGNATURE_SIZE = (24, 15)  # frozen signature: means of 10x9 working-pixel blocks
SIGNATURE_SCALE = 256  # signature stored as uint16 fixed point: 1/256 grey level resolution
REFERENCE_SIZE = (64, 36)  # turned-away thumbnail: coarse scene layout, insensitive to small objects
REFERENCE_SAMPLES = 5  # good pictures whose per-pixel median is the reference (movers drop out)
ORIENTATION_CELLS = (8, 4)  # turned-away grid over the 64x36 thumbnail: cells of 8x9 pixels
ORIENTATION_BINS = 8  # unsigned gradient orientation, 22.5 degrees a bin
REFERENCE_MODES = ("colour", "mono")  # a reference per light mode: day colour, infrared night grey
MONO_MAX_CHROMA = 4.0  # grey levels of mean (max - min) over B, G, R below which a picture has no colour
DAZZLE_LEVEL = 250  # a pixel this bright is blown out (a light shining into the lens)
DAZZLE_MIN_FRACTION = 0.004  # a night picture with this share of blown-out pixels is dazzled ...
DAZZLE_MAX_REST_MEAN = 90.0  # ... when the rest of it is this dark (a bright day's sky is not a lamp)
# Problems a second snapshot must show again before they count (transients cause them in one picture).
NEEDS_CONFIRMATION = frozenset(
    {PictureProblem.TURNED_AWAY, PictureProblem.BLURRED, PictureProblem.FROZEN, PictureProblem.COVERED}
)
STATE_VERSION = 4  # bump when a stored size or encoding, or the working image, changes: see from_dict
# v2 -> v3: the monitor's working image comes from the colour decode it shares with the UI thumbnail
# (a 1080p JPEG: 1/4 scale and 2x2 means, no longer 1/8 gray). Pixels move by <= 1 grey level. Measured
# on 30 scenes, day, IR night and colour: sharpness within 0.6% and the reference layout scores >= 0.98
# against itself, so both carry over; but a block mean moves by more than frozen_tolerance, so the
# previous picture of a v2 state is forgotten (its first v3 snapshot is not compared with it).
# v3 -> v4: references per light mode, learnt from pictures taken apart; confirmation. A v3 reference
# that was complete (median of 5) is kept as the colour reference; an incomplete one is relearnt (v3
# judged with it while it was one picture, which is the bug this version fixes).
_FORGET_PREVIOUS_PICTURE_VERSIONS = frozenset({2})
_OLD_VERSIONS = frozenset({2, 3})

# (factor, gray flag, colour flag): decode at 1/8, 1/4, 1/2 in the JPEG's DCT domain. Largest factor
# first: the first that still gives the size asked for is the cheapest decode.
_REDUCED_DECODES = (
    (8, cv2.IMREAD_REDUCED_GRAYSCALE_8, cv2.IMREAD_REDUCED_COLOR_8),
    (4, cv2.IMREAD_REDUCED_GRAYSCALE_4, cv2.IMREAD_REDUCED_COLOR_4),
    (2, cv2.IMREAD_REDUCED_GRAYSCALE_2, cv2.IMREAD_REDUCED_COLOR_2),
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
    no_detail_max_ratio: float = 0.30  # below this fraction, an unrecognisable scene is something in front
    # of the lens (covered), never turned away: on the real-photo corpus a hand or fog measures 0.04-0.25,
    # a camera turned to another real scene >= 0.36
    blur_min_samples: int = 5  # good pictures needed before judging blur (a baseline of one is noise)
    baseline_alpha: float = 0.10  # EWMA weight of a new good picture (~10 pictures of memory)
    turned_away_max_score: float = 0.84  # orientation similarity below this: the scene changed
    reference_spacing_s: float = 600.0  # reference pictures at least this far apart (10 min): a parked
    # truck or a crowd is in one of them at most
    sharpness_var_floor: float = 25.0  # added to the variance so flat pictures don't divide by ~0


DEFAULT_THRESHOLDS = PictureThresholds()


@dataclass(frozen=True, slots=True)
class ReferenceCells:
    """The reference thumbnail's orientation histograms: computed once per reference, not per snapshot."""

    reference: bytes  # what they were computed from; valid while this very object is the state's reference
    hist: np.ndarray  # cells x ORIENTATION_BINS
    norm: np.ndarray  # per cell: how much structure the reference has there


@dataclass(frozen=True, slots=True)
class SceneReference:
    """The scene a camera should see in one light mode, learnt from good pictures taken apart in time."""

    reference: bytes | None = None  # REFERENCE_SIZE uint8: per-pixel median, set once complete
    stack: bytes | None = None  # thumbnails collected while fewer than REFERENCE_SAMPLES
    last_added_at: float | None = None  # POSIX seconds of the newest thumbnail in the stack
    # derived from ``reference``, kept in memory between snapshots; never stored
    cells: ReferenceCells | None = field(default=None, compare=False, repr=False)

    @property
    def samples(self) -> int:
        return len(self.stack or b"") // (REFERENCE_SIZE[0] * REFERENCE_SIZE[1])

    def to_dict(self) -> dict[str, Any]:
        return {"reference": _b64(self.reference), "stack": _b64(self.stack), "at": self.last_added_at}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> SceneReference:
        data = data or {}
        at = data.get("at")
        return cls(reference=_unb64(data.get("reference")), stack=_unb64(data.get("stack")),
                   last_added_at=float(at) if at is not None else None)


NO_REFERENCE = SceneReference()


@dataclass(frozen=True, slots=True)
class PictureState:
    """What one camera's picture health remembers between snapshots."""

    prev_hash: str | None = None  # blake2b-64 of the previous working image
    prev_signature: bytes | None = None  # SIGNATURE_SIZE uint16 little-endian fixed point
    colour: SceneReference = NO_REFERENCE  # day pictures
    mono: SceneReference = NO_REFERENCE  # infrared night (no colour) pictures
    sharpness_baseline: float | None = None
    sharpness_samples: int = 0
    seen: tuple[PictureProblem, ...] = ()  # problems the previous snapshot showed (confirmed or not)

    def scene(self, mode: str) -> SceneReference:
        return self.mono if mode == "mono" else self.colour

    def with_scene(self, mode: str, scene: SceneReference) -> PictureState:
        return replace(self, mono=scene) if mode == "mono" else replace(self, colour=scene)

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": STATE_VERSION,
            "prev_hash": self.prev_hash,
            "prev_signature": _b64(self.prev_signature),
            "references": {"colour": self.colour.to_dict(), "mono": self.mono.to_dict()},
            "sharpness_baseline": self.sharpness_baseline,
            "sharpness_samples": self.sharpness_samples,
            "seen": [p.value for p in self.seen],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PictureState:
        version = data.get("v")
        if version in _OLD_VERSIONS:
            return cls._from_old(data, forget_previous=version in _FORGET_PREVIOUS_PICTURE_VERSIONS)
        if version != STATE_VERSION:
            return cls()  # stored by an incompatible version: relearn rather than misjudge
        references = data.get("references") or {}
        return cls(
            prev_hash=data.get("prev_hash"),
            prev_signature=_unb64(data.get("prev_signature")),
            colour=SceneReference.from_dict(references.get("colour")),
            mono=SceneReference.from_dict(references.get("mono")),
            sharpness_baseline=data.get("sharpness_baseline"),
            sharpness_samples=int(data.get("sharpness_samples") or 0),
            seen=tuple(PictureProblem(p) for p in data.get("seen") or ()),
        )

    @classmethod
    def _from_old(cls, data: dict[str, Any], *, forget_previous: bool) -> PictureState:
        complete = data.get("reference") and not data.get("reference_stack")
        return cls(
            prev_hash=None if forget_previous else data.get("prev_hash"),
            prev_signature=None if forget_previous else _unb64(data.get("prev_signature")),
            colour=SceneReference(reference=_unb64(data["reference"])) if complete else NO_REFERENCE,
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
    # share of working pixels on a Canny edge, 0-1; measured only on pictures dark or flat enough to be
    # black or covered (the only verdicts it decides; Canny is the dearest metric), else None
    edge_density: float | None
    mode: str = "colour"  # light mode: "colour" (day) or "mono" (infrared night)
    dazzled: bool = False  # a night picture blinded by a light: no scene verdict
    unchanged_fraction: float | None = None  # share of signature blocks unchanged since last probe
    identical: bool = False  # working image bit-identical to the previous probe
    sharpness_ratio: float | None = None  # sharpness / camera baseline
    reference_score: float | None = None  # -1..1 correlation with the reference picture

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class PictureAssessment:
    metrics: PictureMetrics
    problems: tuple[PictureProblem, ...] = field(default=())  # what this picture shows
    confirmed: tuple[PictureProblem, ...] = field(default=())  # of those, what counts for the status

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def suspected(self) -> tuple[PictureProblem, ...]:
        """Shown but not confirmed yet: take the confirmation snapshot soon."""
        return tuple(p for p in self.problems if p not in self.confirmed)


@dataclass(frozen=True, slots=True)
class DecodedPicture:
    """A snapshot decoded once, reduced in the JPEG's DCT domain, shared by everything that needs it."""

    image: np.ndarray  # H x W gray or H x W x 3 BGR, uint8
    width: int  # of the source picture
    height: int


Picture = bytes | bytearray | memoryview | np.ndarray | DecodedPicture  # an np.ndarray is a full frame


@dataclass(frozen=True, slots=True)
class _Working:
    """One picture reduced to what every check needs."""

    image: np.ndarray  # WORK_SIZE uint8
    width: int
    height: int
    digest: str
    signature: np.ndarray  # SIGNATURE_SIZE uint16
    thumbnail: np.ndarray  # REFERENCE_SIZE uint8
    mode: str  # "colour" or "mono"


def assess_picture(
    picture: Picture,
    state: PictureState | None,
    *,
    at: datetime | None = None,
    thresholds: PictureThresholds = DEFAULT_THRESHOLDS,
) -> tuple[PictureAssessment, PictureState]:
    """Judge one snapshot against the camera's remembered state; return the verdict and new state.

    ``at`` (UTC-aware) is when the snapshot was taken: reference pictures must be
    ``reference_spacing_s`` apart. Without it (one-off checks, tests) every good picture counts.
    Raises :class:`CameraProtocolError` when the bytes are not a decodable image.
    """
    state = state or PictureState()
    work = _prepare(picture)
    scene = _with_cells(state.scene(work.mode))
    state = state.with_scene(work.mode, scene)
    metrics = _measure(work, thresholds)
    problems: list[PictureProblem] = []
    if _is_black(metrics, thresholds):
        problems.append(PictureProblem.BLACK)
    elif _is_covered(metrics, thresholds):
        problems.append(PictureProblem.COVERED)
    else:
        identical, unchanged = _compare_previous(work, state, thresholds)
        metrics = replace(metrics, identical=identical, unchanged_fraction=unchanged)
        if identical or (unchanged is not None and unchanged >= thresholds.frozen_min_unchanged):
            problems.append(PictureProblem.FROZEN)
        if not metrics.dazzled:
            ratio = _sharpness_ratio(metrics.sharpness, state, thresholds)
            score = _reference_score(work.thumbnail, scene.cells)
            metrics = replace(metrics, sharpness_ratio=ratio, reference_score=score)
            problems.extend(_scene_problems(ratio, score, thresholds))
    shown = tuple(problems)
    confirmed = tuple(p for p in shown if p not in NEEDS_CONFIRMATION or p in state.seen)
    assessment = PictureAssessment(metrics=metrics, problems=shown, confirmed=confirmed)
    return assessment, _next_state(state, work, assessment, thresholds, at)


def _scene_problems(ratio: float | None, score: float | None, t: PictureThresholds) -> list[PictureProblem]:
    """Turned away, blurred or covered from sharpness vs the camera's own and the reference's layout.

    Almost no fine detail left is never "turned away": a recognisable scene is blurred, an
    unrecognisable one has something in front of the lens (a hand, a bag, fog).
    """
    scene_gone = score is not None and score < t.turned_away_max_score
    if scene_gone:
        no_detail = ratio is not None and ratio < t.no_detail_max_ratio
        return [PictureProblem.COVERED if no_detail else PictureProblem.TURNED_AWAY]
    return [PictureProblem.BLURRED] if ratio is not None and ratio < t.blur_min_ratio else []


def retake_reference(
    state: PictureState | None,
    picture: Picture,
    *,
    at: datetime | None = None,
    thresholds: PictureThresholds = DEFAULT_THRESHOLDS,
) -> PictureState:
    """Make ``picture`` the camera's reference (after a planned move) and restart the sharpness baseline.

    The picture is the first of the new reference's samples; until the next good pictures complete
    it, turned away is not judged. The other light mode's reference is forgotten (the view moved).
    Raises :class:`ValidationFailed` if the picture is black or covered: it cannot be the reference.
    """
    work = _prepare(picture)
    metrics = _measure(work, thresholds)
    if _is_black(metrics, thresholds) or _is_covered(metrics, thresholds):
        raise ValidationFailed("The picture is black or covered; it cannot be the reference.", field="reference",
                               key="err.picture.bad_reference")
    fresh = SceneReference(stack=work.thumbnail.tobytes(), last_added_at=_posix(at))
    return replace(
        state or PictureState(),
        prev_hash=work.digest,
        prev_signature=work.signature.astype("<u2").tobytes(),
        colour=NO_REFERENCE,
        mono=NO_REFERENCE,
        sharpness_baseline=metrics.sharpness,
        sharpness_samples=1,
        seen=(),
    ).with_scene(work.mode, fresh)

# --- decoding -------------------------------------------------------------------------------------


def decode_picture(
    data: bytes | bytearray | memoryview, *, min_size: tuple[int, int] = ANALYSIS_MIN_SIZE, colour: bool = False
) -> DecodedPicture:
    """Decode a snapshot at the cheapest DCT-domain reduction that is still ``min_size`` (w, h) or larger.

    Gray by default (what the checks use); ``colour`` for a caller that also wants a colour thumbnail.
    Raises :class:`CameraProtocolError` when the bytes are not a decodable image.
    """
    raw = data if isinstance(data, bytes) else bytes(data)
    size = jpeg_size(raw)
    image = cv2.imdecode(np.frombuffer(raw, np.uint8), _decode_flag(size, min_size, colour)) if raw else None
    if image is None or image.size == 0:
        raise CameraProtocolError("The camera's snapshot is not a readable image.", key="err.picture.unreadable")
    width, height = size if size is not None else (image.shape[1], image.shape[0])
    return DecodedPicture(image=image, width=width, height=height)


def _decode_flag(size: tuple[int, int] | None, min_size: tuple[int, int], colour: bool) -> int:
    if size is not None:
        for factor, gray_flag, colour_flag in _REDUCED_DECODES:
            if size[0] // factor >= min_size[0] and size[1] // factor >= min_size[1]:
                return colour_flag if colour else gray_flag
    return cv2.IMREAD_COLOR if colour else cv2.IMREAD_GRAYSCALE  # small, or not a JPEG: no reduction


def _prepare(picture: Picture) -> _Working:
    decoded = _as_decoded(picture)
    image = _working_image(_gray(decoded.image))
    # INTER_AREA with integer factors is an exact block mean; float keeps sub-grey-level noise.
    means = cv2.resize(image.astype(np.float32), SIGNATURE_SIZE, interpolation=cv2.INTER_AREA)
    return _Working(
        image=image,
        width=decoded.width,
        height=decoded.height,
        digest=hashlib.blake2b(image.tobytes(), digest_size=8).hexdigest(),
        signature=np.rint(means * SIGNATURE_SCALE).astype(np.uint16),
        thumbnail=cv2.resize(image, REFERENCE_SIZE, interpolation=cv2.INTER_AREA),
        mode=_light_mode(decoded.image),
    )


def _light_mode(image: np.ndarray) -> str:
    """Light mode: "mono" for a picture without colour (an infrared night picture, or a grey-only camera)."""
    if image.ndim == 2 or image.shape[2] < 3:
        return "mono"
    small = cv2.resize(image[..., :3], REFERENCE_SIZE, interpolation=cv2.INTER_AREA)
    chroma = small.max(axis=2).astype(np.int16) - small.min(axis=2)
    return "mono" if float(chroma.mean()) < MONO_MAX_CHROMA else "colour"


def _as_decoded(picture: Picture) -> DecodedPicture:
    if isinstance(picture, DecodedPicture):
        return picture
    if isinstance(picture, np.ndarray):
        return DecodedPicture(image=picture, width=picture.shape[1], height=picture.shape[0])
    return decode_picture(picture, colour=True)  # colour tells day from infrared night


def _gray(image: np.ndarray) -> np.ndarray:
    if image.dtype != np.uint8:
        raise ValueError(f"expected an 8-bit frame, got {image.dtype}")
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] in (3, 4):
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY if image.shape[2] == 3 else cv2.COLOR_BGRA2GRAY)
    raise ValueError(f"expected a gray or BGR frame, got shape {image.shape}")


def _working_image(gray: np.ndarray) -> np.ndarray:
    if (gray.shape[1], gray.shape[0]) == WORK_SIZE:
        return gray  # a 1080p JPEG decoded at 1/8: already the working image
    interpolation = cv2.INTER_AREA if gray.shape[1] >= WORK_SIZE[0] else cv2.INTER_LINEAR
    return cv2.resize(gray, WORK_SIZE, interpolation=interpolation)


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
    dark_fraction = np.count_nonzero(img < t.dark_level) / img.size
    laplacian_var = _variance(cv2.Laplacian(img, cv2.CV_16S))
    return PictureMetrics(
        width=work.width,
        height=work.height,
        mean=mean,
        std=std,
        dark_fraction=dark_fraction,
        laplacian_var=laplacian_var,
        sharpness=laplacian_var / (std * std + t.sharpness_var_floor),
        edge_density=_edge_density(img, t) if _may_be_blank(mean, std, dark_fraction, t) else None,
        mode=work.mode,
        dazzled=_is_dazzled(img, mean),
    )


def _is_dazzled(img: np.ndarray, mean: float) -> bool:
    """A dark picture with a blown-out light in it (headlights, a lamp): its layout and sharpness say
    nothing about the scene. Cheap: one comparison pass, only on pictures that are dark on average."""
    if mean > DAZZLE_MAX_REST_MEAN:
        return False
    blown = img >= DAZZLE_LEVEL
    n_blown = int(np.count_nonzero(blown))
    if n_blown < DAZZLE_MIN_FRACTION * img.size:
        return False
    rest_mean = (float(img.sum(dtype=np.int64)) - float(img[blown].sum(dtype=np.int64))) / (img.size - n_blown)
    return rest_mean <= DAZZLE_MAX_REST_MEAN


def _variance(values: np.ndarray) -> float:
    # E[x^2] - E[x]^2 from two SIMD reductions: 8x cheaper than meanStdDev on int16, same value
    n = values.size
    return cv2.norm(values, cv2.NORM_L2SQR) / n - (cv2.sumElems(values)[0] / n) ** 2


def _may_be_blank(mean: float, std: float, dark_fraction: float, t: PictureThresholds) -> bool:
    """Dark or flat enough that only its edges can tell whether it is black or covered."""
    dark = mean <= t.black_max_mean and dark_fraction >= t.black_min_dark_fraction
    return dark or std <= t.covered_max_std


def _edge_density(img: np.ndarray, t: PictureThresholds) -> float:
    return np.count_nonzero(cv2.Canny(img, t.edge_low, t.edge_high)) / img.size


def _is_black(m: PictureMetrics, t: PictureThresholds) -> bool:
    return (
        m.mean <= t.black_max_mean
        and m.dark_fraction >= t.black_min_dark_fraction
        and m.edge_density is not None
        and m.edge_density <= t.black_max_edge_density
    )


def _is_covered(m: PictureMetrics, t: PictureThresholds) -> bool:
    return m.std <= t.covered_max_std and m.edge_density is not None and m.edge_density <= t.covered_max_edge_density


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


def _reference_score(thumbnail: np.ndarray, ref: ReferenceCells | None) -> float | None:
    if ref is None:
        return None
    cur_hist = _orientation_cells(thumbnail)
    cur_norm = np.sqrt(np.einsum("ij,ij->i", cur_hist, cur_hist))
    ref_total = ref.norm.sum()
    if ref_total < 1e-6 or cur_norm.sum() < 1e-6:
        return 0.0  # one of them has no structure at all: nothing matches
    cosine = np.einsum("ij,ij->i", ref.hist, cur_hist) / np.maximum(ref.norm * cur_norm, 1e-6)
    return float(cosine.dot(ref.norm) / ref_total)


def _with_cells(scene: SceneReference) -> SceneReference:
    """``scene`` with its reference's orientation histograms, computed only if not known yet for it."""
    if scene.reference is None or (scene.cells is not None and scene.cells.reference is scene.reference):
        return scene
    ref = _array(scene.reference, np.uint8, REFERENCE_SIZE)
    if ref is None:
        return SceneReference()  # wrong size: treated as absent, relearnt
    hist = _orientation_cells(ref)
    return replace(scene, cells=ReferenceCells(reference=scene.reference, hist=hist, norm=np.linalg.norm(hist, axis=1)))


def _cell_index() -> np.ndarray:
    """Cell number of every thumbnail pixel (row-major over the ORIENTATION_CELLS grid)."""
    (w, h), (cols, rows) = REFERENCE_SIZE, ORIENTATION_CELLS
    ys, xs = np.mgrid[0:h, 0:w]
    return ((ys * rows // h) * cols + xs * cols // w).astype(np.intp)


_CELL_BIN_BASE = _cell_index() * ORIENTATION_BINS  # first histogram bin of every pixel's cell
_CELL_BINS = ORIENTATION_CELLS[0] * ORIENTATION_CELLS[1] * ORIENTATION_BINS
_BINS_PER_RADIAN = ORIENTATION_BINS / np.pi


def _orientation_cells(thumbnail: np.ndarray) -> np.ndarray:
    """Per-cell histograms of unsigned gradient orientation, weighted by gradient strength."""
    smooth = cv2.GaussianBlur(thumbnail, (3, 3), 0)  # Sobel of uint8 into float32: no conversion pass
    magnitude, angle = cv2.cartToPolar(cv2.Sobel(smooth, cv2.CV_32F, 1, 0), cv2.Sobel(smooth, cv2.CV_32F, 0, 1))
    # unsigned orientation: mod pi first, as calibrated (straight edges put many angles exactly on a bin
    # edge, and other arithmetic rounds them into the neighbouring bin)
    bins = (np.mod(angle, np.pi) * _BINS_PER_RADIAN).astype(np.intp).clip(0, ORIENTATION_BINS - 1)
    flat = np.bincount((_CELL_BIN_BASE + bins).ravel(), weights=magnitude.ravel(), minlength=_CELL_BINS)
    return flat.reshape(-1, ORIENTATION_BINS)


# --- state ----------------------------------------------------------------------------------------


def _next_state(
    state: PictureState, work: _Working, a: PictureAssessment, t: PictureThresholds, at: datetime | None
) -> PictureState:
    new = replace(state, prev_hash=work.digest, prev_signature=work.signature.astype("<u2").tobytes(), seen=a.problems)
    if not a.ok or a.metrics.dazzled:
        return new  # a bad picture teaches nothing about the camera's normal sharpness or scene
    samples = state.sharpness_samples + 1
    sharpness = a.metrics.sharpness
    if state.sharpness_baseline is None:
        baseline = sharpness
    else:  # running mean for the first pictures, then an EWMA
        alpha = max(1.0 / samples, t.baseline_alpha)
        baseline = state.sharpness_baseline + alpha * (sharpness - state.sharpness_baseline)
    scene = _learn_reference(state.scene(work.mode), work.thumbnail, _posix(at), t)
    return replace(new, sharpness_baseline=baseline, sharpness_samples=samples).with_scene(work.mode, scene)


def _learn_reference(scene: SceneReference, thumbnail: np.ndarray, at: float | None,
                     t: PictureThresholds) -> SceneReference:
    """Add a good thumbnail to the reference being learnt if it was taken far enough from the last
    one; with REFERENCE_SAMPLES of them, the per-pixel median becomes the reference (and stays)."""
    if scene.reference is not None:
        return scene  # learnt; only a person's re-take replaces it
    last = scene.last_added_at
    if at is not None and last is not None and at - last < t.reference_spacing_s:
        return scene  # too soon after the previous sample: the same truck may still be there
    stack = (scene.stack or b"") + thumbnail.tobytes()
    frames = np.frombuffer(stack, np.uint8).reshape(-1, REFERENCE_SIZE[1], REFERENCE_SIZE[0])
    if len(frames) < REFERENCE_SAMPLES:
        return SceneReference(stack=stack, last_added_at=at)
    return SceneReference(reference=np.median(frames, axis=0).astype(np.uint8).tobytes(), last_added_at=at)


def _posix(at: datetime | None) -> float | None:
    if at is None:
        return None
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at!r}: pass UTC-aware times")
    return at.timestamp()


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
