"""A picture-health corpus built from real photographs (``tests/data/real_scenes``, CC0 / public domain).

Every camera view is a 16:9 crop of a real photo. Each snapshot of it is "live": the camera shakes a
little in the wind (sub-pixel shift), the light changes (gain), the sensor adds noise and the camera
encodes a JPEG. Faults and harmless conditions are made from the same photos:

- faults: turned away (the crop moved by a third of the view, tilted to the sky/ground, or pointed at
  a wall or a bush), blurred (defocus), covered (a hand, a bag, fog on the lens), frozen (the camera
  repeats its last picture, with or without a ticking on-screen clock), black;
- harmless: infrared night (grey, dark, noisy, vignetted), headlights at night, rain (streaks, drops on
  the lens), a passing cloud, and transients — a person, a motorbike-sized object or a truck (a patch
  of another real photo) pasted in one snapshot only, and a person walking right past the lens.

Used by ``tests/unit/test_picture_corpus.py`` (table tests) and ``bench/bench_picture_corpus.py``
(detection and false-alarm rates).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from camera_ops.health.picture import assess_picture

CORPUS_DIR = Path(__file__).parent / "data" / "real_scenes"
SCENES = ("rocket", "camera", "astronaut", "coffee", "chelsea")  # the photos a camera looks at
OTHER_VIEWS = ("brick", "grass")  # what a knocked camera may end up looking at: a wall, a bush
VIEW_SIZE = (640, 360)  # (w, h) of a snapshot
VIEW_FRACTION = 0.62  # the view is this share of the photo's width: room to shift it when turned away
JPEG_QUALITY = 75  # a typical camera snapshot quality
NOISE_SIGMA = 2.5  # grey levels of daylight sensor noise
SHAKE_PX = 1.5  # wind and vibration: the view moves this much at most between snapshots
GAIN_RANGE = (0.88, 1.12)  # auto-exposure and passing light between snapshots


@cache
def photo(name: str) -> np.ndarray:
    """A corpus photo as BGR."""
    image = cv2.imread(str(CORPUS_DIR / f"{name}.jpg"), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(CORPUS_DIR / f"{name}.jpg")
    return image


def view(name: str, *, dx: float = 0.0, dy: float = 0.0, shake: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """The 16:9 crop of a photo a camera sees; ``dx``/``dy`` move it by that share of the crop size."""
    img = photo(name)
    h, w = img.shape[:2]
    cw = w * VIEW_FRACTION
    ch = cw * VIEW_SIZE[1] / VIEW_SIZE[0]
    if ch > h * 0.9:
        ch = h * 0.9
        cw = ch * VIEW_SIZE[0] / VIEW_SIZE[1]
    cx = (w - cw) / 2 + dx * cw + shake[0]
    cy = (h - ch) / 2 + dy * ch + shake[1]
    cx = float(np.clip(cx, 0, w - cw))
    cy = float(np.clip(cy, 0, h - ch))
    sx, sy = VIEW_SIZE[0] / cw, VIEW_SIZE[1] / ch
    matrix = np.float32([[sx, 0, -cx * sx], [0, sy, -cy * sy]])
    return cv2.warpAffine(img, matrix, VIEW_SIZE, flags=cv2.INTER_AREA if sx < 1 else cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT)


def live(img: np.ndarray, rng: np.random.Generator, *, noise: float = NOISE_SIGMA,
         gain: tuple[float, float] = GAIN_RANGE) -> np.ndarray:
    """One snapshot's light change and sensor noise."""
    out = img.astype(np.float32) * rng.uniform(*gain) + rng.normal(0.0, noise, img.shape)
    return np.clip(out, 0, 255).astype(np.uint8)


def jpeg(img: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    ok, data = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return data.tobytes()


def _shake(rng: np.random.Generator) -> tuple[float, float]:
    return float(rng.uniform(-SHAKE_PX, SHAKE_PX)), float(rng.uniform(-SHAKE_PX, SHAKE_PX))


def day(scene: str, pose: np.random.Generator, rng: np.random.Generator) -> np.ndarray:
    return live(view(scene, shake=_shake(rng)), rng)


# --- harmless conditions ---------------------------------------------------------------------------


def ir_night(scene: str, pose: np.random.Generator, rng: np.random.Generator) -> np.ndarray:
    """Infrared night: no colour, dark, flat, noisy, lit from the camera (bright centre)."""
    gray = cv2.cvtColor(view(scene, shake=_shake(rng)), cv2.COLOR_BGR2GRAY).astype(np.float32)
    h, w = gray.shape
    ys, xs = np.mgrid[0:h, 0:w]
    falloff = 1.0 - 0.55 * (((xs - w / 2) / (w / 2)) ** 2 + ((ys - h / 2) / (h / 2)) ** 2) / 2
    night = (gray * 0.45 + 10) * falloff + rng.normal(0.0, 6.0, gray.shape)
    night = np.clip(night, 0, 255).astype(np.uint8)
    return cv2.cvtColor(night, cv2.COLOR_GRAY2BGR)


def headlights(scene: str, pose: np.random.Generator, rng: np.random.Generator) -> np.ndarray:
    """A vehicle's headlights at night: two blinding blobs with glare over the infrared picture."""
    img = ir_night(scene, pose, rng).astype(np.float32)
    h, w = img.shape[:2]
    cx, cy = pose.uniform(0.3, 0.7) * w, pose.uniform(0.55, 0.8) * h
    ys, xs = np.mgrid[0:h, 0:w]
    glare = np.zeros((h, w), np.float32)
    for ox in (-0.06 * w, 0.06 * w):
        d2 = (xs - cx - ox) ** 2 + (ys - cy) ** 2
        glare += 255 * np.exp(-d2 / (2 * (0.04 * w) ** 2)) + 90 * np.exp(-d2 / (2 * (0.15 * w) ** 2))
    return np.clip(img + glare[..., None], 0, 255).astype(np.uint8)


def rain(scene: str, pose: np.random.Generator, rng: np.random.Generator) -> np.ndarray:
    """Rain: bright streaks, a duller picture, drops blurring parts of the lens."""
    img = live(view(scene, shake=_shake(rng)), rng, gain=(0.7, 0.85))
    streaks = np.zeros(img.shape[:2], np.uint8)
    h, w = streaks.shape
    for _ in range(400):
        x, y, length = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(8, 22)
        cv2.line(streaks, (int(x), int(y)), (int(x + 0.25 * length), int(y + length)), 255, 1)
    streaks = cv2.GaussianBlur(streaks, (3, 3), 0).astype(np.float32)[..., None] / 255
    out = img.astype(np.float32) * (1 - 0.35 * streaks) + 200 * 0.35 * streaks
    out = out.astype(np.uint8)
    for _ in range(6):  # drops on the lens blur what is behind them
        r = int(rng.uniform(0.03, 0.07) * w)
        x, y = int(rng.uniform(r, w - r)), int(rng.uniform(r, h - r))
        patch = out[y - r : y + r, x - r : x + r]
        blurred = cv2.GaussianBlur(patch, (0, 0), 4)
        mask = np.zeros(patch.shape[:2], np.uint8)
        cv2.circle(mask, (r, r), r, 1, -1)
        patch[mask > 0] = blurred[mask > 0]
    return out


def cloud(scene: str, pose: np.random.Generator, rng: np.random.Generator) -> np.ndarray:
    """A passing cloud: the whole scene much darker for one snapshot."""
    return live(view(scene, shake=_shake(rng)), rng, gain=(0.45, 0.6))


def _paste(img: np.ndarray, patch_photo: str, rng: np.random.Generator, area: tuple[float, float]) -> np.ndarray:
    """A patch of another real photo (a person, a vehicle) covering ``area`` share of the view."""
    out = img.copy()
    h, w = out.shape[:2]
    share = rng.uniform(*area)
    ph, pw = int(h * min(1.0, np.sqrt(share) * 1.2)), int(w * min(1.0, share / min(1.0, np.sqrt(share) * 1.2)))
    src = photo(patch_photo)
    sy = int(rng.uniform(0, max(1, src.shape[0] - src.shape[0] * 0.6)))
    sx = int(rng.uniform(0, max(1, src.shape[1] - src.shape[1] * 0.6)))
    piece = src[sy : sy + int(src.shape[0] * 0.6), sx : sx + int(src.shape[1] * 0.6)]
    piece = cv2.resize(piece, (pw, ph), interpolation=cv2.INTER_AREA)
    y, x = int(rng.uniform(0, h - ph + 1)), int(rng.uniform(0, w - pw + 1))
    out[y : y + ph, x : x + pw] = piece
    return out


def is_grey(name: str) -> bool:
    img = photo(name)
    return bool(np.all(img[..., 0] == img[..., 1]) and np.all(img[..., 1] == img[..., 2]))


def as_seen_by(scene: str, img: np.ndarray, pose: np.random.Generator) -> np.ndarray:
    """What the camera of ``scene`` makes of ``img``: a grey-only camera sees grey; a colour camera
    sees colour (the grey corpus photos get a mild colour cast, as a real wall or bush has)."""
    if is_grey(scene):
        return cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    if img.ndim == 3 and not np.any(np.abs(img[..., 0].astype(np.int16) - img[..., 2]) > 2):
        cast = np.array([pose.uniform(0.75, 0.9), 1.0, pose.uniform(1.1, 1.25)], np.float32)
        return np.clip(img.astype(np.float32) * cast, 0, 255).astype(np.uint8)
    return img


def _other(scene: str, rng: np.random.Generator) -> str:
    choices = [s for s in SCENES if s != scene]
    return choices[int(rng.integers(len(choices)))]


def passer_by(scene: str, pose: np.random.Generator, rng: np.random.Generator) -> np.ndarray:
    """A person or motorbike crossing: a real photo patch over 10-30% of the view, this snapshot only."""
    return _paste(day(scene, pose, rng), _other(scene, rng), rng, (0.10, 0.30))


def truck(scene: str, pose: np.random.Generator, rng: np.random.Generator) -> np.ndarray:
    """A truck filling most of the view for one snapshot: a real photo patch over 60-90%."""
    return _paste(day(scene, pose, rng), _other(scene, rng), rng, (0.60, 0.90))


def walker_at_lens(scene: str, pose: np.random.Generator, rng: np.random.Generator) -> np.ndarray:
    """Someone walking right past the lens: a dark, out-of-focus body over most of the view."""
    img = day(scene, pose, rng).astype(np.float32)
    h, w = img.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w]
    cx = rng.uniform(0.35, 0.65) * w
    body = np.clip(1.3 - np.abs(xs - cx) / (0.35 * w), 0, 1).astype(np.float32)
    body = cv2.GaussianBlur(body, (0, 0), 25)[..., None]
    cloth = np.array(rng.uniform(25, 70, 3), np.float32)
    return live(np.clip(img * (1 - body) + cloth * body, 0, 255).astype(np.uint8), rng)


# --- faults ----------------------------------------------------------------------------------------


def turned_sideways(scene: str, pose: np.random.Generator, rng: np.random.Generator) -> np.ndarray:
    side = 1 if pose.random() < 0.5 else -1
    return live(view(scene, dx=side * pose.uniform(0.3, 0.45), shake=_shake(rng)), rng)


def turned_up_or_down(scene: str, pose: np.random.Generator, rng: np.random.Generator) -> np.ndarray:
    """Tilted (the view moves by a third to a half of its height) and rolled a little."""
    img = view(scene, dy=(1 if pose.random() < 0.5 else -1) * pose.uniform(0.35, 0.5), shake=_shake(rng))
    h, w = img.shape[:2]
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), float(pose.uniform(-12, 12)), 1.1)
    return live(cv2.warpAffine(img, rot, (w, h), borderMode=cv2.BORDER_REFLECT), rng)


def turned_to_wall(scene: str, pose: np.random.Generator, rng: np.random.Generator) -> np.ndarray:
    other = OTHER_VIEWS[int(pose.integers(len(OTHER_VIEWS)))]
    return live(as_seen_by(scene, view(other, dx=pose.uniform(-0.2, 0.2), shake=_shake(rng)), pose), rng)


def turned_to_other_scene(scene: str, pose: np.random.Generator, rng: np.random.Generator) -> np.ndarray:
    return live(as_seen_by(scene, view(_other(scene, pose), shake=_shake(rng)), pose), rng)


def defocused(scene: str, pose: np.random.Generator, rng: np.random.Generator) -> np.ndarray:
    img = cv2.GaussianBlur(view(scene, shake=_shake(rng)), (0, 0), pose.uniform(3.5, 5.0))
    return live(img, rng)


def hand(scene: str, pose: np.random.Generator, rng: np.random.Generator) -> np.ndarray:
    """A hand over the lens: skin tone, out of focus, lit unevenly from one side."""
    h, w = VIEW_SIZE[1], VIEW_SIZE[0]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = pose.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * xs / w + np.sin(angle) * ys / h)
    light = 0.6 + 0.5 * (ramp - ramp.min()) / (np.ptp(ramp) + 1e-6)
    skin = np.array([pose.uniform(90, 130), pose.uniform(120, 160), pose.uniform(170, 215)], np.float32)
    img = np.clip(light[..., None] * skin, 0, 255).astype(np.uint8)
    return live(as_seen_by(scene, cv2.GaussianBlur(img, (0, 0), 12), pose), rng)


def bag(scene: str, pose: np.random.Generator, rng: np.random.Generator) -> np.ndarray:
    """A bag or cloth hung over the camera: dark fabric, folds out of focus."""
    h, w = VIEW_SIZE[1], VIEW_SIZE[0]
    folds = pose.normal(0, 1, (6, 10)).astype(np.float32)
    folds = cv2.resize(folds, (w, h), interpolation=cv2.INTER_CUBIC)
    level = pose.uniform(30, 80)
    img = np.clip(level + 12 * folds, 0, 255).astype(np.uint8)
    return live(cv2.cvtColor(cv2.GaussianBlur(img, (0, 0), 8), cv2.COLOR_GRAY2BGR), rng)


def fog(scene: str, pose: np.random.Generator, rng: np.random.Generator) -> np.ndarray:
    """Condensation on the lens: a milky veil, little contrast and no sharp detail left."""
    img = view(scene, shake=_shake(rng)).astype(np.float32)
    veil = pose.uniform(0.8, 0.9)
    out = img * (1 - veil) + 190 * veil
    return live(cv2.GaussianBlur(np.clip(out, 0, 255).astype(np.uint8), (0, 0), 7), rng)


def black_picture(scene: str, pose: np.random.Generator, rng: np.random.Generator) -> np.ndarray:
    return live(np.full((VIEW_SIZE[1], VIEW_SIZE[0], 3), 4, np.uint8), rng, noise=1.0, gain=(1.0, 1.0))


def with_clock(img: np.ndarray, text: str) -> np.ndarray:
    out = img.copy()
    cv2.putText(out, text, (12, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2)
    return out


Maker = Callable[[str, np.random.Generator, np.random.Generator], np.ndarray]


@dataclass(frozen=True, slots=True)
class Condition:
    name: str
    make: Maker
    expected: str | None  # the picture problem it must end in (value of PictureProblem), None: none
    persistent: bool  # still there at the confirmation snapshot (a fault, night, rain) or gone (a transient)


FAULTS: tuple[Condition, ...] = (
    Condition("turned sideways", turned_sideways, "turned_away", True),
    Condition("tilted up/down", turned_up_or_down, "turned_away", True),
    Condition("turned to a wall/bush", turned_to_wall, "turned_away", True),
    Condition("turned to another scene", turned_to_other_scene, "turned_away", True),
    Condition("defocused", defocused, "blurred", True),
    Condition("hand over the lens", hand, "covered|blurred", True),
    Condition("bag over the camera", bag, "covered", True),
    Condition("fog on the lens", fog, "covered|blurred", True),
    Condition("black", black_picture, "black", True),
)
HARMLESS: tuple[Condition, ...] = (
    Condition("day", day, None, True),
    Condition("infrared night", ir_night, None, True),
    Condition("headlights at night", headlights, None, False),
    Condition("rain", rain, None, True),
    Condition("passing cloud", cloud, None, False),
    Condition("person/motorbike crossing", passer_by, None, False),
    Condition("truck filling the view", truck, None, False),
    Condition("someone walking past the lens", walker_at_lens, None, False),
)


# --- the monitor's sequence of snapshots, as a pure function ---------------------------------------

LEARN_EVERY = timedelta(minutes=15)  # the monitor's routine snapshot interval
CONFIRM_AFTER = timedelta(seconds=60)  # the confirmation snapshot (picture_confirm_s)
LEARNING_SNAPSHOTS = 6  # routine snapshots before the condition: more than the reference needs
T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Trial:
    shown: frozenset[str]  # problems the first snapshot of the condition showed (no confirmation)
    confirmed: frozenset[str]  # problems that changed the status by the confirmation snapshot


def learned_camera(scene: str, rng: np.random.Generator, *, first: Maker | None = None) -> tuple[Any, datetime]:
    """A camera that watched ``scene`` for LEARNING_SNAPSHOTS routine snapshots (the first one made
    by ``first``, e.g. a passing vehicle). Returns its picture state and the time of the last one."""
    state, at = None, T0
    for i in range(LEARNING_SNAPSHOTS):
        at = T0 + i * LEARN_EVERY
        img = (first or day)(scene, rng, rng) if i == 0 else day(scene, rng, rng)
        _, state = assess_picture(jpeg(img), state, at=at)
    return state, at


def run_trial(scene: str, condition: Condition, seed: int) -> Trial:
    """Learn, then the condition's snapshot, then the confirmation snapshot (the condition again if
    it persists, a normal picture if it was a transient)."""
    rng = np.random.default_rng(seed)
    state, at = learned_camera(scene, rng)
    pose_seed = int(rng.integers(1 << 30))  # a persistent condition keeps its pose; noise and light change
    first_img = condition.make(scene, np.random.default_rng(pose_seed), rng)
    first, state = assess_picture(jpeg(first_img), state, at=at + LEARN_EVERY)
    if condition.persistent:
        again_img = condition.make(scene, np.random.default_rng(pose_seed), rng)
    else:
        again_img = day(scene, rng, rng)
    second, _ = assess_picture(jpeg(again_img), state, at=at + LEARN_EVERY + CONFIRM_AFTER)
    confirmed = set(first.confirmed) | set(second.confirmed)
    return Trial(shown=frozenset(p.value for p in first.problems), confirmed=frozenset(p.value for p in confirmed))


def run_frozen_trial(scene: str, seed: int, *, clock: bool) -> Trial:
    """The camera repeats its last picture (bit for bit, or with its on-screen clock still ticking)."""
    rng = np.random.default_rng(seed)
    state, at = learned_camera(scene, rng)
    still = day(scene, rng, rng)
    pictures = [with_clock(still, f"2026-12-01 10:0{i}:00") if clock else still for i in range(3)]
    shown: frozenset[str] = frozenset()
    confirmed: set[str] = set()
    for i, img in enumerate(pictures):
        a, state = assess_picture(jpeg(img), state, at=at + LEARN_EVERY + i * CONFIRM_AFTER)
        if i == 1:
            shown = frozenset(p.value for p in a.problems)
        if i >= 1:
            confirmed |= {p.value for p in a.confirmed}
    return Trial(shown=shown, confirmed=frozenset(confirmed))


def run_first_picture_transient(scene: str, seed: int, first: Maker) -> Trial:
    """The very first snapshot catches a vehicle (the issue's quiet street): later normal snapshots
    must stay healthy."""
    rng = np.random.default_rng(seed)
    state, at = learned_camera(scene, rng, first=first)
    shown: set[str] = set()
    confirmed: set[str] = set()
    for i in range(1, 3):
        a, state = assess_picture(jpeg(day(scene, rng, rng)), state, at=at + i * LEARN_EVERY)
        shown |= {p.value for p in a.problems}
        confirmed |= {p.value for p in a.confirmed}
    return Trial(shown=frozenset(shown), confirmed=frozenset(confirmed))


def matches(expected: str | None, confirmed: frozenset[str]) -> bool:
    """A fault is detected when its problem (one of ``a|b``) is confirmed."""
    return expected is not None and bool(set(expected.split("|")) & confirmed)
