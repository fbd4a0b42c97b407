"""The enrolment rules: when an upload of photos may become a worker's face templates.

An upload holds 1 to ``MAX_PHOTOS`` photos, each a JPEG or PNG file of at most the configured
size whose header declares at most the configured number of pixels (checked before anything is
decoded). Each photo must show exactly one face of usable size, sharpness and light
(``quality``); the photos must show one person (every pair within the match threshold); and
that face must not already match another enrolled worker of the tenant (one person enrolled
as two workers could punch for both). An inactive worker cannot be enrolled. Any refusal
refuses the whole upload, with the reason for each photo.

Pure functions: they raise the kit's domain errors with today's codes, messages and fields."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from punchcard_kit.errors import Conflict, Invalid, TooLarge

from . import quality
from .decision import enrolled_as_other
from .model import Face, FaceOutcome, Worker, WorkerStatus
from .quality import QualityPolicy

MAX_PHOTOS = 5
_IMAGE_TYPES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}
# What the pipeline found, as the reason an admin reads (quality judges a single face).
_FRAME_REASONS = {
    FaceOutcome.INVALID_FRAME: quality.INVALID_IMAGE,
    FaceOutcome.NO_FACE: quality.NO_FACE,
    FaceOutcome.MULTIPLE_FACES: quality.MULTIPLE_FACES,
}


@dataclass(frozen=True)
class PhotoVerdict:
    """One photo judged: accepted with its quality score, or refused with a reason."""

    index: int
    filename: str
    reason: str | None = None
    message: str | None = None
    quality: float | None = None

    @property
    def accepted(self) -> bool:
        return self.reason is None

    def as_dict(self) -> dict:
        verdict: dict = {"index": self.index, "filename": self.filename, "accepted": self.accepted}
        if self.reason is not None:
            verdict.update(reason=self.reason, message=self.message)
        else:
            verdict["quality"] = self.quality
        return verdict


class PhotosRefused(Invalid):
    """The upload is refused for what the photos show (``PHOTO_REFUSED``, ``PHOTOS_DIFFER``);
    ``photos`` holds the verdict on each photo."""

    def __init__(self, message: str, *, code: str, photos: Sequence[PhotoVerdict]) -> None:
        super().__init__(message, "photos", code=code)
        self.photos = list(photos)

    def body(self) -> dict:
        return {**super().body(), "photos": [verdict.as_dict() for verdict in self.photos]}


def image_type(content: bytes) -> str | None:
    """The content type of a JPEG or PNG file (by its magic bytes), None for anything else."""
    for magic, content_type in _IMAGE_TYPES.items():
        if content.startswith(magic):
            return content_type
    return None


def check_photo_count(count: int) -> None:
    if not 1 <= count <= MAX_PHOTOS:
        raise Invalid(f"upload 1 to {MAX_PHOTOS} photos (got {count})", "photos")


def _named(index: int, filename: str) -> str:
    return f"photo {index + 1} ({filename})"


def check_photo_bytes(index: int, filename: str, content: bytes, max_photo_bytes: int) -> None:
    """A photo's file is at most ``max_photo_bytes`` (413 PHOTO_TOO_LARGE)."""
    if len(content) > max_photo_bytes:
        raise TooLarge(
            f"{_named(index, filename)} is over {max_photo_bytes // (1024 * 1024)} MiB",
            f"photos[{index}]",
            code="PHOTO_TOO_LARGE",
        )


def check_photo_header(
    index: int,
    filename: str,
    content: bytes,
    declared_size: tuple[int, int] | None,
    policy: QualityPolicy,
) -> None:
    """A JPEG or PNG whose header could be read (``declared_size``), declaring at most
    ``policy.max_pixels``: a decompression bomb is refused before it is decoded."""
    if image_type(content) is None or declared_size is None:
        raise Invalid(
            f"{_named(index, filename)}: " + quality.message(quality.INVALID_IMAGE),
            f"photos[{index}]",
            code=quality.INVALID_IMAGE,
        )
    if not quality.within_pixel_cap(*declared_size, policy.max_pixels):
        raise Invalid(
            f"{_named(index, filename)}: "
            + quality.message(quality.IMAGE_TOO_LARGE, policy=policy),
            f"photos[{index}]",
            code=quality.IMAGE_TOO_LARGE,
        )


def check_enrollable(worker: Worker) -> None:
    if worker.status is WorkerStatus.INACTIVE:
        raise Conflict("an inactive worker cannot be enrolled", "worker_id", code="WORKER_INACTIVE")


def judge_photo(index: int, filename: str, face: Face, policy: QualityPolicy) -> PhotoVerdict:
    """Does what the pipeline found in this photo make a template?"""
    reason = _FRAME_REASONS.get(face.outcome) or quality.problem(
        face.face_px, face.sharpness, face.brightness, policy
    )
    if reason is not None:
        return PhotoVerdict(
            index, filename, reason=reason, message=quality.message(reason, face.face_px, policy)
        )
    return PhotoVerdict(
        index,
        filename,
        quality=quality.score(face.face_px, face.sharpness, face.brightness, policy),
    )


def judge_photos(
    filenames: Sequence[str], faces: Sequence[Face], policy: QualityPolicy
) -> list[PhotoVerdict]:
    """Every photo judged; refuses the upload (422 PHOTO_REFUSED, naming the first refused
    photo) unless each is accepted."""
    verdicts = [
        judge_photo(index, filename, face, policy)
        for index, (filename, face) in enumerate(zip(filenames, faces, strict=True))
    ]
    first = next((v for v in verdicts if not v.accepted), None)
    if first is not None:
        raise PhotosRefused(
            f"{_named(first.index, first.filename)}: {first.message}",
            code="PHOTO_REFUSED",
            photos=verdicts,
        )
    return verdicts


def differing_pair(embeddings: Sequence[np.ndarray], threshold: float) -> tuple[int, int] | None:
    """The first pair of photos (by index) farther apart than ``threshold``, or None when the
    photos show one person."""
    for (i, a), (j, b) in combinations(enumerate(embeddings), 2):
        if float(np.linalg.norm(a - b)) > threshold:
            return i, j
    return None


def check_one_person(
    embeddings: Sequence[np.ndarray], threshold: float, verdicts: Sequence[PhotoVerdict]
) -> None:
    """The photos show one person (422 PHOTOS_DIFFER otherwise)."""
    pair = differing_pair(embeddings, threshold)
    if pair is not None:
        i, j = pair
        raise PhotosRefused(
            f"photos {i + 1} and {j + 1} do not show the same person",
            code="PHOTOS_DIFFER",
            photos=verdicts,
        )


class EnrolledAsOther(Conflict):
    """409 FACE_ENROLLED_AS_OTHER; ``confirmable``: whether this caller may enrol the face
    anyway as a confirmed lookalike (``may_confirm_lookalike``)."""

    def __init__(self, message: str, *, confirmable: bool) -> None:
        super().__init__(message, "photos", code="FACE_ENROLLED_AS_OTHER")
        self.confirmable = confirmable

    def body(self) -> dict:
        return {**super().body(), "confirmable": self.confirmable}


def may_confirm_lookalike(role: str) -> bool:
    """Only a sysadmin may enrol a face that matches another worker's (twins, lookalikes):
    they see every worker of the tenant, so they can tell a twin from a mistake or from one
    person enrolled twice. A manager, or a Manager at a kiosk, cannot."""
    return role == "sysadmin"


def check_not_enrolled_as_other(
    worker_id: str,
    nearest_per_photo: Iterable[list[tuple[str, float]]],
    threshold: float,
    *,
    role: str,
    confirmed: bool = False,
) -> list[str]:
    """The other enrolled workers whose templates match a photo (``nearest_per_photo``: the
    gallery's nearest workers to each photo), sorted. Any such worker refuses the upload
    (409 FACE_ENROLLED_AS_OTHER): one person enrolled as two workers could punch for both.
    A sysadmin who ``confirmed`` that the workers are lookalikes (twins) may enrol anyway;
    both are then identified 1:1 only (``decision.needs_one_to_one``). The other worker is
    not named: they may be at a site the caller does not see."""
    others = sorted(
        {
            other
            for nearest in nearest_per_photo
            if (other := enrolled_as_other(worker_id, nearest, threshold)) is not None
        }
    )
    if others and not (confirmed and may_confirm_lookalike(role)):
        allowed = may_confirm_lookalike(role)
        raise EnrolledAsOther(
            "these photos show a face already enrolled for another worker"
            + (
                "; if they are twins or lookalikes, confirm to enrol both for 1:1"
                " verification (Employee ID, then face)"
                if allowed
                else ""
            ),
            confirmable=allowed,
        )
    return others
