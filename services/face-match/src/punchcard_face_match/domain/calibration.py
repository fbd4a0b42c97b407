"""The match threshold of a 1:N search, derived from the size of what it searches.

A 1:N search compares a frame with every template it searches; a stranger (or a worker who is
not enrolled, or not assigned to the clock) is accepted if *any* of them falls under the
threshold. With a false-match rate FMR(t) per comparison, the false-positive identification
rate of a search over n templates is, treating the comparisons as independent (every
template counts: in the impostor tail of the sample photos a worker's 3 templates drew 3.7
times the false matches of 1, bench/face_accuracy.py),

    FPIR(n, t) = 1 - (1 - FMR(t)) ** n

so the threshold that holds FPIR at the tenant's target is the one where
FMR(t) = 1 - (1 - target) ** (1 / n). FMR(t) comes from a model of the impostor distances, a
normal distribution ``FmrModel`` whose parameters are fitted by ``bench/face_accuracy.py``
(docs/face-match.md, "Calibration": the source of every number). When that threshold falls
under the model's ``min_threshold`` (below it genuine workers would be refused too often to be
usable), no threshold serves: the clock verifies faces 1:1 (the Employee ID first, then the
face), ``threshold_for_gallery`` answers None.

1:1 verification is the same rule for n = 1. Pure functions; the standard library's normal
distribution, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

from .decision import embedding_model

_NORMAL = NormalDist()

# The tenant's target for the false-positive identification rate, per attempt, and its bounds
# (a setting: ``face_fpir_target``). 0.1 % per attempt by default (issue 17). At the lowest
# target a worker's own 5 templates (a 1:1 check) still get a usable threshold.
DEFAULT_FPIR_TARGET = 0.001
MIN_FPIR_TARGET = 0.0002
MAX_FPIR_TARGET = 0.01


@dataclass(frozen=True)
class FmrModel:
    """False-match rate per comparison at a euclidean distance threshold t:
    FMR(t) = Phi((t - impostor_mean) / impostor_sd), the lower tail of a normal fitted to the
    distances between different people's faces.

    ``min_threshold``: below it, the model of genuine distances refuses more than the usable
    share of genuine frames (a 1:N search would then fail the workers, not just strangers).
    ``max_threshold``: never above it (the model's 1:1 value, or MATCH_THRESHOLD)."""

    impostor_mean: float
    impostor_sd: float
    min_threshold: float
    max_threshold: float

    def __post_init__(self) -> None:
        if self.impostor_sd <= 0:
            raise ValueError("impostor_sd must be positive")
        if not 0 < self.min_threshold <= self.max_threshold:
            raise ValueError("0 < min_threshold <= max_threshold")

    def fmr(self, threshold: float) -> float:
        """The false-match rate per comparison at ``threshold``."""
        return _NORMAL.cdf((threshold - self.impostor_mean) / self.impostor_sd)

    def threshold_at(self, fmr: float) -> float:
        """The threshold whose false-match rate per comparison is ``fmr``."""
        if not 0 < fmr < 1:
            raise ValueError(f"a rate is in (0, 1), got {fmr}")
        return self.impostor_mean + self.impostor_sd * _NORMAL.inv_cdf(fmr)

    def capped(self, max_threshold: float) -> FmrModel:
        """The same model under a lower ceiling (an operator's MATCH_THRESHOLD)."""
        ceiling = min(self.max_threshold, max_threshold)
        return FmrModel(
            self.impostor_mean, self.impostor_sd, min(self.min_threshold, ceiling), ceiling
        )


# Dlib's ResNet (128-d, euclidean), the model face-match runs by default. Every number is
# derived in docs/face-match.md ("Calibration") and printed by bench/face_accuracy.py:
# - impostor_sd 0.085: the standard deviation of the 35,775 distances between different people
#   of the sample photos (33 photos of 7 people at kiosk size, each also turned, flipped,
#   lightened, darkened, dimmed and JPEG-compressed; 0.085), the larger of it and the slope of
#   a normal fitted to their lowest 5 % (0.070): the wider spread gives the heavier tail;
# - impostor_mean 0.791: put where FMR(0.6) is the error dlib's author published for 0.6 on
#   LFW, 99.38 % accuracy on balanced pairs, i.e. at most 2 x 0.62 % = 1.24 % false matches
#   when every error is counted as one (0.6 + 2.245 x 0.085). The sample photos show far fewer
#   (0.0056 % under 0.6; their mean is 0.898): the model answers for faces like LFW's and the
#   lookalikes of issue 17 (0.52-0.58), not only for these seven people;
# - min_threshold 0.45: where the genuine distances of the same photos (mean 0.365, sd 0.052,
#   6,129 pairs of different photos of one person) refuse 5 % of single comparisons
#   (0.365 + 1.645 x 0.052 = 0.451): below it a worker is refused too often for 1:N.
# - max_threshold 0.6: dlib's 1:1 value (DEFAULT_THRESHOLDS), or MATCH_THRESHOLD if lower.
DLIB = FmrModel(impostor_mean=0.791, impostor_sd=0.085, min_threshold=0.45, max_threshold=0.6)
FMR_MODELS = {"Dlib": DLIB}


def fmr_model_for(model_name: str, match_threshold: float) -> FmrModel | None:
    """The calibrated model of ``model_name`` under the threshold in force, or None where no
    calibration exists (another recognition model: its fixed threshold is used, as before)."""
    model = FMR_MODELS.get(embedding_model(model_name))
    return model.capped(match_threshold) if model is not None else None


def check_fpir_target(target: float) -> None:
    if not MIN_FPIR_TARGET <= target <= MAX_FPIR_TARGET:
        raise ValueError(f"an FPIR target is within [{MIN_FPIR_TARGET}, {MAX_FPIR_TARGET}]")


def fpir(n: int, fmr: float) -> float:
    """The chance that a search over ``n`` templates falsely matches one of them."""
    return -math.expm1(n * math.log1p(-fmr)) if n > 0 else 0.0


def per_comparison_fmr(n: int, target_fpir: float) -> float:
    """The false-match rate per comparison that gives ``target_fpir`` over ``n`` templates."""
    return -math.expm1(math.log1p(-target_fpir) / max(n, 1))


def threshold_for_gallery(n: int, target_fpir: float, fmr_model: FmrModel) -> float | None:
    """The threshold of a search over ``n`` templates that keeps the false-positive
    identification rate at ``target_fpir`` (never above the model's ceiling); None when it
    would be under the model's usable minimum: the search must be 1:1 instead."""
    if not 0 < target_fpir < 1:
        raise ValueError(f"an FPIR target is in (0, 1), got {target_fpir}")
    if n < 0:
        raise ValueError("a gallery size is >= 0")
    threshold = min(
        fmr_model.threshold_at(per_comparison_fmr(n, target_fpir)), fmr_model.max_threshold
    )
    return threshold if threshold >= fmr_model.min_threshold else None


def largest_gallery(target_fpir: float, fmr_model: FmrModel) -> int:
    """The most templates a 1:N search may cover at ``target_fpir`` (beyond: 1:1)."""
    fmr = fmr_model.fmr(fmr_model.min_threshold)
    return max(0, math.floor(math.log1p(-target_fpir) / math.log1p(-fmr)))


@dataclass(frozen=True)
class SearchPlan:
    """How a search runs: over ``workers`` enrolled workers holding ``templates`` templates,
    at ``threshold``; None: too many for a 1:N search at the target, the clock verifies 1:1."""

    workers: int
    templates: int
    threshold: float | None
    fpir_target: float

    @property
    def one_to_one(self) -> bool:
        return self.threshold is None


def search_plan(
    workers: int,
    templates: int,
    fpir_target: float,
    fmr_model: FmrModel | None,
    fixed_threshold: float,
) -> SearchPlan:
    """The threshold of a search over ``templates`` templates (of ``workers`` workers): from the
    calibrated model, or the fixed threshold where the recognition model has none (never 1:1
    then: nothing says when to switch)."""
    threshold = (
        threshold_for_gallery(templates, fpir_target, fmr_model)
        if fmr_model is not None
        else fixed_threshold
    )
    return SearchPlan(workers, templates, threshold, fpir_target)


def verification_threshold(
    templates: int, fpir_target: float, fmr_model: FmrModel | None, fixed_threshold: float
) -> float:
    """1:1 (the Employee ID given): the frame is compared with that worker's ``templates``
    only, the same rule with n = their templates. Within the target's bounds a worker's 5
    templates always get a threshold; should a model's ceiling leave none, its minimum."""
    if fmr_model is None:
        return fixed_threshold
    threshold = threshold_for_gallery(max(templates, 1), fpir_target, fmr_model)
    return threshold if threshold is not None else fmr_model.min_threshold
