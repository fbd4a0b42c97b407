"""Enrolment photo quality rules."""

from punchcard_face_match.domain import quality
from punchcard_face_match.domain.quality import QualityPolicy, problem, score

POLICY = QualityPolicy(min_face_px=80, min_sharpness=40, min_brightness=45, max_brightness=215)


def test_a_good_photo_has_no_problem_and_a_high_score():
    assert problem(200, 400, 130, POLICY) is None
    assert score(200, 400, 130, POLICY) == 1.0


def test_each_shortfall_is_named():
    assert problem(60, 400, 130, POLICY) == quality.FACE_TOO_SMALL
    assert problem(200, 20, 130, POLICY) == quality.TOO_BLURRY
    assert problem(200, 400, 25, POLICY) == quality.TOO_DARK
    assert problem(200, 400, 230, POLICY) == quality.TOO_BRIGHT


def test_score_falls_with_size_sharpness_and_light():
    best = score(200, 400, 130, POLICY)
    assert score(100, 400, 130, POLICY) < best
    assert score(200, 60, 130, POLICY) < best
    assert score(200, 400, 60, POLICY) < best
    assert 0.0 <= score(10, 0, 0, POLICY) <= 1.0


def test_messages_say_what_to_do():
    text = quality.message(quality.FACE_TOO_SMALL, 60, POLICY)
    assert "60 px" in text and "80 px" in text
    assert "blurry" in quality.message(quality.TOO_BLURRY)
