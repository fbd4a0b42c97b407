"""face-match's internal API, reached through the gateway (admins):

- ``GET /internal/v1/workers/{id}/face``: the worker's enrolment (enrolled, templates, quality);
- ``PUT /internal/v1/workers/{id}/face``: multipart upload of 1-5 photos (field ``photos``),
  replacing the worker's templates; 422 with the reason for each refused photo;
- ``DELETE /internal/v1/workers/{id}/face``: delete the worker's biometric data everywhere;
- ``GET /internal/v1/face/enrolments``: the tenant's enrolled workers;
- ``GET|PUT /internal/v1/face/settings``: keep photos, search only a clock's workers.

No answer ever carries an embedding or a photo."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Path, Request, Response, UploadFile
from punchcard_kit.internal_auth import Caller, current_caller
from pydantic import BaseModel, ConfigDict

from ..adapters.repository import FaceSettings
from ..service_layer.enrolment import MAX_PHOTOS, Enrolment, Photo

ID_PATTERN = r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$"
PathId = Annotated[str, Path(pattern=ID_PATTERN)]
CallerDep = Annotated[Caller, Depends(current_caller)]
MULTIPART_FRAMING_BYTES = 1024 * 1024


def _enrolment(request: Request) -> Enrolment:
    return request.app.state.enrolment


EnrolmentDep = Annotated[Enrolment, Depends(_enrolment)]


class SettingsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    keep_photos: bool = False
    search_assigned_only: bool = False


def _with_gallery(request: Request, caller: Caller, status: dict) -> dict:
    galleries = request.app.state.galleries
    gallery = galleries.get(caller.tenant_id, status["model_name"]) if status["enrolled"] else None
    held = gallery.revision_of(status["worker_id"]) if gallery is not None else None
    status["in_gallery"] = held is not None and held >= status["revision"]
    return status


def upload_limit(max_photo_bytes: int) -> int:
    """The largest enrolment body: every photo at its largest, plus the multipart framing."""
    return MAX_PHOTOS * max_photo_bytes + MULTIPART_FRAMING_BYTES


def build_router(max_upload_bytes: int) -> APIRouter:
    """``max_upload_bytes``: the enrolment upload's body limit (upload_limit); every other
    route has the kit's 64 KiB."""
    router = APIRouter(prefix="/internal/v1", tags=["face"])

    @router.get("/workers/{worker_id}/face")
    async def face_status(
        worker_id: PathId, caller: CallerDep, enrolment: EnrolmentDep, request: Request
    ) -> dict:
        """The worker's enrolment. ``in_gallery``: this replica searches the current templates
        (every replica follows the templates topic; a change reaches each within a second)."""
        status = await enrolment.status(caller, worker_id.lower())
        return _with_gallery(request, caller, status)

    @router.put("/workers/{worker_id}/face", max_body_size=max_upload_bytes)
    async def enrol(
        worker_id: PathId,
        caller: CallerDep,
        enrolment: EnrolmentDep,
        request: Request,
        photos: Annotated[
            list[UploadFile], File(description=f"1 to {MAX_PHOTOS} JPEG or PNG photos")
        ],
    ) -> dict:
        """Replace the worker's face templates with those of these photos."""
        uploaded = [
            Photo(filename=photo.filename or f"photo {i + 1}", content=await photo.read())
            for i, photo in enumerate(photos[: MAX_PHOTOS + 1])
        ]
        status = await enrolment.enrol(
            caller, worker_id.lower(), uploaded, request.headers.get("x-request-id")
        )
        return _with_gallery(request, caller, status)

    @router.delete("/workers/{worker_id}/face", status_code=204)
    async def delete_face(
        worker_id: PathId, caller: CallerDep, enrolment: EnrolmentDep, request: Request
    ) -> Response:
        """Delete the worker's templates (and kept photos) everywhere. Idempotent."""
        await enrolment.delete(caller, worker_id.lower(), request.headers.get("x-request-id"))
        return Response(status_code=204)

    @router.get("/face/enrolments")
    async def enrolments(caller: CallerDep, enrolment: EnrolmentDep) -> dict:
        return {"items": await enrolment.enrolled(caller)}

    @router.get("/face/settings")
    async def get_settings(caller: CallerDep, enrolment: EnrolmentDep) -> dict:
        return (await enrolment.settings(caller)).__dict__

    @router.put("/face/settings")
    async def put_settings(body: SettingsBody, caller: CallerDep, enrolment: EnrolmentDep) -> dict:
        settings = FaceSettings(
            keep_photos=body.keep_photos, search_assigned_only=body.search_assigned_only
        )
        return (await enrolment.put_settings(caller, settings)).__dict__

    return router
