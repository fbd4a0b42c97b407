"""The kiosk edge's flow on fakes: the waiter is registered before the claim commits, an outcome
wakes the request, a claimed attempt is never published again, content under a claimed id is a
409, pending after the wait (punch asked once), and a late outcome is stored for the next ask."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from punchcard.v1 import common_pb2, punch_pb2
from punchcard_gateway.domain.kiosk import (
    Attempt,
    AttemptIdReused,
    Claim,
    Clock,
    StoredClaim,
)
from punchcard_gateway.domain.model import NotFound, Unavailable
from punchcard_gateway.service_layer.kiosk import KioskEdge, OutcomeWaiters
from punchcard_kit.messaging import Message, new_envelope, unpack_payload

TENANT = str(uuid.uuid4())
CLOCK = Clock(tenant_id=TENANT, clock_id="clock-1", time_zone="UTC")
OTHER_CLOCK = Clock(tenant_id=TENANT, clock_id="clock-2")


class FakeStore:
    def __init__(self) -> None:
        self.claims: dict[tuple[str, str], list] = {}
        self.published: list = []
        self.on_claim = None  # called inside the "transaction", e.g. to deliver an outcome

    async def claim(self, claim: Claim, events):
        key = (claim.tenant_id, claim.attempt_id)
        if key in self.claims:
            clock_id, fingerprint, outcome = self.claims[key]
            return StoredClaim(clock_id, fingerprint, outcome)
        self.claims[key] = [claim.clock_id, claim.fingerprint, None]
        self.published.extend(events)
        if self.on_claim:
            self.on_claim(claim)
        return None

    async def get(self, tenant_id, attempt_id):
        found = self.claims.get((tenant_id, attempt_id))
        return StoredClaim(*found) if found else None

    async def save_outcome(self, tenant_id, attempt_id, event):
        row = self.claims[(tenant_id, attempt_id)]
        if row[2] is None:
            row[2] = event

    async def prune(self, older_than_days):
        return 0


class FakeSealer:
    def __init__(self) -> None:
        self.sealed: list[tuple[str, str]] = []
        self.down = False

    async def seal(self, attempt_id, pin):
        if self.down:
            raise Unavailable("the identity service is unavailable; try again")
        self.sealed.append((attempt_id, pin))
        return common_pb2.SealedBox(ciphertext=b"sealed", recipient_key_id="k1")


class FakeLookup:
    def __init__(self) -> None:
        self.outcomes: dict[str, object] = {}
        self.asked: list[str] = []

    async def outcome(self, clock, attempt_id):
        self.asked.append(attempt_id)
        return self.outcomes.get(attempt_id)


class FakeClocks:
    async def whoami(self, credential):
        return CLOCK


@pytest.fixture
def edge():
    return KioskEdge(
        clocks=FakeClocks(),
        sealer=FakeSealer(),
        store=FakeStore(),
        lookup=FakeLookup(),
        wait_s=0.2,
    )


def pin_attempt(**fields) -> Attempt:
    values = dict(
        attempt_id=str(uuid.uuid4()),
        captured_at=datetime.now(UTC),
        offline=False,
        direction=None,
        method="PIN",
        employee_id="E1",
        pin="4829",
    )
    values.update(fields)
    return Attempt(**values)


def recorded(attempt_id: str) -> punch_pb2.PunchRecorded:
    event = punch_pb2.PunchRecorded(
        punch_id="p-1",
        attempt_id=attempt_id,
        worker_display_name="Ana",
        direction=common_pb2.PUNCH_DIRECTION_IN,
        method=common_pb2.PUNCH_METHOD_PIN,
    )
    event.captured_at.FromDatetime(datetime(2026, 1, 1, 9, 0, tzinfo=UTC))
    return event


def message(event, tenant_id: str = TENANT) -> Message:
    envelope = new_envelope(event, tenant_id=tenant_id, producer="punch")
    return Message("punchcard.punch.punches.v1", 0, 0, b"k", envelope)


async def test_an_outcome_delivered_before_the_claim_returns_is_not_missed(edge):
    attempt = pin_attempt()
    # Punch is instant: the outcome arrives while the claim's transaction is still open.
    edge.store.on_claim = lambda claim: asyncio.get_running_loop().call_soon(
        lambda: asyncio.ensure_future(edge.on_outcome(message(recorded(claim.attempt_id))))
    )
    status, body = await edge.punch(CLOCK, attempt)
    assert status == 200 and body["status"] == "recorded"
    assert body["message"] == "Ana: IN at 09:00"
    assert edge.lookup.asked == []  # no need to ask
    assert edge.sealer.sealed == [(attempt.attempt_id, "4829")]
    [(topic, key, envelope)] = edge.store.published
    assert topic == "punchcard.kiosk.pin-attempts.v1" and key == f"{TENANT}/E1"
    # Stored: the same attempt again is answered at once, published no more.
    status, again = await asyncio.wait_for(edge.punch(CLOCK, attempt), 0.1)
    assert (status, again) == (200, body)
    assert len(edge.store.published) == 1
    assert edge.waiters.idle


async def test_one_workers_pin_attempts_share_a_key_however_the_id_is_typed(edge):
    edge.wait_s = 0  # answered pending: only what is published matters here
    for typed in ("jsmith", "JSMITH"):
        await edge.punch(CLOCK, pin_attempt(employee_id=typed))
    keys = [key for _, key, _ in edge.store.published]
    assert keys == [f"{TENANT}/JSMITH"] * 2
    # The attempt itself carries the ID as typed.
    claimed = [
        unpack_payload(env).context.claimed_employee_id for _, _, env in edge.store.published
    ]
    assert claimed == ["jsmith", "JSMITH"]


async def test_a_waiting_request_is_woken_by_its_outcome_only(edge):
    attempt = pin_attempt()
    edge.wait_s = 5
    task = asyncio.create_task(edge.punch(CLOCK, attempt))
    await asyncio.sleep(0.05)
    # Other tenants' and other attempts' outcomes, and other event types, do not wake it.
    await edge.on_outcome(message(recorded(attempt.attempt_id), tenant_id=str(uuid.uuid4())))
    await edge.on_outcome(message(recorded(str(uuid.uuid4()))))
    await edge.on_outcome(message(punch_pb2.PunchVoided(voided_punch_id="x")))
    await asyncio.sleep(0.05)
    assert not task.done()
    rejected = punch_pb2.PunchRejected(
        attempt_id=attempt.attempt_id, reason=common_pb2.REJECT_REASON_INACTIVE
    )
    await edge.on_outcome(message(rejected))
    status, body = await asyncio.wait_for(task, 1)
    assert status == 200 and body["reason"] == "UNKNOWN_USER"


async def test_pending_after_the_wait_then_the_late_outcome_is_stored(edge):
    attempt = pin_attempt()
    status, body = await edge.punch(CLOCK, attempt)
    assert status == 202 and body["status"] == "pending"
    assert edge.lookup.asked == [attempt.attempt_id]  # asked once, after the wait
    assert (await edge.result(CLOCK, attempt.attempt_id))[0] == 202
    await edge.on_outcome(message(recorded(attempt.attempt_id)))
    await asyncio.sleep(0.01)  # the store runs as a task
    status, body = await edge.result(CLOCK, attempt.attempt_id)
    assert status == 200 and body["status"] == "recorded"
    assert len(edge.store.published) == 1


async def test_pending_then_punch_knows(edge):
    attempt = pin_attempt()
    assert (await edge.punch(CLOCK, attempt))[0] == 202
    edge.lookup.outcomes[attempt.attempt_id] = recorded(attempt.attempt_id)
    status, body = await edge.result(CLOCK, attempt.attempt_id)
    assert status == 200 and body["punch"]["punch_id"] == "p-1"
    # Kept: not asked again.
    asked = len(edge.lookup.asked)
    assert (await edge.punch(CLOCK, attempt))[1] == body
    assert len(edge.lookup.asked) == asked


async def test_a_claimed_id_with_other_content_or_from_another_clock_is_refused(edge):
    attempt = pin_attempt()
    assert (await edge.punch(CLOCK, attempt))[0] == 202
    with pytest.raises(AttemptIdReused):
        await edge.punch(CLOCK, pin_attempt(attempt_id=attempt.attempt_id, employee_id="E2"))
    with pytest.raises(AttemptIdReused):
        await edge.punch(OTHER_CLOCK, attempt)
    with pytest.raises(NotFound):
        await edge.result(OTHER_CLOCK, attempt.attempt_id)
    with pytest.raises(NotFound):
        await edge.result(CLOCK, str(uuid.uuid4()))
    # The same content with another PIN is the same attempt: nothing published again.
    same = pin_attempt(attempt_id=attempt.attempt_id, captured_at=attempt.captured_at, pin="0")
    assert (await edge.punch(CLOCK, same))[0] == 202
    assert len(edge.store.published) == 1


async def test_no_key_no_claim(edge):
    edge.sealer.down = True
    attempt = pin_attempt()
    with pytest.raises(Unavailable):
        await edge.punch(CLOCK, attempt)
    assert edge.store.claims == {} and edge.store.published == []
    assert edge.waiters.idle


async def test_a_quiet_replica_does_not_even_unpack_outcomes(edge):
    class Exploding(Message):
        @property
        def payload(self):
            raise AssertionError("unpacked")

    envelope = new_envelope(recorded("a"), tenant_id=TENANT, producer="punch")
    await edge.on_outcome(Exploding("t", 0, 0, None, envelope))  # no waiter: skipped


def test_late_watches_expire_and_are_bounded():
    waiters = OutcomeWaiters(late_ttl_s=0, max_late=2)
    waiters.watch_late(("t", "a"))
    assert not waiters.deliver(("t", "a"), recorded("a"))  # expired
    bounded = OutcomeWaiters(late_ttl_s=60, max_late=2)
    for name in "abc":
        bounded.watch_late(("t", name))
    assert not bounded.deliver(("t", "a"), recorded("a"))  # the oldest was dropped
    assert bounded.deliver(("t", "c"), recorded("c"))
    assert not bounded.deliver(("t", "c"), recorded("c"))  # delivered once


async def test_a_pin_punchs_evidence_photo_is_published_beside_its_attempt(edge):
    from punchcard.v1 import evidence_pb2
    from punchcard_kit.messaging import catalogue, unpack_payload

    attempt = pin_attempt(evidence_jpeg=b"\xff\xd8photo")
    status, _ = await edge.punch(CLOCK, attempt)
    assert status == 202
    (pin_topic, _, pin_env), (topic, key, env) = edge.store.published
    assert pin_topic == catalogue.KIOSK_PIN_ATTEMPTS.name
    assert topic == catalogue.KIOSK_EVIDENCE_PHOTOS.name
    assert key == f"{TENANT}/{attempt.attempt_id}"
    photo = unpack_payload(env)
    assert isinstance(photo, evidence_pb2.EvidencePhotoCaptured)
    assert photo.frame_jpeg == b"\xff\xd8photo" and photo.method == common_pb2.PUNCH_METHOD_PIN
    assert photo.context.attempt_id == attempt.attempt_id
    assert photo.context.clock_id == CLOCK.clock_id
    assert env.correlation_id == pin_env.correlation_id and env.causation_id == pin_env.event_id
    # The attempt says it has a photo (punch may wait for its check: the evidence policy).
    assert unpack_payload(pin_env).context.evidence_photo and photo.context.evidence_photo
    # Without a photo: the attempt alone, and it says so.
    edge.store.published.clear()
    await edge.punch(CLOCK, pin_attempt())
    assert [t for t, _, _ in edge.store.published] == [catalogue.KIOSK_PIN_ATTEMPTS.name]
    assert not unpack_payload(edge.store.published[0][2]).context.evidence_photo
