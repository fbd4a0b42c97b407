"""Kiosk attempts without an outcome: when the reconciler looks (a pure schedule), and what it
does on fakes — resolves an attempt punch decided, republishes one it did not, gives up one
older than the hold (deleted, counted), leaves one another replica took, keeps going when one
fails, and reports the held count, the oldest age and the abandoned claims."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from prometheus_client import REGISTRY
from punchcard.v1 import punch_pb2
from punchcard_gateway.domain.kiosk import (
    HeldAttempt,
    RepublishPolicy,
    first_check_at,
    next_check_at,
    should_give_up,
)
from punchcard_gateway.service_layer.reconciler import AttemptReconciler

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
POLICY = RepublishPolicy(
    after=timedelta(minutes=5), max_interval=timedelta(hours=6), hold=timedelta(days=7)
)
TENANT = str(uuid.uuid4())


# --- the schedule (domain) ------------------------------------------------------------------


def test_the_first_look_is_after_the_normal_processing_lag():
    assert first_check_at(NOW, POLICY) == NOW + timedelta(minutes=5)


def test_the_first_look_is_never_after_the_hold():
    short = RepublishPolicy(timedelta(hours=2), timedelta(hours=6), timedelta(hours=1))
    assert first_check_at(NOW, short) == NOW + timedelta(hours=1)


def test_looks_back_off_by_doubling_up_to_the_cap():
    received = NOW - timedelta(minutes=5)
    # After the first republish (published twice): ``after`` later; then 2x, 4x, ...
    gaps = [next_check_at(received, n, NOW, POLICY) - NOW for n in (2, 3, 4, 5)]
    assert gaps == [timedelta(minutes=m) for m in (5, 10, 20, 40)]
    assert next_check_at(received, 9, NOW, POLICY) - NOW == timedelta(hours=6)
    # A huge count does not overflow.
    assert next_check_at(received, 10_000, NOW, POLICY) - NOW == timedelta(hours=6)


def test_no_look_is_scheduled_after_the_give_up_time():
    received = NOW - timedelta(days=7) + timedelta(minutes=1)
    assert next_check_at(received, 30, NOW, POLICY) == received + timedelta(days=7)


def test_an_attempt_is_given_up_at_the_hold_and_not_before():
    assert not should_give_up(NOW - timedelta(days=7) + timedelta(seconds=1), NOW, POLICY)
    assert should_give_up(NOW - timedelta(days=7), NOW, POLICY)


# --- the reconciler (service layer, on fakes) -----------------------------------------------


class FakeHeld:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], HeldAttempt] = {}
        self.outcomes: dict[tuple[str, str], object] = {}
        self.republished: list[tuple[str, int, datetime]] = []
        self.taken_by_another: set[str] = set()
        self.broken: set[str] = set()
        self.abandoned = 0

    def add(self, age: timedelta, published: int = 1) -> str:
        attempt_id = str(uuid.uuid4())
        self.rows[(TENANT, attempt_id)] = HeldAttempt(
            TENANT, attempt_id, "clock-1", NOW - age, published
        )
        return attempt_id

    async def due(self, limit):
        return list(self.rows)[:limit]

    async def held(self, tenant_id, attempt_id):
        if attempt_id in self.broken:
            raise ConnectionError("database down")
        return self.rows.get((tenant_id, attempt_id))

    async def save_outcome(self, tenant_id, attempt_id, event):
        self.outcomes[(tenant_id, attempt_id)] = event
        self.rows.pop((tenant_id, attempt_id), None)

    async def republish(self, tenant_id, attempt_id, published, next_check_at):
        if attempt_id in self.taken_by_another:
            return False
        self.republished.append((attempt_id, published, next_check_at))
        row = self.rows[(tenant_id, attempt_id)]
        self.rows[(tenant_id, attempt_id)] = HeldAttempt(
            tenant_id, attempt_id, row.clock_id, row.received_at, published + 1
        )
        return True

    async def give_up(self, tenant_id, attempt_id):
        self.abandoned += 1
        return self.rows.pop((tenant_id, attempt_id), None) is not None

    async def held_stats(self):
        oldest = min((r.received_at for r in self.rows.values()), default=None)
        return len(self.rows), oldest, self.abandoned


class FakeLookup:
    def __init__(self) -> None:
        self.outcomes: dict[str, object] = {}
        self.asked: list[tuple[str, str, str]] = []

    async def outcome(self, clock, attempt_id):
        self.asked.append((clock.tenant_id, clock.clock_id, attempt_id))
        return self.outcomes.get(attempt_id)


def reconciler(store, lookup) -> AttemptReconciler:
    return AttemptReconciler(store=store, lookup=lookup, policy=POLICY, now=lambda: NOW)


def metric(name: str, **labels) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


async def test_an_attempt_punch_decided_is_resolved_not_republished():
    store, lookup = FakeHeld(), FakeLookup()
    attempt_id = store.add(timedelta(minutes=6))
    lookup.outcomes[attempt_id] = punch_pb2.PunchRecorded(attempt_id=attempt_id)
    turn = await reconciler(store, lookup).run_once()
    assert (turn.resolved, turn.republished, turn.given_up) == (1, 0, 0)
    assert store.outcomes[(TENANT, attempt_id)].attempt_id == attempt_id
    assert lookup.asked == [(TENANT, "clock-1", attempt_id)]  # asked as the attempt's clock
    assert store.republished == []


async def test_an_attempt_punch_never_saw_is_republished_and_looked_at_again_later():
    store, lookup = FakeHeld(), FakeLookup()
    attempt_id = store.add(timedelta(minutes=6))
    before = metric("punchcard_kiosk_attempts_reconciled_total", action="republished") or 0
    turn = await reconciler(store, lookup).run_once()
    assert (turn.resolved, turn.republished, turn.given_up) == (0, 1, 0)
    assert store.republished == [(attempt_id, 1, NOW + timedelta(minutes=5))]
    after = metric("punchcard_kiosk_attempts_reconciled_total", action="republished")
    assert after == before + 1


async def test_an_attempt_older_than_the_hold_is_given_up_unless_punch_decided_it():
    store, lookup = FakeHeld(), FakeLookup()
    lost = store.add(timedelta(days=7, seconds=1), published=20)
    decided = store.add(timedelta(days=8), published=20)
    lookup.outcomes[decided] = punch_pb2.PunchRejected(attempt_id=decided)
    turn = await reconciler(store, lookup).run_once()
    assert (turn.resolved, turn.republished, turn.given_up) == (1, 0, 1)
    assert (TENANT, lost) not in store.rows and store.republished == []
    assert (TENANT, decided) in store.outcomes


async def test_an_attempt_another_replica_republished_is_not_counted_twice():
    store, lookup = FakeHeld(), FakeLookup()
    attempt_id = store.add(timedelta(minutes=6))
    store.taken_by_another.add(attempt_id)
    turn = await reconciler(store, lookup).run_once()
    assert turn.republished == 0 and store.republished == []


async def test_one_failing_attempt_does_not_stop_the_others():
    store, lookup = FakeHeld(), FakeLookup()
    broken = store.add(timedelta(minutes=7))
    fine = store.add(timedelta(minutes=6))
    store.broken.add(broken)
    turn = await reconciler(store, lookup).run_once()
    assert turn.failed == 1 and turn.republished == 1
    assert [r[0] for r in store.republished] == [fine]


async def test_the_gauges_show_the_held_count_the_oldest_age_and_the_abandoned():
    store, lookup = FakeHeld(), FakeLookup()
    store.add(timedelta(hours=2))
    store.add(timedelta(minutes=1))
    store.abandoned = 3
    job = reconciler(store, lookup)
    await job.refresh_gauges()
    assert metric("punchcard_kiosk_unresolved_attempts") == 2
    assert metric("punchcard_kiosk_unresolved_oldest_age_seconds") == 7200
    assert metric("punchcard_kiosk_abandoned_attempts") == 3
    store.rows.clear()
    await job.refresh_gauges()
    assert metric("punchcard_kiosk_unresolved_oldest_age_seconds") == 0
