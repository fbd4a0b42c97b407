"""The 1:N threshold derived from the gallery's size (domain.calibration): FPIR = 1 - (1 -
FMR(t))^n held at the tenant's target, None (1:1) when the threshold would be unusable."""

import math

import pytest
from punchcard_face_match.domain.calibration import (
    DEFAULT_FPIR_TARGET,
    DLIB,
    MAX_FPIR_TARGET,
    MIN_FPIR_TARGET,
    FmrModel,
    fmr_model_for,
    fpir,
    largest_gallery,
    per_comparison_fmr,
    search_plan,
    threshold_for_gallery,
    verification_threshold,
)
from punchcard_face_match.domain.enrolment import MAX_PHOTOS

MODEL = FmrModel(impostor_mean=0.8, impostor_sd=0.1, min_threshold=0.3, max_threshold=0.6)


def test_the_model_is_a_normal_lower_tail():
    assert MODEL.fmr(0.8) == pytest.approx(0.5)
    assert MODEL.fmr(0.8 - 0.1 * 2.326348) == pytest.approx(0.01, rel=1e-4)
    assert MODEL.threshold_at(MODEL.fmr(0.55)) == pytest.approx(0.55)


def test_fpir_grows_with_the_gallery():
    assert fpir(1, 0.003) == pytest.approx(0.003)
    assert fpir(500, 0.003) == pytest.approx(1 - 0.997**500)  # 78 %: the example
    assert fpir(0, 0.5) == 0.0
    assert fpir(500, per_comparison_fmr(500, 0.001)) == pytest.approx(0.001)


def test_the_threshold_falls_as_the_gallery_grows_and_holds_the_target():
    thresholds = [threshold_for_gallery(n, 0.001, MODEL) for n in (1, 10, 100, 1000)]
    assert all(t is not None for t in thresholds)
    assert thresholds == sorted(thresholds, reverse=True)
    for n, t in zip((1, 10, 100, 1000), thresholds, strict=True):
        assert fpir(n, MODEL.fmr(t)) == pytest.approx(0.001, rel=1e-6)


def test_never_above_the_ceiling():
    assert threshold_for_gallery(1, 0.01, MODEL) == pytest.approx(0.8 - 0.1 * 2.326348)
    loose = FmrModel(impostor_mean=1.2, impostor_sd=0.1, min_threshold=0.4, max_threshold=0.6)
    assert threshold_for_gallery(5, 0.001, loose) == 0.6


def test_none_when_the_threshold_would_refuse_genuine_workers():
    n = largest_gallery(0.001, MODEL)
    assert threshold_for_gallery(n, 0.001, MODEL) is not None
    assert threshold_for_gallery(n + 1, 0.001, MODEL) is None
    assert threshold_for_gallery(10**7, 0.001, MODEL) is None


def test_a_looser_target_allows_a_larger_gallery():
    assert largest_gallery(0.01, MODEL) > largest_gallery(0.001, MODEL) > 0


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError):
        threshold_for_gallery(10, 0.0, MODEL)
    with pytest.raises(ValueError):
        threshold_for_gallery(-1, 0.001, MODEL)
    with pytest.raises(ValueError):
        FmrModel(impostor_mean=0.8, impostor_sd=0.0, min_threshold=0.4, max_threshold=0.6)
    with pytest.raises(ValueError):
        FmrModel(impostor_mean=0.8, impostor_sd=0.1, min_threshold=0.7, max_threshold=0.6)


def test_dlib_model_is_anchored_on_dlibs_lfw_figure():
    # FMR(0.6) = 1.24 %: every error of dlib's 99.38 % on LFW's balanced pairs a false match.
    assert DLIB.fmr(0.6) == pytest.approx(0.0124, rel=0.02)
    # At 0.6 a 500-template gallery would falsely match almost every stranger (issue 17).
    assert fpir(500, DLIB.fmr(0.6)) > 0.99


def test_dlib_500_enrolled_workers_verify_one_to_one_at_the_default_target():
    assert threshold_for_gallery(500, DEFAULT_FPIR_TARGET, DLIB) is None
    assert search_plan(500, 1500, DEFAULT_FPIR_TARGET, DLIB, 0.6).one_to_one


def test_dlib_small_gallery_searches_one_to_n_under_the_1_to_1_value():
    plan = search_plan(7, 7, DEFAULT_FPIR_TARGET, DLIB, 0.6)
    assert not plan.one_to_one
    assert DLIB.min_threshold <= plan.threshold < 0.6
    assert fpir(7, DLIB.fmr(plan.threshold)) == pytest.approx(DEFAULT_FPIR_TARGET, rel=1e-6)


@pytest.mark.parametrize("target", [MIN_FPIR_TARGET, DEFAULT_FPIR_TARGET, MAX_FPIR_TARGET])
def test_a_workers_own_templates_always_get_a_1_to_1_threshold_within_the_bounds(target):
    for templates in range(1, MAX_PHOTOS + 1):
        assert threshold_for_gallery(templates, target, DLIB) is not None
        t = verification_threshold(templates, target, DLIB, 0.6)
        assert fpir(templates, DLIB.fmr(t)) <= target * (1 + 1e-9)


def test_an_uncalibrated_model_keeps_its_fixed_threshold_and_never_switches():
    assert fmr_model_for("ArcFace", 4.15) is None
    plan = search_plan(10**6, 5 * 10**6, DEFAULT_FPIR_TARGET, None, 4.15)
    assert (plan.threshold, plan.one_to_one) == (4.15, False)
    assert verification_threshold(3, DEFAULT_FPIR_TARGET, None, 4.15) == 4.15


def test_match_threshold_set_lower_is_the_ceiling():
    capped = fmr_model_for("Dlib", 0.5)
    assert capped.max_threshold == 0.5
    assert threshold_for_gallery(1, MAX_FPIR_TARGET, capped) == 0.5
    assert capped.min_threshold <= capped.max_threshold


def test_per_comparison_rate_inverts_fpir():
    for n in (1, 7, 500):
        assert math.isclose(fpir(n, per_comparison_fmr(n, 0.001)), 0.001, rel_tol=1e-9)


def test_dlib_rebuilt_in_keras_uses_dlibs_calibration():
    assert fmr_model_for("DlibKeras", 0.6) == fmr_model_for("Dlib", 0.6) == DLIB
    assert fmr_model_for("Facenet512", 23.56) is None
