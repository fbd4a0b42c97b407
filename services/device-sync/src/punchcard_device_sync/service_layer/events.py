"""The events device-sync publishes, written to the unit of work's outbox in the transaction
of the change."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from google.protobuf.message import Message as ProtoMessage
from punchcard.v1 import common_pb2, device_pb2, identification_pb2, kiosk_pb2
from punchcard_kit.contract_enums import to_proto
from punchcard_kit.messaging import new_envelope, tombstone_record
from punchcard_kit.messaging.catalogue import (
    DEVICE_CLOCK_ASSIGNMENTS,
    DEVICE_CLOCKS,
    IDENTIFICATION_VERDICTS,
    verdict_key,
)

from ..domain import zk
from ..domain.model import DEFAULT_CLOCK_ROLE, AssignmentSource, ClockRole, WorkerFacts
from .unit_of_work import UnitOfWork

PRODUCER = "device-sync"


def _envelope(payload: ProtoMessage, tenant_id: str, correlation_id: str | None):
    return new_envelope(
        payload, tenant_id=tenant_id, producer=PRODUCER, correlation_id=correlation_id
    )


async def clock_event(
    uow: UnitOfWork, clock_id: str, payload: ProtoMessage, correlation_id: str | None
) -> None:
    tenant_id = str(uow.tenant_id)
    await uow.publish(
        (
            DEVICE_CLOCKS.name,
            DEVICE_CLOCKS.key(tenant_id=tenant_id, clock_id=clock_id),
            _envelope(payload, tenant_id, correlation_id),
        )
    )


async def assignment_events(
    uow: UnitOfWork,
    assigned: Sequence[tuple[str, str, AssignmentSource]],
    unassigned: Sequence[tuple[str, str]],
    correlation_id: str | None,
    roles: Mapping[tuple[str, str], ClockRole] | None = None,
) -> None:
    """WorkerAssignedToClock / WorkerUnassignedFromClock on the clock's history, and the latest
    state of each pair on the compacted assignments topic (a tombstone when unassigned). An
    assigned pair carries its role (``roles``; USER when absent): a pair whose role changed is
    published again as assigned, with the new role."""
    roles = roles or {}
    tenant_id = str(uow.tenant_id)
    items = []
    records = []
    for clock_id, worker_id, source in assigned:
        proto_source = to_proto(device_pb2.AssignmentSource, source)
        role = to_proto(device_pb2.ClockRole, roles.get((clock_id, worker_id), DEFAULT_CLOCK_ROLE))
        items.append(
            (
                DEVICE_CLOCKS.name,
                DEVICE_CLOCKS.key(tenant_id=tenant_id, clock_id=clock_id),
                _envelope(
                    device_pb2.WorkerAssignedToClock(
                        clock_id=clock_id,
                        worker_id=worker_id,
                        source=proto_source,
                        clock_role=role,
                    ),
                    tenant_id,
                    correlation_id,
                ),
            )
        )
        items.append(
            (
                DEVICE_CLOCK_ASSIGNMENTS.name,
                DEVICE_CLOCK_ASSIGNMENTS.key(
                    tenant_id=tenant_id, clock_id=clock_id, worker_id=worker_id
                ),
                _envelope(
                    _assignment(clock_id, worker_id, proto_source, role), tenant_id, correlation_id
                ),
            )
        )
    for clock_id, worker_id in unassigned:
        items.append(
            (
                DEVICE_CLOCKS.name,
                DEVICE_CLOCKS.key(tenant_id=tenant_id, clock_id=clock_id),
                _envelope(
                    device_pb2.WorkerUnassignedFromClock(clock_id=clock_id, worker_id=worker_id),
                    tenant_id,
                    correlation_id,
                ),
            )
        )
        records.append(
            tombstone_record(
                DEVICE_CLOCK_ASSIGNMENTS.name,
                DEVICE_CLOCK_ASSIGNMENTS.key(
                    tenant_id=tenant_id, clock_id=clock_id, worker_id=worker_id
                ),
                tenant_id=tenant_id,
                event_id=str(uuid.uuid4()),
            )
        )
    if items:
        await uow.publish(*items)
    if records:
        await uow.publish_records(records)


def _assignment(
    clock_id: str, worker_id: str, source: int, role: int
) -> device_pb2.ClockAssignment:
    message = device_pb2.ClockAssignment(
        clock_id=clock_id, worker_id=worker_id, source=source, clock_role=role
    )
    message.assigned_at.GetCurrentTime()
    return message


def device_punch_verdict(
    context: kiosk_pb2.PunchAttemptContext,
    worker: WorkerFacts | None,
    method: zk.Method,
    clock_verifies_pins: bool,
):
    """A hardware clock identified the worker itself: ``WorkerIdentified`` for punch to decide
    (active, assigned, double tap, direction), or ``IdentificationRejected`` for what
    ``zk.device_punch_refusal`` refuses."""
    proto_method = common_pb2.PunchMethod.Value(f"PUNCH_METHOD_{method}")
    refusal = zk.device_punch_refusal(
        found=worker is not None,
        method=method,
        pin_allowed=worker is not None and worker.pin_allowed,
        clock_verifies_pins=clock_verifies_pins,
    )
    if refusal is not None:
        return identification_pb2.IdentificationRejected(
            context=context,
            method=proto_method,
            reason=to_proto(common_pb2.RejectReason, refusal),
            worker_id=worker.id if worker is not None else "",
        )
    assert worker is not None
    return identification_pb2.WorkerIdentified(
        context=context, worker_id=worker.id, method=proto_method
    )


async def publish_verdicts(uow: UnitOfWork, verdicts: Sequence[ProtoMessage]) -> None:
    tenant_id = str(uow.tenant_id)
    items = []
    for verdict in verdicts:
        worker_id = getattr(verdict, "worker_id", "") or None
        items.append(
            (
                IDENTIFICATION_VERDICTS.name,
                verdict_key(tenant_id, worker_id, verdict.context.attempt_id),
                _envelope(verdict, tenant_id, verdict.context.attempt_id),
            )
        )
    if items:
        await uow.publish(*items)
