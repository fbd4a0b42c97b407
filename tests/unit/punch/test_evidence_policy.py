"""The tenant's evidence policy (issue 17): refuse PIN and card punches whose photo is not the
worker's face. The rule (``domain/evidence.py``), the wait for the check, and the use cases on
fakes: a held verdict decided by the unparker once the check arrived (refused or recorded), or
once the wait passed without one (fail open); with the policy off nothing waits."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from punchcard.v1 import common_pb2, identification_pb2, kiosk_pb2, punch_pb2
from punchcard_kit.caller import Caller
from punchcard_kit.errors import Forbidden
from punchcard_kit.messaging import Message, catalogue, new_envelope
from punchcard_punch.domain.decisions import Nearby, Policy, Reject, decide
from punchcard_punch.domain.evidence import awaits_check, has_photo, refuses
from punchcard_punch.domain.model import Direction, Method
from punchcard_punch.domain.parking import Parked, ready_or_expired
from punchcard_punch.service_layer import policy
from punchcard_punch.service_layer.ingest import WAITING_FOR_CHECK, Ingest
from punchcard_punch.service_layer.parking import Unparker

from .fakes import FakeParkedVerdicts, FakeUnitOfWork, Store, assigned_store, decide_verdicts

TENANT = str(uuid.uuid4())
WORKER = str(uuid.uuid4())
CLOCK = str(uuid.uuid4())
WAIT = timedelta(seconds=5)
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


# -- the rule -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("policy_on", "check", "refused"),
    [
        (True, "FACE_NOT_WORKERS", True),
        (True, "NO_FACE", True),
        (True, "FACE_MATCHED", False),
        (True, "NOT_ENROLLED", False),
        (True, None, False),  # no check within the wait: fail open
        (False, "FACE_NOT_WORKERS", False),
        (False, "NO_FACE", False),
        (False, None, False),
    ],
)
def test_the_policy_refuses_another_face_or_none(policy_on, check, refused):
    assert refuses(policy_on=policy_on, check=check) is refused


def test_only_pin_and_card_punches_carry_a_photo_of_their_own_to_check():
    assert has_photo(method=Method.PIN, photo=True)
    assert has_photo(method=Method.CARD, photo=True)
    assert not has_photo(method=Method.PIN, photo=False)
    assert not has_photo(method=Method.FACE, photo=True)  # its frame is on the face topic
    assert not has_photo(method=None, photo=True)


def test_only_a_pin_or_card_punch_with_a_photo_waits_while_young_and_unchecked():
    base = dict(policy_on=True, method=Method.PIN, photo=True, checked=False, wait=WAIT)
    assert awaits_check(**base, age=timedelta(seconds=1))
    assert awaits_check(**{**base, "method": Method.CARD}, age=timedelta(0))
    assert not awaits_check(**base, age=WAIT)  # the wait has passed
    assert not awaits_check(**{**base, "checked": True}, age=timedelta(0))
    assert not awaits_check(**{**base, "photo": False}, age=timedelta(0))
    assert not awaits_check(**{**base, "policy_on": False}, age=timedelta(0))
    for method in (Method.FACE, Method.FINGERPRINT, None):
        assert not awaits_check(**{**base, "method": method}, age=timedelta(0))


def test_a_failed_face_check_is_refused_before_the_double_tap():
    earlier = Nearby("p1", Direction.IN, NOW - timedelta(seconds=10))
    args = dict(
        captured_at=NOW,
        received_at=NOW,
        offline=False,
        requested=None,
        worker_active=True,
        assigned=True,
        previous=earlier,
        following=None,
        policy=Policy(),
    )
    assert decide(**args, face_check_failed=True) == Reject("FACE_CHECK_FAILED")
    assert not isinstance(decide(**args), Reject)  # a double tap without it
    inactive = decide(**{**args, "worker_active": False}, face_check_failed=True)
    assert inactive == Reject("INACTIVE")  # the earlier rules come first


def test_a_verdict_waiting_for_its_check_holds_its_workers_later_ones():
    waiting = Parked(1, "w1", "c1", NOW, "a1", NOW + WAIT)
    behind = Parked(2, "w1", "c1", NOW)
    other = Parked(3, "w2", "c1", NOW, "a3", NOW + WAIT)
    known = ({"w1", "w2"}, {"c1"})
    ready, _ = ready_or_expired([waiting, behind, other], *known, NOW, timedelta(days=7))
    assert ready == []
    ready, _ = ready_or_expired([waiting, behind, other], *known, NOW, timedelta(days=7), {"a1"})
    assert ready == [waiting, behind]  # a1's check arrived: in order
    ready, _ = ready_or_expired([waiting, behind, other], *known, NOW + WAIT, timedelta(days=7))
    assert ready == [waiting, behind, other]  # the wait has passed: fail open


# -- the use cases ---------------------------------------------------------------------------
def verdict(*, photo: bool = True, method=common_pb2.PUNCH_METHOD_PIN, direction=0):
    now = datetime.now(UTC)
    context = kiosk_pb2.PunchAttemptContext(
        attempt_id=str(uuid.uuid4()),
        clock_id=CLOCK,
        evidence_photo=photo,
        requested_direction=direction,
    )
    context.captured_at.FromDatetime(now)
    context.received_at.FromDatetime(now)
    payload = identification_pb2.WorkerIdentified(context=context, worker_id=WORKER, method=method)
    envelope = new_envelope(payload, tenant_id=TENANT, producer="test")
    return Message(catalogue.IDENTIFICATION_VERDICTS.name, 0, 0, None, envelope)


def ingest() -> Ingest:
    return Ingest(Policy(), evidence_wait=WAIT)


def unparker(store: Store) -> Unparker:
    return Unparker(FakeParkedVerdicts(store), ingest(), group_id="punch", max_age=timedelta(1))


def checked(store: Store, message: Message, check: str) -> None:
    attempt_id = message.payload.context.attempt_id
    store.evidence[(TENANT, attempt_id)] = {"attempt_id": attempt_id, "evidence_check": check}


@pytest.fixture
def store() -> Store:
    store = assigned_store(TENANT, WORKER, CLOCK)
    store.refuse_unmatched_photos.add(TENANT)
    return store


async def test_a_pin_punch_waits_for_its_check_and_another_face_is_refused(store):
    message = verdict()
    await decide_verdicts(store, TENANT, [message], ingest())
    (held,) = store.parked
    assert held["reason"] == WAITING_FOR_CHECK and held["evidence_due"] is not None
    assert not store.attempts and not store.published
    assert await unparker(store).run_once() == 0  # no check yet, within the wait
    checked(store, message, "FACE_NOT_WORKERS")
    assert await unparker(store).run_once() == 1
    assert not store.parked and not store.punches
    (attempt,) = store.attempts
    assert (attempt["outcome"], attempt["reason"]) == ("REJECTED", "FACE_CHECK_FAILED")
    event = punch_pb2.PunchRejected.FromString(attempt["event"])
    assert event.reason == common_pb2.REJECT_REASON_FACE_CHECK_FAILED
    assert event.worker_id == WORKER
    await decide_verdicts(store, TENANT, [message], ingest())  # redelivered: nothing new
    assert len(store.attempts) == 1 and not store.parked


async def test_a_second_verdict_for_a_held_attempt_decides_nothing(store):
    message = verdict()
    await decide_verdicts(store, TENANT, [message], ingest())
    context = message.payload.context
    rejected = identification_pb2.IdentificationRejected(
        context=context,
        method=common_pb2.PUNCH_METHOD_PIN,
        reason=common_pb2.REJECT_REASON_WRONG_PIN,
    )
    other = Message(
        catalogue.IDENTIFICATION_VERDICTS.name,
        0,
        1,
        None,
        new_envelope(rejected, tenant_id=TENANT, producer="test"),
    )
    await decide_verdicts(store, TENANT, [other, message], ingest())
    assert not store.attempts and len(store.parked) == 1
    checked(store, message, "FACE_MATCHED")
    await unparker(store).run_once()
    assert store.attempts[0]["outcome"] == "RECORDED" and len(store.punches) == 1


@pytest.mark.parametrize("check", ["NO_FACE"])
async def test_no_face_is_refused(store, check):
    message = verdict(method=common_pb2.PUNCH_METHOD_CARD)
    await decide_verdicts(store, TENANT, [message], ingest())
    checked(store, message, check)
    await unparker(store).run_once()
    assert store.attempts[0]["reason"] == "FACE_CHECK_FAILED" and not store.punches


@pytest.mark.parametrize("check", ["FACE_MATCHED", "NOT_ENROLLED"])
async def test_the_workers_own_face_or_nothing_to_compare_is_recorded(store, check):
    message = verdict()
    await decide_verdicts(store, TENANT, [message], ingest())
    checked(store, message, check)
    await unparker(store).run_once()
    (row,) = store.punches
    assert row["worker_id"] == WORKER and store.attempts[0]["outcome"] == "RECORDED"


async def test_a_check_already_there_decides_at_once(store):
    message = verdict()
    checked(store, message, "FACE_NOT_WORKERS")
    await decide_verdicts(store, TENANT, [message], ingest())
    assert not store.parked and store.attempts[0]["reason"] == "FACE_CHECK_FAILED"


async def test_no_check_within_the_wait_is_recorded(store):
    message = verdict()
    await decide_verdicts(store, TENANT, [message], ingest())
    store.parked[0]["evidence_due"] = datetime.now(UTC) - timedelta(seconds=1)
    # The verdict is as old as the wait by then (its check never came).
    message.envelope.occurred_at.FromDatetime(datetime.now(UTC) - WAIT)
    store.parked[0]["envelope"] = message.envelope.SerializeToString()
    assert await unparker(store).run_once() == 1
    (row,) = store.punches
    assert row["worker_id"] == WORKER and not store.parked
    checked(store, message, "FACE_NOT_WORKERS")  # a late check is a flag only
    await decide_verdicts(store, TENANT, [message], ingest())
    assert len(store.punches) == 1 and len(store.attempts) == 1


async def test_a_wait_is_judged_as_of_before_the_transaction_that_stamps_its_decision(store):
    """The unparker reads its clock before its claim's transaction begins, so the attempt's
    ``decided_at`` (the transaction's start) is never before the wait it was judged past."""
    message = verdict()
    await decide_verdicts(store, TENANT, [message], ingest())
    start = datetime.now(UTC)
    ticks = (start + timedelta(milliseconds=i) for i in itertools.count())
    clock = ticks.__next__  # 1 ms a reading: the unparker's, then its claim's
    due = start + timedelta(microseconds=500)  # between the first two readings
    store.parked[0]["evidence_due"] = due
    message.envelope.occurred_at.FromDatetime(due - WAIT)
    store.parked[0]["envelope"] = message.envelope.SerializeToString()
    unparker = Unparker(
        FakeParkedVerdicts(store, clock=clock),
        ingest(),
        group_id="punch",
        max_age=timedelta(1),
        clock=clock,
    )
    assert await unparker.run_once() == 0  # not yet due as of before the claim
    assert await unparker.run_once() == 1
    (attempt,) = store.attempts
    assert attempt["outcome"] == "RECORDED" and attempt["decided_at"] >= due


async def test_nothing_waits_with_the_policy_off_without_a_photo_or_for_a_face(store):
    store.refuse_unmatched_photos.clear()
    await decide_verdicts(store, TENANT, [verdict()], ingest())
    assert not store.parked and len(store.punches) == 1
    store.refuse_unmatched_photos.add(TENANT)
    later = verdict(photo=False, direction=common_pb2.PUNCH_DIRECTION_OUT)
    await decide_verdicts(store, TENANT, [later], ingest())
    assert not store.parked and len(store.punches) == 2


async def test_a_workers_later_verdict_waits_behind_the_held_one(store):
    first, second = verdict(), verdict(photo=False, direction=common_pb2.PUNCH_DIRECTION_OUT)
    await decide_verdicts(store, TENANT, [first, second], ingest())
    assert [p["reason"] for p in store.parked] == [
        WAITING_FOR_CHECK,
        "an earlier verdict of the worker is parked",
    ]
    checked(store, first, "FACE_MATCHED")
    assert await unparker(store).run_once() == 2
    assert [p["direction"] for p in store.punches] == ["IN", "OUT"]


# -- the setting -----------------------------------------------------------------------------
async def test_only_a_sysadmin_sets_the_policy_and_every_admin_reads_it():
    store = Store()
    sysadmin = Caller(TENANT, str(uuid.uuid4()), "sysadmin")
    manager = Caller(TENANT, str(uuid.uuid4()), "manager")
    read = await policy.punch_policy(manager, FakeUnitOfWork(store, TENANT), WAIT)
    assert read.refuse_unmatched_photos is False  # off by default
    with pytest.raises(Forbidden):
        await policy.set_punch_policy(
            policy.SetPunchPolicy(manager, True), FakeUnitOfWork(store, TENANT), WAIT
        )
    set_ = await policy.set_punch_policy(
        policy.SetPunchPolicy(sysadmin, True), FakeUnitOfWork(store, TENANT), WAIT
    )
    assert set_.refuse_unmatched_photos and TENANT in store.refuse_unmatched_photos
    read = await policy.punch_policy(manager, FakeUnitOfWork(store, TENANT), WAIT)
    assert read.refuse_unmatched_photos and read.evidence_wait == WAIT
