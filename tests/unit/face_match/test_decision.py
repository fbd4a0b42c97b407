"""The match decision: threshold, margin to the runner-up, 1:1 verification."""

import pytest
from punchcard_face_match.domain import decision
from punchcard_face_match.domain.decision import MatchPolicy, decide, threshold_for, verify

POLICY = MatchPolicy(threshold=0.6, margin=0.05)


def test_the_nearest_worker_within_the_threshold_and_clear_of_the_runner_up_matches():
    result = decide([("w1", 0.35), ("w2", 0.72)], POLICY)
    assert (result.outcome, result.worker_id) == (decision.MATCH, "w1")
    assert result.distance == pytest.approx(0.35)
    assert result.margin == pytest.approx(0.37)


def test_a_best_candidate_beyond_the_threshold_is_no_match_and_names_no_one():
    result = decide([("w1", 0.61), ("w2", 0.9)], POLICY)
    assert result.outcome == decision.NO_MATCH
    assert result.worker_id is None
    assert result.distance == pytest.approx(0.61)


def test_two_workers_too_close_to_each_other_is_ambiguous_not_a_guess():
    result = decide([("w1", 0.40), ("w2", 0.43)], POLICY)
    assert result.outcome == decision.AMBIGUOUS
    assert result.worker_id is None
    assert result.margin == pytest.approx(0.03)


def test_a_gallery_of_one_worker_needs_no_margin():
    result = decide([("w1", 0.5)], POLICY)
    assert (result.outcome, result.worker_id, result.margin) == (decision.MATCH, "w1", None)


def test_an_empty_gallery_matches_no_one():
    result = decide([], POLICY)
    assert (result.outcome, result.distance) == (decision.NO_MATCH, None)


def test_the_threshold_itself_still_matches():
    assert decide([("w1", 0.6)], POLICY).outcome == decision.MATCH


def test_one_to_one_checks_only_the_claimed_worker():
    assert verify("w1", 0.55, POLICY).worker_id == "w1"
    assert verify("w1", 0.55, POLICY).one_to_one
    assert verify("w1", 0.65, POLICY).outcome == decision.NO_MATCH
    # Not enrolled: no distance at all.
    assert verify("w1", None, POLICY).outcome == decision.NO_MATCH


def test_thresholds_default_per_model_and_other_models_must_be_configured():
    assert threshold_for("Dlib", None) == 0.6
    assert threshold_for("Dlib", 0.5) == 0.5
    with pytest.raises(ValueError, match="MATCH_THRESHOLD"):
        threshold_for("SomeNewModel", None)


def test_a_face_already_enrolled_for_another_worker_is_found():
    assert decision.enrolled_as_other("w1", [("w1", 0.1), ("w2", 0.5)], 0.6) == "w2"
    assert decision.enrolled_as_other("w1", [("w2", 0.6)], 0.6) == "w2"
    # Re-enrolling the same worker, or a face nobody else has: nothing in the way.
    assert decision.enrolled_as_other("w1", [("w1", 0.0), ("w2", 0.61)], 0.6) is None
    assert decision.enrolled_as_other("w1", [], 0.6) is None


def test_a_confirmed_lookalike_found_at_1_to_n_needs_the_employee_id():
    twins = {"w1", "w2"}
    matched = [("w1", 0.35), ("w3", 0.72)]
    assert decision.needs_one_to_one(decide(matched, POLICY), matched, twins) is True
    assert decision.needs_one_to_one(decide(matched, POLICY), matched, {"w3"}) is False
    close = [("w2", 0.40), ("w1", 0.42)]
    assert decision.needs_one_to_one(decide(close, POLICY), close, twins) is True
    stranger = [("w1", 0.65)]
    assert decision.needs_one_to_one(decide(stranger, POLICY), stranger, twins) is False
    assert decision.needs_one_to_one(decide([], POLICY), [], twins) is False


def test_dlib_rebuilt_in_keras_computes_dlibs_embeddings_so_shares_its_threshold():
    assert decision.embedding_model("DlibKeras") == "Dlib"
    assert decision.embedding_model("Facenet512") == "Facenet512"
    assert threshold_for("DlibKeras", None) == threshold_for("Dlib", None) == 0.6
    assert threshold_for("DlibKeras", 0.5) == 0.5
