"""A file for Chromium's fake camera (``--use-file-for-fake-video-capture``): a photo as a
YUV4MPEG2 video (4:2:0, ``C420jpeg``) that Chromium plays in a loop. ``live`` (the default): a
person standing in front of the kiosk — each frame the photo with small natural jitter and
sensor noise (tests.support.spoof); ``live=False``: identical frames, a still photo held as
the camera, which the server's liveness check refuses (issue 17)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def frame_of(image_bgr: np.ndarray, width: int = 640, height: int = 480) -> np.ndarray:
    """The photo scaled to cover ``width`` × ``height`` (even sizes) and centre-cropped, as a
    camera's 4:3 frame would hold a head and shoulders."""
    h, w = image_bgr.shape[:2]
    scale = max(width / w, height / h)
    resized = cv2.resize(
        image_bgr,
        (max(width, round(w * scale)), max(height, round(h * scale))),
        interpolation=cv2.INTER_AREA,
    )
    top = (resized.shape[0] - height) // 2
    left = (resized.shape[1] - width) // 2
    return resized[top : top + height, left : left + width]


def write_y4m(
    image_bgr: np.ndarray,
    path: Path,
    *,
    frames: int = 10,
    fps: int = 10,
    size=(640, 480),
    live: bool = True,
) -> Path:
    """Write ``frames`` frames of the image as a Y4M file (jittered when ``live``, else
    identical copies); returns the path."""
    from .spoof import jitter

    width, height = size
    assert width % 2 == 0 and height % 2 == 0, "4:2:0 needs even sizes"
    frame = frame_of(image_bgr, width, height)
    rng = np.random.default_rng(0)
    header = f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode()
    with open(path, "wb") as out:
        out.write(header)
        for _ in range(frames):
            shown = jitter(frame, rng) if live else frame
            # OpenCV's I420: the Y plane, then U and V at half resolution, one after the other.
            i420 = cv2.cvtColor(shown, cv2.COLOR_BGR2YUV_I420).tobytes()
            assert len(i420) == width * height * 3 // 2
            out.write(b"FRAME\n")
            out.write(i420)
    return path


def y4m_from_photo(photo: Path, path: Path, **kw) -> Path:
    image = cv2.imread(str(photo))
    assert image is not None, photo
    return write_y4m(image, path, **kw)
