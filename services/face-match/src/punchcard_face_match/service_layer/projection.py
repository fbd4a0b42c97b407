"""What face-match learns from other services (consumer group ``face-match.projections``):
workers' Employee IDs, sites and statuses from identity (1:1 checks by Employee ID; a worker
deactivated loses their face templates everywhere), and "who may use which clock" from
device-sync's compacted assignments topic (a tombstone = unassigned), for tenants that search
only the clock's workers. Each event's effect happens once (the consumer loop deduplicates),
and each change is idempotent anyway."""

from __future__ import annotations

import asyncpg
from punchcard.v1 import common_pb2, device_pb2, identity_pb2
from punchcard_kit.assignments import ASSIGNMENTS_TOPIC, apply_assignment, assignment_change
from punchcard_kit.logging import get_logger
from punchcard_kit.messaging import Message
from punchcard_kit.messaging.dispatch import TOMBSTONE, dispatch
from punchcard_kit.tenancy import enter_tenant

from ..adapters import repository as repo
from .enrolment import delete_biometrics

log = get_logger(__name__)

WORKERS_TOPIC = "punchcard.identity.workers.v1"
TOPICS = (WORKERS_TOPIC, ASSIGNMENTS_TOPIC)

STATUS = {
    common_pb2.WORKER_STATUS_PENDING: "Pending",
    common_pb2.WORKER_STATUS_ACTIVE: "Active",
    common_pb2.WORKER_STATUS_INACTIVE: "Inactive",
}


def _name(message_class) -> str:
    return message_class.DESCRIPTOR.full_name


async def _enter(conn: asyncpg.Connection, message: Message) -> str:
    await enter_tenant(conn, repo.APP_ROLE, message.tenant_id)
    return message.tenant_id


async def on_registered(conn: asyncpg.Connection, message: Message) -> None:
    event: identity_pb2.WorkerRegistered = message.payload
    tenant_id = await _enter(conn, message)
    await repo.upsert_worker(
        conn,
        tenant_id,
        event.worker_id,
        event.details.employee_id,
        STATUS.get(event.status, "Pending"),
        event.details.site_id,
    )


async def on_updated(conn: asyncpg.Connection, message: Message) -> None:
    event: identity_pb2.WorkerUpdated = message.payload
    tenant_id = await _enter(conn, message)
    await repo.upsert_worker(
        conn, tenant_id, event.worker_id, event.details.employee_id, None, event.details.site_id
    )


async def on_status(conn: asyncpg.Connection, message: Message) -> None:
    event: identity_pb2.WorkerStatusChanged = message.payload
    tenant_id = await _enter(conn, message)
    status = STATUS.get(event.status, "Pending")
    await repo.upsert_worker(conn, tenant_id, event.worker_id, None, status)
    if status == "Inactive" and await delete_biometrics(
        conn, tenant_id, event.worker_id, message.envelope.correlation_id
    ):
        log.info("face data deleted", worker_id=event.worker_id, by="deactivation")


async def on_assignment(conn: asyncpg.Connection, message: Message) -> None:
    """An assignment or its tombstone (the kit's one projection of the assignments topic)."""
    change = assignment_change(message)
    if change is None:
        return
    await enter_tenant(conn, repo.APP_ROLE, change.tenant_id)
    await apply_assignment(conn, "assignments", change)


handle = dispatch(
    {
        _name(identity_pb2.WorkerRegistered): on_registered,
        _name(identity_pb2.WorkerUpdated): on_updated,
        _name(identity_pb2.WorkerStatusChanged): on_status,
        _name(device_pb2.ClockAssignment): on_assignment,
        TOMBSTONE: on_assignment,
    }
)
