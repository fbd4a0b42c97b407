"""Identity's projection of device-sync's compacted assignments topic (consumer group
``identity.assignments``): which workers may use which clock, so that a PIN is only checked at
a clock its worker is assigned to. The kit's one assignments projection
(``punchcard_kit.assignments``): an event assigns, a tombstone unassigns; each event's effect
happens once (the consumer loop deduplicates) and each write is idempotent."""

from __future__ import annotations

import asyncpg
from punchcard_kit.assignments import ASSIGNMENTS_TOPIC, apply_assignment, assignment_change
from punchcard_kit.messaging import Message

from ..adapters import repository as repo

__all__ = ["ASSIGNMENTS_TOPIC", "handle"]


async def handle(conn: asyncpg.Connection, messages: list[Message]) -> None:
    for message in messages:
        change = assignment_change(message)
        if change is None:
            continue
        await repo.enter_tenant(conn, change.tenant_id)
        await apply_assignment(conn, "clock_assignments", change)
