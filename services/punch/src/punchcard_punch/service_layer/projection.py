"""What punch learns from other services (consumer group ``punch.projections``): workers'
Employee IDs, names and statuses from identity; clocks' sites and time zones from
device-sync; and the table "who may use which clock" from device-sync's compacted
assignments topic (a tombstone = unassigned). Each event's effect happens once (the consumer
loop deduplicates), and each upsert is idempotent anyway.

``entrypoints/consumers.py`` decodes each event into one of the commands below."""

from __future__ import annotations

from dataclasses import dataclass

from punchcard_kit.assignments import AssignmentChange
from punchcard_kit.logging import get_logger
from punchcard_kit.messaging import catalogue

from ..domain.workers import WorkerStatus
from .unit_of_work import UnitOfWork

log = get_logger(__name__)

WORKERS_TOPIC = catalogue.IDENTITY_WORKERS.name
CLOCKS_TOPIC = catalogue.DEVICE_CLOCKS.name
ASSIGNMENTS_TOPIC = catalogue.DEVICE_CLOCK_ASSIGNMENTS.name
TOPICS = (WORKERS_TOPIC, CLOCKS_TOPIC, ASSIGNMENTS_TOPIC)
# face-match's facts about faces (consumer group ``punch.evidence``): enrolment flags and the
# checks of PIN and card punches' evidence photos (issue 17; the suspicious-PIN report).
EVIDENCE_TOPICS = (catalogue.FACE_EVIDENCE_CHECKS.name, catalogue.FACE_ENROLMENTS.name)
EVIDENCE_CHECKS = ("FACE_MATCHED", "FACE_NOT_WORKERS", "NO_FACE", "NOT_ENROLLED")


@dataclass(frozen=True)
class RecordWorker:
    """A worker registered or updated: its full details after the change; ``status`` None
    when the event carries none (an update keeps the one punch has)."""

    tenant_id: str
    worker_id: str
    employee_id: str
    display_name: str
    site_id: str
    status: WorkerStatus | None


@dataclass(frozen=True)
class ChangeWorkerStatus:
    tenant_id: str
    worker_id: str
    status: WorkerStatus


@dataclass(frozen=True)
class RecordClock:
    """A clock registered or updated (``time_zone`` "" is UTC)."""

    tenant_id: str
    clock_id: str
    name: str
    site_id: str
    time_zone: str


@dataclass(frozen=True)
class RevokeClock:
    tenant_id: str
    clock_id: str


async def record_worker(command: RecordWorker, uow: UnitOfWork) -> None:
    status = command.status
    if status is None:  # WorkerUpdated carries no status: keep the one we have
        status = await uow.projections.worker_status(command.worker_id)
    await uow.projections.upsert_worker(
        {
            "id": command.worker_id,
            "employee_id": command.employee_id,
            "display_name": command.display_name,
            "status": status or WorkerStatus.PENDING,
            "site_id": command.site_id,
        }
    )


async def change_worker_status(command: ChangeWorkerStatus, uow: UnitOfWork) -> None:
    if not await uow.projections.set_worker_status(command.worker_id, command.status):
        log.warning("status of a worker punch has not seen registered", worker_id=command.worker_id)


async def record_clock(command: RecordClock, uow: UnitOfWork) -> None:
    await uow.projections.upsert_clock(
        command.clock_id, name=command.name, site_id=command.site_id, time_zone=command.time_zone
    )


async def revoke_clock(command: RevokeClock, uow: UnitOfWork) -> None:
    await uow.projections.revoke_clock(command.clock_id)


async def apply_assignment(change: AssignmentChange, uow: UnitOfWork) -> None:
    """An assignment or its tombstone (the kit's one projection of the assignments topic)."""
    await uow.projections.apply_assignment(change)


@dataclass(frozen=True)
class RecordEvidenceCheck:
    """face-match compared a PIN or card punch's photo with the worker's face."""

    tenant_id: str
    attempt_id: str
    worker_id: str
    clock_id: str
    method: str
    check: str  # one of EVIDENCE_CHECKS
    distance: float | None = None
    threshold: float | None = None


@dataclass(frozen=True)
class ChangeFaceEnrolment:
    tenant_id: str
    worker_id: str
    enrolled: bool


async def record_evidence_check(command: RecordEvidenceCheck, uow: UnitOfWork) -> None:
    if command.check not in EVIDENCE_CHECKS:
        log.warning("evidence check not known; skipped", check=command.check)
        return
    await uow.projections.record_evidence(
        {
            "attempt_id": command.attempt_id,
            "worker_id": command.worker_id,
            "clock_id": command.clock_id or None,
            "method": command.method,
            "evidence_check": command.check,
            "distance": command.distance,
            "threshold": command.threshold,
        }
    )


async def change_face_enrolment(command: ChangeFaceEnrolment, uow: UnitOfWork) -> None:
    await uow.projections.set_face_enrolled(command.worker_id, command.enrolled)
