"""Evidence photos of punches (issue 17; the rules: ``domain.evidence``).

- ``keep_photo``: a PIN or card punch's photo from the kiosk (``EvidencePhotoCaptured``,
  consumer group ``face-match.evidence``), kept sealed when the tenant keeps evidence photos,
  dropped otherwise;
- ``note_worker``: identity's verdict of that punch (``WorkerIdentified``, method PIN or CARD)
  names its worker. Photo and verdict travel on two topics in no order between them: whichever
  comes second runs the check;
- ``check``: the photo compared 1:1 with the worker's templates; the outcome recorded and, in
  the same transaction, ``PunchEvidenceChecked`` in the outbox for punch (a flag, no photo);
- ``keep_face_frame``: a face punch's own frame, kept from the face attempt (no second copy on
  Kafka, nothing to compare);
- the portal's reads and deletions (``EvidencePhotos``): the photo by attempt id for a sysadmin or
  a manager of the worker's site (the roles that change biometric data); deletion of one photo
  or all of the tenant's on request (sysadmin); the retention sweep.

The photo itself is never logged nor put in an event; face-match's key seals it at rest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from punchcard.v1 import common_pb2, evidence_pb2
from punchcard_kit.access import require_role
from punchcard_kit.caller import Caller
from punchcard_kit.errors import Forbidden, NotFound
from punchcard_kit.logging import get_logger
from punchcard_kit.messaging import catalogue, new_envelope

from ..domain import calibration
from ..domain import evidence as rules
from ..domain.calibration import FmrModel
from ..domain.decision import MatchPolicy
from ..domain.gallery import Galleries
from ..domain.model import Face, FaceOutcome
from .identification import GalleryNotReady
from .unit_of_work import FaceAnalyser, PhotoCipher, UnitOfWork, UnitOfWorkFactory

log = get_logger(__name__)

CHECKS_TOPIC = catalogue.FACE_EVIDENCE_CHECKS.name
PHOTO_READERS = ("sysadmin", "manager")


@dataclass(frozen=True)
class KeepEvidencePhoto:
    tenant_id: str
    attempt_id: str
    clock_id: str
    method: str  # PIN or CARD
    photo: bytes
    correlation_id: str | None = None


@dataclass(frozen=True)
class NoteEvidenceWorker:
    tenant_id: str
    attempt_id: str
    worker_id: str
    method: str  # PIN or CARD
    clock_id: str
    correlation_id: str | None = None


class EvidenceChecker:
    """The consumer side: keeps photos and runs the 1:1 check once photo and worker are both
    known."""

    def __init__(
        self,
        engine: FaceAnalyser,
        galleries: Galleries,
        cipher: PhotoCipher,
        policy: MatchPolicy,
        ready: asyncio.Event,
        *,
        fmr_model: FmrModel | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        ready_timeout_s: float = 30.0,
    ) -> None:
        self.engine = engine
        self.galleries = galleries
        self.cipher = cipher
        self.policy = policy
        self.ready = ready
        self.fmr_model = fmr_model
        self.now = now
        self.ready_timeout_s = ready_timeout_s

    async def keep_photo(self, command: KeepEvidencePhoto, uow: UnitOfWork) -> str | None:
        """The photo kept (and checked when its worker is known), in the unit of work's
        transaction; the check's outcome, if one ran."""
        async with uow:
            found = await self._keep_photo(command, uow)
            await uow.commit()
        return found

    async def note_worker(self, command: NoteEvidenceWorker, uow: UnitOfWork) -> str | None:
        """The punch's worker noted (and the photo checked when it is here already)."""
        async with uow:
            found = await self._note_worker(command, uow)
            await uow.commit()
        return found

    async def _keep_photo(self, command: KeepEvidencePhoto, uow: UnitOfWork) -> str | None:
        settings = await uow.settings.get()
        if not settings.evidence_photos:
            return None  # the tenant keeps no evidence: the frame is dropped
        if not command.photo or len(command.photo) > rules.MAX_PHOTO_BYTES:
            log.warning("evidence photo dropped: size", attempt_id=command.attempt_id)
            return None
        now = self.now()
        sealed = self.cipher.seal(command.tenant_id, command.attempt_id, command.photo)
        await uow.evidence.put_photo(
            command.attempt_id,
            command.clock_id,
            command.method,
            sealed,
            len(command.photo),
            now,
            rules.expires_at(now, settings.evidence_retention_days),
        )
        found = await uow.evidence.get(command.attempt_id)
        if found is None or found.worker_id is None or found.check is not None:
            return None
        return await self._check(uow, command.tenant_id, found.worker_id, command, found.method)

    async def _note_worker(self, command: NoteEvidenceWorker, uow: UnitOfWork) -> str | None:
        if not rules.is_checked(command.method):
            return None
        settings = await uow.settings.get()
        if not settings.evidence_photos:
            return None
        await uow.evidence.note_worker(
            command.attempt_id,
            command.worker_id,
            command.method,
            command.clock_id,
            self.now() + rules.PENDING_PHOTO_WAIT,
        )
        found = await uow.evidence.get(command.attempt_id)
        if found is None or found.sealed is None or found.check is not None:
            return None
        photo = self.cipher.open(command.tenant_id, command.attempt_id, found.sealed)
        keep = KeepEvidencePhoto(
            command.tenant_id,
            command.attempt_id,
            command.clock_id,
            command.method,
            photo,
            command.correlation_id,
        )
        return await self._check(uow, command.tenant_id, command.worker_id, keep, command.method)

    async def keep_face_frame(
        self,
        uow: UnitOfWork,
        tenant_id: str,
        attempt_id: str,
        clock_id: str,
        frame: bytes,
        worker_id: str | None,
    ) -> None:
        """A face punch's frame, kept when the tenant keeps evidence (from the face attempt
        itself: nothing to compare, the frame was the comparison)."""
        settings = await uow.settings.get()
        if not settings.evidence_photos or not frame or len(frame) > rules.MAX_PHOTO_BYTES:
            return
        now = self.now()
        await uow.evidence.put_photo(
            attempt_id,
            clock_id,
            "FACE",
            self.cipher.seal(tenant_id, attempt_id, frame),
            len(frame),
            now,
            rules.expires_at(now, settings.evidence_retention_days),
            worker_id=worker_id,
        )

    async def _check(
        self,
        uow: UnitOfWork,
        tenant_id: str,
        worker_id: str,
        command: KeepEvidencePhoto,
        method: str | None,
    ) -> str:
        if not self.ready.is_set():
            try:
                await asyncio.wait_for(self.ready.wait(), self.ready_timeout_s)
            except TimeoutError:
                raise GalleryNotReady("the face galleries are still loading") from None
        settings = await uow.settings.get()
        gallery = self.galleries.get(tenant_id, self.engine.model_name)
        _, templates = gallery.size([worker_id]) if gallery is not None else (0, 0)
        enrolled = templates > 0
        face: Face | None = None
        distance = None
        threshold = calibration.verification_threshold(
            templates, settings.face_fpir_target, self.fmr_model, self.policy.threshold
        )
        if enrolled:
            [face] = await self.engine.analyse([command.photo])
            if face.embedding is not None and gallery is not None:
                distance = gallery.distance_to(worker_id, face.embedding)
        check = rules.judge(face.outcome if face else FaceOutcome.OK, enrolled, distance, threshold)
        compared = check in (rules.EvidenceCheck.FACE_MATCHED, rules.EvidenceCheck.FACE_NOT_WORKERS)
        await uow.evidence.record_check(
            command.attempt_id,
            check.value,
            distance if compared else None,
            threshold if compared else None,
        )
        event = evidence_pb2.PunchEvidenceChecked(
            attempt_id=command.attempt_id,
            worker_id=worker_id,
            clock_id=command.clock_id or "",
            method=common_pb2.PunchMethod.Value(f"PUNCH_METHOD_{method or command.method}"),
            check=evidence_pb2.EvidenceCheck.Value(f"EVIDENCE_CHECK_{check.value}"),
        )
        if compared and distance is not None:
            event.distance = distance
            event.threshold = threshold
        await uow.publish(
            (
                CHECKS_TOPIC,
                catalogue.FACE_EVIDENCE_CHECKS.key(
                    tenant_id=tenant_id, attempt_id=command.attempt_id
                ),
                new_envelope(
                    event,
                    tenant_id=tenant_id,
                    producer="face-match",
                    correlation_id=command.correlation_id,
                ),
            )
        )
        log.info(
            "evidence photo checked",
            attempt_id=command.attempt_id,
            check=check.value,
            distance=round(distance, 4) if distance is not None else None,
        )
        return check.value


@dataclass(frozen=True)
class EvidencePhotos:
    """The portal's reads and deletions, and the retention sweep."""

    uow: UnitOfWorkFactory
    cipher: PhotoCipher
    sweep: Callable[[], Awaitable[int]] | None = None

    async def photo(self, caller: Caller, attempt_id: str) -> bytes:
        """The JPEG of a punch's evidence photo (404 when none, or not the caller's to see)."""
        require_role(caller, *PHOTO_READERS)
        async with self.uow(caller.tenant_id) as uow:
            found = await uow.evidence.get(attempt_id)
            if found is None or found.sealed is None:
                raise NotFound.of("evidence photo", "attempt_id")
            if caller.site_scope() is not None:
                worker = await uow.workers.get(found.worker_id) if found.worker_id else None
                if worker is None or not caller.may_act_on_site(worker.site_id):
                    raise NotFound.of("evidence photo", "attempt_id")
        return self.cipher.open(caller.tenant_id, attempt_id, found.sealed)

    async def policy(self, tenant_id: str) -> bool:
        """Whether the tenant keeps evidence photos (what a kiosk of theirs is told)."""
        async with self.uow(tenant_id) as uow:
            return (await uow.settings.get()).evidence_photos

    async def delete(self, caller: Caller, attempt_id: str | None) -> int:
        """One punch's photo, or (``attempt_id`` None) every photo of the tenant."""
        if not caller.can("sysadmin"):
            raise Forbidden("only a sysadmin may delete evidence photos")
        async with self.uow(caller.tenant_id) as uow:
            if attempt_id is None:
                deleted = await uow.evidence.delete_all()
            else:
                deleted = int(await uow.evidence.delete(attempt_id))
                if not deleted:
                    raise NotFound.of("evidence photo", "attempt_id")
            await uow.commit()
        log.info("evidence photos deleted", photos=deleted, by="tenant request")
        return deleted

    async def sweep_once(self) -> int:
        if self.sweep is None:
            return 0
        deleted = await self.sweep()
        if deleted:
            log.info("evidence photos expired", photos=deleted)
        return deleted
