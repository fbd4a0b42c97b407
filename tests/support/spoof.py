"""Frames for the liveness tests (issue 17), made here from photos — no real presentation-attack
data set is available:

- ``live_burst``: a person in front of the kiosk, 2-3 frames: the photo with small natural
  jitter between frames (a pixel or two of shift, a fraction of a degree of roll, a little
  light change) and a camera's sensor noise, each JPEG-encoded as the kiosk does;
- ``still_burst``: a still image fed as the camera (a virtual camera, a replayed frame): the
  same JPEG each time;
- ``screen_recapture``: the photo shown on a synthetic LCD (RGB sub-pixel stripes with dark
  gaps between rows, a black bezel) in a room, filmed by the kiosk's camera: lens blur, the
  camera's own sampling (which turns the pixel grid into moiré), a slight angle, sensor noise,
  JPEG.
"""

from __future__ import annotations

import cv2
import numpy as np

from .face import kiosk_jpeg


def jitter(image: np.ndarray, rng: np.random.Generator, amount: float = 1.0) -> np.ndarray:
    h, w = image.shape[:2]
    angle = rng.uniform(-0.6, 0.6) * amount
    dx, dy = rng.uniform(-1.5, 1.5, 2) * amount
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0 + rng.uniform(-0.005, 0.005))
    matrix[:, 2] += (dx, dy)
    moved = cv2.warpAffine(image, matrix, (w, h), borderMode=cv2.BORDER_REFLECT)
    gain = 1.0 + rng.uniform(-0.02, 0.02) * amount
    noisy = moved.astype(np.float32) * gain + rng.normal(0.0, 2.0, moved.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def live_burst(image_bgr: np.ndarray, n: int = 3, *, seed: int = 0, side: int = 640) -> list[bytes]:
    rng = np.random.default_rng(seed)
    return [kiosk_jpeg(jitter(image_bgr, rng), side) for _ in range(n)]


def still_burst(image_bgr: np.ndarray, n: int = 3, *, side: int = 640) -> list[bytes]:
    frame = kiosk_jpeg(image_bgr, side)
    return [frame] * n


def _screen(image_bgr: np.ndarray, pitch: int) -> tuple[np.ndarray, np.ndarray]:
    """The image as an LCD shows it, ``pitch`` × ``pitch`` device pixels per image pixel: three
    vertical sub-pixel stripes (R, G, B) and a darker gap row; and the gain per channel that
    gives back the image's own light (the camera's exposure)."""
    h, w = image_bgr.shape[:2]
    up = cv2.resize(image_bgr, (w * pitch, h * pitch), interpolation=cv2.INTER_NEAREST)
    cell = np.zeros((pitch, pitch, 3), np.float32)
    third = max(1, pitch // 3)
    for c in range(3):  # BGR order: red stripe first (channel 2)
        cell[:, c * third : (c + 1) * third, 2 - c] = 1.0
    cell[-1] *= 0.3
    return up.astype(np.float32) * np.tile(cell, (h, w, 1)), 1.0 / cell.mean(axis=(0, 1))


def screen_recapture(
    image_bgr: np.ndarray,
    *,
    pitch: int = 3,
    angle: float = 1.5,
    scale: float = 0.5,
    seed: int = 0,
    source_side: int = 480,
    side: int = 640,
) -> bytes:
    """The image on a synthetic screen with a bezel, filmed; the kiosk's JPEG."""
    rng = np.random.default_rng(seed)
    h, w = image_bgr.shape[:2]
    k = source_side / max(h, w)
    shown = cv2.resize(image_bgr, (round(w * k), round(h * k)), interpolation=cv2.INTER_AREA)
    screen, exposure = _screen(shown, pitch)
    bezel = 40 * pitch
    screen = cv2.copyMakeBorder(
        screen, bezel, bezel, bezel, bezel, cv2.BORDER_CONSTANT, value=(20, 20, 20)
    )
    screen = cv2.GaussianBlur(screen, (0, 0), 0.35 / scale)  # the camera's lens
    sh, sw = screen.shape[:2]
    matrix = cv2.getRotationMatrix2D((sw / 2, sh / 2), angle, scale)
    matrix[:, 2] += (sw * scale / 2 - sw / 2, sh * scale / 2 - sh / 2)
    filmed = cv2.warpAffine(
        screen,
        matrix,
        (int(sw * scale) + 1, int(sh * scale) + 1),
        flags=cv2.INTER_LINEAR,
        borderValue=(90, 100, 110),  # the room behind the screen
    )
    filmed = filmed * exposure + rng.normal(0.0, 2.0, filmed.shape)
    return kiosk_jpeg(np.clip(filmed, 0, 255).astype(np.uint8), side)


# The screens and camera positions the tests film a face with (pitch, angle, scale).
SCREEN_SETUPS = [(3, 1.5, 0.5), (3, 4.0, 0.45), (4, 0.5, 0.4), (3, 0.0, 0.55)]
