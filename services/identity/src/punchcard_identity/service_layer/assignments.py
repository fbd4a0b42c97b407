"""Identity's projection of device-sync's compacted assignments topic (consumer group
``identity.assignments``): which workers may use which clock, so that a PIN is only checked at
a clock its worker is assigned to. An event assigns, a tombstone unassigns (decoded by the
kit's one projection, ``punchcard_kit.assignments``, in ``entrypoints/consumers.py``); each
event's effect happens once (the consumer loop deduplicates) and each write is idempotent."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from punchcard_kit.assignments import AssignmentChange


async def record_assignment(change: AssignmentChange, uow: UnitOfWork) -> None:
    """``uow``: the consumer batch's transaction, for the change's tenant."""
    await uow.assignments.apply(change)
