"""What device-sync learns from other services: identity's worker lifecycle and PIN events,
face-match's enrolment flags. Each event updates the worker's row and, through
``roster.change_worker``, queues the commands of every clock that holds the worker — in the
consumer's transaction, so an event's effect happens once (the consumer loop deduplicates)."""

from __future__ import annotations

from dataclasses import replace

import asyncpg
from punchcard.v1 import common_pb2, face_pb2, identity_pb2
from punchcard_kit.logging import get_logger
from punchcard_kit.messaging import Message
from punchcard_kit.messaging.dispatch import dispatch
from punchcard_kit.tenancy import enter_tenant

from ..adapters import repository as repo
from ..domain.model import WorkerFacts
from . import roster

log = get_logger(__name__)

WORKERS_TOPIC = "punchcard.identity.workers.v1"
ENROLMENTS_TOPIC = "punchcard.face.enrolments.v1"
TOPICS = (WORKERS_TOPIC, ENROLMENTS_TOPIC)

_STATUS = {
    common_pb2.WORKER_STATUS_PENDING: "Pending",
    common_pb2.WORKER_STATUS_ACTIVE: "Active",
    common_pb2.WORKER_STATUS_INACTIVE: "Inactive",
}


def _name(message_class) -> str:
    return message_class.DESCRIPTOR.full_name


async def _change(conn: asyncpg.Connection, message: Message, worker_id: str, update) -> None:
    tenant_id = message.tenant_id
    await enter_tenant(conn, repo.APP_ROLE, tenant_id)
    correlation_id = message.envelope.correlation_id if message.envelope else None

    def guarded(before: WorkerFacts | None) -> WorkerFacts | None:
        if before is None and not isinstance(message.payload, identity_pb2.WorkerRegistered):
            log.warning(
                "event for a worker device-sync has not seen registered; ignored",
                event_type=message.type,
                worker_id=worker_id,
            )
            return None
        return update(before)

    queued = await roster.change_worker(conn, tenant_id, worker_id, guarded, correlation_id)
    if queued:
        log.info(
            "worker change queued for clocks",
            event_type=message.type,
            worker_id=worker_id,
            clocks=len(queued),
        )


async def on_registered(conn: asyncpg.Connection, message: Message) -> None:
    event: identity_pb2.WorkerRegistered = message.payload
    # A face enrolment flag may have arrived first (another topic): keep it.
    await enter_tenant(conn, repo.APP_ROLE, message.tenant_id)
    enrolled_first = await conn.fetchval(
        "SELECT face_enrolled FROM workers WHERE tenant_id = $1 AND id = $2",
        message.tenant_id,
        event.worker_id,
    )

    def update(before: WorkerFacts | None) -> WorkerFacts:
        return WorkerFacts(
            id=event.worker_id,
            employee_id=event.details.employee_id,
            display_name=event.details.display_name,
            status=_STATUS.get(event.status, "Pending"),
            site_id=event.details.site_id,
            pin_set=before.pin_set if before else False,
            pin_allowed=event.pin_allowed,
            face_enrolled=bool(enrolled_first),
        )

    await _change(conn, message, event.worker_id, update)


async def on_updated(conn: asyncpg.Connection, message: Message) -> None:
    event: identity_pb2.WorkerUpdated = message.payload
    await _change(
        conn,
        message,
        event.worker_id,
        lambda w: replace(
            w,
            employee_id=event.details.employee_id,
            display_name=event.details.display_name,
            site_id=event.details.site_id,
        ),
    )


async def on_status_changed(conn: asyncpg.Connection, message: Message) -> None:
    event: identity_pb2.WorkerStatusChanged = message.payload
    status = _STATUS.get(event.status)
    if status is None:
        log.warning("unknown worker status; ignored", status=event.status)
        return
    await _change(conn, message, event.worker_id, lambda w: replace(w, status=status))


async def on_pin_set(conn: asyncpg.Connection, message: Message) -> None:
    event: identity_pb2.PinSet = message.payload
    await _change(conn, message, event.worker_id, lambda w: replace(w, pin_set=True))


async def on_pin_removed(conn: asyncpg.Connection, message: Message) -> None:
    event: identity_pb2.PinRemoved = message.payload
    await _change(conn, message, event.worker_id, lambda w: replace(w, pin_set=False))


async def on_pin_allowed(conn: asyncpg.Connection, message: Message) -> None:
    event: identity_pb2.PinAllowedChanged = message.payload
    await _change(
        conn, message, event.worker_id, lambda w: replace(w, pin_allowed=event.pin_allowed)
    )


async def on_face_enrolment(conn: asyncpg.Connection, message: Message) -> None:
    event: face_pb2.FaceEnrolmentChanged = message.payload
    tenant_id = message.tenant_id
    await enter_tenant(conn, repo.APP_ROLE, tenant_id)
    before, _ = await repo.lock_worker(conn, tenant_id, event.worker_id)
    if before is None:
        # Not registered yet here: remember the flag; the registration will carry it on.
        await repo.set_face_enrolled(conn, tenant_id, event.worker_id, event.enrolled)
        return
    await _change(
        conn, message, event.worker_id, lambda w: replace(w, face_enrolled=event.enrolled)
    )


handle = dispatch(
    {
        _name(identity_pb2.WorkerRegistered): on_registered,
        _name(identity_pb2.WorkerUpdated): on_updated,
        _name(identity_pb2.WorkerStatusChanged): on_status_changed,
        _name(identity_pb2.PinSet): on_pin_set,
        _name(identity_pb2.PinRemoved): on_pin_removed,
        _name(identity_pb2.PinAllowedChanged): on_pin_allowed,
        _name(face_pb2.FaceEnrolmentChanged): on_face_enrolment,
    }
)
