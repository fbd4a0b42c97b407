"""What device-sync learns from other services: identity's worker lifecycle, PIN and card events,
face-match's enrolment flags (decoded into the commands below by ``entrypoints/consumers``).
Each updates the worker's row and, through ``roster.change_worker``, queues the commands of
every clock that holds the worker — in the consumer's unit of work, so an event's effect
happens once (the consumer loop deduplicates)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, replace

from punchcard_kit.logging import get_logger

from ..domain.model import WorkerFacts, WorkerStatus
from . import roster
from .unit_of_work import UnitOfWork

log = get_logger(__name__)


@dataclass(frozen=True, kw_only=True)
class WorkerEvent(ABC):
    """A change of one worker, from another service's event; each kind says what it does to
    the worker's facts (``apply``)."""

    worker_id: str
    event_type: str  # the event's type, for the logs
    correlation_id: str | None = None

    @abstractmethod
    def apply(self, before: WorkerFacts | None) -> WorkerFacts | None:
        """The worker after the event (None: nothing to do; ``before`` None: not
        registered here yet)."""


@dataclass(frozen=True, kw_only=True)
class RegisterWorker(WorkerEvent):
    employee_id: str
    display_name: str
    status: WorkerStatus
    site_id: str
    pin_allowed: bool
    # A face enrolment flag may have arrived first (another topic): kept (``register``).
    face_enrolled: bool = False

    def apply(self, before: WorkerFacts | None) -> WorkerFacts:
        return WorkerFacts(
            id=self.worker_id,
            employee_id=self.employee_id,
            display_name=self.display_name,
            status=self.status,
            site_id=self.site_id,
            pin_set=before.pin_set if before else False,
            pin_allowed=self.pin_allowed,
            face_enrolled=self.face_enrolled,
            cards=before.cards if before else (),
        )


@dataclass(frozen=True, kw_only=True)
class UpdateWorker(WorkerEvent):
    employee_id: str
    display_name: str
    site_id: str

    def apply(self, before: WorkerFacts | None) -> WorkerFacts | None:
        assert before is not None
        return replace(
            before,
            employee_id=self.employee_id,
            display_name=self.display_name,
            site_id=self.site_id,
        )


@dataclass(frozen=True, kw_only=True)
class ChangeWorkerStatus(WorkerEvent):
    status: WorkerStatus

    def apply(self, before: WorkerFacts | None) -> WorkerFacts | None:
        assert before is not None
        return replace(before, status=self.status)


@dataclass(frozen=True, kw_only=True)
class SetPinSet(WorkerEvent):
    pin_set: bool

    def apply(self, before: WorkerFacts | None) -> WorkerFacts | None:
        assert before is not None
        return replace(before, pin_set=self.pin_set)


@dataclass(frozen=True, kw_only=True)
class SetPinAllowed(WorkerEvent):
    pin_allowed: bool

    def apply(self, before: WorkerFacts | None) -> WorkerFacts | None:
        assert before is not None
        return replace(before, pin_allowed=self.pin_allowed)


@dataclass(frozen=True, kw_only=True)
class SetCards(WorkerEvent):
    """identity's full list of the worker's card numbers (``WorkerCardsChanged``)."""

    cards: tuple[str, ...]

    def apply(self, before: WorkerFacts | None) -> WorkerFacts | None:
        assert before is not None
        return replace(before, cards=tuple(sorted(set(self.cards))))


@dataclass(frozen=True, kw_only=True)
class SetFaceEnrolled(WorkerEvent):
    enrolled: bool

    def apply(self, before: WorkerFacts | None) -> WorkerFacts | None:
        assert before is not None
        return replace(before, face_enrolled=self.enrolled)


async def _change(uow: UnitOfWork, event: WorkerEvent) -> None:
    def guarded(before: WorkerFacts | None) -> WorkerFacts | None:
        if before is None and not isinstance(event, RegisterWorker):
            log.warning(
                "event for a worker device-sync has not seen registered; ignored",
                event_type=event.event_type,
                worker_id=event.worker_id,
            )
            return None
        return event.apply(before)

    queued = await roster.change_worker(uow, event.worker_id, guarded, event.correlation_id)
    if queued:
        log.info(
            "worker change queued for clocks",
            event_type=event.event_type,
            worker_id=event.worker_id,
            clocks=len(queued),
        )


async def register_worker(event: RegisterWorker, uow: UnitOfWork) -> None:
    async with uow:
        enrolled_first = await uow.workers.face_enrolled(event.worker_id)
        await _change(uow, replace(event, face_enrolled=bool(enrolled_first)))
        await uow.commit()


async def change_worker(event: WorkerEvent, uow: UnitOfWork) -> None:
    """Any change of a registered worker (details, status, PIN, cards)."""
    async with uow:
        await _change(uow, event)
        await uow.commit()


async def set_face_enrolled(event: SetFaceEnrolled, uow: UnitOfWork) -> None:
    async with uow:
        before, _ = await uow.workers.lock(event.worker_id)
        if before is None:
            # Not registered yet here: remember the flag; the registration will carry it on.
            await uow.workers.set_face_enrolled(event.worker_id, event.enrolled)
        else:
            await _change(uow, event)
        await uow.commit()
