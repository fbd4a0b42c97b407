"""A tenant's evidence policy (issue 17, "PIN sharing caught"): refuse PIN and card punches
whose photo is not the worker's face.

The kiosk app takes a photo at every PIN and card punch where the tenant keeps them; the edge
publishes it beside the attempt and marks the attempt's context (``evidence_photo``);
face-match compares it 1:1 with the worker's enrolled face once identity has named the worker,
and publishes its check. With the policy on (off by default), punch does not decide such a
verdict at once:

1. it **waits for the check** (the verdict is parked durably, its offset committed) while the
   verdict is younger than the evidence wait (default 5 s) and no check has arrived;
2. a check of ``FACE_NOT_WORKERS`` (another face) or ``NO_FACE`` (nobody, several faces, an
   unreadable photo) **refuses** the punch, ``FACE_CHECK_FAILED`` (the kiosk: "Please look at
   the camera"); ``FACE_MATCHED`` or ``NOT_ENROLLED`` (nothing to compare with) does not;
3. no check within the wait (face-match slow or down, the tenant keeps no photos after all):
   the punch is decided without one — the policy **fails open**, so a face-match outage never
   stops a workforce from punching; a check that comes later is still kept as the report's
   flag.

A face punch, a hardware clock's punch and an attempt without a photo are never held.
"""

from __future__ import annotations

from datetime import timedelta

from .model import Method

# The checks that mean "the photo is not the worker's face".
REFUSED_CHECKS = frozenset({"FACE_NOT_WORKERS", "NO_FACE"})
# The methods whose punches carry a photo of their own to check.
CHECKED_METHODS = frozenset({Method.PIN, Method.CARD})


def refuses(*, policy_on: bool, check: str | None) -> bool:
    """Whether the tenant's policy refuses a punch (``FACE_CHECK_FAILED``) on its photo's
    check (``None``: none arrived within the wait — the policy fails open)."""
    return policy_on and check in REFUSED_CHECKS


def has_photo(*, method: Method | None, photo: bool) -> bool:
    """Whether a punch carries a photo of its own for face-match to check: a PIN or card
    attempt the edge published a photo with."""
    return photo and method in CHECKED_METHODS


def awaits_check(
    *,
    policy_on: bool,
    method: Method | None,
    photo: bool,
    checked: bool,
    age: timedelta,
    wait: timedelta,
) -> bool:
    """Whether a verdict waits for face-match's check of its photo (rule 1 above): the policy
    is on, a PIN or card punch has a photo, no check yet, and the verdict is younger than the
    wait."""
    return policy_on and has_photo(method=method, photo=photo) and not checked and age < wait
