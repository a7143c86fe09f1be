"""The synthetic picture: a street with moving traffic, the camera's clock burned in.

A frame is a pure function of (look, camera time), so "recorded footage" is simply the scene at a
past camera time and the same request always yields the same picture. Picture faults are applied
here so that JPEG snapshots and RTSP video show them alike.

Besides the human-readable clock text, every normal frame carries a *time marker*: a strip of
40 black/white cells at the bottom-left (32 bits of the camera-clock epoch second, then 8 bits of
frame number within that second). :func:`read_marker` decodes it from a decoded frame, so tests can
check which moment a replayed frame shows without OCR.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache

import cv2
import numpy as np

MARKER_BITS = 40  # 32 bits epoch second + 8 bits frame index
MARKER_COLUMNS_PER_WIDTH = 64  # cell = width / 64: 10 px at 640, 5 px at 320 (survives H.264)
STREET_TEMPLATES = 4  # distinct streets; cameras share them so backgrounds cost a few MB in total
TURNED_AWAY_TEMPLATE = -1  # sky and foliage: what a camera knocked upwards sees
MOVERS = 5  # cars and people crossing the picture: movement is what "frozen" detectors look for
DEFOCUS_FACTOR = 12  # downscale factor used as a cheap, very strong lens blur
NIGHT_GAIN = 0.45  # IR picture: grayscale, dim but textured


@dataclass(frozen=True)
class Look:
    """Everything but time that decides a frame. Hashable: it keys the encoded-video cache."""

    seed: int
    label: str
    mode: str = "normal"  # normal | black | covered | turned_away | defocused
    night_ir: bool = False
    frozen_at: float | None = None  # camera epoch seconds shown while frozen

    @property
    def template(self) -> int:
        return TURNED_AWAY_TEMPLATE if self.mode == "turned_away" else self.seed % STREET_TEMPLATES


def render(look: Look, camera_time: float, size: tuple[int, int], frame_index: int = 0) -> np.ndarray:
    """The BGR frame the camera shows at ``camera_time`` (epoch seconds on its own clock)."""
    width, height = size
    if look.frozen_at is not None:
        camera_time, frame_index = look.frozen_at, 0
    if look.mode == "black":
        return _black(width, height)
    if look.mode == "covered":
        return _covered(width, height)
    frame = _background(look.template, width, height).copy()
    if look.mode != "turned_away":
        _draw_movers(frame, look.seed, camera_time)
    if look.night_ir:
        frame = _night(frame, int(camera_time * 10))
    # The OSD is overlaid after the image pipeline, as in a real camera (so it stays white at night),
    # but before the defocus: a "blurred" picture must be blurred everywhere for sharpness checks.
    _draw_osd(frame, look.label, camera_time, frame_index)
    if look.mode == "defocused":
        frame = _defocus(frame)
    return frame


def encode_jpeg(frame: np.ndarray, quality: int = 80) -> bytes:
    ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()


# --- time marker ---------------------------------------------------------------------------------


def marker_cell(width: int) -> int:
    return max(4, width // MARKER_COLUMNS_PER_WIDTH)


def _marker_origin(width: int, height: int) -> tuple[int, int, int]:
    cell = marker_cell(width)
    return cell, cell, height - 2 * cell  # cell, x0, y0


def _draw_marker(frame: np.ndarray, second: int, frame_index: int) -> None:
    height, width = frame.shape[:2]
    cell, x0, y0 = _marker_origin(width, height)
    value = ((second & 0xFFFFFFFF) << 8) | (frame_index & 0xFF)
    frame[y0 - cell // 2 : y0 + cell + cell // 2, x0 - cell // 2 : x0 + MARKER_BITS * cell + cell // 2] = 0
    for bit in range(MARKER_BITS):
        if value >> (MARKER_BITS - 1 - bit) & 1:
            x = x0 + bit * cell
            frame[y0 : y0 + cell, x : x + cell] = 255


def read_marker(frame: np.ndarray) -> tuple[int, int] | None:
    """Decode (camera epoch second, frame index) from a decoded frame (BGR or gray), or None."""
    gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    height, width = gray.shape
    cell, x0, y0 = _marker_origin(width, height)
    inset = max(1, cell // 4)
    value = 0
    for bit in range(MARKER_BITS):
        x = x0 + bit * cell
        patch = gray[y0 + inset : y0 + cell - inset, x + inset : x + cell - inset]
        level = float(patch.mean())
        if 70 < level < 185:  # neither black nor white: no marker here (or a faulted picture)
            return None
        value = (value << 1) | (level >= 128)
    if value >> 8 == 0:  # an all-dark strip is a dark picture, not the year 1970
        return None
    return value >> 8, value & 0xFF


# --- pieces --------------------------------------------------------------------------------------


def _black(width: int, height: int) -> np.ndarray:
    return np.zeros((height, width, 3), np.uint8)


@lru_cache(maxsize=8)
def _covered_cached(width: int, height: int) -> np.ndarray:
    """A hand or tape over the lens: dark grey, almost no texture, a faint light gradient."""
    frame = np.empty((height, width, 3), np.uint8)
    frame[:] = np.linspace(38, 46, width).astype(np.uint8)[None, :, None]
    frame.flags.writeable = False
    return frame


def _covered(width: int, height: int) -> np.ndarray:
    return _covered_cached(width, height).copy()


@lru_cache(maxsize=32)
def _background(template: int, width: int, height: int) -> np.ndarray:
    """A street (or, for TURNED_AWAY_TEMPLATE, sky and tree tops) with plenty of edges."""
    rng = np.random.default_rng(1000 + template)
    frame = np.zeros((height, width, 3), np.uint8)
    horizon = int(height * (0.8 if template == TURNED_AWAY_TEMPLATE else 0.38))
    for y in range(height):
        if y < horizon:
            t = y / max(1, horizon)
            frame[y] = (230 - 60 * t, 190 - 40 * t, 150 - 40 * t)  # sky, BGR
        else:
            t = (y - horizon) / max(1, height - horizon)
            frame[y] = (95 + 20 * t, 100 + 20 * t, 105 + 20 * t)  # ground
    if template == TURNED_AWAY_TEMPLATE:
        _draw_foliage(frame, rng, horizon)
    else:
        _draw_buildings(frame, rng, horizon)
        _draw_road(frame, horizon)
    noise = rng.normal(0, 5, (height, width, 1)).astype(np.float32)
    frame = np.clip(frame.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    frame.flags.writeable = False
    return frame


def _draw_buildings(frame: np.ndarray, rng: np.random.Generator, horizon: int) -> None:
    height, width = frame.shape[:2]
    x = 0
    while x < width:
        w = int(rng.integers(width // 14, width // 6))
        h = int(rng.integers(horizon // 3, horizon + height // 10))
        color = tuple(int(c) for c in rng.integers(60, 200, 3))
        top = horizon + height // 10 - h
        cv2.rectangle(frame, (x, top), (x + w, horizon + height // 10), color, -1)
        win = max(3, width // 90)
        for wy in range(top + win, horizon + height // 10 - win, 3 * win):
            for wx in range(x + win, x + w - win, 3 * win):
                lit = (40, 200, 230) if rng.random() < 0.3 else (50, 50, 60)
                cv2.rectangle(frame, (wx, wy), (wx + win, wy + win), lit, -1)
        x += w + int(rng.integers(0, width // 40 + 1))


def _draw_road(frame: np.ndarray, horizon: int) -> None:
    height, width = frame.shape[:2]
    top = horizon + height // 10
    road = np.array([[0, height], [width, height], [width * 6 // 10, top], [width * 4 // 10, top]])
    cv2.fillPoly(frame, [road], (70, 70, 72))
    for y in range(top + 4, height, max(8, height // 12)):
        cv2.line(frame, (width // 2, y), (width // 2, y + max(3, height // 40)), (235, 235, 235), max(1, width // 200))


def _draw_foliage(frame: np.ndarray, rng: np.random.Generator, horizon: int) -> None:
    height, width = frame.shape[:2]
    for _ in range(40):
        cx, cy = int(rng.integers(0, width)), int(rng.integers(horizon - height // 5, height))
        r = int(rng.integers(height // 20, height // 6))
        color = tuple(int(c) for c in (rng.integers(20, 70), rng.integers(90, 160), rng.integers(20, 70)))
        cv2.circle(frame, (cx, cy), r, color, -1)
    for _ in range(6):  # wires across the sky
        y = int(rng.integers(0, horizon // 2))
        cv2.line(frame, (0, y), (width, y + int(rng.integers(-20, 20))), (40, 40, 40), 1)


def _draw_movers(frame: np.ndarray, seed: int, camera_time: float) -> None:
    height, width = frame.shape[:2]
    rng = np.random.default_rng(seed)
    for i in range(MOVERS):
        size = int(rng.integers(height // 12, height // 5))
        speed = float(rng.uniform(0.08, 0.3)) * width * (1 if i % 2 else -1)  # px per second
        lane = int(rng.uniform(0.55, 0.9) * height)
        phase = float(rng.uniform(0, width))
        color = tuple(int(c) for c in rng.integers(30, 255, 3))
        span = width + 2 * size
        x = int((phase + speed * camera_time) % span) - size
        if i % 3 == 2:  # a person: head and body, bobbing
            bob = int(3 * np.sin(camera_time * 6 + i))
            cv2.circle(frame, (x, lane - size + bob), size // 5, (60, 90, 150), -1)
            cv2.rectangle(frame, (x - size // 6, lane - size * 4 // 5 + bob), (x + size // 6, lane), color, -1)
        else:  # a car: body, windows, wheels
            cv2.rectangle(frame, (x - size, lane - size // 2), (x + size, lane), color, -1)
            cv2.rectangle(frame, (x - size // 2, lane - size // 2), (x + size // 2, lane - size // 4), (50, 40, 30), -1)
            for wx in (x - size * 2 // 3, x + size * 2 // 3):
                cv2.circle(frame, (wx, lane), max(2, size // 5), (20, 20, 20), -1)


def _draw_osd(frame: np.ndarray, label: str, camera_time: float, frame_index: int) -> None:
    height, width = frame.shape[:2]
    second = int(camera_time // 1)
    text = datetime.fromtimestamp(second, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    scale = width / 900
    thick = max(1, width // 400)
    origin = (width // 60, height // 12)
    cv2.putText(frame, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick + 2, cv2.LINE_AA)
    cv2.putText(frame, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick, cv2.LINE_AA)
    (tw, _), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    cv2.putText(frame, label, (width - tw - width // 60, height - height // 30), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick, cv2.LINE_AA)
    _draw_marker(frame, second, frame_index)


@lru_cache(maxsize=8)
def _noise_tile(width: int, height: int) -> np.ndarray:
    """Sensor noise of a high-gain IR picture, made once and shifted per frame (cheap)."""
    tile = np.random.default_rng(7).normal(0, 4, (height, 2 * width)).astype(np.int16)
    tile.flags.writeable = False
    return tile


def _night(frame: np.ndarray, noise_seed: int) -> np.ndarray:
    height, width = frame.shape[:2]
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    gray = cv2.convertScaleAbs(gray, alpha=NIGHT_GAIN)
    shift = noise_seed % width
    noisy = gray.astype(np.int16) + _noise_tile(width, height)[:, shift : shift + width]
    return cv2.cvtColor(np.clip(noisy, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)


def _defocus(frame: np.ndarray) -> np.ndarray:
    height, width = frame.shape[:2]
    small = cv2.resize(frame, (max(2, width // DEFOCUS_FACTOR), max(2, height // DEFOCUS_FACTOR)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (3, 3), 0)  # on the small image: the blur costs almost nothing
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
