"""The projection of device-sync's compacted clock-assignments topic that identity, face-match
and punch each keep (which workers may use which clock), written once.

A ``ClockAssignment`` event assigns; a tombstone (null value, key ``<tenant>/<clock>/<worker>``)
unassigns. Each service keeps the pairs in a table of its own with the columns
``(tenant_id, clock_id, worker_id)``; every write is idempotent, and the consumer loop makes
each event's effect happen once. A service that also needs the worker's role on the clock
(identity: the kiosk's Manager / Administrator sign-in) keeps it in a ``clock_role`` column
(``role_column``): a role change is the same pair published again with the new role."""

from __future__ import annotations

import re
from dataclasses import dataclass

import asyncpg
from punchcard.v1 import device_pb2

from .contract_enums import proto_name
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
    # USER, MANAGER or ADMINISTRATOR (device_pb2.ClockRole by name); USER when unspecified
    # (an event of a producer before roles), "" for a tombstone.
    clock_role: str = ""


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
    role = proto_name(device_pb2.ClockRole, event.clock_role) or "USER"
    return AssignmentChange(
        message.tenant_id, event.clock_id, event.worker_id, assigned=True, clock_role=role
    )


async def apply_assignment(
    conn: asyncpg.Connection,
    table: str,
    change: AssignmentChange,
    *,
    role_column: str | None = None,
) -> None:
    """Record ``change`` in ``table`` (inside the caller's tenant transaction); with
    ``role_column``, the pair's role too (replaced when the pair is published again)."""
    for name in (table, role_column or "x"):
        if not _TABLE.match(name):
            raise ValueError(f"not a table or column name: {name!r}")
    if change.assigned and role_column is not None:
        await conn.execute(
            f"INSERT INTO {table} (tenant_id, clock_id, worker_id, {role_column})"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, clock_id, worker_id)"
            f" DO UPDATE SET {role_column} = excluded.{role_column}",
            change.tenant_id,
            change.clock_id,
            change.worker_id,
            change.clock_role or "USER",
        )
    elif change.assigned:
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
