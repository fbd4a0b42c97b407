"""The projection of device-sync's compacted clock-assignments topic that identity, face-match
and punch each keep (which workers may use which clock), written once.

A ``ClockAssignment`` event assigns; a tombstone (null value, key ``<tenant>/<clock>/<worker>``)
unassigns. Each service keeps the pairs in a table of its own with the columns
``(tenant_id, clock_id, worker_id)``; every write is idempotent, and the consumer loop makes
each event's effect happen once."""

from __future__ import annotations

import re
from dataclasses import dataclass

import asyncpg

from .messaging import Message
from .messaging.catalogue import DEVICE_CLOCK_ASSIGNMENTS

ASSIGNMENTS_TOPIC = DEVICE_CLOCK_ASSIGNMENTS.name
ASSIGNMENT_TYPE = "punchcard.v1.ClockAssignment"
_TABLE = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class AssignmentChange:
    tenant_id: str
    clock_id: str
    worker_id: str
    assigned: bool


def assignment_change(message: Message) -> AssignmentChange | None:
    """What an assignments-topic record says, or None for a record of another topic or type
    (or a tombstone whose key is not ``<tenant>/<clock>/<worker>``)."""
    if message.is_tombstone:
        if message.topic != ASSIGNMENTS_TOPIC or message.key is None:
            return None
        parts = message.key.decode(errors="replace").split("/")
        if len(parts) != 3:
            return None
        return AssignmentChange(*parts, assigned=False)
    if message.type != ASSIGNMENT_TYPE:
        return None
    event = message.payload
    return AssignmentChange(message.tenant_id, event.clock_id, event.worker_id, assigned=True)


async def apply_assignment(conn: asyncpg.Connection, table: str, change: AssignmentChange) -> None:
    """Record ``change`` in ``table`` (inside the caller's tenant transaction)."""
    if not _TABLE.match(table):
        raise ValueError(f"not a table name: {table!r}")
    if change.assigned:
        await conn.execute(
            f"INSERT INTO {table} (tenant_id, clock_id, worker_id) VALUES ($1, $2, $3)"
            " ON CONFLICT DO NOTHING",
            change.tenant_id,
            change.clock_id,
            change.worker_id,
        )
    else:
        await conn.execute(
            f"DELETE FROM {table} WHERE tenant_id = $1 AND clock_id = $2 AND worker_id = $3",
            change.tenant_id,
            change.clock_id,
            change.worker_id,
        )
