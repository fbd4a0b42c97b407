"""The kiosk edge: a kiosk's punch attempt in, its outcome out.

1. The clock is authenticated by device-sync on every request (no cache here: a revoked clock
   is refused at once). Tenant and clock come from the credential, never from the body.
2. A PIN (or a badge card's number) is sealed to identity's public key before anything else
   happens to it.
3. The attempt is *claimed* — ``kiosk_attempts(tenant, attempt_id)`` — and its event is put in
   the outbox in the same transaction; the relay publishes it. A claim that exists means the
   attempt was published already: a kiosk sending it again never publishes it again (identity
   would verify the PIN a second time and count a second failure). Different content under a
   claimed id is a 409. A copy of the attempt's record is held until its outcome; only the
   reconciler (service_layer/reconciler.py) publishes that same record again — same event id,
   so a consumer that processed it drops it — when no outcome came in time.
4. The request waits (``wait_s``) for the outcome punch publishes on
   ``punchcard.punch.punches.v1``. Every gateway replica follows that topic without a consumer
   group (``TopicFollower``), so whichever replica holds the request sees its outcome; the
   waiter is registered before the claim commits, so even an instant outcome is not missed.
5. No outcome in time: the punch service is asked once; still nothing → 202 pending, and the
   kiosk asks ``GET /kiosk/v1/punches/{attempt_id}`` later. Meanwhile this replica keeps
   watching for the outcome and stores it with the claim when it comes.

An outcome, once known, is stored with the claim, so the same attempt sent again (to any
replica) gets the same answer without waiting."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Protocol

from prometheus_client import Counter, Histogram
from punchcard.v1 import common_pb2, evidence_pb2, kiosk_pb2
from punchcard_kit.credentials import employee_id_key
from punchcard_kit.logging import get_logger
from punchcard_kit.messaging import Message, catalogue, new_envelope, unpack_payload
from punchcard_kit.messaging.envelope import Envelope
from punchcard_kit.tracing import span

from ..domain.kiosk import (
    OUTCOME_TYPES,
    Attempt,
    AttemptIdReused,
    Claim,
    Clock,
    Outcome,
    StoredClaim,
    answer,
    ends_clock_answers,
    pending,
    proto_direction,
)
from ..domain.model import NotFound

log = get_logger(__name__)

PIN_ATTEMPTS = catalogue.KIOSK_PIN_ATTEMPTS.name
FACE_ATTEMPTS = catalogue.KIOSK_FACE_ATTEMPTS.name
CARD_ATTEMPTS = catalogue.KIOSK_CARD_ATTEMPTS.name
ATTEMPT_TOPICS = (PIN_ATTEMPTS, FACE_ATTEMPTS, CARD_ATTEMPTS)
PUNCHES = catalogue.PUNCH_PUNCHES.name
CLOCKS = catalogue.DEVICE_CLOCKS.name

WAIT_SECONDS = Histogram(
    "punchcard_kiosk_wait_seconds",
    "Time a kiosk punch request waited for its outcome at the edge",
    buckets=(0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 15, 25),
)
ANSWERS = Counter(
    "punchcard_kiosk_answers_total",
    "Kiosk punch requests answered, by status (recorded, rejected, pending)",
    ["status"],
)

Key = tuple[str, str]  # (tenant id, attempt id)


# --- what the edge needs (adapters implement these) ----------------------------------------


class ClockDirectory(Protocol):
    async def whoami(self, credential: str) -> Clock:
        """The credential's clock; ClockUnauthorized, or Unavailable when device-sync is down."""

    def forget(self, tenant_id: str, clock_id: str) -> None:
        """The clock changed (updated, revoked, a new credential): what was answered about it
        is not to be used again (a directory that keeps no answer has nothing to do)."""


class PinSealer(Protocol):
    async def seal(self, attempt_id: str, pin: str) -> common_pb2.SealedBox:
        """``"<attempt_id>:<pin>"`` sealed to identity's current key; Unavailable without one.
        A badge card's number is sealed the same way (``"<attempt_id>:<number>"``)."""


class OutcomeLookup(Protocol):
    async def outcome(self, clock: Clock, attempt_id: str) -> Outcome | None:
        """The punch service's outcome of the attempt; None when not known (yet), or when the
        punch service cannot be asked."""


class AttemptStore(Protocol):
    async def claim(
        self, claim: Claim, events: Sequence[tuple[str, str, Envelope]]
    ) -> StoredClaim | None:
        """Insert the claim, put ``events`` in the outbox and hold a copy of them until the
        outcome (service_layer.reconciler), in one transaction: None. When the attempt was
        claimed before, write nothing and return that claim."""

    async def get(self, tenant_id: str, attempt_id: str) -> StoredClaim | None: ...

    async def save_outcome(self, tenant_id: str, attempt_id: str, event: Outcome) -> None:
        """Keep the outcome with the claim (the first one stays); the held copy of the attempt
        is deleted."""

    async def prune(self, older_than_days: int) -> int:
        """Delete claims received more than this many days ago, in every tenant."""


# --- waiting for outcomes ------------------------------------------------------------------


class OutcomeWaiters:
    """Requests of this replica waiting for an attempt's outcome (futures), and attempts whose
    outcome this replica should store when it arrives after their request gave up ("late")."""

    def __init__(self, late_ttl_s: float = 900.0, max_late: int = 100_000) -> None:
        self._waiting: dict[Key, set[asyncio.Future]] = {}
        self._late: OrderedDict[Key, float] = OrderedDict()
        self._late_ttl_s = late_ttl_s
        self._max_late = max_late

    @contextmanager
    def waiting(self, key: Key) -> Iterator[asyncio.Future]:
        """Register before the attempt can have an outcome (before the claim commits), then
        await the future: an outcome delivered in between is not missed."""
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, set()).add(future)
        try:
            yield future
        finally:
            futures = self._waiting.get(key)
            if futures is not None:
                futures.discard(future)
                if not futures:
                    del self._waiting[key]

    def watch_late(self, key: Key) -> None:
        now = time.monotonic()
        self._late[key] = now + self._late_ttl_s
        self._late.move_to_end(key)
        while self._late:
            oldest, until = next(iter(self._late.items()))
            if until > now and len(self._late) <= self._max_late:
                break
            del self._late[oldest]

    @property
    def idle(self) -> bool:
        return not self._waiting and not self._late

    def concerns(self, key: Key) -> bool:
        """A request of this replica waits for ``key``, or its outcome is to be stored here."""
        return key in self._waiting or key in self._late

    def deliver(self, key: Key, event: Outcome) -> bool:
        """Wake the requests waiting for ``key``; True when the outcome arrived late and should
        be stored by this replica."""
        for future in self._waiting.get(key, ()):
            if not future.done():
                future.set_result(event)
        until = self._late.pop(key, None)
        return until is not None and until > time.monotonic()


# --- the edge ------------------------------------------------------------------------------


def utc_now() -> datetime:
    return datetime.now(UTC)


class KioskEdge:
    def __init__(
        self,
        *,
        clocks: ClockDirectory,
        sealer: PinSealer,
        store: AttemptStore,
        lookup: OutcomeLookup,
        waiters: OutcomeWaiters | None = None,
        wait_s: float = 5.0,
        now: Callable[[], datetime] = utc_now,
        topics: tuple[str, str, str] = ATTEMPT_TOPICS,
    ) -> None:
        self.clocks = clocks
        self.sealer = sealer
        self.store = store
        self.lookup = lookup
        self.waiters = waiters or OutcomeWaiters()
        self.wait_s = wait_s
        self.now = now
        self.topics = topics  # (PIN attempts, face attempts, card attempts)
        self._storing: set[asyncio.Task] = set()

    async def authenticate(self, credential: str) -> Clock:
        return await self.clocks.whoami(credential)

    async def punch(self, clock: Clock, attempt: Attempt) -> tuple[int, dict]:
        """(HTTP status, body): 200 recorded / rejected, or 202 pending."""
        received_at = self.now()
        key = (clock.tenant_id, attempt.attempt_id)
        # Sealed first: a PIN (a card number) is never anywhere but in this request and the box.
        secret = attempt.pin if attempt.method == "PIN" else attempt.card
        sealed = None
        if attempt.method != "FACE":
            assert secret is not None
            sealed = await self.sealer.seal(attempt.attempt_id, secret)
        event = attempt_event(clock, attempt, received_at, sealed, self.topics)
        events = [event]
        if attempt.evidence_jpeg is not None and attempt.method != "FACE":
            events.append(evidence_event(clock, attempt, event[2]))
        claim = Claim(
            tenant_id=clock.tenant_id,
            attempt_id=attempt.attempt_id,
            clock_id=clock.clock_id,
            method=attempt.method,
            fingerprint=attempt.fingerprint,
            received_at=received_at,
        )
        started = time.monotonic()
        with self.waiters.waiting(key) as future:
            existing = await self.store.claim(claim, events)
            if existing is not None:
                if (
                    existing.clock_id != clock.clock_id
                    or existing.fingerprint != attempt.fingerprint
                ):
                    raise AttemptIdReused()
                if existing.outcome is not None:
                    return self._answered(clock, attempt.attempt_id, existing.outcome)
            outcome = await self._wait(future, started)
        if outcome is not None:
            await self._save(key, outcome)
        else:
            outcome = await self._after_wait(clock, attempt.attempt_id)
        if outcome is None:
            ANSWERS.labels("pending").inc()
            log.info(
                "kiosk punch pending",
                tenant_id=clock.tenant_id,
                clock_id=clock.clock_id,
                attempt_id=attempt.attempt_id,
                method=attempt.method,
            )
            return 202, pending(attempt.attempt_id)
        return self._answered(clock, attempt.attempt_id, outcome)

    async def result(self, clock: Clock, attempt_id: str) -> tuple[int, dict]:
        """The outcome of an attempt this clock claimed (200), or 202 pending; NotFound for an
        attempt never claimed by this clock."""
        stored = await self.store.get(clock.tenant_id, attempt_id)
        if stored is None or stored.clock_id != clock.clock_id:
            raise NotFound("no punch attempt with this id from this clock", "attempt_id")
        outcome = stored.outcome
        if outcome is None:
            outcome = await self._ask_punch(clock, attempt_id)
        if outcome is None:
            return 202, pending(attempt_id)
        return 200, answer(attempt_id, outcome, clock.tz)

    def clock_changed(self, tenant_id: str, clock_id: str) -> None:
        """An admin changed the clock through this replica (its request answered 2xx)."""
        self.clocks.forget(tenant_id, clock_id)

    async def on_clock_event(self, message: Message) -> None:
        """The follower's handler, for every record of the clocks topic."""
        if ends_clock_answers(message.type):
            self.clocks.forget(message.tenant_id, message.payload.clock_id)

    async def on_outcome(self, message: Message) -> None:
        """The follower's handler, for every record of the punches topic."""
        if message.type not in OUTCOME_TYPES or self.waiters.idle:
            return
        event = message.payload
        key = (message.tenant_id, event.attempt_id)
        # The trace's last hop (its record's context is current: TopicFollower): only on the
        # replica holding the kiosk's request, not on every replica that sees the outcome.
        if self.waiters.concerns(key):
            with span("kiosk answer", attributes={"punchcard.attempt_id": event.attempt_id}):
                delivered = self.waiters.deliver(key, event)
        else:
            delivered = self.waiters.deliver(key, event)
        if delivered:
            task = asyncio.create_task(self._save(key, event))
            self._storing.add(task)
            task.add_done_callback(self._storing.discard)

    async def prune(self, older_than_days: int) -> int:
        return await self.store.prune(older_than_days)

    # -- internals ------------------------------------------------------------------------
    async def _wait(self, future: asyncio.Future, started: float) -> Outcome | None:
        remaining = self.wait_s - (time.monotonic() - started)
        try:
            if remaining > 0:
                async with asyncio.timeout(remaining):
                    return await asyncio.shield(future)
            return None
        except TimeoutError:
            return None
        finally:
            WAIT_SECONDS.observe(time.monotonic() - started)

    async def _after_wait(self, clock: Clock, attempt_id: str) -> Outcome | None:
        """The wait ended without an outcome: keep watching for it (to store it when it
        comes), look whether another replica stored it meanwhile, then ask punch once."""
        key = (clock.tenant_id, attempt_id)
        self.waiters.watch_late(key)
        try:
            stored = await self.store.get(clock.tenant_id, attempt_id)
        except Exception as error:  # noqa: BLE001 - the answer can still come from punch
            log.warning("reading a kiosk claim failed", error=type(error).__name__)
            stored = None
        if stored is not None and stored.outcome is not None:
            return stored.outcome
        return await self._ask_punch(clock, attempt_id)

    async def _ask_punch(self, clock: Clock, attempt_id: str) -> Outcome | None:
        outcome = await self.lookup.outcome(clock, attempt_id)
        if outcome is not None:
            await self._save((clock.tenant_id, attempt_id), outcome)
        else:
            self.waiters.watch_late((clock.tenant_id, attempt_id))
        return outcome

    async def _save(self, key: Key, outcome: Outcome) -> None:
        try:
            await self.store.save_outcome(key[0], key[1], outcome)
        except Exception as error:  # noqa: BLE001 - the kiosk still gets its answer
            log.warning(
                "storing a kiosk attempt's outcome failed; the next ask will look again",
                attempt_id=key[1],
                error=type(error).__name__,
            )

    def _answered(self, clock: Clock, attempt_id: str, outcome: Outcome) -> tuple[int, dict]:
        body = answer(attempt_id, outcome, clock.tz)
        ANSWERS.labels(body["status"]).inc()
        log.info(
            "kiosk punch answered",
            tenant_id=clock.tenant_id,
            clock_id=clock.clock_id,
            attempt_id=attempt_id,
            status=body["status"],
            reason=body.get("reason"),
        )
        return 200, body


def evidence_event(
    clock: Clock, attempt: Attempt, attempt_envelope: Envelope
) -> tuple[str, str, Envelope]:
    """(topic, key, envelope) of a PIN or card punch's evidence photo, beside its attempt (same
    context, same correlation): face-match keeps it when the tenant keeps evidence photos."""
    attempted = unpack_payload(attempt_envelope)
    payload = evidence_pb2.EvidencePhotoCaptured(
        context=attempted.context,
        method=common_pb2.PunchMethod.Value(f"PUNCH_METHOD_{attempt.method}"),
        frame_jpeg=attempt.evidence_jpeg,
    )
    envelope = new_envelope(
        payload,
        tenant_id=clock.tenant_id,
        producer="gateway",
        correlation_id=attempt.attempt_id,
        causation_id=attempt_envelope.event_id,
        occurred_at=attempt_envelope.occurred_at.ToDatetime(tzinfo=UTC),
    )
    key = catalogue.KIOSK_EVIDENCE_PHOTOS.key(
        tenant_id=clock.tenant_id, attempt_id=attempt.attempt_id
    )
    return catalogue.KIOSK_EVIDENCE_PHOTOS.name, key, envelope


def attempt_event(
    clock: Clock,
    attempt: Attempt,
    received_at: datetime,
    sealed: common_pb2.SealedBox | None,
    topics: tuple[str, str, str] = ATTEMPT_TOPICS,
) -> tuple[str, str, Envelope]:
    """(topic, key, envelope) of the attempt: a PIN or card attempt carries only the sealed
    box; a face attempt carries the frame (its topic keeps it a day; docs/events.md).
    ``topics``: the PIN, face and card attempt topics (others only in tests). A card attempt
    is keyed by its clock, never by the number."""
    context = kiosk_pb2.PunchAttemptContext(
        attempt_id=attempt.attempt_id,
        clock_id=clock.clock_id,
        captured_offline=attempt.offline,
        requested_direction=proto_direction(attempt.direction),
        claimed_employee_id=attempt.employee_id or "",
        # The edge publishes the photo beside this attempt (``evidence_event``): punch may wait
        # for face-match's check of it (the tenant's evidence policy, docs/punch.md).
        evidence_photo=attempt.evidence_jpeg is not None and attempt.method != "FACE",
    )
    context.captured_at.FromDatetime(attempt.captured_at)
    context.received_at.FromDatetime(received_at)
    if attempt.method == "PIN":
        assert sealed is not None and attempt.employee_id
        payload = kiosk_pb2.PinPunchAttempted(context=context, sealed_pin=sealed)
        topic, key = (
            topics[0],
            # One worker's attempts on one partition, however the ID was typed.
            catalogue.KIOSK_PIN_ATTEMPTS.key(
                tenant_id=clock.tenant_id, employee_id=employee_id_key(attempt.employee_id)
            ),
        )
    elif attempt.method == "CARD":
        assert sealed is not None and attempt.card
        payload = kiosk_pb2.CardPunchAttempted(context=context, sealed_card=sealed)
        topic, key = (
            topics[2],
            catalogue.KIOSK_CARD_ATTEMPTS.key(tenant_id=clock.tenant_id, clock_id=clock.clock_id),
        )
    else:
        assert attempt.frame_jpeg is not None
        payload = kiosk_pb2.FacePunchAttempted(
            context=context,
            frame_jpeg=attempt.frame_jpeg,
            burst_jpeg=list(attempt.burst_jpeg),
            aligned=attempt.aligned,
        )
        topic, key = (
            topics[1],
            catalogue.KIOSK_FACE_ATTEMPTS.key(tenant_id=clock.tenant_id, clock_id=clock.clock_id),
        )
    envelope = new_envelope(
        payload,
        tenant_id=clock.tenant_id,
        producer="gateway",
        correlation_id=attempt.attempt_id,
        occurred_at=received_at,
    )
    return topic, key, envelope
