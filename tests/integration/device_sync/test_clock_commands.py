"""Assignments and worker changes reach simulated clocks as commands, through the real
identity and device-sync processes, PostgreSQL and Kafka: assign → UPSERT → ack; unassign →
removal; PIN removed → no PIN on the clock; deactivated → off every clock; an offline clock
catches up in order; a drifted roster heals itself; a clock sees only its own commands."""

import asyncio

import httpx
from punchcard_kiosk_sim import ClockFleet, SimulatedClock

from tests.support.device_sync import new_tenant, queue_of

PIN = "604137"
WAIT_S = 2  # short holds: the clocks send their digest every couple of seconds


async def roster_has(clock: SimulatedClock, predicate, what: str, timeout: float = 20):
    await clock.wait_until(predicate, timeout=timeout, what=what)


async def test_assign_ack_unassign_pin_removed_deactivated(identity, devices):
    tenant = await new_tenant(identity, devices)
    worker = await tenant.worker("Ana Pérez", pin=PIN)
    wid = worker["id"]
    (a_id, a_cred), (b_id, b_cred) = await tenant.clocks(2)
    async with ClockFleet(devices.url, [a_cred, b_cred], wait_s=WAIT_S) as fleet:
        a, b = fleet.by_clock_id(a_id), fleet.by_clock_id(b_id)
        result = await tenant.assign([(a_id, wid), (b_id, wid)])
        assert result == {"assigned": 2, "unassigned": 0, "commands_queued": 2, "roles_changed": 0}
        for clock in (a, b):
            await roster_has(clock, lambda c: wid in c.roster, "worker on the clock")
            profile = clock.roster[wid]
            assert profile["employee_id"] == worker["employee_id"]
            assert profile["display_name"] == "Ana Pérez"
            assert profile["status"] == "Active"
            assert profile["pin_set"] is True and profile["allowed_methods"] == ["PIN"]
            assert not {"pin", "pin_hash", "embedding"} & set(profile)

        # Acknowledged with result 0, in the clock's durable queue.
        async def acked():
            queue = await queue_of(devices.admin_url, a_id)
            return queue and all(r["acked_at"] is not None for r in queue)

        for _ in range(100):
            if await acked():
                break
            await asyncio.sleep(0.1)
        queue = await queue_of(devices.admin_url, a_id)
        assert [(r["kind"], r["result_code"]) for r in queue] == [("UPSERT_WORKER", 0)]

        # The admin sees both sides of the assignment.
        who = (await tenant.devices.get(f"/clocks/{a_id}/workers")).json()
        assert [w["worker_id"] for w in who["data"]] == [wid]
        where = (await tenant.devices.get(f"/workers/{wid}/clocks")).json()
        assert sorted(c["clock_id"] for c in where["data"]) == sorted([a_id, b_id])

        # PIN removed in identity → both clocks no longer allow PIN.
        assert (await tenant.identity.delete(f"/workers/{wid}/pin")).status_code == 200
        for clock in (a, b):
            await roster_has(
                clock,
                lambda c: c.roster.get(wid, {}).get("pin_set") is False,
                "PIN gone from the clock's copy",
            )
            assert "PIN" not in clock.roster[wid]["allowed_methods"]

        # Unassigned from A → removed from A only.
        response = await tenant.devices.delete(f"/clocks/{a_id}/workers/{wid}")
        assert response.status_code == 204
        await roster_has(a, lambda c: wid not in c.roster, "worker removed from A")
        assert wid in b.roster

        # Deactivated → removed from every clock it was on.
        response = await tenant.identity.patch(f"/workers/{wid}", json={"status": "Inactive"})
        assert response.status_code == 200, response.text
        await roster_has(b, lambda c: wid not in c.roster, "worker removed from B")
        for clock in (a, b):
            sequences = [s for s, _, _ in clock.applied]
            assert sequences == sorted(set(sequences))
        assert (await tenant.devices.put(f"/clocks/{a_id}/workers/{wid}")).status_code == 409


async def test_an_offline_clock_catches_up_in_order(identity, devices):
    tenant = await new_tenant(identity, devices)
    w1 = await tenant.worker("First Worker")
    w2 = await tenant.worker("Second Worker")
    [(clock_id, credential)] = await tenant.clocks(1)
    async with ClockFleet(devices.url, [credential], wait_s=WAIT_S) as fleet:
        clock = fleet[0]
        await tenant.assign([(clock_id, w1["id"])])
        await roster_has(clock, lambda c: w1["id"] in c.roster, "first worker")
        clock.offline = True
        await tenant.assign([(clock_id, w2["id"])])
        await tenant.identity.patch(f"/workers/{w1['id']}", json={"name": "First Renamed"})
        await tenant.identity.patch(f"/workers/{w1['id']}", json={"name": "First Renamed Twice"})
        await tenant.assign([], unassign=[(clock_id, w2["id"])])
        await tenant.assign([(clock_id, w2["id"])])

        # Pending updates of one worker collapse into the latest: one per worker.
        for _ in range(100):
            pending = (await tenant.devices.get(f"/clocks/{clock_id}/commands?pending=true")).json()
            names = [c["worker_id"] for c in pending["data"]]
            if sorted(names) == sorted([w1["id"], w2["id"]]):
                break
            await asyncio.sleep(0.1)
        assert sorted(names) == sorted([w1["id"], w2["id"]]), pending
        before = len(clock.applied)
        clock.offline = False
        await roster_has(
            clock,
            lambda c: (
                c.roster.get(w1["id"], {}).get("display_name") == "First Renamed Twice"
                and w2["id"] in c.roster
            ),
            "caught up",
        )
        caught_up = [s for s, _, _ in clock.applied[before:]]
        assert caught_up == sorted(caught_up) and len(caught_up) == 2
        assert clock.duplicates == 0


async def test_a_corrupted_roster_is_resynced_by_itself(identity, devices):
    tenant = await new_tenant(identity, devices)
    workers = [await tenant.worker(f"Worker {i}") for i in range(3)]
    [(clock_id, credential)] = await tenant.clocks(1)
    async with ClockFleet(devices.url, [credential], wait_s=WAIT_S) as fleet:
        clock = fleet[0]
        await tenant.assign([(clock_id, w["id"]) for w in workers])
        ids = {w["id"] for w in workers}
        await roster_has(clock, lambda c: set(c.roster) == ids, "three workers")
        good = {k: dict(v) for k, v in clock.roster.items()}
        clock.corrupt_roster("drop", workers[0]["id"])
        assert set(clock.roster) != ids
        await roster_has(clock, lambda c: set(c.roster) == ids, "roster rebuilt", timeout=30)
        assert {k: dict(v) for k, v in clock.roster.items()} == good
        assert any(kind == "FULL_RESYNC" for _, kind, _ in clock.applied)


async def test_a_clock_sees_and_acknowledges_only_its_own_commands(identity, devices):
    tenant = await new_tenant(identity, devices)
    other_tenant = await new_tenant(identity, devices)
    worker = await tenant.worker("Own Worker")
    (a_id, a_cred), (b_id, b_cred) = await tenant.clocks(2)
    [(x_id, x_cred)] = await other_tenant.clocks(1)
    await tenant.assign([(b_id, worker["id"])])
    async with httpx.AsyncClient(base_url=devices.url + "/clock/v1", timeout=30) as http:

        async def sync(credential, **body):
            return await http.post(
                "/sync",
                json={"applied_sequence": 0, "wait_s": 0, **body},
                headers={"Authorization": f"Bearer {credential}"},
            )

        b_answer = (await sync(b_cred)).json()
        [command] = b_answer["commands"]
        assert b_answer["clock_id"] == b_id
        # A and the other tenant's clock see nothing of B's queue...
        assert (await sync(a_cred)).json()["commands"] == []
        assert (await sync(x_cred)).json()["commands"] == []
        # ...and cannot acknowledge B's command.
        ack = {
            "command_id": command["command_id"],
            "sequence": command["sequence"],
            "result_code": 0,
        }
        for credential in (a_cred, x_cred):
            response = await http.post(
                "/acks", json={"acks": [ack]}, headers={"Authorization": f"Bearer {credential}"}
            )
            assert response.json() == {"recorded": 0}
        [row] = await queue_of(devices.admin_url, b_id)
        assert row["acked_at"] is None
        # The other tenant's admin cannot see the clock either.
        assert (await other_tenant.devices.get(f"/clocks/{b_id}")).status_code == 404
        assert (await other_tenant.devices.get(f"/clocks/{b_id}/workers")).status_code == 404
        # B acknowledges its own command once; again is harmless.
        for expected in (1, 0):
            response = await http.post(
                "/acks", json={"acks": [ack]}, headers={"Authorization": f"Bearer {b_cred}"}
            )
            assert response.json() == {"recorded": expected}
        # Forged, rotated and revoked credentials get nothing.
        assert (await sync(b_cred[:-4] + "AAAA")).status_code == 401
        rotated = (await tenant.devices.post(f"/clocks/{b_id}/credential")).json()["credential"]
        assert (await sync(b_cred)).status_code == 401
        assert (await sync(rotated)).status_code == 200
        revoke = await tenant.devices.post(f"/clocks/{b_id}/revoke", json={"reason": "stolen"})
        assert revoke.json()["status"] == "revoked"
        assert (await sync(rotated)).status_code == 401


async def test_bad_input_is_refused_and_changes_nothing(identity, devices):
    tenant = await new_tenant(identity, devices)
    response = await tenant.devices.post(
        "/clocks", json={"serial_number": "SN 1", "name": "x", "time_zone": "Europe/Madrid"}
    )
    assert response.status_code == 422 and response.json()["field"] == "serial_number"
    assert response.json()["message"] == (  # in words (punchcard_kit.patterns)
        "Input should be a serial number of letters, digits, '.', '_', ':' and '-'"
    )
    response = await tenant.devices.post(
        "/clocks", json={"serial_number": "SN1", "name": "x", "time_zone": "Mars/Olympus"}
    )
    assert response.status_code == 422 and response.json()["code"] == "INVALID_TIME_ZONE"
    [(clock_id, _)] = await tenant.clocks(1)
    missing = "00000000-0000-0000-0000-000000000000"
    response = await tenant.devices.put(f"/clocks/{clock_id}/workers/{missing}")
    assert response.status_code == 404 and response.json()["code"] == "WORKER_NOT_FOUND"
    worker = await tenant.worker()
    await tenant.assign([(clock_id, worker["id"])])
    response = await tenant.devices.post(
        "/assignments",
        json={
            "unassign": [{"clock_id": clock_id, "worker_id": worker["id"]}],
            "assign": [{"clock_id": missing, "worker_id": worker["id"]}],
        },
    )
    assert response.status_code == 404 and response.json()["code"] == "CLOCK_NOT_FOUND"
    pair = {"clock_id": clock_id, "worker_id": worker["id"]}
    response = await tenant.devices.post(
        "/assignments", json={"assign": [pair], "unassign": [pair]}
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "ASSIGNED_AND_UNASSIGNED"
    assert response.json()["field"] == "unassign"
    who = (await tenant.devices.get(f"/clocks/{clock_id}/workers")).json()
    assert [w["worker_id"] for w in who["data"]] == [worker["id"]]  # nothing changed
    listed = (await tenant.devices.get("/clocks")).json()
    assert listed["count"] == 1 and listed["data"][0]["status"] == "never_seen"
