"""What face-match learns from other services (consumer group ``face-match.projections``):
workers' Employee IDs, sites and statuses from identity (1:1 checks by Employee ID; a worker
deactivated loses their face templates everywhere), and "who may use which clock" from
device-sync's compacted assignments topic (a tombstone = unassigned), for tenants that search
only the clock's workers. Each event's effect happens once (the consumer loop deduplicates),
and each change is idempotent anyway."""

from __future__ import annotations

from dataclasses import dataclass

from punchcard_kit.assignments import AssignmentChange
from punchcard_kit.logging import get_logger

from ..domain.model import WorkerStatus
from .enrolment import delete_biometrics
from .unit_of_work import UnitOfWork

log = get_logger(__name__)


@dataclass(frozen=True)
class RegisterWorker:
    tenant_id: str
    worker_id: str
    employee_id: str
    status: WorkerStatus
    site_id: str | None = None


@dataclass(frozen=True)
class UpdateWorker:
    """``site_id`` None: keep the known site."""

    tenant_id: str
    worker_id: str
    employee_id: str
    site_id: str | None = None


@dataclass(frozen=True)
class ChangeWorkerStatus:
    tenant_id: str
    worker_id: str
    status: WorkerStatus
    correlation_id: str | None = None


async def register_worker(command: RegisterWorker, uow: UnitOfWork) -> None:
    async with uow:
        await uow.workers.upsert(
            command.worker_id, command.employee_id, command.status, command.site_id
        )
        await uow.commit()


async def update_worker(command: UpdateWorker, uow: UnitOfWork) -> None:
    async with uow:
        await uow.workers.upsert(command.worker_id, command.employee_id, None, command.site_id)
        await uow.commit()


async def change_worker_status(command: ChangeWorkerStatus, uow: UnitOfWork) -> None:
    """A worker deactivated loses their face data everywhere (templates, photos, galleries)."""
    async with uow:
        await uow.workers.upsert(command.worker_id, None, command.status)
        if command.status is WorkerStatus.INACTIVE and await delete_biometrics(
            uow, command.tenant_id, command.worker_id, command.correlation_id
        ):
            log.info("face data deleted", worker_id=command.worker_id, by="deactivation")
        await uow.commit()


async def record_assignment(change: AssignmentChange, uow: UnitOfWork) -> None:
    """An assignment or its tombstone (the kit's one projection of the assignments topic)."""
    async with uow:
        await uow.assignments.apply(change)
        await uow.commit()
