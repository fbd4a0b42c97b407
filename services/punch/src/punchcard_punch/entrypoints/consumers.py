"""punch's Kafka subscriptions: each message decoded into a command for one use case, in the
consumer's batch transaction (the tenant's unit of work ``on_connection``).

- ``punch`` (the verdicts): a batch split by tenant, each tenant's verdicts decided at once
  (``service_layer/ingest.py``). ``NotYetKnown`` is transient for this subscription only: the
  batch waits with backoff until punch's projections know the worker and clock (or parks).
- ``punch.projections``: workers, clocks and assignments (``service_layer/projection.py``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg
from punchcard.v1 import common_pb2, device_pb2, evidence_pb2, face_pb2, identity_pb2
from punchcard_kit.assignments import assignment_change
from punchcard_kit.contract_enums import from_proto, message_type
from punchcard_kit.failpoints import failpoint
from punchcard_kit.messaging import Message
from punchcard_kit.messaging.dispatch import TOMBSTONE, dispatch
from punchcard_kit.service import Subscription

from ..domain.workers import WorkerStatus
from ..service_layer import projection
from ..service_layer.ingest import (
    VERDICT_TYPES,
    VERDICTS_TOPIC,
    DecideVerdicts,
    Ingest,
    NotYetKnown,
)
from ..service_layer.unit_of_work import UnitOfWork

VERDICTS_GROUP = "punch"
PROJECTIONS_GROUP = "punch.projections"
EVIDENCE_GROUP = "punch.evidence"

# The tenant's unit of work on the consumer's connection (``TenantUnitOfWork.on_connection``).
OnConnection = Callable[[asyncpg.Connection, str], UnitOfWork]


def verdicts_handler(ingest: Ingest, on_connection: OnConnection):
    """The verdicts' ConsumerLoop handler: decide every verdict of the batch in its
    transaction, tenant by tenant."""

    async def handle(conn: asyncpg.Connection, messages: Sequence[Message]) -> None:
        by_tenant: dict[str, list[Message]] = {}
        for message in messages:
            if message.type in VERDICT_TYPES:
                by_tenant.setdefault(message.tenant_id, []).append(message)
        for tenant_id, verdicts in by_tenant.items():
            async with on_connection(conn, tenant_id) as uow:
                await ingest.decide(DecideVerdicts(tenant_id, verdicts), uow)
        failpoint("punch.ingest.before_commit")

    return handle


def _worker(message: Message) -> projection.RecordWorker:
    event = message.payload  # WorkerRegistered or WorkerUpdated: full details after the change
    return projection.RecordWorker(
        tenant_id=message.tenant_id,
        worker_id=event.worker_id,
        employee_id=event.details.employee_id,
        display_name=event.details.display_name,
        site_id=event.details.site_id,
        status=_status(getattr(event, "status", 0)),
    )


def _status(value: int) -> WorkerStatus | None:
    return from_proto(common_pb2.WorkerStatus, value, WorkerStatus)


def _status_changed(message: Message) -> projection.ChangeWorkerStatus:
    event: identity_pb2.WorkerStatusChanged = message.payload
    return projection.ChangeWorkerStatus(
        message.tenant_id, event.worker_id, _status(event.status) or WorkerStatus.PENDING
    )


def _clock(message: Message) -> projection.RecordClock:
    event = message.payload  # ClockRegistered or ClockUpdated
    return projection.RecordClock(
        message.tenant_id, event.clock_id, event.name, event.site_id, event.time_zone
    )


def _revoked(message: Message) -> projection.RevokeClock:
    event: device_pb2.ClockRevoked = message.payload
    return projection.RevokeClock(message.tenant_id, event.clock_id)


def _evidence_check(message: Message) -> projection.RecordEvidenceCheck:
    event: evidence_pb2.PunchEvidenceChecked = message.payload
    return projection.RecordEvidenceCheck(
        tenant_id=message.tenant_id,
        attempt_id=event.attempt_id,
        worker_id=event.worker_id,
        clock_id=event.clock_id,
        method=common_pb2.PunchMethod.Name(event.method).removeprefix("PUNCH_METHOD_"),
        check=evidence_pb2.EvidenceCheck.Name(event.check).removeprefix("EVIDENCE_CHECK_"),
        distance=event.distance if event.HasField("distance") else None,
        threshold=event.threshold if event.HasField("threshold") else None,
    )


def _enrolment(message: Message) -> projection.ChangeFaceEnrolment:
    event: face_pb2.FaceEnrolmentChanged = message.payload
    return projection.ChangeFaceEnrolment(message.tenant_id, event.worker_id, event.enrolled)


def _route(
    on_connection: OnConnection,
    decode: Callable[[Message], Any],
    use_case: Callable[[Any, UnitOfWork], Awaitable[None]],
):
    async def handle(conn: asyncpg.Connection, message: Message) -> None:
        command = decode(message)
        if command is None:
            return
        async with on_connection(conn, command.tenant_id) as uow:
            await use_case(command, uow)

    return handle


def evidence_handler(on_connection: OnConnection):
    """``punch.evidence``: face-match's checks of punches' photos and its enrolment flags."""
    return dispatch(
        {
            message_type(evidence_pb2.PunchEvidenceChecked): _route(
                on_connection, _evidence_check, projection.record_evidence_check
            ),
            message_type(face_pb2.FaceEnrolmentChanged): _route(
                on_connection, _enrolment, projection.change_face_enrolment
            ),
        }
    )


def projections_handler(on_connection: OnConnection):
    """The projections' handler: one command per event, in the batch's transaction."""

    def route(
        decode: Callable[[Message], Any], use_case: Callable[[Any, UnitOfWork], Awaitable[None]]
    ):
        async def handle(conn: asyncpg.Connection, message: Message) -> None:
            command = decode(message)
            if command is None:
                return
            async with on_connection(conn, command.tenant_id) as uow:
                await use_case(command, uow)

        return handle

    on_assignment = route(assignment_change, projection.apply_assignment)
    return dispatch(
        {
            message_type(identity_pb2.WorkerRegistered): route(_worker, projection.record_worker),
            message_type(identity_pb2.WorkerUpdated): route(_worker, projection.record_worker),
            message_type(identity_pb2.WorkerStatusChanged): route(
                _status_changed, projection.change_worker_status
            ),
            message_type(device_pb2.ClockRegistered): route(_clock, projection.record_clock),
            message_type(device_pb2.ClockUpdated): route(_clock, projection.record_clock),
            message_type(device_pb2.ClockRevoked): route(_revoked, projection.revoke_clock),
            message_type(device_pb2.ClockAssignment): on_assignment,
            TOMBSTONE: on_assignment,
        }
    )


def subscriptions(
    ingest: Ingest, on_connection: OnConnection, verdict_lanes: int = 1
) -> list[Subscription]:
    return [
        Subscription(PROJECTIONS_GROUP, projection.TOPICS, projections_handler(on_connection)),
        Subscription(EVIDENCE_GROUP, projection.EVIDENCE_TOPICS, evidence_handler(on_connection)),
        Subscription(
            VERDICTS_GROUP,
            [VERDICTS_TOPIC],
            verdicts_handler(ingest, on_connection),
            # A verdict for a worker or clock whose event has not reached punch yet waits
            # (with backoff, like a server that is down) until it is PARK_AFTER_S old, then it
            # is parked.
            transient=(NotYetKnown,),
            # A verdict is decided once by its attempt id (``attempts``, kept for ever, and
            # ``parked_verdicts``): a redelivered or repeated verdict decides nothing new, so
            # the loop need not record event ids (issue 18: one insert per verdict less).
            idempotent_handler=True,
            # Lanes overlap one batch's database round trips with the next one's decoding
            # and deciding (each lane its own partitions, so a worker's verdicts in order).
            lanes=verdict_lanes,
        ),
    ]
