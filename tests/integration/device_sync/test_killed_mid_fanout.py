"""device-sync is SIGKILLed in the middle of a fan-out to many clocks (inside the transaction
that queues a worker's change for every clock), and again while clocks hold their requests.
After each restart every clock gets every command, once, in order: each clock applied every
command of its durable queue, in sequence order, none twice, all acknowledged with 0, and
every roster ends with the worker's latest name."""

import asyncio

import pytest
from punchcard_kiosk_sim import ClockFleet

from tests.support.device_sync import new_tenant, queue_of
from tests.support.messaging import wait_for

pytestmark = pytest.mark.chaos

CLOCKS = 40
RENAMES = 6


@pytest.fixture
async def killable_devices(tmp_path):
    from tests.support.services import start_service

    # The third queueing transaction (assignment, rename 1, then rename 2) kills the process
    # after every command row of the fan-out is written, before the commit.
    process = await start_service(
        "device-sync",
        tmp_path,
        PUNCHCARD_FAILPOINTS="device_sync.fanout.before_commit=kill@3",
    )
    yield process
    await process.stop()


async def test_every_clock_gets_every_command_once_in_order(identity, killable_devices):
    devices = killable_devices
    tenant = await new_tenant(identity, devices)
    worker = await tenant.worker("Name 0")
    wid = worker["id"]
    clocks = await tenant.clocks(CLOCKS)
    async with ClockFleet(
        devices.url, clocks, wait_s=5, backoff_base_s=0.1, backoff_cap_s=1.0
    ) as fleet:
        await tenant.assign([(clock_id, wid) for clock_id, _ in clocks])
        for clock in fleet:
            await clock.wait_until(lambda c: wid in c.roster, timeout=30, what="assigned")

        # Rename 1 fans out; rename 2's fan-out kills device-sync before its commit.
        for n in (1, 2):
            response = await tenant.identity.patch(f"/workers/{wid}", json={"name": f"Name {n}"})
            assert response.status_code == 200

        async def died():
            return devices.process.poll() is not None

        await wait_for(died, timeout=60, what="device-sync killed at the failpoint")
        # More changes while it is down: they wait in Kafka.
        for n in (3, 4):
            await tenant.identity.patch(f"/workers/{wid}", json={"name": f"Name {n}"})
        await devices.start(PUNCHCARD_FAILPOINTS="")

        # Killed again while the clocks hold their requests, with a change in flight.
        await tenant.identity.patch(f"/workers/{wid}", json={"name": "Name 5"})
        await asyncio.sleep(0.05)
        devices.kill()
        await tenant.identity.patch(f"/workers/{wid}", json={"name": f"Name {RENAMES}"})
        await devices.start(PUNCHCARD_FAILPOINTS="")

        final = f"Name {RENAMES}"
        for clock in fleet:
            await clock.wait_until(
                lambda c: c.roster.get(wid, {}).get("display_name") == final,
                timeout=60,
                what="latest name on every clock",
            )

        async def all_acked():
            for clock_id, _ in clocks:
                if any(r["acked_at"] is None for r in await queue_of(devices.admin_url, clock_id)):
                    return False
            return True

        await wait_for(all_acked, timeout=30, what="every command acknowledged")
        for clock in fleet:
            queue = await queue_of(devices.admin_url, clock.clock_id)
            applied = [(s, kind, w) for s, kind, w in clock.applied]
            # Every command of the durable queue was applied. A command applied whose ack was
            # lost in a kill may since have been replaced (collapsed) by a newer one for the
            # same worker: applied, but no longer in the queue.
            queued = [(r["sequence"], r["kind"], r["worker_id"]) for r in queue]
            assert set(queued) <= set(applied)
            assert all(w == wid for _, _, w in applied)
            assert all(r["result_code"] == 0 for r in queue)
            sequences = [s for s, _, _ in applied]
            assert sequences == sorted(set(sequences))  # in order, none applied twice
            names = [
                cmd["worker"]["display_name"]
                for _, cmd in clock.received
                if cmd["kind"] == "UPSERT_WORKER"
            ]
            # Names arrive in the order they were given (collapse may skip, never reorder).
            assert [int(n.split()[1]) for n in names] == sorted({int(n.split()[1]) for n in names})
    assert devices.starts >= 1
