"""Evidence photos of punches (issue 17): the tenant's policy, how long a photo is kept, and
what the 1:1 comparison of a PIN or card punch's photo with the worker's templates means.

A tenant may keep a photo of every punch (``evidence_photos``, off by default). The kiosk app
then captures a frame at every punch, PIN and card punches included; face-match keeps it
encrypted, keyed by the punch's attempt id, for ``evidence_retention_days`` (default 30, from
1 to 365), and deletes it then, with the worker's biometric data, or on the tenant's request.

PIN sharing caught: when the worker of a PIN or card punch has an enrolled face, the photo is
compared 1:1 with that worker's templates, at the 1:1 threshold their own templates get (the
same rule as a 1:1 face punch). Two outcomes are flags on the punch: FACE_NOT_WORKERS (a face,
not the worker's) and NO_FACE (nobody, or not one person, in front of the camera).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from punchcard_kit.errors import Invalid

from .model import FaceOutcome

DEFAULT_RETENTION_DAYS = 30
MIN_RETENTION_DAYS = 1
MAX_RETENTION_DAYS = 365
# A punch's verdict may reach face-match before its photo (two topics, no order between them):
# the worker is noted and waits this long for the photo before it is dropped.
PENDING_PHOTO_WAIT = timedelta(days=1)
# What a kiosk may send: the same bound as a face attempt's frame.
MAX_PHOTO_BYTES = 512 * 1024
CHECKED_METHODS = frozenset({"PIN", "CARD"})


class EvidenceCheck(StrEnum):
    """What the 1:1 comparison found (the proto's ``EVIDENCE_CHECK_*`` by name)."""

    FACE_MATCHED = "FACE_MATCHED"
    FACE_NOT_WORKERS = "FACE_NOT_WORKERS"
    NO_FACE = "NO_FACE"
    NOT_ENROLLED = "NOT_ENROLLED"


#: The outcomes that flag a punch (the suspicious-PIN report ranks them first).
FLAGS = frozenset({EvidenceCheck.FACE_NOT_WORKERS, EvidenceCheck.NO_FACE})


def check_retention_days(days: int) -> int:
    """A tenant's retention: whole days within [1, 365]."""
    if isinstance(days, bool) or not isinstance(days, int):
        raise Invalid(
            "evidence_retention_days must be a whole number of days", "evidence_retention_days"
        )
    if not MIN_RETENTION_DAYS <= days <= MAX_RETENTION_DAYS:
        raise Invalid(
            f"evidence_retention_days must be between {MIN_RETENTION_DAYS} and "
            f"{MAX_RETENTION_DAYS}",
            "evidence_retention_days",
        )
    return days


def expires_at(kept_at: datetime, retention_days: int) -> datetime:
    """When a photo kept at ``kept_at`` is deleted."""
    return kept_at + timedelta(days=retention_days)


def is_checked(method: str) -> bool:
    """Only a PIN or card punch's photo is compared with the worker's templates (a face
    punch's frame was the comparison)."""
    return method in CHECKED_METHODS


def judge(
    outcome: FaceOutcome, enrolled: bool, distance: float | None, threshold: float
) -> EvidenceCheck:
    """The 1:1 check of a photo: ``outcome`` what the pipeline found in it, ``enrolled``
    whether the worker has templates, ``distance`` the nearest of them (set when a face was
    found and the worker is enrolled). Nothing is compared for a worker without a face."""
    if not enrolled:
        return EvidenceCheck.NOT_ENROLLED
    if outcome is not FaceOutcome.OK:
        # No face, several faces, or a frame that is no image: nobody to see at the camera.
        return EvidenceCheck.NO_FACE
    if distance is None:
        return EvidenceCheck.NOT_ENROLLED
    if distance <= threshold:
        return EvidenceCheck.FACE_MATCHED
    return EvidenceCheck.FACE_NOT_WORKERS
