"""The server's own presentation-attack signs, measured on a decoded frame (numpy/OpenCV; the
rules that judge them are ``domain.liveness``).

``screen_score``: a face re-captured from a screen or a print carries the screen's pixel grid
or the print's halftone; the camera's sampling turns it into moiré, i.e. a few isolated,
strong peaks in the spectrum of the face region. A live face's spectrum falls off smoothly
with frequency, with no isolated peaks outside the JPEG 8×8 block grid. The score is
log10 of the mean of the 8 strongest bins of the face's windowed power spectrum divided by
the median of their frequency ring (rings from 1/16 of the sampling rate to Nyquist, the
JPEG grid's rows and columns left out), the highest of the luma and the two chroma planes
(sub-pixel stripes show as colour fringes). Measured (docs/face-match.md): 35 sample photos at
kiosk size 0.36-1.82; their synthetic screen re-captures mostly 2-5.
"""

from __future__ import annotations

import cv2
import numpy as np

_TOP_PEAKS = 8


def _plane_score(plane: np.ndarray) -> float:
    s = plane.shape[0]
    crop = plane.astype(np.float64)
    crop -= crop.mean()
    window = np.outer(np.hanning(s), np.hanning(s))
    power = np.abs(np.fft.fftshift(np.fft.fft2(crop * window))) ** 2
    yy, xx = np.mgrid[-s // 2 : s // 2, -s // 2 : s // 2]
    radius = np.hypot(xx, yy).astype(int)
    mask = (radius >= s // 16) & (radius < s // 2)
    step = s // 8  # the JPEG block grid's harmonics: whole rows and columns
    for k in range(-4, 5):
        mask &= np.abs(xx - k * step) > 1
        mask &= np.abs(yy - k * step) > 1
    rings = radius[mask]
    values = power[mask]
    medians = np.zeros(s, dtype=np.float64)
    for r in np.unique(rings):
        medians[r] = np.median(values[rings == r])
    ratio = values / np.maximum(medians[rings], 1e-12)
    top = np.sort(ratio)[-_TOP_PEAKS:]
    return float(np.log10(max(top.mean(), 1e-12)))


def screen_score(image_bgr: np.ndarray, box: tuple[int, int, int, int]) -> float | None:
    """The face's re-capture score, ``box`` = (left, top, right, bottom) in the frame's
    pixels; None when the face is too small (under 40 px) or too near the frame's edge."""
    left, top, right, bottom = box
    width = right - left
    if width < 40:
        return None
    side = 1 << int(np.floor(np.log2(min(256.0, width * 0.8))))
    cx, cy = (left + right) // 2, (top + bottom) // 2
    y0, x0 = cy - side // 2, cx - side // 2
    if y0 < 0 or x0 < 0:
        return None
    crop = image_bgr[y0 : y0 + side, x0 : x0 + side]
    if crop.shape[:2] != (side, side):
        return None
    ycc = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_BGR2YCrCb)
    return round(max(_plane_score(ycc[:, :, c]) for c in range(3)), 3)
