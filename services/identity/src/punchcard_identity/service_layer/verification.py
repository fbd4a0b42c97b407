"""PIN verification for kiosk punch attempts (consumer of punchcard.kiosk.pin-attempts.v1).

Checks in order: the Employee ID is of the clock's tenant (the envelope's tenant, set by the
edge from the clock's credential), the worker is Active, a PIN is set and allowed, not locked
out, the PIN matches. The answer is a verdict on punchcard.identification.verdicts.v1, written
to the outbox in the consumer's transaction. An unknown Employee ID costs the same argon2 work
as a known one. Failures are counted per worker and per clock; the Nth failure locks the PIN."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
from punchcard.v1 import common_pb2, identification_pb2, identity_pb2, kiosk_pb2
from punchcard_kit.logging import get_logger
from punchcard_kit.messaging import Message, add_to_outbox, new_envelope

from ..adapters import repository as repo
from ..adapters.pin_hasher import StoredPin
from ..adapters.sealing import PinOpener, UnsealError
from ..domain.model import WorkerStatus
from .workers import WORKERS_TOPIC, Services, now

log = get_logger(__name__)

ATTEMPTS_TOPIC = "punchcard.kiosk.pin-attempts.v1"
VERDICTS_TOPIC = "punchcard.identification.verdicts.v1"
R = common_pb2


class PinVerifier:
    def __init__(
        self,
        services: Services,
        opener: PinOpener,
        *,
        lockout_threshold: int,
        lockout_minutes: int,
        clock_failure_limit: int,
    ) -> None:
        self.s = services
        self.opener = opener
        self.threshold = lockout_threshold
        self.lock_for = timedelta(minutes=lockout_minutes)
        self.clock_limit = clock_failure_limit

    async def handle(self, conn: asyncpg.Connection, messages) -> None:
        """ConsumerLoop handler: one verdict per attempt, in the loop's transaction."""
        for message in messages:
            if message.type == kiosk_pb2.PinPunchAttempted.DESCRIPTOR.full_name:
                await self.verify(conn, message)

    async def verify(self, conn: asyncpg.Connection, message: Message) -> None:
        attempt: kiosk_pb2.PinPunchAttempted = message.payload
        context = attempt.context
        tenant = message.tenant_id
        await repo.enter_tenant(conn, tenant)
        verdict = await self._decide(conn, tenant, attempt)
        envelope = new_envelope(
            verdict,
            tenant_id=tenant,
            producer="identity",
            correlation_id=message.envelope.correlation_id,
            causation_id=message.event_id,
        )
        worker_id = verdict.worker_id
        key = f"{tenant}/{worker_id}" if worker_id else f"{tenant}/{context.attempt_id}"
        await add_to_outbox(conn, [(VERDICTS_TOPIC, key, envelope)])
        log.info(
            "pin attempt verified",
            attempt_id=context.attempt_id,
            clock_id=context.clock_id,
            outcome=type(verdict).__name__,
            reason=R.RejectReason.Name(verdict.reason) if hasattr(verdict, "reason") else None,
        )

    async def _decide(self, conn, tenant: str, attempt: kiosk_pb2.PinPunchAttempted):
        context = attempt.context
        try:
            pin = self.opener.open(
                attempt.sealed_pin.recipient_key_id,
                attempt.sealed_pin.ciphertext,
                context.attempt_id,
            )
        except UnsealError:
            pin = None
        found = await repo.get_worker_by_employee_id(conn, tenant, context.claimed_employee_id)
        if found is None or pin is None:
            await asyncio.to_thread(
                self.s.hasher.verify, pin or "", None
            )  # same work as a real one
            await self.s.counters.record_failure(tenant, None, context.clock_id, context.attempt_id)
            return self._rejected(context, R.REJECT_REASON_UNKNOWN_USER)
        worker, pin_hash, key_id = found
        if worker.status != WorkerStatus.ACTIVE:
            return self._rejected(context, R.REJECT_REASON_INACTIVE, worker.id)
        if pin_hash is None:
            return self._rejected(context, R.REJECT_REASON_PIN_NOT_SET, worker.id)
        if not worker.pin_allowed:
            return self._rejected(context, R.REJECT_REASON_PIN_NOT_ALLOWED, worker.id)
        at = now()
        if worker.pin_locked(at):
            return self._rejected(
                context, R.REJECT_REASON_LOCKED_OUT, worker.id, locked_until=worker.pin_locked_until
            )
        if await self.s.counters.clock_failures(tenant, context.clock_id) >= self.clock_limit:
            # Someone is guessing at this clock: no PIN is checked there for now.
            return self._rejected(context, R.REJECT_REASON_LOCKED_OUT, worker.id)
        if await asyncio.to_thread(self.s.hasher.verify, pin, StoredPin(pin_hash, key_id)):
            await self.s.counters.reset_worker(tenant, worker.id)
            return identification_pb2.WorkerIdentified(
                context=context, worker_id=worker.id, method=R.PUNCH_METHOD_PIN
            )
        failures, _ = await self.s.counters.record_failure(
            tenant, worker.id, context.clock_id, context.attempt_id
        )
        if failures >= self.threshold:
            until = at + self.lock_for
            await repo.set_lock(conn, tenant, worker.id, until)
            locked = identity_pb2.PinLockedOut(
                worker_id=worker.id, failed_attempts=failures, clock_id=context.clock_id
            )
            locked.locked_until.FromDatetime(until)
            await add_to_outbox(
                conn,
                [
                    (
                        WORKERS_TOPIC,
                        f"{tenant}/{worker.id}",
                        new_envelope(locked, tenant_id=tenant, producer="identity"),
                    )
                ],
            )
            log.warning("pin locked out", worker_id=worker.id, failures=failures)
            return self._rejected(
                context, R.REJECT_REASON_LOCKED_OUT, worker.id, locked_until=until
            )
        return self._rejected(
            context, R.REJECT_REASON_WRONG_PIN, worker.id, remaining=self.threshold - failures
        )

    @staticmethod
    def _rejected(context, reason, worker_id: str = "", *, remaining: int = 0, locked_until=None):
        verdict = identification_pb2.IdentificationRejected(
            context=context,
            method=R.PUNCH_METHOD_PIN,
            reason=reason,
            worker_id=worker_id,
            attempts_remaining=remaining,
        )
        if locked_until is not None:
            verdict.locked_until.FromDatetime(locked_until)
        return verdict
