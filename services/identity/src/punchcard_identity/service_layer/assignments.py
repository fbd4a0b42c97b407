"""Identity's projections of device-sync's topics (consumer group ``identity.assignments``):
which workers may use which clock (the compacted assignments topic), so that a PIN is only
checked at a clock its worker is assigned to — an event assigns, a tombstone unassigns (decoded
by the kit's one projection, ``punchcard_kit.assignments``, in ``entrypoints/consumers.py``) —
and each clock's site (the clocks topic: ``ClockRegistered``, ``ClockUpdated``), so that a
clock's PIN counters go only to those who see the clock. Each event's effect happens once (the
consumer loop deduplicates) and each write is idempotent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from punchcard_kit.assignments import AssignmentChange


async def record_assignment(change: AssignmentChange, uow: UnitOfWork) -> None:
    """``uow``: the consumer batch's transaction, for the change's tenant."""
    await uow.assignments.apply(change)


@dataclass(frozen=True)
class RecordClock:
    """A clock registered or updated: its site after the change."""

    tenant_id: str
    clock_id: str
    site_id: str


async def record_clock(command: RecordClock, uow: UnitOfWork) -> None:
    """``uow``: the consumer batch's transaction, for the clock's tenant."""
    await uow.clocks.record(command.clock_id, command.site_id)
