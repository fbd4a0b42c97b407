"""PIN verification for kiosk punch attempts (consumer of punchcard.kiosk.pin-attempts.v1), and
badge-card identification (consumer of punchcard.kiosk.card-attempts.v1).

The rule (order of checks, thresholds, lock duration, the per-clock limit) is
``domain.pin_attempts.decide_pin_attempt``; this module only gathers its facts (the worker of
the clock's tenant — the envelope's tenant, set by the edge from the clock's credential —, its
assignment to the clock, the failure counters, the argon2 check) through the protocols of
``unit_of_work`` and carries out its decision. The answer is a verdict on
punchcard.identification.verdicts.v1, written to the outbox in the consumer's transaction.
A card attempt is decided by ``domain.card_attempts.decide_card_attempt`` the same way (the
card sealed as a PIN is, opened by the same opener, unknown cards counted as unknown IDs).

A kiosk sign-in (a Manager or Administrator at the kiosk app, ``PinVerifier.sign_in``, asked
synchronously by the gateway's kiosk edge) is decided by exactly the same rule, counters and
locks as a PIN punch, but publishes no verdict (so nothing is punched): it answers the
worker's role on the clock (identity's projection of device-sync's assignments)."""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Generic, TypeVar

from prometheus_client import Counter
from punchcard.v1 import common_pb2, identification_pb2, identity_pb2, kiosk_pb2
from punchcard_kit import credentials
from punchcard_kit.caller import Caller
from punchcard_kit.contract_enums import to_proto
from punchcard_kit.errors import Forbidden
from punchcard_kit.logging import get_logger
from punchcard_kit.messaging import catalogue
from punchcard_kit.messaging.envelope import new_envelope

from ..domain.card_attempts import CardAttemptFacts, decide_card_attempt
from ..domain.model import StoredPin, Worker
from ..domain.pin_attempts import (
    Identified,
    PinAttemptFacts,
    PinLimits,
    RecordFailure,
    Reject,
    UnsealError,
    VerifyPin,
    decide_pin_attempt,
    look_again_for_assignment,
    pace_unknown,
    unknown_answer_wait,
)
from .unit_of_work import FailureCounters, PinHasher, PinOpener, UnitOfWork, UnitOfWorkFactory
from .workers import now

log = get_logger(__name__)

# A worker found but not assigned to the clock, looked up again after the assignment grace
# (what: pin or card; assigned: whether the assignment had arrived meanwhile).
ASSIGNED_ON_SECOND_LOOK = Counter(
    "identity_assignment_second_looks_total",
    "Attempts of a worker not assigned to the clock looked up again after the assignment grace,"
    " by credential and whether the assignment had arrived meanwhile",
    ["what", "assigned"],
)


async def _assigned_on_second_look(
    uow: UnitOfWork, clock_id: str, worker_id: str, what: str
) -> bool:
    """After the assignment grace: is the worker assigned to the clock now (counted, by
    ``what``: pin or card)? ``domain.pin_attempts.look_again_for_assignment`` says when."""
    assigned = await uow.assignments.is_assigned(clock_id, worker_id)
    ASSIGNED_ON_SECOND_LOOK.labels(what, str(assigned).lower()).inc()
    return assigned


# What /metrics says of verdicts (by what was checked: pin, card, or signin at a kiosk, which
# publishes none; outcome; the RejectReason's name) and of PIN lockouts (at one clock, or of
# the worker everywhere). All bounded: no worker, clock or tenant labels.
VERDICTS = Counter(
    "identity_verdicts_total",
    "Identification verdicts decided, by attempt kind (pin, card, signin), outcome and reason",
    ["kind", "outcome", "reason"],
)
LOCKOUTS = Counter(
    "identity_pin_lockouts_total",
    "PIN lockouts started, at one clock (scope=clock) or everywhere (scope=worker)",
    ["scope"],
)


def _count(kind: str, verdict: Verdict) -> None:
    rejected = isinstance(verdict, identification_pb2.IdentificationRejected)
    reason = R.RejectReason.Name(verdict.reason).removeprefix("REJECT_REASON_") if rejected else ""
    VERDICTS.labels(kind, "rejected" if rejected else "identified", reason).inc()


ATTEMPTS_TOPIC = catalogue.KIOSK_PIN_ATTEMPTS.name
VERDICTS_TOPIC = catalogue.IDENTIFICATION_VERDICTS.name
WORKERS_TOPIC = catalogue.IDENTITY_WORKERS.name
R = common_pb2

Verdict = identification_pb2.WorkerIdentified | identification_pb2.IdentificationRejected
A = TypeVar("A", kiosk_pb2.PinPunchAttempted, kiosk_pb2.CardPunchAttempted)


@dataclass(frozen=True)
class AttemptCommand(Generic[A]):
    """One kiosk attempt, as the edge published it (its PIN or card number still sealed)."""

    tenant_id: str
    attempt: A
    correlation_id: str = ""
    causation_id: str = ""


VerifyPinAttempt = AttemptCommand[kiosk_pb2.PinPunchAttempted]
IdentifyCardAttempt = AttemptCommand[kiosk_pb2.CardPunchAttempted]


async def _publish_verdict(
    uow: UnitOfWork,
    tenant: str,
    verdict: Verdict,
    command: AttemptCommand,
    what: str,
) -> None:
    """The verdict into the outbox (keyed by its worker, or its attempt), and one log line
    that names the attempt and the outcome, never the credential."""
    context = verdict.context
    envelope = new_envelope(
        verdict,
        tenant_id=tenant,
        producer="identity",
        correlation_id=command.correlation_id,
        causation_id=command.causation_id,
    )
    key = catalogue.verdict_key(tenant, verdict.worker_id, context.attempt_id)
    await uow.publish((VERDICTS_TOPIC, key, envelope))
    _count(what, verdict)
    log.info(
        f"{what} attempt verified",
        attempt_id=context.attempt_id,
        clock_id=context.clock_id,
        outcome=type(verdict).__name__,
        reason=R.RejectReason.Name(verdict.reason) if hasattr(verdict, "reason") else None,
    )


@dataclass
class CardIdentifier:
    """Identifies the worker of a badge card read at a kiosk: opens the sealed number with the
    PIN opener, finds its holder among the tenant's cards, and answers ``WorkerIdentified``
    (method CARD) or ``IdentificationRejected`` — ``UNKNOWN_USER`` whether the card is not
    the tenant's, the box does not open or the worker is not assigned to the clock (counted
    with the clock's unknown IDs), ``INACTIVE`` for a worker not Active."""

    opener: PinOpener
    counters: FailureCounters
    # A holder not assigned to the clock is looked up again after this (PinVerifier's).
    assignment_grace_s: float = 0.25
    sleep: Callable[[float], Awaitable[object]] = field(default=asyncio.sleep)

    async def identify(self, command: IdentifyCardAttempt, uow: UnitOfWork) -> Verdict:
        tenant = command.tenant_id
        context = command.attempt.context
        number = _open(self.opener, command.attempt.sealed_card, context.attempt_id)
        opened = number is not None and credentials.is_card_number(number)
        holder = await uow.cards.holder(number) if opened and number else None
        worker = await uow.workers.get(holder) if holder else None
        assigned = worker is not None and await uow.assignments.is_assigned(
            context.clock_id, worker.id
        )
        if look_again_for_assignment(opened=opened, found=worker is not None, assigned=assigned):
            assert worker is not None
            await self.sleep(self.assignment_grace_s)
            assigned = await _assigned_on_second_look(uow, context.clock_id, worker.id, "card")
        decision = decide_card_attempt(
            CardAttemptFacts(
                card_opened=opened,
                found=worker is not None,
                assigned=assigned,
                status=worker.status if worker is not None else None,
            )
        )
        verdict: Verdict
        if isinstance(decision, Identified):
            assert worker is not None
            verdict = identification_pb2.WorkerIdentified(
                context=context,
                worker_id=worker.id,
                method=R.PUNCH_METHOD_CARD,
                checked_active=True,  # decide_card_attempt: Active and assigned, checked now
                checked_assigned=True,
            )
        elif decision.count_unknown:
            await self.counters.record_unknown(tenant, context.clock_id, context.attempt_id)
            verdict = _rejected(context, R.REJECT_REASON_UNKNOWN_USER, method=R.PUNCH_METHOD_CARD)
        else:
            assert worker is not None
            verdict = _rejected(
                context,
                to_proto(R.RejectReason, decision.reason),
                worker.id,
                method=R.PUNCH_METHOD_CARD,
            )
        await _publish_verdict(uow, tenant, verdict, command, "card")
        return verdict


@dataclass(frozen=True)
class SignInAtKiosk:
    """A worker signs in at a kiosk with Employee ID and PIN (the PIN sealed by the edge to
    ``attempt_id``, a nonce of this one sign-in)."""

    tenant_id: str
    clock_id: str
    attempt_id: str
    employee_id: str
    sealed_pin: common_pb2.SealedBox


@dataclass(frozen=True)
class KioskSignIn:
    """The answer: the worker and their role on the clock, or why not (a ``RejectReason``
    name: UNKNOWN_USER, INACTIVE, PIN_NOT_SET, PIN_NOT_ALLOWED, LOCKED_OUT, WRONG_PIN)."""

    worker: Worker | None = None
    clock_role: str = ""
    reason: str = ""
    attempts_remaining: int = 0
    locked_until: datetime | None = None

    @property
    def signed_in(self) -> bool:
        return self.worker is not None


async def sign_in_at_kiosk(
    uow: UnitOfWorkFactory, verifier: PinVerifier, caller: Caller, command: SignInAtKiosk
) -> KioskSignIn:
    """Only the kiosk edge asks, as the clock (an internal token of role ``clock``: its
    tenant and clock, from the clock's credential, never from the body)."""
    if caller.role != "clock" or caller.user_id != command.clock_id:
        raise Forbidden("only a clock signs its workers in", code="CLOCK_ONLY")
    async with uow(caller.tenant_id) as tx:
        result = await verifier.sign_in(command, tx)
        await tx.commit()
    return result


def _open(opener: PinOpener, sealed: common_pb2.SealedBox, attempt_id: str) -> str | None:
    """The sealed credential (a PIN or a card number) of this attempt, or None."""
    try:
        return opener.open(sealed.recipient_key_id, sealed.ciphertext, attempt_id)
    except UnsealError:
        return None


@dataclass
class PinVerifier:
    """Verifies attempts, one at a time per call; ``hash_s`` (what a PIN check takes here, a
    moving average) paces the answers to unknown Employee IDs. ``hashing``: the threads PIN
    checks run on, shared by every lane (None: the loop's default executor)."""

    opener: PinOpener
    hasher: PinHasher
    counters: FailureCounters
    limits: PinLimits
    hash_s: float = 0.02
    hashing: Executor | None = None
    # A paced UNKNOWN_USER waits at least this long, and a worker found but not assigned to the
    # clock is looked up again at its end (``domain.pin_attempts.look_again_for_assignment``).
    assignment_grace_s: float = 0.25
    clock: Callable[[], datetime] = field(default=now)
    sleep: Callable[[float], Awaitable[object]] = field(default=asyncio.sleep)

    async def verify(self, command: VerifyPinAttempt, uow: UnitOfWork) -> Verdict:
        """Decide the attempt and put its verdict in the outbox (``uow``: the consumer batch's
        transaction for the attempt's tenant)."""
        tenant = command.tenant_id
        verdict = await self._decide(uow, tenant, command.attempt)
        await _publish_verdict(uow, tenant, verdict, command, "pin")
        return verdict

    async def sign_in(self, command: SignInAtKiosk, uow: UnitOfWork) -> KioskSignIn:
        """The same decision as a PIN punch (counters, locks, argon2), with no verdict
        published: the worker and their role on the clock, or the reason. ``uow``: a request's
        transaction (the caller commits: a lock everywhere is an outbox event)."""
        context = kiosk_pb2.PunchAttemptContext(
            attempt_id=command.attempt_id,
            clock_id=command.clock_id,
            claimed_employee_id=command.employee_id,
        )
        attempt = kiosk_pb2.PinPunchAttempted(context=context, sealed_pin=command.sealed_pin)
        verdict = await self._decide(uow, command.tenant_id, attempt)
        _count("signin", verdict)
        log.info(
            "kiosk sign-in verified",
            attempt_id=command.attempt_id,
            clock_id=command.clock_id,
            outcome=type(verdict).__name__,
        )
        if isinstance(verdict, identification_pb2.IdentificationRejected):
            return KioskSignIn(
                reason=R.RejectReason.Name(verdict.reason).removeprefix("REJECT_REASON_"),
                attempts_remaining=verdict.attempts_remaining,
                locked_until=(
                    verdict.locked_until.ToDatetime(tzinfo=UTC)
                    if verdict.HasField("locked_until")
                    else None
                ),
            )
        worker = await uow.workers.get(verdict.worker_id)
        role = await uow.assignments.role_at(command.clock_id, verdict.worker_id)
        if worker is None or role is None:  # unassigned or removed meanwhile
            return KioskSignIn(reason="UNKNOWN_USER")
        return KioskSignIn(worker=worker, clock_role=role)

    async def _decide(
        self, uow: UnitOfWork, tenant: str, attempt: kiosk_pb2.PinPunchAttempted
    ) -> Verdict:
        """Gather the facts, ask ``decide_pin_attempt`` and carry out what it says (I/O only).
        No row lock is held while a PIN is hashed: the worker is read, the PIN hashed, and a
        lock (if any) written by one short conditional update."""
        context = attempt.context
        clock_id = context.clock_id
        pin = _open(self.opener, attempt.sealed_pin, context.attempt_id)
        found = await uow.workers.get_with_pin(context.claimed_employee_id, clock_id)
        facts = PinAttemptFacts(
            now=self.clock(), pin_opened=pin is not None, found=found is not None
        )
        worker: Worker | None = None
        stored: StoredPin | None = None
        if found is not None and pin is not None:
            worker, stored, assigned = found
            (clock_locked_until, clock_failures, worker_failures) = await self.counters.state(
                tenant, worker.id, clock_id
            )
            facts = replace(
                facts,
                assigned=assigned,
                status=worker.status,
                pin_set=stored is not None,
                pin_allowed=worker.pin_allowed,
                locked_until=worker.pin_locked_until,
                clock_locked_until=clock_locked_until,
                clock_failures=clock_failures,
                worker_failures=worker_failures,
            )
        return await self._carry_out(uow, tenant, context, pin, worker, stored, facts)

    async def _carry_out(
        self,
        uow: UnitOfWork,
        tenant: str,
        context: kiosk_pb2.PunchAttemptContext,
        pin: str | None,
        worker: Worker | None,
        stored: StoredPin | None,
        facts: PinAttemptFacts,
    ) -> Verdict:
        """Ask ``decide_pin_attempt`` with the facts gathered and carry out what it says."""
        clock_id = context.clock_id
        decision = decide_pin_attempt(facts, self.limits)
        if isinstance(decision, VerifyPin):
            assert pin is not None and stored is not None
            started = time.monotonic()
            matches = await asyncio.get_running_loop().run_in_executor(
                self.hashing, contextvars.copy_context().run, self.hasher.verify, pin, stored
            )
            # What a PIN check takes here (a moving average), for pacing unknown IDs.
            self.hash_s = 0.9 * self.hash_s + 0.1 * min(time.monotonic() - started, 1.0)
            facts = replace(facts, pin_matches=matches)
            decision = decide_pin_attempt(facts, self.limits)
        if isinstance(decision, RecordFailure):
            assert worker is not None
            at_clock, total = await self.counters.record_failure(
                tenant, worker.id, clock_id, context.attempt_id
            )
            facts = replace(facts, worker_clock_failures=at_clock, worker_total_failures=total)
            decision = decide_pin_attempt(facts, self.limits)
        if isinstance(decision, Identified):
            assert worker is not None
            if decision.forget_failures:
                await self.counters.reset_worker(tenant, worker.id, clock_id)
            return identification_pb2.WorkerIdentified(
                context=context,
                worker_id=worker.id,
                method=R.PUNCH_METHOD_PIN,
                checked_active=True,  # decide_pin_attempt: Active and assigned, checked now
                checked_assigned=True,
            )
        assert isinstance(decision, Reject)
        if decision.count_unknown:
            unknown = await self.counters.record_unknown(tenant, clock_id, context.attempt_id)
            # An unknown Employee ID costs no argon2 work; nor does it say which IDs exist:
            # the kiosk is told "Unknown User", as for a worker not assigned to the clock, after
            # about the time a PIN check takes (a wait, no CPU).
            if pace_unknown(unknown, self.limits):
                await self.sleep(unknown_answer_wait(self.hash_s, self.assignment_grace_s))
                if worker is not None and look_again_for_assignment(
                    opened=facts.pin_opened, found=facts.found, assigned=facts.assigned
                ):
                    # Assigned a moment ago? Then the PIN is checked after all, and the attempt
                    # was no unknown ID.
                    if await _assigned_on_second_look(uow, clock_id, worker.id, "pin"):
                        await self.counters.forget_unknown(tenant, clock_id, context.attempt_id)
                        facts = replace(facts, assigned=True)
                        return await self._carry_out(
                            uow, tenant, context, pin, worker, stored, facts
                        )
            return _rejected(context, R.REJECT_REASON_UNKNOWN_USER)
        assert worker is not None
        if decision.lock_at_clock_until is not None:
            await self.counters.lock_at_clock(
                tenant, worker.id, clock_id, decision.lock_at_clock_until
            )
            LOCKOUTS.labels("clock").inc()
            log.warning("pin locked out at a clock", worker_id=worker.id, clock_id=clock_id)
        if decision.lock_worker_until is not None:
            assert stored is not None
            await self._lock_everywhere(
                uow, tenant, worker.id, stored.hash, clock_id, facts, decision.lock_worker_until
            )
        return _rejected(
            context,
            to_proto(R.RejectReason, decision.reason),
            worker.id,
            remaining=decision.attempts_remaining,
            locked_until=decision.locked_until,
        )

    async def _lock_everywhere(
        self,
        uow: UnitOfWork,
        tenant: str,
        worker_id: str,
        pin_hash: str,
        clock_id: str,
        facts: PinAttemptFacts,
        until: datetime,
    ) -> None:
        await self.counters.start_worker_again(tenant, worker_id)
        if not await uow.pins.lock_if_unchanged(worker_id, pin_hash, until):
            return  # the PIN was changed or locked meanwhile: nothing to lock
        locked = identity_pb2.PinLockedOut(
            worker_id=worker_id,
            failed_attempts=facts.worker_total_failures or 0,
            clock_id=clock_id,
        )
        locked.locked_until.FromDatetime(until)
        key = catalogue.IDENTITY_WORKERS.key(tenant_id=tenant, worker_id=worker_id)
        await uow.publish(
            (WORKERS_TOPIC, key, new_envelope(locked, tenant_id=tenant, producer="identity"))
        )
        LOCKOUTS.labels("worker").inc()
        log.warning("pin locked out", worker_id=worker_id, failures=facts.worker_total_failures)


def _rejected(
    context: kiosk_pb2.PunchAttemptContext,
    reason: int,
    worker_id: str = "",
    *,
    remaining: int = 0,
    locked_until: datetime | None = None,
    method: int = R.PUNCH_METHOD_PIN,
) -> identification_pb2.IdentificationRejected:
    verdict = identification_pb2.IdentificationRejected(
        context=context,
        method=method,
        reason=reason,
        worker_id=worker_id,
        attempts_remaining=remaining,
    )
    if locked_until is not None:
        verdict.locked_until.FromDatetime(locked_until)
    return verdict
