"""PIN verification for kiosk punch attempts (consumer of punchcard.kiosk.pin-attempts.v1).

The rule (order of checks, counting, locks) is ``domain.pin_attempts.decide_pin_attempt``;
this module only gathers its facts (the worker of the clock's tenant — the envelope's tenant,
set by the edge from the clock's credential —, its assignment to the clock, the Redis counters,
the argon2 check) and carries out its decision. The answer is a verdict on
punchcard.identification.verdicts.v1, written to the outbox in the consumer's transaction."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import asyncpg
from punchcard.v1 import common_pb2, identification_pb2, identity_pb2, kiosk_pb2
from punchcard_kit.logging import get_logger
from punchcard_kit.messaging import Message, add_to_outbox, new_envelope

from ..adapters import repository as repo
from ..adapters.pin_hasher import StoredPin
from ..adapters.sealing import PinOpener, UnsealError
from ..domain.pin_attempts import (
    Identified,
    PinAttemptFacts,
    PinLimits,
    RecordFailure,
    Reject,
    VerifyPin,
    decide_pin_attempt,
    pace_unknown,
)
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
        limits: PinLimits,
        hash_s: float = 0.02,
    ) -> None:
        self.s = services
        self.opener = opener
        self.limits = limits
        self.hash_s = hash_s

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
        """Gather the facts, ask ``decide_pin_attempt`` and carry out what it says (I/O only).
        No row lock is held while a PIN is hashed: the worker is read, the PIN hashed, and a
        lock (if any) written by one short conditional update."""
        context = attempt.context
        clock_id = context.clock_id
        try:
            pin = self.opener.open(
                attempt.sealed_pin.recipient_key_id,
                attempt.sealed_pin.ciphertext,
                context.attempt_id,
            )
        except UnsealError:
            pin = None
        found = await repo.get_worker_by_employee_id(conn, tenant, context.claimed_employee_id)
        facts = PinAttemptFacts(now=now(), pin_opened=pin is not None, found=found is not None)
        worker = pin_hash = key_id = None
        if found is not None and pin is not None:
            worker, pin_hash, key_id = found
            clock_locked_until, clock_failures = await self.s.counters.state(
                tenant, worker.id, clock_id
            )
            facts = replace(
                facts,
                assigned=await repo.is_assigned(conn, tenant, clock_id, worker.id),
                status=worker.status,
                pin_set=pin_hash is not None,
                pin_allowed=worker.pin_allowed,
                locked_until=worker.pin_locked_until,
                clock_locked_until=clock_locked_until,
                clock_failures=clock_failures,
            )
        decision = decide_pin_attempt(facts, self.limits)
        if isinstance(decision, VerifyPin):
            started = time.monotonic()
            matches = await asyncio.to_thread(
                self.s.hasher.verify, pin, StoredPin(pin_hash, key_id)
            )
            # What a PIN check takes here (a moving average), for pacing unknown IDs.
            self.hash_s = 0.9 * self.hash_s + 0.1 * min(time.monotonic() - started, 1.0)
            facts = replace(facts, pin_matches=matches)
            decision = decide_pin_attempt(facts, self.limits)
        if isinstance(decision, RecordFailure):
            at_clock, total = await self.s.counters.record_failure(
                tenant, worker.id, clock_id, context.attempt_id
            )
            facts = replace(facts, worker_clock_failures=at_clock, worker_total_failures=total)
            decision = decide_pin_attempt(facts, self.limits)
        if isinstance(decision, Identified):
            await self.s.counters.reset_worker(tenant, worker.id, clock_id)
            return identification_pb2.WorkerIdentified(
                context=context, worker_id=worker.id, method=R.PUNCH_METHOD_PIN
            )
        assert isinstance(decision, Reject)
        if decision.count_unknown:
            unknown = await self.s.counters.record_unknown(tenant, clock_id, context.attempt_id)
            # An unknown Employee ID costs no argon2 work; nor does it say which IDs exist:
            # the kiosk is told "Unknown User", as for a worker not assigned to the clock, after
            # about the time a PIN check takes (a wait, no CPU).
            if pace_unknown(unknown, self.limits):
                await asyncio.sleep(self.hash_s)
            return self._rejected(context, R.REJECT_REASON_UNKNOWN_USER)
        if decision.lock_at_clock_until is not None:
            await self.s.counters.lock_at_clock(
                tenant, worker.id, clock_id, decision.lock_at_clock_until
            )
            log.warning("pin locked out at a clock", worker_id=worker.id, clock_id=clock_id)
        if decision.lock_worker_until is not None:
            await self._lock_everywhere(
                conn, tenant, worker.id, pin_hash, clock_id, facts, decision
            )
        return self._rejected(
            context,
            R.RejectReason.Value(f"REJECT_REASON_{decision.reason}"),
            worker.id,
            remaining=decision.attempts_remaining,
            locked_until=decision.locked_until,
        )

    async def _lock_everywhere(self, conn, tenant, worker_id, pin_hash, clock_id, facts, decision):
        until = decision.lock_worker_until
        await self.s.counters.start_worker_again(tenant, worker_id)
        if not await repo.lock_pin_if_unchanged(conn, tenant, worker_id, pin_hash, until):
            return  # the PIN was changed or locked meanwhile: nothing to lock
        locked = identity_pb2.PinLockedOut(
            worker_id=worker_id,
            failed_attempts=facts.worker_total_failures or 0,
            clock_id=clock_id,
        )
        locked.locked_until.FromDatetime(until)
        await add_to_outbox(
            conn,
            [
                (
                    WORKERS_TOPIC,
                    f"{tenant}/{worker_id}",
                    new_envelope(locked, tenant_id=tenant, producer="identity"),
                )
            ],
        )
        log.warning("pin locked out", worker_id=worker_id, failures=facts.worker_total_failures)

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
