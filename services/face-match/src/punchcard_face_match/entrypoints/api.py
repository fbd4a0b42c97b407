"""face-match's internal API, reached through the gateway (admins):

- ``GET /internal/v1/workers/{id}/face``: the worker's enrolment (enrolled, templates, quality);
- ``PUT /internal/v1/workers/{id}/face``: multipart upload of 1-5 photos (field ``photos``),
  replacing the worker's templates; 422 with the reason for each refused photo;
- ``DELETE /internal/v1/workers/{id}/face``: delete the worker's biometric data everywhere;
- ``GET /internal/v1/face/enrolments``: the tenant's enrolled workers, a page at a time (``limit``,
  ``cursor`` → ``{items, next_cursor}``);
- ``GET|PUT /internal/v1/face/settings``: keep photos, search only a clock's workers, the
  target false-positive identification rate of a 1:N search;
- ``GET /internal/v1/face/clocks/{id}``: how that clock's face search runs (1:N at which
  threshold over how many workers, or 1:1).

No answer ever carries an embedding or a photo. The upload has a body limit of its own (a
setting), so its route is built with it (``upload_router``); the others are on ``router``."""

from __future__ import annotations

import base64
import binascii
from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Path, Query, Response, UploadFile
from punchcard_kit.bounds import JSON_INTEGER, PAGE_MAX, UUID_PATTERN, Limit
from punchcard_kit.credentials import EMPLOYEE_ID_MAX_LENGTH, EMPLOYEE_ID_PATTERN
from punchcard_kit.errors import DomainError, Invalid
from punchcard_kit.http_errors import ErrorPublic, error_responses
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from ..domain.calibration import DEFAULT_FPIR_TARGET, MAX_FPIR_TARGET, MIN_FPIR_TARGET
from ..domain.enrolment import MAX_PHOTOS
from ..domain.evidence import DEFAULT_RETENTION_DAYS, MAX_RETENTION_DAYS, MIN_RETENTION_DAYS
from ..domain.liveness import DEFAULT_MAX_SCREEN, DEFAULT_MIN_MOTION, LivenessMode
from ..domain.model import FaceSettings
from ..service_layer.enrolment import (
    ChangeFaceSettings,
    DeleteFace,
    EnrolAtKiosk,
    EnrolFace,
    Photo,
)
from .deps import CallerDep, ClockCallerDep, FaceMatchDep, RequestIdDep

ID_PATTERN = UUID_PATTERN
WorkerIdItem = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
PathId = Annotated[str, Path(pattern=ID_PATTERN)]
MULTIPART_FRAMING_BYTES = 1024 * 1024
PREFIX = "/internal/v1"
TAGS = ["face"]

router = APIRouter(prefix=PREFIX, tags=TAGS)

# Examples for the OpenAPI (schema metadata only); each is valid for its model (a unit test
# checks them).
WORKER_ID = "6f1c2b1e-3a4d-4c5b-9e8f-1a2b3c4d5e6f"
SETTINGS_EXAMPLE = {
    "keep_photos": False,
    "search_assigned_only": True,
    "face_fpir_target": 0.001,
    "liveness_mode": "refuse",
    "liveness_max_screen": 2.2,
    "liveness_min_motion": 0.25,
    "evidence_photos": True,
    "evidence_retention_days": 30,
}
CLOCK_ID = "9c8b7a6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"
CLOCK_SEARCH_EXAMPLE = {
    "clock_id": CLOCK_ID,
    "mode": "1:N",
    "searches": "assigned",
    "workers": 8,
    "templates": 24,
    "threshold": 0.4589,
    "fpir_target": 0.001,
    "max_templates": 33,
}
FpirTarget = Annotated[
    float,
    Field(
        ge=MIN_FPIR_TARGET,
        le=MAX_FPIR_TARGET,
        strict=True,
        description="False-positive identification rate per 1:N attempt the threshold is"
        " derived for (a stranger accepted as some enrolled worker); 0.001 = 0.1 %",
    ),
]
TEMPLATE_EXAMPLE = {
    "template_id": "5b7d9f1a-3c5e-4a7b-9d1f-2e4a6c8e0b2d",
    "quality": 0.92,
    "face_px": 212,
    "created_at": "2026-03-01T09:12:00+00:00",
    "photo_kept": False,
}
ENROLMENT_EXAMPLE = {
    "worker_id": WORKER_ID,
    "template_count": 3,
    "model_name": "ArcFace",
    "enrolled_at": "2026-03-01T09:12:00+00:00",
}


def _examples(*examples: dict) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples)})


class SettingsBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [SETTINGS_EXAMPLE]})
    keep_photos: StrictBool = False
    search_assigned_only: StrictBool = False
    face_fpir_target: FpirTarget = DEFAULT_FPIR_TARGET
    liveness_mode: Literal["off", "flag", "refuse"] = "refuse"
    liveness_max_screen: Annotated[float, Field(gt=0, le=10, strict=True)] = DEFAULT_MAX_SCREEN
    liveness_min_motion: Annotated[float, Field(ge=0, le=20, strict=True)] = DEFAULT_MIN_MOTION
    # Keep an encrypted photo of every punch (PIN and card punches included), so many days.
    evidence_photos: StrictBool = False
    evidence_retention_days: Annotated[
        int, Field(ge=MIN_RETENTION_DAYS, le=MAX_RETENTION_DAYS), JSON_INTEGER
    ] = DEFAULT_RETENTION_DAYS


class FaceSettingsPublic(BaseModel):
    model_config = _examples(SETTINGS_EXAMPLE)

    keep_photos: bool
    search_assigned_only: bool
    face_fpir_target: float
    liveness_mode: str
    liveness_max_screen: float
    liveness_min_motion: float
    evidence_photos: bool
    evidence_retention_days: int


class ClockFaceSearchPublic(BaseModel):
    """How a face attempt without an Employee ID is searched at this clock. ``mode`` "1:N": at
    ``threshold`` over ``workers`` enrolled workers (``templates`` templates): the clock's
    assigned workers (``searches`` "assigned") or the tenant's (``searches`` "tenant"); "1:1":
    they are more than ``max_templates`` templates, too many for ``fpir_target`` at a usable
    threshold, so the kiosk asks for the Employee ID first (``threshold`` null)."""

    model_config = _examples(CLOCK_SEARCH_EXAMPLE)

    clock_id: str
    mode: str
    searches: str
    workers: int
    templates: int
    threshold: float | None
    fpir_target: float
    max_templates: int | None


class TemplatePublic(BaseModel):
    model_config = _examples(TEMPLATE_EXAMPLE)

    template_id: str
    quality: float
    face_px: int
    created_at: str
    photo_kept: bool


class FaceStatusPublic(BaseModel):
    """A worker's enrolment. ``in_gallery``: this replica searches the current templates."""

    model_config = _examples(
        {
            "worker_id": WORKER_ID,
            "enrolled": True,
            "template_count": 1,
            "model_name": "ArcFace",
            "revision": 2,
            "updated_at": "2026-03-01T09:12:00+00:00",
            "verify_one_to_one": False,
            "templates": [TEMPLATE_EXAMPLE],
            "in_gallery": True,
        }
    )

    worker_id: str
    enrolled: bool
    template_count: int
    model_name: str | None
    revision: int
    updated_at: str | None
    # A confirmed lookalike (twin) of another worker: identified 1:1 only (Employee ID first).
    verify_one_to_one: bool = False
    templates: list[TemplatePublic]
    in_gallery: bool


class EnrolmentPublic(BaseModel):
    model_config = _examples(ENROLMENT_EXAMPLE)

    worker_id: str
    template_count: int
    model_name: str
    enrolled_at: str


class EnrolmentsPublic(BaseModel):
    model_config = _examples({"items": [ENROLMENT_EXAMPLE], "next_cursor": None})

    items: list[EnrolmentPublic]
    # The next page's ``cursor`` (null: this page is the last).
    next_cursor: str | None


class PhotoVerdictPublic(BaseModel):
    index: int
    filename: str
    accepted: bool
    reason: str | None = None
    message: str | None = None
    quality: float | None = None


class UploadRefusedPublic(ErrorPublic):
    """422: INVALID (photo count), INVALID_IMAGE, IMAGE_TOO_LARGE (field ``photos[i]``), or
    PHOTO_REFUSED / PHOTOS_DIFFER with the verdict on each photo (``photos``)."""

    photos: list[PhotoVerdictPublic] | None = None


class LookalikePublic(ErrorPublic):
    """409 FACE_ENROLLED_AS_OTHER: the photos match another enrolled worker (not named);
    ``confirmable``: this caller (a sysadmin) may send the photos again with
    ``confirm_lookalike`` to enrol twins or lookalikes, both then verified 1:1."""

    confirmable: bool | None = None


class KioskEnrolmentIn(BaseModel):
    """One photo taken at a kiosk (the kiosk edge sends it for a Manager signed in there)."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)
    employee_id: Annotated[
        str,
        StringConstraints(
            min_length=1, max_length=EMPLOYEE_ID_MAX_LENGTH, pattern=EMPLOYEE_ID_PATTERN
        ),
    ]
    enrolled_by: Annotated[str, StringConstraints(pattern=ID_PATTERN)] = Field(
        description="The worker signed in at the kiosk (a Manager or Administrator of it)"
    )
    consent: StrictBool = Field(description="The worker agreed on the kiosk's screen")
    frame_jpeg: str = Field(description="One JPEG, base64")


class KioskEnrolmentPublic(FaceStatusPublic):
    model_config = _examples(
        {
            "worker_id": WORKER_ID,
            "employee_id": "E-1002",
            "enrolled": True,
            "template_count": 1,
            "model_name": "ArcFace",
            "revision": 1,
            "updated_at": "2026-03-01T09:12:00+00:00",
            "templates": [TEMPLATE_EXAMPLE],
            "in_gallery": False,
        }
    )

    employee_id: str


def upload_limit(max_photo_bytes: int) -> int:
    """The largest enrolment body: every photo at its largest, plus the multipart framing."""
    return MAX_PHOTOS * max_photo_bytes + MULTIPART_FRAMING_BYTES


@router.get(
    "/workers/{worker_id}/face",
    response_model=FaceStatusPublic,
    responses=error_responses(401, 404),
)
async def face_status(worker_id: PathId, caller: CallerDep, fm: FaceMatchDep) -> dict:
    """The worker's enrolment. ``in_gallery``: this replica searches the current templates
    (every replica follows the templates topic; a change reaches each within a second)."""
    return await fm.views.status(caller, worker_id.lower())


@router.delete(
    "/workers/{worker_id}/face",
    status_code=204,
    response_class=Response,
    response_model=None,
    responses=error_responses(401, 403, 404),
)
async def delete_face(
    worker_id: PathId, caller: CallerDep, fm: FaceMatchDep, request_id: RequestIdDep
) -> Response:
    """Delete the worker's templates (and kept photos) everywhere. Idempotent."""
    await fm.enrolment.delete(DeleteFace(caller, worker_id.lower(), request_id))
    return Response(status_code=204)


@router.get(
    "/face/enrolments", response_model=EnrolmentsPublic, responses=error_responses(401, 422)
)
async def enrolments(
    caller: CallerDep,
    fm: FaceMatchDep,
    limit: Limit = 100,
    cursor: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    worker_id: Annotated[list[WorkerIdItem] | None, Query(max_length=PAGE_MAX)] = None,
) -> dict:
    """The tenant's enrolled workers (a manager: those of their sites), a page of ``limit``
    workers at a time in a fixed order; pass ``next_cursor`` back as ``cursor`` for the next
    page (each worker's templates per model: a worker is never split across pages).
    ``worker_id`` (repeated, up to 500): of those workers only, e.g. whether each worker of a
    page of the workers list is enrolled."""
    items, next_cursor = await fm.views.enrolled(
        caller,
        limit,
        cursor.lower() if cursor else None,
        [w.lower() for w in worker_id] if worker_id is not None else None,
    )
    return {"items": items, "next_cursor": next_cursor}


@router.get("/face/settings", response_model=FaceSettingsPublic, responses=error_responses(401))
async def get_settings(caller: CallerDep, fm: FaceMatchDep) -> dict:
    return asdict(await fm.views.settings(caller))


@router.put(
    "/face/settings", response_model=FaceSettingsPublic, responses=error_responses(401, 403)
)
async def put_settings(body: SettingsBody, caller: CallerDep, fm: FaceMatchDep) -> dict:
    """Turning ``keep_photos`` off deletes the photos already kept."""
    settings = FaceSettings(
        keep_photos=body.keep_photos,
        search_assigned_only=body.search_assigned_only,
        face_fpir_target=body.face_fpir_target,
        liveness_mode=LivenessMode(body.liveness_mode),
        liveness_max_screen=body.liveness_max_screen,
        liveness_min_motion=body.liveness_min_motion,
        evidence_photos=body.evidence_photos,
        evidence_retention_days=body.evidence_retention_days,
    )
    return asdict(await fm.enrolment.change_settings(ChangeFaceSettings(caller, settings)))


@router.get(
    "/face/evidence/{attempt_id}",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}}, "description": "The punch's evidence photo"},
        **error_responses(401, 403, 404),
    },
)
async def evidence_photo(attempt_id: PathId, caller: CallerDep, fm: FaceMatchDep) -> Response:
    """A punch's evidence photo (JPEG), by its attempt id: sysadmins, and managers for the
    workers of their sites (the roles that may change biometric data). 404 when none is kept."""
    photo = await fm.evidence_photos.photo(caller, attempt_id.lower())
    return Response(
        photo,
        media_type="image/jpeg",
        headers={"cache-control": "no-store", "x-content-type-options": "nosniff"},
    )


@router.delete(
    "/face/evidence/{attempt_id}", status_code=204, responses=error_responses(401, 403, 404)
)
async def delete_evidence_photo(
    attempt_id: PathId, caller: CallerDep, fm: FaceMatchDep
) -> Response:
    """Deletes one punch's evidence photo (sysadmins)."""
    await fm.evidence_photos.delete(caller, attempt_id.lower())
    return Response(status_code=204)


class EvidencePolicyPublic(BaseModel):
    model_config = _examples({"evidence_photos": True})

    evidence_photos: bool


@router.get(
    "/kiosk/evidence-policy",
    response_model=EvidencePolicyPublic,
    responses=error_responses(401, 403),
)
async def evidence_policy(caller: ClockCallerDep, fm: FaceMatchDep) -> dict:
    """Whether the clock's tenant keeps a photo of every punch (clocks only: the kiosk edge
    tells its app to capture one at PIN and card punches)."""
    return {"evidence_photos": await fm.evidence_photos.policy(caller.tenant_id)}


class EvidenceDeletedPublic(BaseModel):
    model_config = _examples({"deleted": 42})

    deleted: int


@router.delete(
    "/face/evidence",
    response_model=EvidenceDeletedPublic,
    responses=error_responses(401, 403),
)
async def delete_all_evidence(caller: CallerDep, fm: FaceMatchDep) -> dict:
    """Deletes every evidence photo of the tenant, on its request (sysadmins)."""
    return {"deleted": await fm.evidence_photos.delete(caller, None)}


@router.get(
    "/face/clocks/{clock_id}",
    response_model=ClockFaceSearchPublic,
    responses=error_responses(401),
)
async def clock_face_search(clock_id: PathId, caller: CallerDep, fm: FaceMatchDep) -> dict:
    """How this clock's face search runs: 1:N at which threshold over how many workers, or 1:1
    (the Employee ID first) when they are too many for the tenant's FPIR target. Counts only;
    a clock face-match has never heard of answers for an empty gallery or the tenant's."""
    return await fm.views.clock_search(caller, clock_id.lower())


def upload_router(max_upload_bytes: int) -> APIRouter:
    """The enrolment upload, with ``max_upload_bytes`` (``upload_limit``) as its body limit;
    every other route has the kit's 64 KiB."""
    uploads = APIRouter(prefix=PREFIX, tags=TAGS)

    @uploads.put(
        "/workers/{worker_id}/face",
        max_body_size=max_upload_bytes,
        response_model=FaceStatusPublic,
        responses={
            **error_responses(401, 403, 404, 413, 503),
            409: {
                "model": LookalikePublic,
                "description": "WORKER_INACTIVE, or FACE_ENROLLED_AS_OTHER",
            },
            422: {"model": UploadRefusedPublic, "description": "INVALID"},
        },
    )
    async def enrol(
        worker_id: PathId,
        caller: CallerDep,
        fm: FaceMatchDep,
        request_id: RequestIdDep,
        photos: Annotated[
            list[UploadFile],
            File(
                description=f"1 to {MAX_PHOTOS} JPEG or PNG photos",
                json_schema_extra={"minItems": 1, "maxItems": MAX_PHOTOS},
            ),
        ],
        confirm_lookalike: Annotated[
            bool,
            Form(
                description="a sysadmin confirms these photos may match another worker's"
                " (twins, lookalikes): both are then identified 1:1 only"
            ),
        ] = False,
    ) -> dict:
        """Replace the worker's face templates with those of these photos. Photos matching
        another enrolled worker are refused (409 FACE_ENROLLED_AS_OTHER) unless a sysadmin
        confirms the lookalike (``confirm_lookalike``)."""
        uploaded = [
            Photo(filename=photo.filename or f"photo {i + 1}", content=await photo.read())
            for i, photo in enumerate(photos[: MAX_PHOTOS + 1])
        ]
        worker_id = worker_id.lower()
        found = await fm.enrolment.enrol(
            EnrolFace(caller, worker_id, uploaded, request_id, confirm_lookalike)
        )
        return fm.views.enrolment(caller.tenant_id, worker_id, found)

    @uploads.post(
        "/kiosk/face-enrolments",
        max_body_size=max_upload_bytes,
        response_model=KioskEnrolmentPublic,
        tags=["kiosk"],
        responses={
            **error_responses(401, 403, 404, 409, 413, 503),
            422: {"model": UploadRefusedPublic, "description": "INVALID"},
        },
    )
    async def enrol_at_kiosk(
        body: KioskEnrolmentIn,
        caller: ClockCallerDep,
        fm: FaceMatchDep,
        request_id: RequestIdDep,
    ) -> dict:
        """A face enrolled at a kiosk (clocks only: the caller token names the clock): the
        worker of this Employee ID assigned to the clock, never ``enrolled_by`` themself;
        then the portal's enrolment rules, unchanged."""
        try:
            content = base64.b64decode(body.frame_jpeg, validate=True)
        except (binascii.Error, ValueError):
            raise Invalid("frame_jpeg must be base64", "frame_jpeg") from None
        command = EnrolAtKiosk(
            caller=caller,
            employee_id=body.employee_id,
            enrolled_by=body.enrolled_by.lower(),
            photo=Photo(filename="kiosk photo", content=content),
            consent=body.consent,
            correlation_id=request_id,
        )
        try:
            worker, found = await fm.enrolment.enrol_at_kiosk(command)
        except DomainError as error:
            # The portal's rules name its upload field ("photos", "photos[0]"); a kiosk sent
            # one frame, as frame_jpeg: the refusal names that.
            if error.field == "photos" or (error.field or "").startswith("photos["):
                error.field = "frame_jpeg"
            raise
        return {
            **fm.views.enrolment(caller.tenant_id, worker.id, found),
            "employee_id": worker.employee_id,
        }

    return uploads
