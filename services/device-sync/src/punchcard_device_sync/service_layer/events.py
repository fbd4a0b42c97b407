"""The events device-sync publishes, written to its outbox in the transaction of the change."""

from __future__ import annotations

import uuid

import asyncpg
from google.protobuf.message import Message as ProtoMessage
from punchcard.v1 import device_pb2
from punchcard_kit.messaging import add_records, add_to_outbox, new_envelope, tombstone_record

CLOCKS_TOPIC = "punchcard.device.clocks.v1"
ASSIGNMENTS_TOPIC = "punchcard.device.clock-assignments.v1"
PRODUCER = "device-sync"


async def clock_event(
    conn: asyncpg.Connection,
    tenant_id: str,
    clock_id: str,
    payload: ProtoMessage,
    correlation_id: str | None,
) -> None:
    envelope = new_envelope(
        payload, tenant_id=tenant_id, producer=PRODUCER, correlation_id=correlation_id
    )
    await add_to_outbox(conn, [(CLOCKS_TOPIC, f"{tenant_id}/{clock_id}", envelope)])


async def assignment_events(
    conn: asyncpg.Connection,
    tenant_id: str,
    assigned: list[tuple[str, str, int]],
    unassigned: list[tuple[str, str]],
    correlation_id: str | None,
) -> None:
    """WorkerAssignedToClock / WorkerUnassignedFromClock on the clock's history, and the latest
    state of each pair on the compacted assignments topic (a tombstone when unassigned)."""
    items = []
    records = []
    for clock_id, worker_id, source in assigned:
        for topic, key, payload in (
            (
                CLOCKS_TOPIC,
                f"{tenant_id}/{clock_id}",
                device_pb2.WorkerAssignedToClock(
                    clock_id=clock_id, worker_id=worker_id, source=source
                ),
            ),
            (
                ASSIGNMENTS_TOPIC,
                f"{tenant_id}/{clock_id}/{worker_id}",
                _assignment(clock_id, worker_id, source),
            ),
        ):
            items.append(
                (
                    topic,
                    key,
                    new_envelope(
                        payload,
                        tenant_id=tenant_id,
                        producer=PRODUCER,
                        correlation_id=correlation_id,
                    ),
                )
            )
    for clock_id, worker_id in unassigned:
        items.append(
            (
                CLOCKS_TOPIC,
                f"{tenant_id}/{clock_id}",
                new_envelope(
                    device_pb2.WorkerUnassignedFromClock(clock_id=clock_id, worker_id=worker_id),
                    tenant_id=tenant_id,
                    producer=PRODUCER,
                    correlation_id=correlation_id,
                ),
            )
        )
        records.append(
            tombstone_record(
                ASSIGNMENTS_TOPIC,
                f"{tenant_id}/{clock_id}/{worker_id}",
                tenant_id=tenant_id,
                event_id=str(uuid.uuid4()),
            )
        )
    if items:
        await add_to_outbox(conn, items)
    if records:
        await add_records(conn, records)


def _assignment(clock_id: str, worker_id: str, source: int) -> device_pb2.ClockAssignment:
    message = device_pb2.ClockAssignment(clock_id=clock_id, worker_id=worker_id, source=source)
    message.assigned_at.GetCurrentTime()
    return message


DIRECT = device_pb2.ASSIGNMENT_SOURCE_DIRECT
SITE_RULE = device_pb2.ASSIGNMENT_SOURCE_SITE_RULE
