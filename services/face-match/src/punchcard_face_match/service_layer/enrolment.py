"""Enrolment and deletion of a worker's face templates (admins, through the gateway).

An upload of 1-5 photos replaces the worker's templates. Each photo must show exactly one face
of usable size, sharpness and light; the photos must show the same person (every pair within
the match threshold). Any refusal refuses the whole upload and changes nothing, with the reason
for each photo. Templates and the events that carry them commit in one transaction; the photos
themselves are kept only when the tenant turned ``keep_photos`` on.

Who may: a sysadmin for every worker, a manager for the workers of their sites (the kit's one
site rule; a worker whose site face-match does not know yet is a sysadmin's), a viewer reads.
A face that already matches another enrolled worker of the tenant is refused: one person
enrolled as two workers (an admin enrolling their own face as someone else) could punch for
both."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
from fastapi import HTTPException
from punchcard_kit.access import require_site
from punchcard_kit.http_errors import ApiError
from punchcard_kit.internal_auth import Caller
from punchcard_kit.logging import get_logger
from punchcard_kit.tenancy import tenant_transaction

from ..adapters import images, pipeline
from ..adapters import repository as repo
from ..adapters.engine import EngineRestarted, FaceEngine
from ..domain import quality
from ..domain.decision import enrolled_as_other
from ..domain.gallery import Galleries
from ..domain.quality import QualityPolicy
from . import events

log = get_logger(__name__)

MAX_PHOTOS = 5
WRITERS = ("sysadmin", "manager")
_IMAGE_TYPES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}


@dataclass(frozen=True)
class Photo:
    filename: str
    content: bytes


def _image_type(content: bytes) -> str | None:
    for magic, content_type in _IMAGE_TYPES.items():
        if content.startswith(magic):
            return content_type
    return None


def _refused(status: int, code: str, message: str, photos: list[dict] | None = None):
    detail = {"code": code, "message": message, "field": "photos"}
    if photos is not None:
        detail["photos"] = photos
    return HTTPException(status, detail)


class Enrolment:
    def __init__(
        self,
        pool,
        engine: FaceEngine,
        *,
        policy: QualityPolicy,
        threshold: float,
        max_photo_bytes: int,
        galleries: Galleries | None = None,
    ) -> None:
        self.galleries = galleries
        self.pool = pool
        self.engine = engine
        self.policy = policy
        self.threshold = threshold
        self.max_photo_bytes = max_photo_bytes

    def _writer(self, caller: Caller) -> None:
        if not caller.can(*WRITERS):
            raise ApiError(403, "FORBIDDEN", "only a sysadmin or a manager may change face data")

    async def _known_worker(self, conn, caller: Caller, worker_id: str, *, write: bool = False):
        """The worker, if the caller may see them (404 otherwise); for a change, also within
        the caller's sites (403 SITE_NOT_MANAGED)."""
        worker = await repo.get_worker(conn, caller.tenant_id, worker_id)
        if worker is None:
            raise ApiError(404, "WORKER_NOT_FOUND", "worker not found", "worker_id")
        if write:
            require_site(caller, worker["site_id"], "worker_id")
        elif not caller.may_act_on_site(worker["site_id"]):
            raise ApiError(404, "WORKER_NOT_FOUND", "worker not found", "worker_id")
        return worker

    def _check_not_enrolled_as_other(
        self, caller: Caller, worker_id: str, embeddings: list[np.ndarray]
    ) -> None:
        gallery = (
            self.galleries.get(caller.tenant_id, self.engine.model_name)
            if self.galleries is not None
            else None
        )
        if gallery is None:
            return
        for embedding in embeddings:
            if enrolled_as_other(worker_id, gallery.search(embedding), self.threshold):
                # The other worker is not named: they may be at a site the caller does not see.
                raise ApiError(
                    409,
                    "FACE_ENROLLED_AS_OTHER",
                    "these photos show a face already enrolled for another worker",
                    "photos",
                )

    async def enrol(
        self, caller: Caller, worker_id: str, photos: list[Photo], correlation_id: str | None
    ) -> dict:
        self._writer(caller)
        if not 1 <= len(photos) <= MAX_PHOTOS:
            raise ApiError(
                422, "INVALID", f"upload 1 to {MAX_PHOTOS} photos (got {len(photos)})", "photos"
            )
        verdicts: list[dict] = []
        for index, photo in enumerate(photos):
            if len(photo.content) > self.max_photo_bytes:
                raise ApiError(
                    413,
                    "PHOTO_TOO_LARGE",
                    f"photo {index + 1} ({photo.filename}) is over "
                    f"{self.max_photo_bytes // (1024 * 1024)} MiB",
                    f"photos[{index}]",
                )
            size = images.declared_size(photo.content)
            if _image_type(photo.content) is None or size is None:
                raise ApiError(
                    422,
                    quality.INVALID_IMAGE,
                    f"photo {index + 1} ({photo.filename}): "
                    + quality.message(quality.INVALID_IMAGE),
                    f"photos[{index}]",
                )
            if not quality.within_pixel_cap(*size, self.policy.max_pixels):
                raise ApiError(
                    422,
                    quality.IMAGE_TOO_LARGE,
                    f"photo {index + 1} ({photo.filename}): "
                    + quality.message(quality.IMAGE_TOO_LARGE, policy=self.policy),
                    f"photos[{index}]",
                )
        async with tenant_transaction(self.pool, repo.APP_ROLE, caller.tenant_id) as conn:
            worker = await self._known_worker(conn, caller, worker_id, write=True)
            if worker["status"] == "Inactive":
                raise ApiError(
                    409, "WORKER_INACTIVE", "an inactive worker cannot be enrolled", "worker_id"
                )

        try:
            faces = await self.engine.analyse([photo.content for photo in photos])
        except EngineRestarted:
            raise ApiError(
                503, "UNAVAILABLE", "the face model restarted; try the enrolment again"
            ) from None
        accepted = True
        for index, (photo, face) in enumerate(zip(photos, faces, strict=True)):
            reason = {
                pipeline.INVALID_FRAME: quality.INVALID_IMAGE,
                pipeline.NO_FACE: quality.NO_FACE,
                pipeline.MULTIPLE_FACES: quality.MULTIPLE_FACES,
            }.get(face.outcome) or quality.problem(
                face.face_px, face.sharpness, face.brightness, self.policy
            )
            verdict = {"index": index, "filename": photo.filename, "accepted": reason is None}
            if reason is not None:
                accepted = False
                verdict.update(
                    reason=reason, message=quality.message(reason, face.face_px, self.policy)
                )
            else:
                verdict["quality"] = quality.score(
                    face.face_px, face.sharpness, face.brightness, self.policy
                )
            verdicts.append(verdict)
        if not accepted:
            first = next(v for v in verdicts if not v["accepted"])
            raise _refused(
                422,
                "PHOTO_REFUSED",
                f"photo {first['index'] + 1} ({first['filename']}): {first['message']}",
                verdicts,
            )
        embeddings = [face.embedding for face in faces]
        for (i, a), (j, b) in combinations(enumerate(embeddings), 2):
            if float(np.linalg.norm(a - b)) > self.threshold:
                raise _refused(
                    422,
                    "PHOTOS_DIFFER",
                    f"photos {i + 1} and {j + 1} do not show the same person",
                    verdicts,
                )
        self._check_not_enrolled_as_other(caller, worker_id, embeddings)

        async with tenant_transaction(self.pool, repo.APP_ROLE, caller.tenant_id) as conn:
            worker = await self._known_worker(conn, caller, worker_id, write=True)
            if worker["status"] == "Inactive":  # deactivated while the photos were analysed
                raise ApiError(
                    409, "WORKER_INACTIVE", "an inactive worker cannot be enrolled", "worker_id"
                )
            keep = (await repo.get_settings(conn, caller.tenant_id)).keep_photos
            found = await repo.replace_templates(
                conn,
                caller.tenant_id,
                worker_id,
                self.engine.model_name,
                [
                    repo.NewTemplate(
                        embedding=face.embedding,
                        quality=verdict["quality"],
                        face_px=face.face_px,
                        photo=photo.content if keep else None,
                        content_type=_image_type(photo.content) or "image/jpeg",
                    )
                    for photo, face, verdict in zip(photos, faces, verdicts, strict=True)
                ],
            )
            await events.publish_set(conn, caller.tenant_id, found, correlation_id)
        log.info(
            "face enrolled",
            worker_id=worker_id,
            templates=len(found.templates),
            revision=found.revision,
            model=found.model_name,
        )
        return status_view(worker_id, found)

    async def status(self, caller: Caller, worker_id: str) -> dict:
        async with tenant_transaction(self.pool, repo.APP_ROLE, caller.tenant_id) as conn:
            if caller.site_scope() is not None:
                await self._known_worker(conn, caller, worker_id)
            found = await repo.get_templates(conn, caller.tenant_id, worker_id)
            if found is None:
                await self._known_worker(conn, caller, worker_id)
        return status_view(worker_id, found)

    async def delete(self, caller: Caller, worker_id: str, correlation_id: str | None) -> bool:
        """Deletes the worker's templates and photos everywhere; False if there were none."""
        self._writer(caller)
        async with tenant_transaction(self.pool, repo.APP_ROLE, caller.tenant_id) as conn:
            if caller.site_scope() is not None:
                await self._known_worker(conn, caller, worker_id, write=True)
            deleted = await delete_biometrics(conn, caller.tenant_id, worker_id, correlation_id)
            if not deleted:
                await self._known_worker(conn, caller, worker_id)
        if deleted:
            log.info("face data deleted", worker_id=worker_id, by="admin")
        return deleted

    async def enrolled(self, caller: Caller) -> list[dict]:
        async with tenant_transaction(self.pool, repo.APP_ROLE, caller.tenant_id) as conn:
            rows = await repo.enrolled_workers(conn, caller.tenant_id, caller.site_scope())
        return [
            {
                "worker_id": str(r["worker_id"]),
                "template_count": r["template_count"],
                "model_name": r["model_name"],
                "enrolled_at": r["enrolled_at"].isoformat(),
            }
            for r in rows
        ]

    async def settings(self, caller: Caller) -> repo.FaceSettings:
        async with tenant_transaction(self.pool, repo.APP_ROLE, caller.tenant_id) as conn:
            return await repo.get_settings(conn, caller.tenant_id)

    async def put_settings(self, caller: Caller, settings: repo.FaceSettings) -> repo.FaceSettings:
        if not caller.can("sysadmin"):
            raise ApiError(403, "FORBIDDEN", "only a sysadmin may change face settings")
        async with tenant_transaction(self.pool, repo.APP_ROLE, caller.tenant_id) as conn:
            await repo.put_settings(conn, caller.tenant_id, settings)
            if not settings.keep_photos:
                dropped = await repo.drop_photos(conn, caller.tenant_id)
                if dropped:
                    log.info("kept photos deleted", photos=dropped)
        return settings


async def delete_biometrics(
    conn, tenant_id: str, worker_id: str, correlation_id: str | None
) -> bool:
    """In the caller's tenant transaction: templates and photos deleted, the tombstone and the
    'not enrolled' flag in the outbox. Also used when a worker is deactivated."""
    revision = await repo.delete_templates(conn, tenant_id, worker_id)
    if revision is None:
        return False
    await events.publish_deleted(conn, tenant_id, worker_id, correlation_id)
    return True


def status_view(worker_id: str, found: repo.TemplateSet | None) -> dict:
    templates = found.templates if found else []
    return {
        "worker_id": worker_id,
        "enrolled": bool(templates),
        "template_count": len(templates),
        "model_name": found.model_name if templates else None,
        "revision": found.revision if found else 0,
        "updated_at": found.updated_at.isoformat() if found else None,
        "templates": [
            {
                "template_id": t.template_id,
                "quality": round(t.quality, 3),
                "face_px": t.face_px,
                "created_at": t.created_at.isoformat(),
                "photo_kept": t.photo_kept,
            }
            for t in templates
        ],
    }
