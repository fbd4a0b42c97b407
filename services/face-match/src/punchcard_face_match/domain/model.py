"""face-match's entities and value objects: workers as face-match knows them (identity's
projection), a worker's template set, the tenant's face settings, and what the face pipeline
found in one frame. Pure data: numpy arrays, no driver, no model."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

import numpy as np

from .calibration import DEFAULT_FPIR_TARGET
from .liveness import DEFAULT_MAX_SCREEN, DEFAULT_MIN_MOTION, LivenessMode, LivenessPolicy


class WorkerStatus(StrEnum):
    """A worker's status as identity publishes it (the proto's ``WORKER_STATUS_*`` by name;
    stored as these values)."""

    PENDING = "Pending"
    ACTIVE = "Active"
    INACTIVE = "Inactive"


@dataclass(frozen=True)
class Worker:
    """A worker of face-match's projection. ``site_id`` None: not known yet (only a
    sysadmin acts on such a worker)."""

    id: str
    employee_id: str
    status: WorkerStatus
    site_id: str | None = None


class FaceOutcome(StrEnum):
    """What the pipeline found in a frame."""

    OK = "ok"
    INVALID_FRAME = "invalid_frame"
    NO_FACE = "no_face"
    MULTIPLE_FACES = "multiple_faces"


@dataclass
class Face:
    """What the pipeline found in one frame. ``embedding`` is set when ``outcome`` is OK."""

    outcome: FaceOutcome
    faces: int = 0
    embedding: np.ndarray | None = None
    # Face width in the frame's own pixels; sharpness = variance of the Laplacian of the
    # aligned grey face; brightness = its mean (0-255). Enrolment judges a photo by them.
    face_px: int = 0
    sharpness: float = 0.0
    brightness: float = 0.0
    # Presentation-attack signs (adapters.liveness): the face's re-capture score (None: not
    # measured) and its aligned grey face, compared with the burst's other frames.
    screen: float | None = None
    grey_chip: np.ndarray | None = None
    # Milliseconds per stage: decode, detect, align, embed (embed: this frame's share of the
    # batch call).
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredTemplate:
    template_id: str
    embedding: np.ndarray
    quality: float
    face_px: int
    created_at: datetime
    photo_kept: bool = False


@dataclass(frozen=True)
class TemplateSet:
    worker_id: str
    model_name: str
    dims: int
    revision: int
    updated_at: datetime
    templates: list[StoredTemplate]
    # A confirmed lookalike of another worker: identified 1:1 only (domain.decision).
    verify_one_to_one: bool = False


@dataclass(frozen=True)
class NewTemplate:
    embedding: np.ndarray
    quality: float
    face_px: int
    photo: bytes | None = None
    content_type: str = "image/jpeg"


@dataclass(frozen=True)
class FaceSettings:
    """A tenant's face settings. ``search_assigned_only``: a 1:N search covers only the
    clock's assigned workers; ``face_fpir_target``: the false-positive identification rate per
    attempt the 1:N threshold is derived for (domain.calibration); ``liveness_*``: the
    presentation-attack policy (domain.liveness); ``evidence_photos``: keep an encrypted photo
    of every punch for ``evidence_retention_days`` (domain.evidence)."""

    keep_photos: bool = False
    search_assigned_only: bool = False
    face_fpir_target: float = DEFAULT_FPIR_TARGET
    liveness_mode: LivenessMode = LivenessMode.REFUSE
    liveness_max_screen: float = DEFAULT_MAX_SCREEN
    liveness_min_motion: float = DEFAULT_MIN_MOTION
    # Keep a photo of every punch (issue 17; domain.evidence), for so many days.
    evidence_photos: bool = False
    evidence_retention_days: int = 30

    @property
    def liveness(self) -> LivenessPolicy:
        return LivenessPolicy(
            LivenessMode(self.liveness_mode), self.liveness_max_screen, self.liveness_min_motion
        )


@dataclass(frozen=True)
class EvidencePhoto:
    """A punch's evidence photo as stored: ``sealed`` the encrypted JPEG (None: the punch's
    worker is known, its photo not here yet), ``worker_id`` None: the punch not decided yet."""

    attempt_id: str
    clock_id: str | None
    method: str | None
    worker_id: str | None
    sealed: bytes | None
    kept_at: datetime | None
    expires_at: datetime
    check: str | None = None
    distance: float | None = None
    threshold: float | None = None
