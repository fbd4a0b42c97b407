"""A clock's PIN failure counters (read and reset) go to those who see the clock: a sysadmin
any clock of the tenant, a manager the clocks of their sites; a clock identity has not learnt
of (never registered, another tenant's) is a 404, and one registered a moment ago is waited for.
identity learns each clock's site from device-sync's clocks topic (``record_clock``)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest
from punchcard_identity import views
from punchcard_identity.service_layer import workers as uc
from punchcard_identity.service_layer.assignments import RecordClock, record_clock
from punchcard_kit.errors import Forbidden, NotFound

from .fakes import FakeCounters, FakeHasher, FakeUnitOfWork, Store
from .test_workers import ADMIN, MANAGER, TENANT, answer

NORTH, SOUTH = "clock-north", "clock-south"


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
