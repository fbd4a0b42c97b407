"""The admin use cases (service_layer.workers) on fakes: the domain errors they raise (codes,
fields and statuses exactly as the HTTP API answers them), the events they commit, and the
counters they reset."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from punchcard.v1 import identity_pb2
from punchcard_identity import views
from punchcard_identity.domain.model import WorkerStatus
from punchcard_identity.service_layer import workers as uc
from punchcard_identity.service_layer.assignments import RecordClock, record_clock
from punchcard_kit.errors import DomainError, Forbidden, NotFound
from punchcard_kit.http_errors import status_of
from punchcard_kit.internal_auth import Caller

from .fakes import FakeCounters, FakeHasher, FakeUnitOfWork, Store

TENANT = "t1"
ADMIN = Caller(tenant_id=TENANT, user_id="admin", role="sysadmin")
MANAGER = Caller(tenant_id=TENANT, user_id="boss", role="manager", sites=("north",))


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture
def counters() -> FakeCounters:
    return FakeCounters()


@pytest.fixture
def s(store, counters) -> uc.Services:
    return uc.Services(
        uow=lambda tenant: FakeUnitOfWork(store, tenant), hasher=FakeHasher(), counters=counters
    )


def answer(error: DomainError) -> tuple[int, str, str | None]:
    return status_of(error), error.code, error.field


def events(store: Store) -> list[str]:
    """The workers topic's events (the device-pins topic: ``device_pins``)."""
    return [envelope.type for topic, _, envelope in store.outbox if topic == uc.WORKERS_TOPIC]


async def test_registering_emits_worker_registered_keyed_by_the_worker(s, store):
    worker = await uc.register_worker(
        s, ADMIN, uc.RegisterWorker("E1", "Ada", status=WorkerStatus.ACTIVE)
    )
    assert events(store) == ["punchcard.v1.WorkerRegistered"]
    [(topic, key, envelope)] = store.outbox
    assert (topic, key) == ("punchcard.identity.workers.v1", f"{TENANT}/{worker.id}")
    registered = identity_pb2.WorkerRegistered()
    envelope.payload.Unpack(registered)
    assert registered.status == WorkerStatus.ACTIVE.proto()


async def test_a_duplicate_employee_id_is_409_and_nothing_is_emitted(s, store):
    await uc.register_worker(s, ADMIN, uc.RegisterWorker("E1", "Ada"))
    with pytest.raises(DomainError) as refused:
        await uc.register_worker(s, ADMIN, uc.RegisterWorker("E1", "Bob"))
    assert answer(refused.value) == (409, "DUPLICATE_EMPLOYEE_ID", "employee_id")
    assert refused.value.message == (
        "another worker has this Employee ID (capitals and small letters count as the same)"
    )
    assert len(store.outbox) == 1
    # In any case: the kiosk could not tell "e1" from "E1".
    with pytest.raises(DomainError) as refused:
        await uc.register_worker(s, ADMIN, uc.RegisterWorker("e1", "Cy"))
    assert answer(refused.value)[1] == "DUPLICATE_EMPLOYEE_ID"


async def test_managers_add_and_move_workers_within_their_sites_only(s):
    with pytest.raises(DomainError) as refused:
        await uc.register_worker(s, MANAGER, uc.RegisterWorker("E1", "Ada", site_id="south"))
    assert answer(refused.value) == (403, "SITE_NOT_MANAGED", "site_id")
    worker = await uc.register_worker(s, MANAGER, uc.RegisterWorker("E1", "Ada", site_id="north"))
    with pytest.raises(DomainError) as moved:
        await uc.update_worker(s, MANAGER, uc.UpdateWorker(worker.id, {"site_id": "south"}))
    assert answer(moved.value) == (403, "SITE_NOT_MANAGED", "site_id")
    assert moved.value.message == "this is at a site you do not manage"


async def test_another_sites_or_a_malformed_worker_is_not_found(s):
    worker = await uc.register_worker(s, ADMIN, uc.RegisterWorker("E1", "Ada", site_id="south"))
    for worker_id in (worker.id, "not-a-uuid", str(uuid.uuid4())):
        with pytest.raises(DomainError) as missing:
            await uc.update_worker(s, MANAGER, uc.UpdateWorker(worker_id, {"name": "X"}))
        assert answer(missing.value) == (404, "NOT_FOUND", None)
        assert missing.value.message == "worker not found"


async def test_an_update_emits_what_changed(s, store):
    worker = await uc.register_worker(s, ADMIN, uc.RegisterWorker("E1", "Ada"))
    same = await uc.update_worker(s, ADMIN, uc.UpdateWorker(worker.id, {"name": "Ada"}))
    assert same == worker and len(store.outbox) == 1
    updated = await uc.update_worker(
        s, ADMIN, uc.UpdateWorker(worker.id, {"name": "Ada L.", "status": WorkerStatus.ACTIVE})
    )
    assert (updated.name, updated.status) == ("Ada L.", WorkerStatus.ACTIVE)
    assert events(store)[1:] == ["punchcard.v1.WorkerUpdated", "punchcard.v1.WorkerStatusChanged"]


async def test_pins_are_sysadmin_only_checked_by_the_policy_and_refused_to_inactive_workers(s):
    worker = await uc.register_worker(s, ADMIN, uc.RegisterWorker("E1", "Ada"))
    with pytest.raises(Forbidden):
        await uc.set_pin(s, MANAGER, uc.SetPin(worker.id, "8351"))
    with pytest.raises(DomainError) as weak:
        await uc.set_pin(s, ADMIN, uc.SetPin(worker.id, "1234"))
    assert answer(weak.value) == (422, "PIN_SEQUENCE", "pin")
    await uc.update_worker(s, ADMIN, uc.UpdateWorker(worker.id, {"status": WorkerStatus.INACTIVE}))
    with pytest.raises(DomainError) as inactive:
        await uc.set_pin(s, ADMIN, uc.SetPin(worker.id, "8351"))
    assert answer(inactive.value) == (409, "WORKER_INACTIVE", "pin")


async def test_setting_a_pin_forgets_the_workers_failures_and_emits_pin_set(s, store, counters):
    worker = await uc.register_worker(s, ADMIN, uc.RegisterWorker("E1", "Ada"))
    await counters.record_failure(TENANT, worker.id, "c1", "a1")
    updated = await uc.set_pin(s, ADMIN, uc.SetPin(worker.id, "8351"))
    assert updated.pin_set and store.pins[worker.id].stored.hash == "h:8351"
    assert events(store)[-1] == "punchcard.v1.PinSet"
    assert counters.sets == {(TENANT, "clock", "c1"): {"a1"}}  # the clock's count stays


async def test_a_generated_pin_passes_the_policy_and_is_set(s, store):
    worker = await uc.register_worker(s, ADMIN, uc.RegisterWorker("E1", "Ada"))
    pin, updated = await uc.generate_pin(s, ADMIN, uc.GeneratePin(worker.id))
    assert len(pin) == 6 and updated.pin_set
    assert store.pins[worker.id].stored.hash == f"h:{pin}"


async def test_unlocking_ends_the_lock_everywhere_and_at_every_clock(s, store, counters):
    worker = await uc.register_worker(s, ADMIN, uc.RegisterWorker("E1", "Ada"))
    await uc.set_pin(s, ADMIN, uc.SetPin(worker.id, "8351"))
    store.pins[worker.id].locked_until = store.pins[worker.id].set_at
    await counters.lock_at_clock(TENANT, worker.id, "c1", store.pins[worker.id].set_at)
    unlocked = await uc.unlock_pin(s, ADMIN, uc.UnlockPin(worker.id))
    assert unlocked.pin_locked_until is None and counters.clock_locks == {}
    assert events(store)[-1] == "punchcard.v1.PinUnlocked"


async def test_removing_a_pin_emits_only_when_there_was_one(s, store):
    worker = await uc.register_worker(s, ADMIN, uc.RegisterWorker("E1", "Ada"))
    await uc.remove_pin(s, ADMIN, uc.RemovePin(worker.id))
    assert events(store) == ["punchcard.v1.WorkerRegistered"]
    await uc.set_pin(s, ADMIN, uc.SetPin(worker.id, "8351"))
    assert not (await uc.remove_pin(s, ADMIN, uc.RemovePin(worker.id))).pin_set
    assert events(store)[-1] == "punchcard.v1.PinRemoved"


# -- a clock's PIN failure counters, and a worker's locks at clocks ---------------------------
# They go to those who see the clock: a sysadmin any clock of the tenant, a manager the clocks
# of their sites; a clock identity has not learnt of (never registered, another tenant's) is a
# 404, and one registered a moment ago is waited for. identity learns each clock's site from
# device-sync's clocks topic (``record_clock``).

NORTH, SOUTH = "clock-north", "clock-south"


@pytest.fixture
async def clocks(store):
    for clock_id, site in ((NORTH, "north"), (SOUTH, "south")):
        await record_clock(RecordClock(TENANT, clock_id, site), FakeUnitOfWork(store, TENANT))


async def test_a_sysadmin_reads_and_resets_any_clock_of_the_tenant(s, counters, clocks):
    for clock_id in (NORTH, SOUTH):
        await counters.record_unknown(TENANT, clock_id, "a1")
        assert await views.clock_pin_counters(s, ADMIN, clock_id) == (1, 0)
        await uc.reset_clock_pin_counters(s, ADMIN, uc.ResetClockPinCounters(clock_id))
        assert await views.clock_pin_counters(s, ADMIN, clock_id) == (0, 0)


async def test_a_manager_only_at_their_sites(s, counters, clocks):
    await counters.record_unknown(TENANT, SOUTH, "a1")
    assert await views.clock_pin_counters(s, MANAGER, NORTH) == (0, 0)
    for call in (
        views.clock_pin_counters(s, MANAGER, SOUTH),
        uc.reset_clock_pin_counters(s, MANAGER, uc.ResetClockPinCounters(SOUTH)),
    ):
        with pytest.raises(NotFound) as error:
            await call
        assert answer(error.value) == (404, "CLOCK_NOT_FOUND", "clock_id")
    assert await views.clock_pin_counters(s, ADMIN, SOUTH) == (1, 0)  # not reset


async def test_a_clock_no_one_registered_or_another_tenants_is_not_found(s, clocks):
    other = replace(ADMIN, tenant_id="t2")
    for caller, clock_id in ((ADMIN, "made-up"), (other, NORTH)):
        with pytest.raises(NotFound) as error:
            await views.clock_pin_counters(s, caller, clock_id)
        assert answer(error.value) == (404, "CLOCK_NOT_FOUND", "clock_id")


async def test_a_viewer_is_refused(s, clocks):
    viewer = replace(MANAGER, role="viewer")
    with pytest.raises(Forbidden):
        await views.clock_pin_counters(s, viewer, NORTH)


async def test_a_clock_registered_a_moment_ago_is_waited_for(s, store):
    waiting = replace(s, projection_wait_s=2.0)

    async def registered_meanwhile():
        await asyncio.sleep(0.05)
        await record_clock(RecordClock(TENANT, "new", "north"), FakeUnitOfWork(store, TENANT))

    late = asyncio.create_task(registered_meanwhile())
    assert await views.clock_pin_counters(waiting, MANAGER, "new") == (0, 0)
    await late


async def test_a_workers_locks_at_clocks_are_shown_until_they_end_or_an_unlock(s, counters):
    # Five wrong PINs at one clock lock the worker there: the kiosk says "ask your manager",
    # and the manager must see what to unlock (before: the worker's page showed nothing).
    worker = await uc.register_worker(s, ADMIN, uc.RegisterWorker("E1", "Ada", site_id="north"))
    now = s.clock()
    await counters.lock_at_clock(TENANT, worker.id, NORTH, now + timedelta(minutes=15))
    await counters.lock_at_clock(TENANT, worker.id, SOUTH, now - timedelta(minutes=1))  # over
    assert await views.clock_locks(s, MANAGER, worker) == {NORTH: now + timedelta(minutes=15)}
    await uc.unlock_pin(s, ADMIN, uc.UnlockPin(worker.id))
    assert await views.clock_locks(s, MANAGER, worker) == {}
