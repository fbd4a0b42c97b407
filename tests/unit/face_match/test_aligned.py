"""The rules a kiosk's aligned crop must pass (domain.aligned)."""

import math

import pytest
from punchcard_face_match.domain.aligned import (
    MAX_SIDE,
    MIN_SIDE,
    TEMPLATE,
    TOLERANCE,
    plausible_size,
    plausibly_aligned,
)


def at(side: int, dx: float = 0.0, dy: float = 0.0, turn_deg: float = 0.0):
    """The template's points in a chip of ``side`` px, shifted and turned about its centre."""
    c, s, half = math.cos(math.radians(turn_deg)), math.sin(math.radians(turn_deg)), side / 2
    points = []
    for tx, ty in TEMPLATE:
        x, y = tx * side - half, ty * side - half
        points.append((half + c * x - s * y + dx, half + s * x + c * y + dy))
    return points


@pytest.mark.parametrize(
    ("width", "height", "ok"),
    [
        (150, 150, True),
        (MAX_SIDE, MAX_SIDE, True),
        (MIN_SIDE - 1, MIN_SIDE - 1, False),
        (MAX_SIDE + 1, MAX_SIDE + 1, False),
        (150, 151, False),
        (640, 480, False),
    ],
)
def test_a_chip_is_square_and_of_a_bounded_side(width, height, ok):
    assert plausible_size(width, height) is ok


@pytest.mark.parametrize("side", [150, 300])
def test_landmarks_where_the_geometry_puts_them_pass_and_far_ones_do_not(side):
    assert plausibly_aligned(at(side), side)
    assert plausibly_aligned(at(side, dx=0.07 * side), side)  # inside the tolerance
    assert not plausibly_aligned(at(side, dx=(TOLERANCE + 0.01) * side), side)
    assert not plausibly_aligned(at(side, dy=-(TOLERANCE + 0.01) * side), side)
    assert not plausibly_aligned(at(side, turn_deg=25), side)  # a face turned in the chip
    assert plausibly_aligned(at(side, turn_deg=5), side)


def test_a_mirrored_face_puts_the_eyes_corners_in_the_wrong_order():
    side = 150
    mirrored = [(side - x, y) for x, y in at(side)]
    assert not plausibly_aligned(mirrored, side)


def test_anything_but_five_points_or_a_real_side_is_refused():
    assert not plausibly_aligned(at(150)[:4], 150)
    assert not plausibly_aligned([*at(150), (0.0, 0.0)], 150)
    assert not plausibly_aligned(at(150), 0)
