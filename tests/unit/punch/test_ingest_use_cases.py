"""Ingest and the projections as use cases, on fakes: a verdict decided into the ledger with
its event, one naming a worker punch does not know yet waited for then parked, a worker's
later verdict parked behind an earlier parked one, and a worker update keeping its status."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY
from punchcard.v1 import common_pb2, identification_pb2, kiosk_pb2
from punchcard_kit.messaging import Message, catalogue, new_envelope
from punchcard_punch.domain.decisions import Policy
from punchcard_punch.domain.workers import WorkerStatus
from punchcard_punch.service_layer import projection
from punchcard_punch.service_layer.ingest import Ingest, NotYetKnown

from .fakes import FakeUnitOfWork, Store, assigned_store, decide_verdicts

TENANT = str(uuid.uuid4())
WORKER = str(uuid.uuid4())
CLOCK = str(uuid.uuid4())


def verdict(worker_id: str = WORKER, *, age: timedelta = timedelta(0), **checked) -> Message:
    now = datetime.now(UTC)
    context = kiosk_pb2.PunchAttemptContext(attempt_id=str(uuid.uuid4()), clock_id=CLOCK)
    context.captured_at.FromDatetime(now)
    context.received_at.FromDatetime(now)
    payload = identification_pb2.WorkerIdentified(
        context=context, worker_id=worker_id, method=common_pb2.PUNCH_METHOD_PIN, **checked
    )
    envelope = new_envelope(payload, tenant_id=TENANT, producer="test")
    envelope.occurred_at.FromDatetime(now - age)
    return Message(catalogue.IDENTIFICATION_VERDICTS.name, 0, 0, None, envelope)


@pytest.fixture
def store() -> Store:
    return assigned_store(TENANT, WORKER, CLOCK)


async def decide(store: Store, *messages: Message, park_after=timedelta(seconds=60)) -> None:
    await decide_verdicts(store, TENANT, messages, Ingest(Policy(), park_after=park_after))


def decided(outcome: str, reason: str = "") -> float:
    labels = {"outcome": outcome, "reason": reason}
    return REGISTRY.get_sample_value("punch_attempts_decided_total", labels) or 0.0


async def test_a_known_workers_verdict_is_recorded_with_its_event(store):
    message = verdict()
    recorded = decided("recorded")
    await decide(store, message)
    assert decided("recorded") == recorded + 1
    (row,) = store.punches
    assert (row["kind"], row["direction"], row["worker_id"]) == ("RECORDED", "IN", WORKER)
    (attempt,) = store.attempts
    assert attempt["outcome"] == "RECORDED" and attempt["punch_id"] == row["id"]
    (record,) = [item[2] for item in store.published]
    assert record.topic == catalogue.PUNCH_PUNCHES.name
    assert record.key in (f"{TENANT}/{WORKER}", f"{TENANT}/{WORKER}".encode())
    await decide(store, message)  # seen again: decides nothing new
    assert len(store.punches) == 1 and len(store.attempts) == 1
    assert decided("recorded") == recorded + 1


async def test_a_pin_verdict_is_not_refused_while_punchs_copy_lags_behind_identitys_check():
    """Assigned and activated a moment ago: punch's copy still has the worker Pending and not on
    the clock. The verdict identity checked is recorded; one it did not check is refused."""
    store = Store()
    store.worker(TENANT, WORKER, status=WorkerStatus.PENDING)
    store.clock(TENANT, CLOCK, site_id="site-1", time_zone="UTC")
    await decide(store, verdict(checked_active=True, checked_assigned=True))
    (row,) = store.punches
    assert (row["kind"], row["worker_id"]) == ("RECORDED", WORKER)
    await decide(store, verdict(checked_active=True))  # refused before any double tap
    assert [a["reason"] for a in store.attempts] == [None, "NOT_ASSIGNED_TO_CLOCK"]


async def test_an_unknown_worker_is_waited_for_then_parked(store):
    stranger = str(uuid.uuid4())
    with pytest.raises(NotYetKnown):
        await decide(store, verdict(stranger))
    assert not store.parked and not store.attempts
    await decide(store, verdict(stranger, age=timedelta(minutes=2)))
    (parked,) = store.parked
    assert (
        parked["worker_id"] == stranger
        and parked["reason"] == f"not known to punch: worker {stranger}"
    )


async def test_a_later_verdict_waits_behind_the_workers_parked_one(store):
    store.parked.append({"tenant_id": TENANT, "seq": 1, "worker_id": WORKER, "reason": "x"})
    await decide(store, verdict())
    assert not store.punches
    assert store.parked[-1]["reason"] == "an earlier verdict of the worker is parked"


async def test_a_worker_update_keeps_its_status_and_a_new_worker_is_pending():
    store = Store()
    uow = FakeUnitOfWork(store, TENANT)
    command = projection.RecordWorker(TENANT, WORKER, "E1", "Ana", "site-1", WorkerStatus.ACTIVE)
    await projection.record_worker(command, uow)
    updated = projection.RecordWorker(TENANT, WORKER, "E1", "Ana B", "site-2", None)
    await projection.record_worker(updated, uow)
    assert store.workers[(TENANT, WORKER)]["status"] == "Active"
    other = str(uuid.uuid4())
    await projection.record_worker(
        projection.RecordWorker(TENANT, other, "E2", "Bo", "site-1", None), uow
    )
    assert store.workers[(TENANT, other)]["status"] == "Pending"
