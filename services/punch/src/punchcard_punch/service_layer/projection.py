"""What punch learns from other services (consumer group ``punch.projections``): workers'
Employee IDs, names and statuses from identity; clocks' sites and time zones from
device-sync; and the table "who may use which clock" from device-sync's compacted
assignments topic (a tombstone = unassigned). Each event's effect happens once (the consumer
loop deduplicates), and each upsert is idempotent anyway."""

from __future__ import annotations

import asyncpg
from punchcard.v1 import common_pb2, device_pb2, identity_pb2
from punchcard_kit.assignments import ASSIGNMENTS_TOPIC, apply_assignment, assignment_change
from punchcard_kit.logging import get_logger
from punchcard_kit.messaging import Message
from punchcard_kit.messaging.dispatch import TOMBSTONE, dispatch
from punchcard_kit.tenancy import enter_tenant

from ..adapters import ledger

log = get_logger(__name__)

WORKERS_TOPIC = "punchcard.identity.workers.v1"
CLOCKS_TOPIC = "punchcard.device.clocks.v1"
TOPICS = (WORKERS_TOPIC, CLOCKS_TOPIC, ASSIGNMENTS_TOPIC)

STATUS = {
    common_pb2.WORKER_STATUS_PENDING: "Pending",
    common_pb2.WORKER_STATUS_ACTIVE: "Active",
    common_pb2.WORKER_STATUS_INACTIVE: "Inactive",
}


def _name(message_class) -> str:
    return message_class.DESCRIPTOR.full_name


async def _enter(conn: asyncpg.Connection, message: Message) -> str:
    await enter_tenant(conn, ledger.APP_ROLE, message.tenant_id)
    return message.tenant_id


async def on_worker(conn: asyncpg.Connection, message: Message) -> None:
    event = message.payload  # WorkerRegistered or WorkerUpdated: full details after the change
    tenant_id = await _enter(conn, message)
    status = STATUS.get(getattr(event, "status", 0))
    if status is None:  # WorkerUpdated carries no status: keep the one we have
        status = await conn.fetchval(
            "SELECT status FROM workers WHERE tenant_id = $1 AND id = $2",
            tenant_id,
            event.worker_id,
        )
    await ledger.upsert_worker(
        conn,
        tenant_id,
        {
            "id": event.worker_id,
            "employee_id": event.details.employee_id,
            "display_name": event.details.display_name,
            "status": status or "Pending",
            "site_id": event.details.site_id,
        },
    )


async def on_status(conn: asyncpg.Connection, message: Message) -> None:
    event: identity_pb2.WorkerStatusChanged = message.payload
    tenant_id = await _enter(conn, message)
    if not await ledger.set_worker_status(
        conn, tenant_id, event.worker_id, STATUS.get(event.status, "Pending")
    ):
        log.warning("status of a worker punch has not seen registered", worker_id=event.worker_id)


async def on_clock(conn: asyncpg.Connection, message: Message) -> None:
    event = message.payload  # ClockRegistered or ClockUpdated
    tenant_id = await _enter(conn, message)
    await ledger.upsert_clock(
        conn,
        tenant_id,
        event.clock_id,
        name=event.name,
        site_id=event.site_id,
        time_zone=event.time_zone,
    )


async def on_revoked(conn: asyncpg.Connection, message: Message) -> None:
    event: device_pb2.ClockRevoked = message.payload
    tenant_id = await _enter(conn, message)
    await ledger.revoke_clock(conn, tenant_id, event.clock_id)


async def on_assignment(conn: asyncpg.Connection, message: Message) -> None:
    """An assignment or its tombstone (the kit's one projection of the assignments topic)."""
    change = assignment_change(message)
    if change is None:
        return
    await enter_tenant(conn, ledger.APP_ROLE, change.tenant_id)
    await apply_assignment(conn, "assignments", change)


handle = dispatch(
    {
        _name(identity_pb2.WorkerRegistered): on_worker,
        _name(identity_pb2.WorkerUpdated): on_worker,
        _name(identity_pb2.WorkerStatusChanged): on_status,
        _name(device_pb2.ClockRegistered): on_clock,
        _name(device_pb2.ClockUpdated): on_clock,
        _name(device_pb2.ClockRevoked): on_revoked,
        _name(device_pb2.ClockAssignment): on_assignment,
        TOMBSTONE: on_assignment,
    }
)
