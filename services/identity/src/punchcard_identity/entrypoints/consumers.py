"""Identity's Kafka subscriptions: each decodes a message into a command and calls one use
case in the consumer batch's transaction (a unit of work on the loop's connection)."""

from __future__ import annotations

import asyncpg
from punchcard.v1 import device_pb2, kiosk_pb2
from punchcard_kit.assignments import assignment_change
from punchcard_kit.contract_enums import message_type
from punchcard_kit.messaging import Message, catalogue
from punchcard_kit.service import Subscription

from ..adapters.lockout import REDIS_TRANSIENT
from ..adapters.postgres import PostgresUnitOfWork
from ..bootstrap import IdentityContainer
from ..service_layer.assignments import RecordClock, record_assignment, record_clock
from ..service_layer.verification import AttemptCommand, CardIdentifier, PinVerifier
from ..settings import IdentitySettings

PIN_ATTEMPTED = message_type(kiosk_pb2.PinPunchAttempted)
CARD_ATTEMPTED = message_type(kiosk_pb2.CardPunchAttempted)
# A clock's site, from its registration or an update (the clocks topic's other events aside).
CLOCK_SITES = frozenset(
    message_type(t) for t in (device_pb2.ClockRegistered, device_pb2.ClockUpdated)
)


async def _each_attempt(
    conn: asyncpg.Connection, messages: list[Message], type_name: str, handle
) -> None:
    """One verdict per attempt of ``type_name``, in the loop's transaction."""
    for message in messages:
        if message.type != type_name:
            continue
        command = AttemptCommand(
            tenant_id=message.tenant_id,
            attempt=message.payload,
            correlation_id=message.envelope.correlation_id,
            causation_id=message.event_id,
        )
        async with PostgresUnitOfWork.on_connection(conn, message.tenant_id) as uow:
            await handle(command, uow)


async def verify_pin_attempts(
    verifier: PinVerifier, conn: asyncpg.Connection, messages: list[Message]
) -> None:
    await _each_attempt(conn, messages, PIN_ATTEMPTED, verifier.verify)


async def identify_card_attempts(
    identifier: CardIdentifier, conn: asyncpg.Connection, messages: list[Message]
) -> None:
    await _each_attempt(conn, messages, CARD_ATTEMPTED, identifier.identify)


async def project_assignments(conn: asyncpg.Connection, messages: list[Message]) -> None:
    """The assignments topic's pairs and the clocks topic's sites, in the batch's order."""
    for message in messages:
        if message.type in CLOCK_SITES:
            event = message.payload
            clock = RecordClock(message.tenant_id, event.clock_id, event.site_id)
            async with PostgresUnitOfWork.on_connection(conn, clock.tenant_id) as uow:
                await record_clock(clock, uow)
            continue
        change = assignment_change(message)
        if change is None:
            continue
        async with PostgresUnitOfWork.on_connection(conn, change.tenant_id) as uow:
            await record_assignment(change, uow)


def subscriptions(settings: IdentitySettings, container: IdentityContainer) -> list[Subscription]:
    verifier = container.verifier
    identifier = container.cards
    assert identifier is not None

    async def pin_attempts(conn: asyncpg.Connection, messages: list[Message]) -> None:
        await verify_pin_attempts(verifier, conn, messages)

    async def card_attempts(conn: asyncpg.Connection, messages: list[Message]) -> None:
        await identify_card_attempts(identifier, conn, messages)

    # The attempts carry sealed PINs (or card numbers): a dead-lettered one is kept 7 days
    # (deploy/topics.yaml's dead_letters), time to redrive it; docs/events.md argues it.
    return [
        Subscription(
            "identity.pin-attempts",
            [settings.pin_attempts_topic],
            pin_attempts,
            lanes=settings.pin_verify_lanes,
            transient=REDIS_TRANSIENT,
        ),
        # Card reads need no argon2: their own group, never waiting behind PIN hashing.
        Subscription(
            "identity.card-attempts",
            [settings.card_attempts_topic],
            card_attempts,
            transient=REDIS_TRANSIENT,
        ),
        # Who may use which clock, and each clock's site (the clocks topic, kept forever: a
        # new deployment reads it from its beginning).
        Subscription(
            "identity.assignments",
            [catalogue.DEVICE_CLOCK_ASSIGNMENTS.name, catalogue.DEVICE_CLOCKS.name],
            project_assignments,
        ),
    ]
