"""Identity's projection of device-sync's compacted assignments topic (consumer group
``identity.assignments``): which workers may use which clock, so that a PIN is only checked at
a clock its worker is assigned to. A tombstone (key ``<tenant>/<clock>/<worker>``) unassigns.
Each event's effect happens once (the consumer loop deduplicates); each write is idempotent."""

from __future__ import annotations

import asyncpg
from punchcard.v1 import device_pb2
from punchcard_kit.messaging import Message
from punchcard_kit.messaging.dispatch import TOMBSTONE, dispatch

from ..adapters import repository as repo

ASSIGNMENTS_TOPIC = "punchcard.device.clock-assignments.v1"


async def on_assignment(conn: asyncpg.Connection, message: Message) -> None:
    event: device_pb2.ClockAssignment = message.payload
    await repo.enter_tenant(conn, message.tenant_id)
    await repo.set_assignment(conn, message.tenant_id, event.clock_id, event.worker_id, True)


async def on_tombstone(conn: asyncpg.Connection, message: Message) -> None:
    if message.topic != ASSIGNMENTS_TOPIC or message.key is None:
        return
    parts = message.key.decode().split("/")
    if len(parts) != 3:
        return
    tenant_id, clock_id, worker_id = parts
    await repo.enter_tenant(conn, tenant_id)
    await repo.set_assignment(conn, tenant_id, clock_id, worker_id, False)


handle = dispatch(
    {
        device_pb2.ClockAssignment.DESCRIPTOR.full_name: on_assignment,
        TOMBSTONE: on_tombstone,
    }
)
