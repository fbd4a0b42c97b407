"""Enrolment and deletion of a worker's face templates (admins, through the gateway), and the
tenant's face settings.

An upload replaces the worker's templates when it passes the enrolment rules
(``domain.enrolment``): any refusal refuses the whole upload and changes nothing, with the
reason for each photo. Templates and the events that carry them commit in one transaction; the
photos themselves are kept only when the tenant turned ``keep_photos`` on.

Who may: a sysadmin for every worker, a manager for the workers of their sites (the kit's one
site rule; a worker whose site face-match does not know yet is a sysadmin's), a viewer reads;
and a clock (the kiosk edge, for a Manager signed in at a kiosk app) a worker assigned to it,
other than the one signed in (``enrol_at_kiosk``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from punchcard_kit.access import WRITERS, require_site
from punchcard_kit.caller import Caller
from punchcard_kit.errors import Forbidden, Invalid, NotFound, NotProjectedYet, Unavailable
from punchcard_kit.logging import get_logger
from punchcard_kit.retry import until_projected

from ..domain import enrolment as rules
from ..domain import evidence as evidence_rules
from ..domain.gallery import Galleries
from ..domain.model import FaceSettings, NewTemplate, TemplateSet, Worker
from ..domain.quality import QualityPolicy
from . import events
from .unit_of_work import (
    EngineRestarted,
    FaceAnalyser,
    ImageSize,
    UnitOfWork,
    UnitOfWorkFactory,
)

log = get_logger(__name__)


@dataclass(frozen=True)
class Photo:
    filename: str
    content: bytes


@dataclass(frozen=True)
class EnrolFace:
    caller: Caller
    worker_id: str
    photos: Sequence[Photo]
    correlation_id: str | None = None
    # A sysadmin confirms the face may match another worker's (twins, lookalikes).
    confirm_lookalike: bool = False


@dataclass(frozen=True)
class EnrolAtKiosk:
    """One photo taken at a kiosk, of the worker with ``employee_id``, by the worker signed
    in there (``enrolled_by``; the gateway verified their PIN and role)."""

    caller: Caller
    employee_id: str
    enrolled_by: str
    photo: Photo
    consent: bool
    correlation_id: str | None = None


@dataclass(frozen=True)
class DeleteFace:
    caller: Caller
    worker_id: str
    correlation_id: str | None = None


@dataclass(frozen=True)
class ChangeFaceSettings:
    caller: Caller
    settings: FaceSettings


def require_writer(caller: Caller) -> None:
    if not caller.can(*WRITERS):
        raise Forbidden("only a sysadmin or a manager may change face data")


def worker_not_found() -> NotFound:
    return NotFound("worker not found", "worker_id", code="WORKER_NOT_FOUND")


def worker_not_known_yet() -> NotProjectedYet:
    """No such worker in face-match's copy of identity's workers: perhaps created a moment
    ago, its event on its way (``Enrolment.worker_wait_s``); a 404 like ``worker_not_found``."""
    return NotProjectedYet("worker not found", "worker_id", code="WORKER_NOT_FOUND")


async def known_worker(
    uow: UnitOfWork, caller: Caller, worker_id: str, *, write: bool = False
) -> Worker:
    """The worker, if the caller may see them (404 WORKER_NOT_FOUND otherwise); for a change,
    also within the caller's sites (403 SITE_NOT_MANAGED)."""
    worker = await uow.workers.get(worker_id)
    if worker is None:
        raise worker_not_known_yet()
    if write:
        require_site(caller, worker.site_id, "worker_id")
    elif not caller.may_act_on_site(worker.site_id):
        raise worker_not_found()
    return worker


async def delete_biometrics(
    uow: UnitOfWork, tenant_id: str, worker_id: str, correlation_id: str | None
) -> bool:
    """In the unit of work's transaction: templates and photos deleted, the worker's evidence
    photos of punches too, the tombstone and the 'not enrolled' flag in the outbox. Also used
    when a worker is deactivated."""
    evidence = await uow.evidence.delete_worker(worker_id)
    revision = await uow.templates.delete(worker_id)
    if revision is None:
        return evidence > 0
    await events.publish_deleted(uow, tenant_id, worker_id, correlation_id)
    return True


@dataclass(frozen=True)
class Enrolment:
    """The enrolment use cases and what they need (built by bootstrap, or by a unit test from
    fakes). ``galleries``: this replica's, to refuse a face already enrolled as another
    worker (None: not checked)."""

    uow: UnitOfWorkFactory
    faces: FaceAnalyser
    image_size: ImageSize
    policy: QualityPolicy
    threshold: float
    max_photo_bytes: int
    galleries: Galleries | None = None
    # How long a worker face-match has not learnt yet is waited for before WORKER_NOT_FOUND
    # (PROJECTION_WAIT_S): one created at identity a moment ago is enrolled, not refused.
    worker_wait_s: float = 0.0

    async def enrol(self, command: EnrolFace) -> TemplateSet:
        caller, worker_id = command.caller, command.worker_id
        require_writer(caller)

        async def allowed(uow: UnitOfWork) -> Worker:
            return await known_worker(uow, caller, worker_id, write=True)

        return await self._enrol(
            caller.tenant_id,
            worker_id,
            command.photos,
            command.correlation_id,
            allowed,
            role=caller.role,
            confirm_lookalike=command.confirm_lookalike,
        )

    async def enrol_at_kiosk(self, command: EnrolAtKiosk) -> tuple[Worker, TemplateSet]:
        """A Manager (or Administrator) signed in at a kiosk enrols another worker's face: the
        clock (the caller, role ``clock``: tenant and clock from its credential) may enrol
        only a worker of its tenant assigned to it, never the signed-in worker themself; the
        worker agreed on the kiosk's screen (``consent``). Then the portal's rules, unchanged."""
        caller = command.caller
        if caller.role != "clock":
            raise Forbidden("only a clock enrols at a kiosk", code="CLOCK_ONLY")
        if not command.consent:
            raise Invalid(
                "the worker must agree on screen before their face is enrolled", "consent"
            )
        clock_id = caller.user_id
        async with self.uow(caller.tenant_id) as uow:
            found = await uow.workers.by_employee_id(command.employee_id)
            on_clock = found is not None and found.id in await uow.assignments.workers_of(clock_id)
        if found is None or not on_clock:
            raise NotFound(
                "no worker with this Employee ID on this clock",
                "employee_id",
                code="WORKER_NOT_FOUND",
            )
        worker: Worker = found
        if worker.id == command.enrolled_by:
            raise Forbidden(
                "a Manager enrols another worker's face at a kiosk, not their own",
                "employee_id",
                code="SELF_ENROLMENT",
            )

        async def allowed(uow: UnitOfWork) -> Worker:
            again = await uow.workers.get(worker.id)
            if again is None or worker.id not in await uow.assignments.workers_of(clock_id):
                raise worker_not_found()
            return again

        found_set = await self._enrol(
            caller.tenant_id,
            worker.id,
            [command.photo],
            command.correlation_id,
            allowed,
            role=caller.role,
        )
        log.info(
            "face enrolled at a kiosk",
            worker_id=worker.id,
            clock_id=clock_id,
            enrolled_by=command.enrolled_by,
        )
        return worker, found_set

    async def _enrol(
        self,
        tenant_id: str,
        worker_id: str,
        photos: Sequence[Photo],
        correlation_id: str | None,
        allowed: Callable[[UnitOfWork], Awaitable[Worker]],
        *,
        role: str,
        confirm_lookalike: bool = False,
    ) -> TemplateSet:
        """The enrolment rules on ``photos``; ``allowed``: the worker, if this caller may
        enrol them (asked before the photos are analysed and again in the writing
        transaction). A face matching other workers is enrolled only when a sysadmin
        confirmed the lookalike: then this worker and those others are identified 1:1 only
        (their sets republished with ``verify_one_to_one``)."""
        rules.check_photo_count(len(photos))
        for index, photo in enumerate(photos):
            rules.check_photo_bytes(index, photo.filename, photo.content, self.max_photo_bytes)
            rules.check_photo_header(
                index, photo.filename, photo.content, self.image_size(photo.content), self.policy
            )

        async def check() -> None:
            async with self.uow(tenant_id) as uow:
                rules.check_enrollable(await allowed(uow))

        await until_projected("the worker to enrol", check, within_s=self.worker_wait_s)

        try:
            faces = await self.faces.analyse([photo.content for photo in photos])
        except EngineRestarted:
            raise Unavailable("the face model restarted; try the enrolment again") from None
        verdicts = rules.judge_photos([photo.filename for photo in photos], faces, self.policy)
        embeddings = [face.embedding for face in faces]
        rules.check_one_person(embeddings, self.threshold, verdicts)
        gallery = (
            self.galleries.get(tenant_id, self.faces.model_name)
            if self.galleries is not None
            else None
        )
        lookalikes: list[str] = []
        if gallery is not None:
            lookalikes = rules.check_not_enrolled_as_other(
                worker_id,
                (gallery.search(embedding) for embedding in embeddings),
                self.threshold,
                role=role,
                confirmed=confirm_lookalike,
            )

        async with self.uow(tenant_id) as uow:
            # The worker may have been deactivated (or unassigned) while the photos were
            # analysed. Their row held first: a deactivation committing meanwhile would delete
            # no templates (none yet) and these would stay, the face data of an inactive
            # worker; held, it waits for this commit, or this reads it and refuses.
            await uow.workers.lock(worker_id)
            rules.check_enrollable(await allowed(uow))
            keep = (await uow.settings.get()).keep_photos
            found = await uow.templates.replace(
                worker_id,
                self.faces.model_name,
                [
                    NewTemplate(
                        embedding=face.embedding,
                        quality=verdict.quality,
                        face_px=face.face_px,
                        photo=photo.content if keep else None,
                        content_type=rules.image_type(photo.content) or "image/jpeg",
                    )
                    for photo, face, verdict in zip(photos, faces, verdicts, strict=True)
                ],
                verify_one_to_one=bool(lookalikes),
            )
            await events.publish_set(uow, tenant_id, found, correlation_id)
            for other in lookalikes:
                marked = await uow.templates.verify_one_to_one(other)
                if marked is not None:
                    await events.publish_set(uow, tenant_id, marked, correlation_id)
            await uow.commit()
        if lookalikes:
            log.warning(
                "face enrolled as a confirmed lookalike: these workers are verified 1:1",
                worker_id=worker_id,
                lookalikes=lookalikes,
            )
        log.info(
            "face enrolled",
            worker_id=worker_id,
            templates=len(found.templates),
            revision=found.revision,
            model=found.model_name,
        )
        return found

    async def delete(self, command: DeleteFace) -> bool:
        """Deletes the worker's templates and photos everywhere; False if there were none."""
        caller, worker_id = command.caller, command.worker_id
        require_writer(caller)
        async with self.uow(caller.tenant_id) as uow:
            if caller.site_scope() is not None:
                await known_worker(uow, caller, worker_id, write=True)
            deleted = await delete_biometrics(
                uow, caller.tenant_id, worker_id, command.correlation_id
            )
            if not deleted:
                await known_worker(uow, caller, worker_id)
            await uow.commit()
        if deleted:
            log.info("face data deleted", worker_id=worker_id, by="admin")
        return deleted

    async def change_settings(self, command: ChangeFaceSettings) -> FaceSettings:
        """Turning ``keep_photos`` off deletes the photos already kept."""
        if not command.caller.can("sysadmin"):
            raise Forbidden("only a sysadmin may change face settings")
        settings = command.settings
        evidence_rules.check_retention_days(settings.evidence_retention_days)
        async with self.uow(command.caller.tenant_id) as uow:
            before = await uow.settings.get()
            await uow.settings.put(settings)
            if settings.evidence_retention_days != before.evidence_retention_days:
                await uow.evidence.retime(settings.evidence_retention_days)
            if not settings.keep_photos:
                dropped = await uow.settings.drop_photos()
                if dropped:
                    log.info("kept photos deleted", photos=dropped)
            await uow.commit()
        return settings
