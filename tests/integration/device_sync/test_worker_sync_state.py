"""The worker's clocks as the portal shows them: for each clock, where the worker's latest
command stands — acknowledged by a clock that is online, waiting for a clock that was never
seen — and, after an unassignment, the removal and its acknowledgement."""

from punchcard_kiosk_sim import ClockFleet

from tests.support.device_sync import new_tenant
from tests.support.messaging import wait_for

WAIT_S = 2


async def test_each_clock_shows_the_workers_sync_state(identity, devices):
    tenant = await new_tenant(identity, devices)
    worker = await tenant.worker("Sync State")
    wid = worker["id"]
    (online_id, online_cred), (away_id, _) = await tenant.clocks(2)
    async with ClockFleet(devices.url, [online_cred], wait_s=WAIT_S):
        await tenant.assign([(online_id, wid), (away_id, wid)])

        async def states():
            body = (await tenant.devices.get(f"/workers/{wid}/clocks")).json()
            by_clock = {c["clock_id"]: c for c in body["data"]}
            if by_clock[online_id]["sync"]["state"] != "acknowledged":
                return None
            return by_clock

        by_clock = await wait_for(states, timeout=30, what="the online clock acknowledged")
        online, away = by_clock[online_id], by_clock[away_id]
        # Online as soon as its acknowledgement is recorded (an ack is the clock's request).
        assert online["clock_status"] == "online"
        assert online["sync"]["kind"] == "UPSERT_WORKER" and online["sync"]["result_code"] == 0
        assert online["sync"]["acked_at"] is not None
        # Never seen: the command waits in its queue until the clock comes.
        assert away["clock_status"] == "never_seen"
        assert away["sync"]["state"] == "waiting" and away["sync"]["acked_at"] is None

        # Taken off the online clock: the removal is listed, then acknowledged.
        taken_off = await tenant.devices.delete(f"/clocks/{online_id}/workers/{wid}")
        assert taken_off.status_code == 204

        async def removal():
            body = (await tenant.devices.get(f"/workers/{wid}/clocks")).json()
            assert [c["clock_id"] for c in body["data"]] == [away_id]
            removed = {c["clock_id"]: c for c in body["removed"]}
            sync = removed.get(online_id, {}).get("sync") or {}
            return removed if sync.get("state") == "acknowledged" else None

        removed = await wait_for(removal, timeout=30, what="the removal acknowledged")
        assert removed[online_id]["sync"]["kind"] == "REMOVE_WORKER"
        assert away_id not in removed
