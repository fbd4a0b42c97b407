"""Is a face attempt a presentation attack (a photo, a screen, a replayed still)? Pure rules on
what the pipeline measured in each frame of the kiosk's burst (2-3 frames a few hundred
milliseconds apart). The kiosk's own liveness scores are never trusted: these are the
server's own signs (docs/face-match.md, "Liveness"):

- **re-capture** (``screen``): a face shown on a screen or a print and filmed again carries the
  screen's pixel grid or the print's halftone, which the camera turns into moiré: isolated
  peaks of periodic high-frequency energy in the face's spectrum, far above its natural
  fall-off (``adapters.liveness.screen_score``). A frame scoring over ``max_screen`` is
  suspect.
- **no micro-motion** (``still``): a live face never gives two identical frames; a still image
  fed as the camera (a virtual camera, a replayed frame) does. The aligned faces of
  consecutive frames must differ by at least ``min_motion`` grey levels (mean absolute
  difference) somewhere in the burst.

Burst agreement (every frame identifies the same worker) is an accuracy rule applied by the
identification itself, whatever this policy says.

Policy per tenant: ``off`` (not checked), ``flag`` (the verdict is marked, the attempt goes
on), ``refuse`` (SPOOF_SUSPECTED: the kiosk asks the worker to look at the camera and offers
the PIN).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise

import numpy as np


class LivenessMode(StrEnum):
    OFF = "off"
    FLAG = "flag"
    REFUSE = "refuse"


# Why an attempt is suspect (logged and counted; never shown to the worker).
SCREEN = "screen"
STILL = "still"

# Defaults measured on the sample photos and synthetic re-captures (docs/face-match.md):
# the 35 sample photos at kiosk size scored 0.36-1.82 on screen_score, their synthetic
# screen re-captures mostly 2-5.
DEFAULT_MAX_SCREEN = 2.2
# Identical frames measure exactly 0; any camera's sensor noise alone gives about 1 or more.
DEFAULT_MIN_MOTION = 0.25


@dataclass(frozen=True)
class LivenessPolicy:
    mode: LivenessMode = LivenessMode.REFUSE
    max_screen: float = DEFAULT_MAX_SCREEN
    min_motion: float = DEFAULT_MIN_MOTION


@dataclass(frozen=True)
class FrameSigns:
    """One frame's measurements: ``screen`` = its face's re-capture score (None when it could
    not be measured)."""

    screen: float | None


@dataclass(frozen=True)
class Liveness:
    suspected: bool
    reasons: tuple[str, ...] = ()
    refuse: bool = False  # suspected and the tenant's policy refuses


def assess(
    frames: Sequence[FrameSigns], motion: Sequence[float], policy: LivenessPolicy
) -> Liveness:
    """``frames``: every frame of the burst; ``motion``: the aligned faces' mean absolute
    difference between consecutive frames (empty for a single frame: no motion can be
    judged, so only the re-capture sign applies)."""
    if policy.mode is LivenessMode.OFF:
        return Liveness(False)
    reasons: list[str] = []
    if any(f.screen is not None and f.screen > policy.max_screen for f in frames):
        reasons.append(SCREEN)
    if motion and max(motion) < policy.min_motion:
        reasons.append(STILL)
    suspected = bool(reasons)
    return Liveness(
        suspected, tuple(reasons), refuse=suspected and policy.mode is LivenessMode.REFUSE
    )


def burst_agrees(worker_ids: Sequence[str | None]) -> bool:
    """Every frame of the burst identified one and the same worker."""
    return bool(worker_ids) and None not in worker_ids and len(set(worker_ids)) == 1


def motion(grey_a: np.ndarray, grey_b: np.ndarray) -> float:
    """Mean absolute difference (grey levels) of two aligned grey faces of one size: 0 for the
    same image twice, about 1 or more for any real camera's sensor noise alone."""
    if grey_a.shape != grey_b.shape:
        return float("inf")
    difference = np.abs(grey_a.astype(np.float32) - grey_b.astype(np.float32))
    return round(float(difference.mean()), 3)


def burst_motion(chips: Sequence[np.ndarray | None]) -> list[float]:
    """``motion`` between each two consecutive frames of a burst that both have a face."""
    return [motion(a, b) for a, b in pairwise(chips) if a is not None and b is not None]
