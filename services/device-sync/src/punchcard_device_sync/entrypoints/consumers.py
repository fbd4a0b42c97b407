"""device-sync's Kafka subscription: identity's worker events (their cards too), the PINs it
sealed for clocks that verify PINs (``service_layer.device_pins``) and face-match's
enrolment flags, each decoded into a command for ``service_layer.projection``, run in the consumer's
batch transaction (``PostgresUnitOfWork.on_connection``)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import asyncpg
from punchcard.v1 import common_pb2, face_pb2, identity_pb2
from punchcard_kit.contract_enums import from_proto, message_type
from punchcard_kit.credentials import is_card_number
from punchcard_kit.logging import get_logger
from punchcard_kit.messaging import Message
from punchcard_kit.messaging.catalogue import (
    FACE_ENROLMENTS,
    IDENTITY_DEVICE_PINS,
    IDENTITY_WORKERS,
)
from punchcard_kit.messaging.dispatch import TOMBSTONE, dispatch
from punchcard_kit.service import Runtime, Subscription

from ..adapters.postgres import PostgresUnitOfWork
from ..domain.model import WorkerStatus
from ..service_layer import device_pins
from ..service_layer import projection as uc

log = get_logger(__name__)

TOPICS = (IDENTITY_WORKERS.name, FACE_ENROLMENTS.name, IDENTITY_DEVICE_PINS.name)
MAX_SEALED_PIN_BYTES = 256


def _head(message: Message, worker_id: str) -> dict:
    return {
        "worker_id": worker_id,
        "event_type": message.type,
        "correlation_id": message.envelope.correlation_id if message.envelope else None,
    }


def _uow(conn: asyncpg.Connection, message: Message) -> PostgresUnitOfWork:
    return PostgresUnitOfWork.on_connection(conn, message.tenant_id)


async def on_registered(conn: asyncpg.Connection, message: Message) -> None:
    event: identity_pb2.WorkerRegistered = message.payload
    command = uc.RegisterWorker(
        **_head(message, event.worker_id),
        employee_id=event.details.employee_id,
        display_name=event.details.display_name,
        status=from_proto(common_pb2.WorkerStatus, event.status, WorkerStatus)
        or WorkerStatus.PENDING,
        site_id=event.details.site_id,
        pin_allowed=event.pin_allowed,
    )
    await uc.register_worker(command, _uow(conn, message))


async def on_updated(conn: asyncpg.Connection, message: Message) -> None:
    event: identity_pb2.WorkerUpdated = message.payload
    command = uc.UpdateWorker(
        **_head(message, event.worker_id),
        employee_id=event.details.employee_id,
        display_name=event.details.display_name,
        site_id=event.details.site_id,
    )
    await uc.change_worker(command, _uow(conn, message))


async def on_status_changed(conn: asyncpg.Connection, message: Message) -> None:
    event: identity_pb2.WorkerStatusChanged = message.payload
    status = from_proto(common_pb2.WorkerStatus, event.status, WorkerStatus)
    if status is None:
        log.warning("unknown worker status; ignored", status=event.status)
        return
    command = uc.ChangeWorkerStatus(**_head(message, event.worker_id), status=status)
    await uc.change_worker(command, _uow(conn, message))


async def on_pin_set(conn: asyncpg.Connection, message: Message) -> None:
    event: identity_pb2.PinSet = message.payload
    command = uc.SetPinSet(**_head(message, event.worker_id), pin_set=True)
    await uc.change_worker(command, _uow(conn, message))


async def on_pin_removed(conn: asyncpg.Connection, message: Message) -> None:
    event: identity_pb2.PinRemoved = message.payload
    command = uc.SetPinSet(**_head(message, event.worker_id), pin_set=False)
    await uc.change_worker(command, _uow(conn, message))


async def on_pin_allowed(conn: asyncpg.Connection, message: Message) -> None:
    event: identity_pb2.PinAllowedChanged = message.payload
    command = uc.SetPinAllowed(**_head(message, event.worker_id), pin_allowed=event.pin_allowed)
    await uc.change_worker(command, _uow(conn, message))


async def on_cards_changed(conn: asyncpg.Connection, message: Message) -> None:
    event: identity_pb2.WorkerCardsChanged = message.payload
    # identity checked each number; one that is not a card number never reaches a clock.
    cards = tuple(c for c in event.cards if is_card_number(c))
    command = uc.SetCards(**_head(message, event.worker_id), cards=cards)
    await uc.change_worker(command, _uow(conn, message))


async def on_face_enrolment(conn: asyncpg.Connection, message: Message) -> None:
    event: face_pb2.FaceEnrolmentChanged = message.payload
    command = uc.SetFaceEnrolled(**_head(message, event.worker_id), enrolled=event.enrolled)
    await uc.set_face_enrolled(command, _uow(conn, message))


def _uuid(value: str) -> str | None:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


async def on_device_pin(conn: asyncpg.Connection, message: Message) -> None:
    """A worker's PIN sealed to device-sync (never in the clear): kept as received."""
    event: identity_pb2.DevicePinSealed = message.payload
    worker_id, box = _uuid(event.worker_id), event.sealed_pin
    if worker_id is None or not box.recipient_key_id or len(box.recipient_key_id) > 40:
        log.warning("sealed device pin without a worker or key; ignored", event_id=message.event_id)
        return
    if not 48 <= len(box.ciphertext) <= MAX_SEALED_PIN_BYTES:
        log.warning("sealed device pin of an odd size; ignored", worker_id=worker_id)
        return
    await device_pins.store_sealed(
        _uow(conn, message), worker_id, box.recipient_key_id, box.ciphertext
    )


async def on_tombstone(conn: asyncpg.Connection, message: Message) -> None:
    """The device-pins topic's tombstone (key ``tenant/worker``): the sealed PIN goes."""
    if message.topic != IDENTITY_DEVICE_PINS.name:
        return
    tenant_id, _, worker = (message.key or b"").decode(errors="replace").partition("/")
    worker_id = _uuid(worker)
    if worker_id is None or _uuid(tenant_id) is None or tenant_id != message.tenant_id:
        log.warning("device pin tombstone with an odd key; ignored", event_id=message.event_id)
        return
    await device_pins.forget(PostgresUnitOfWork.on_connection(conn, tenant_id), worker_id)


Handler = Callable[[asyncpg.Connection, Message], Awaitable[None]]

HANDLERS: dict[str, Handler] = {
    message_type(identity_pb2.WorkerRegistered): on_registered,
    message_type(identity_pb2.WorkerUpdated): on_updated,
    message_type(identity_pb2.WorkerStatusChanged): on_status_changed,
    message_type(identity_pb2.PinSet): on_pin_set,
    message_type(identity_pb2.PinRemoved): on_pin_removed,
    message_type(identity_pb2.PinAllowedChanged): on_pin_allowed,
    message_type(identity_pb2.WorkerCardsChanged): on_cards_changed,
    message_type(face_pb2.FaceEnrolmentChanged): on_face_enrolment,
    message_type(identity_pb2.DevicePinSealed): on_device_pin,
    TOMBSTONE: on_tombstone,
}

handle = dispatch(HANDLERS)


def subscriptions(runtime: Runtime) -> list[Subscription]:
    return [Subscription("device-sync.workers", TOPICS, handle)]
