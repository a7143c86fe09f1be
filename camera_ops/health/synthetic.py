"""Synthetic camera pictures for tests, benchmarks and the camera simulator.

Deterministic (seeded) grayscale street-like scenes and the faults a real camera shows: black,
covered lens, blur, infrared night, a moving object, sensor noise, a different scene (turned away).
All functions return uint8 images (H x W, grayscale) unless stated; :func:`to_jpeg` encodes one.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

FULL_HD = (1920, 1080)  # (width, height)
HD_720P = (1280, 720)
SD_360P = (640, 360)
UHD_4K = (3840, 2160)
TINT_GRID = (6, 4)  # colour patches across and down a colour picture: walls, awnings, foliage, sky
TINT_RANGE = (0.75, 1.25)  # gain of each BGR channel in a patch: clearly coloured, not saturated
CALIBRATION_SCENES = 30  # street scenes the picture-health thresholds are checked on
CALIBRATION_LEARNING = 6  # normal pictures a calibration camera learns from (> blur_min_samples)
CALIBRATION_PAN_PX = 60  # wind-shake pan at 1080p (3% of the view): healthy


def scene(seed: int = 1, size: tuple[int, int] = FULL_HD) -> np.ndarray:
    """A textured outdoor-like scene: sky gradient, buildings with windows, a road, poles, trees."""
    w, h = size
    rng = np.random.default_rng(seed)
    img = np.empty((h, w), np.uint8)
    horizon = int(h * rng.uniform(0.35, 0.55))
    img[:horizon] = np.linspace(200, 150, horizon, dtype=np.float32)[:, None].astype(np.uint8)
    img[horizon:] = np.linspace(110, 70, h - horizon, dtype=np.float32)[:, None].astype(np.uint8)
    for _ in range(int(rng.integers(6, 12))):  # buildings with windows
        bw, bh = int(rng.uniform(0.06, 0.18) * w), int(rng.uniform(0.15, 0.45) * h)
        x0 = int(rng.uniform(0, w - bw))
        y1 = horizon + int(rng.uniform(0, 0.1) * h)
        cv2.rectangle(img, (x0, y1 - bh), (x0 + bw, y1), int(rng.integers(40, 180)), -1)
        step = max(8, bw // 6)
        for wx in range(x0 + step // 2, x0 + bw - step // 2, step):
            for wy in range(y1 - bh + step // 2, y1 - step // 2, step):
                cv2.rectangle(img, (wx, wy), (wx + step // 3, wy + step // 3), int(rng.integers(0, 255)), -1)
    vanish = rng.uniform(0.2, 0.8)  # where the road meets the horizon
    road = np.array([[w * (vanish - 0.3), h], [w * (vanish - 0.02), horizon], [w * (vanish + 0.02), horizon], [w * (vanish + 0.3), h]], np.int32)
    cv2.fillPoly(img, [road], int(rng.integers(40, 90)))
    cv2.line(img, (int(w * (vanish + 0.05)), h), (int(w * vanish), horizon), 230, max(2, w // 400))
    for _ in range(int(rng.integers(4, 9))):  # poles and trees
        x = int(rng.uniform(0, w))
        cv2.line(img, (x, horizon - int(0.3 * h)), (x, h), int(rng.integers(20, 90)), max(3, w // 300))
        cv2.circle(img, (x, horizon - int(0.3 * h)), int(rng.uniform(0.02, 0.06) * w), int(rng.integers(30, 120)), -1)
    texture = rng.normal(0.0, 6.0, (h // 8 + 1, w // 8 + 1)).astype(np.float32)  # coarse surface texture
    texture = cv2.resize(texture, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(img.astype(np.float32) + texture, 0, 255).astype(np.uint8)


def add_noise(img: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    """Sensor noise: Gaussian, ``sigma`` grey levels."""
    rng = np.random.default_rng(seed)
    noisy = img.astype(np.float32) + rng.normal(0.0, sigma, img.shape).astype(np.float32)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def ir_night(
    img: np.ndarray, *, gain: float = 0.35, offset: float = 8.0, gamma: float = 1.0, seed: int = 0
) -> np.ndarray:
    """The same scene as an infrared night picture: low contrast, dark, noisier, still textured.

    ``gamma`` > 1 darkens the mid-tones more than the highlights (IR lighting the near field only).
    """
    dark = 255.0 * (img.astype(np.float32) / 255.0) ** gamma * gain + offset
    return add_noise(np.clip(dark, 0, 255).astype(np.uint8), 3.0, seed)


def black(size: tuple[int, int] = FULL_HD, *, level: int = 6, seed: int = 0) -> np.ndarray:
    """A dead sensor / lens cap at night: almost zero with a little noise."""
    w, h = size
    return add_noise(np.full((h, w), level, np.uint8), 2.0, seed)


def covered(size: tuple[int, int] = FULL_HD, *, level: int = 128, seed: int = 0) -> np.ndarray:
    """A lens covered by a bag or paint: nearly uniform, not dark, a soft shading."""
    w, h = size
    shade = np.linspace(-10, 10, w, dtype=np.float32)[None, :] + np.zeros((h, 1), np.float32)
    return add_noise(np.clip(level + shade, 0, 255).astype(np.uint8), 1.5, seed)


def blurred(img: np.ndarray, sigma: float = 6.0) -> np.ndarray:
    """Out of focus (or a fogged lens): Gaussian blur of ``sigma`` pixels at full resolution."""
    return cv2.GaussianBlur(img, (0, 0), sigma)


def with_moving_object(img: np.ndarray, *, where: tuple[float, float] = (0.3, 0.7), size: float = 0.04) -> np.ndarray:
    """The same scene with a small object (a motorbike) at ``where`` (fractions of width, height)."""
    out = img.copy()
    h, w = img.shape[:2]
    cx, cy, r = int(where[0] * w), int(where[1] * h), int(size * w)
    cv2.rectangle(out, (cx - r, cy - r // 2), (cx + r, cy + r // 2), 20, -1)
    cv2.circle(out, (cx - r, cy + r // 2), r // 2, 240, -1)
    return out


def in_colour(img: np.ndarray, seed: int = 0) -> np.ndarray:
    """A gray picture as a colour (BGR) one: a smooth field of tints, so the JPEG carries real chroma."""
    h, w = img.shape[:2]
    rng = np.random.default_rng(seed)
    patches = rng.uniform(*TINT_RANGE, (TINT_GRID[1], TINT_GRID[0], 3)).astype(np.float32)
    tint = cv2.resize(patches, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(img[:, :, None].astype(np.float32) * tint, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class CalibrationCase:
    """One street camera: what it learns from, healthy variation that must raise no alarm, and the
    picture it sees once knocked away from its street."""

    learning: tuple[np.ndarray, ...]
    healthy: dict[str, np.ndarray]  # what changed -> picture
    turned_away: np.ndarray


def calibration_case(seed: int) -> CalibrationCase:
    """Scene ``seed`` at 1080p, day and infrared night: :data:`CALIBRATION_SCENES` of these, seeds 1..30,
    back the claim "0 false alarms in 210 healthy pictures, 30 of 30 turned-away cameras detected"."""
    w, h = FULL_HD
    wide = scene(seed, (w + CALIBRATION_PAN_PX, h))
    base = np.ascontiguousarray(wide[:, :w])
    healthy = {
        "new sensor noise": add_noise(base, 3.0, seed=7),
        "a moving motorbike": add_noise(with_moving_object(base), 3.0, seed=8),
        "infrared night": ir_night(base),
        "very dark infrared night": ir_night(base, gain=0.2, offset=2.0),
        "infrared lighting the near field only": ir_night(base, gain=0.5, gamma=2.2),
        "infrared night with a moving object": ir_night(with_moving_object(base), seed=3),
        "wind-shake pan": add_noise(np.ascontiguousarray(wide[:, CALIBRATION_PAN_PX:]), 3.0, seed=9),
    }
    return CalibrationCase(
        learning=tuple(add_noise(base, 3.0, seed=200 + i) for i in range(CALIBRATION_LEARNING)),
        healthy=healthy,
        turned_away=add_noise(scene(1000 + seed), 3.0, seed=11),
    )


def to_jpeg(img: np.ndarray, quality: int = 80) -> bytes:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()
