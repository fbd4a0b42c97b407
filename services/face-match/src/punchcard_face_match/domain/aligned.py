"""Is a kiosk's aligned crop what it claims to be? Pure rules.

A kiosk that finds the face itself (in the browser, from its face-mesh landmarks) sends an
aligned face chip instead of the camera frame: square, the face placed where dlib's
``get_face_chip`` (padding 0.25) puts it, so the server's per-frame work is the embedding and a
cheap check, not a detector over 640 px. The server never takes the kiosk's word for it: dlib's
HOG must find exactly one face in the chip, and the 5 landmarks dlib's shape predictor finds in
that face must lie where the chip geometry puts them (``plausibly_aligned``). The chip is then
aligned again from those landmarks, so a kiosk's small alignment error costs nothing.

``TEMPLATE``: where dlib's 5-point landmarks land in such a chip, as shares of its side, by
dlib's point index (0-1 the image-right eye's outer and inner corners, 2-3 the image-left eye's
outer and inner corners, 4 the bottom of the nose). Measured: in the 150 px chips of the 34
single-face sample photos, the landmarks found again lay 1-5 px (0.7-3.3 % of the side) from
it; in 150 px noise, a coffee cup and a cat, HOG found no face and the landmarks lay 20-24 px
away. ``TOLERANCE`` (8 % of the side, 12 px at 150) sits between.
"""

from __future__ import annotations

from collections.abc import Sequence

TEMPLATE: tuple[tuple[float, float], ...] = (
    (0.7397, 0.3090),
    (0.5974, 0.3193),
    (0.2471, 0.3091),
    (0.3894, 0.3194),
    (0.4934, 0.5852),
)
TOLERANCE = 0.08
# A chip's side, in pixels: dlib's 150 (what the ResNet takes) up to twice that (a kiosk may
# send more pixels for the re-capture check; the embedding is made at the model's own size).
MIN_SIDE = 150
MAX_SIDE = 320


def plausible_size(width: int, height: int) -> bool:
    """A chip is square, between MIN_SIDE and MAX_SIDE pixels."""
    return width == height and MIN_SIDE <= width <= MAX_SIDE


def plausibly_aligned(
    points: Sequence[tuple[float, float]], side: int, tolerance: float = TOLERANCE
) -> bool:
    """The 5 landmarks found in a chip of ``side`` pixels each lie within ``tolerance`` (a
    share of the side) of where the chip geometry puts them."""
    if len(points) != len(TEMPLATE) or side <= 0:
        return False
    limit = tolerance * side
    return all(
        abs(x - tx * side) <= limit and abs(y - ty * side) <= limit
        for (x, y), (tx, ty) in zip(points, TEMPLATE, strict=True)
    )
