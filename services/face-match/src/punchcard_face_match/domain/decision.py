"""The match decision: who, if anyone, is in the frame.

1:N (no Employee ID): the nearest worker must be within ``threshold`` and the runner-up (the
nearest *other* worker) at least ``margin`` farther away. Two workers both close to the frame is
AMBIGUOUS, never a guess. 1:1 (the kiosk sent an Employee ID): the frame must be within
``threshold`` of that worker's templates; no margin, since no one else is compared.

Distances are euclidean between embeddings. The default threshold for the Dlib model is 0.6,
the value dlib's author chose on LFW (99.38 % accuracy) rather than one fitted to our photos;
docs/face-match.md records what it gives on the sample faces.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

# Documented defaults per model (euclidean distance on the model's raw embeddings). Other
# models need MATCH_THRESHOLD set from their own evaluation.
DEFAULT_THRESHOLDS = {"Dlib": 0.6, "Facenet": 10.0, "Facenet512": 23.56, "ArcFace": 4.15}

# A model rebuilt in another framework from the same weights gives the same embeddings (dlib's
# ResNet as a Keras model: within 1e-4 of dlib's, tests/integration/face_match/
# test_dlib_keras.py). Its templates, threshold and calibration are the original model's, so
# a replica switched from one to the other keeps every enrolled worker.
SAME_EMBEDDINGS = {"DlibKeras": "Dlib"}


def embedding_model(model_name: str) -> str:
    """The model whose embeddings ``model_name`` computes: the name templates are recorded
    under, galleries are kept under and thresholds are looked up by."""
    return SAME_EMBEDDINGS.get(model_name, model_name)


class Outcome(StrEnum):
    MATCH = "MATCH"
    NO_MATCH = "NO_MATCH"
    AMBIGUOUS = "AMBIGUOUS"


MATCH = Outcome.MATCH
NO_MATCH = Outcome.NO_MATCH
AMBIGUOUS = Outcome.AMBIGUOUS


@dataclass(frozen=True)
class MatchPolicy:
    threshold: float
    margin: float
    metric: str = "euclidean"


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    worker_id: str | None  # only for MATCH: a rejection names no candidate
    distance: float | None  # best candidate's distance (None: empty gallery)
    margin: float | None  # runner-up distance - best distance (None: no runner-up)
    one_to_one: bool = False


def threshold_for(model_name: str, configured: float | None) -> float:
    if configured is not None:
        return configured
    try:
        return DEFAULT_THRESHOLDS[embedding_model(model_name)]
    except KeyError:
        raise ValueError(
            f"no default match threshold for the model {model_name!r}: set MATCH_THRESHOLD"
        ) from None


def decide(candidates: list[tuple[str, float]], policy: MatchPolicy) -> Decision:
    """``candidates``: the nearest workers, nearest first (the gallery gives the best two)."""
    if not candidates:
        return Decision(NO_MATCH, None, None, None)
    best_id, best = candidates[0]
    margin = candidates[1][1] - best if len(candidates) > 1 else None
    if best > policy.threshold:
        return Decision(NO_MATCH, None, best, margin)
    if margin is not None and margin < policy.margin:
        return Decision(AMBIGUOUS, None, best, margin)
    return Decision(MATCH, best_id, best, margin)


def needs_one_to_one(
    result: Decision, candidates: list[tuple[str, float]], one_to_one_only: Collection[str]
) -> bool:
    """1:N: a confirmed lookalike (an admin enrolled two workers knowing their faces match,
    twins say) is never identified by face alone. When the search's best candidate is one and
    the frame is within the threshold (MATCH or AMBIGUOUS), the attempt is answered
    EMPLOYEE_ID_REQUIRED: the kiosk asks for the Employee ID and verifies 1:1. A frame that
    matches no one stays NO_MATCH."""
    if result.outcome is NO_MATCH or not candidates:
        return False
    return candidates[0][0] in one_to_one_only


def verify(worker_id: str, distance: float | None, policy: MatchPolicy) -> Decision:
    """1:1: the claimed worker's own distance (None when they have no templates)."""
    if distance is None or distance > policy.threshold:
        return Decision(NO_MATCH, None, distance, None, one_to_one=True)
    return Decision(MATCH, worker_id, distance, None, one_to_one=True)


def enrolled_as_other(
    worker_id: str, nearest: list[tuple[str, float]], threshold: float
) -> str | None:
    """Enrolling a face for ``worker_id``: another worker whose templates already match it
    (``nearest``: the gallery's nearest workers), or None. One person enrolled as two workers
    — say an admin enrolling their own face as someone else — could punch for both."""
    for other, distance in nearest:
        if other != worker_id and distance <= threshold:
            return other
    return None
