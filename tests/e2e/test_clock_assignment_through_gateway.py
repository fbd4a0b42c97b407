"""Assigning a worker to a clock as the manage portal will: through the gateway's public API only,
with the real gateway, identity and device-sync processes on real PostgreSQL, Redis and Kafka,
and a simulated clock talking to device-sync directly (clocks never go through the gateway).

Register a clock (its credential shown once), assign a worker with a PIN → the clock's roster
gets them and the clock shows online and in sync; rename the worker → the clock's copy follows;
a viewer may not assign; unassign → off the clock; the audit log names the clock and holds no
credential, nor does any service's log."""

import uuid

import pytest
from punchcard_kiosk_sim import ClockFleet

from tests.support.gateway import assign, create_tenant, login
from tests.support.messaging import wait_for
from tests.support.services import start_service
from tests.support.stack import unique

PIN = "604137"
WAIT_S = 2  # short holds: the clock comes back (with its acks and digest) every couple of seconds
PASSWORD = "a long admin password"


@pytest.fixture(scope="module")
async def system(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("clock_assignment")
    started = []
    try:
        identity = await start_service("identity", tmp)
        started.append(identity)
        # Short resync floor, as in device-sync's own integration tests; a new worker waited for
        # longer than in production (2 s), for a CI box too busy to relay identity's event so
        # soon (the test below creates and assigns at once).
        devices = await start_service(
            "device-sync", tmp, AUTO_RESYNC_MIN_INTERVAL_S="0", PROJECTION_WAIT_S="5"
        )
        started.append(devices)
        gateway = await start_service(
            "gateway", tmp, IDENTITY_URL=identity.url, DEVICE_SYNC_URL=devices.url
        )
        started.append(gateway)
        yield {"identity": identity, "devices": devices, "gateway": gateway}
    finally:
        for service in reversed(started):
            await service.stop()


async def test_assign_a_worker_to_a_clock_through_the_gateway(system):
    email = f"{unique('admin')}@example.com"
    create_tenant(system["gateway"], email, PASSWORD)
    http = await login(system["gateway"], email, PASSWORD)
    async with http:
        # 1. An Active worker with a PIN (identity, through the gateway).
        employee_id = unique("E")[:20]
        created = await http.post(
            "/workers",
            json={"employee_id": employee_id, "name": "Ana Pérez", "status": "Active"},
        )
        assert created.status_code == 201, created.text
        wid = created.json()["id"]
        set_pin = await http.put(f"/workers/{wid}/pin", json={"pin": PIN})
        assert set_pin.status_code == 200 and set_pin.json()["pin_set"] is True, set_pin.text

        # 2. A clock, registered through the gateway: its credential is shown once.
        registered = await http.post(
            "/clocks",
            json={
                "serial_number": unique("SN"),
                "name": "Front door",
                "site_id": "",
                "time_zone": "Europe/Madrid",
            },
        )
        assert registered.status_code == 201, registered.text
        assert registered.headers["cache-control"] == "no-store"
        clock = registered.json()
        clock_id, credential = clock["id"], clock["credential"]
        assert credential.startswith(f"pcc_{clock_id}_")
        # The secret is all after the clock's id: token_urlsafe has "_" in it too, so the part
        # after the last "_" was once "-o", found in a log by chance.
        secret = credential.removeprefix(f"pcc_{clock_id}_")
        assert clock["status"] == "never_seen"
        shown = await http.get(f"/clocks/{clock_id}")
        assert shown.status_code == 200, shown.text
        assert "credential" not in shown.json() and credential not in shown.text
        assert shown.json()["status"] == "never_seen" and shown.json()["roster_size"] == 0
        listed = await http.get("/clocks")
        assert [c["id"] for c in listed.json()["data"]] == [clock_id]
        assert credential not in listed.text

        async with ClockFleet(system["devices"].url, [credential], wait_s=WAIT_S) as fleet:
            sim = fleet[0]

            # 3. Assigned → on the clock, with PIN as its only method.
            response = await assign(http, clock_id, wid)
            assert response.status_code == 200, response.text
            assert response.json() == {
                "assigned": 1,
                "unassigned": 0,
                "commands_queued": 1,
                "roles_changed": 0,
            }
            await sim.wait_until(lambda c: wid in c.roster, timeout=30, what="worker on clock")
            profile = sim.roster[wid]
            assert profile["employee_id"] == employee_id
            assert profile["display_name"] == "Ana Pérez"
            assert profile["status"] == "Active"
            assert profile["pin_set"] is True and profile["allowed_methods"] == ["PIN"]
            assert not {"pin", "pin_hash", "embedding"} & set(profile)

            # Assigning again changes nothing (idempotent).
            again = await http.put(f"/clocks/{clock_id}/workers/{wid}")
            assert again.status_code == 200, again.text
            assert again.json()["assigned"] == 0 and again.json()["commands_queued"] == 0

            # The admin sees the clock online and in sync once the ack has come back.
            async def acknowledged():
                body = (await http.get(f"/clocks/{clock_id}")).json()
                done = (
                    body["status"] == "online"
                    and body["last_sequence"] >= 1
                    and body["in_sync"] is True
                    and body["pending_commands"] == 0
                )
                return body if done else None

            body = await wait_for(acknowledged, timeout=30, what="clock online and in sync")
            assert body["applied_sequence"] == body["last_sequence"]
            assert body["roster_size"] == 1
            assert body["last_seen_at"] is not None and body["software_version"]
            who = (await http.get(f"/clocks/{clock_id}/workers")).json()
            assert [w["worker_id"] for w in who["data"]] == [wid]
            where = await http.get(f"/workers/{wid}/clocks")
            assert where.status_code == 200, where.text
            assert [c["clock_id"] for c in where.json()["data"]] == [clock_id]

            # 4. Renamed in identity → the clock's copy follows.
            renamed = await http.patch(f"/workers/{wid}", json={"name": "Ana Pérez García"})
            assert renamed.status_code == 200, renamed.text
            await sim.wait_until(
                lambda c: c.roster.get(wid, {}).get("display_name") == "Ana Pérez García",
                timeout=30,
                what="new name on the clock",
            )
            assert sim.roster[wid]["employee_id"] == employee_id
            assert sim.roster[wid]["allowed_methods"] == ["PIN"]

            # 5. A viewer reads but may not assign nor unassign.
            viewer_email = f"{unique('viewer')}@example.com"
            made = await http.post(
                "/users",
                json={
                    "email": viewer_email,
                    "name": "Vera Viewer",
                    "role": "viewer",
                    "password": "viewer password 1",
                },
            )
            assert made.status_code == 201, made.text
            viewer_id = made.json()["id"]
            viewer = await login(system["gateway"], viewer_email, "viewer password 1")
            async with viewer:
                assert (await viewer.get(f"/clocks/{clock_id}")).status_code == 200
                refused = await viewer.put(f"/clocks/{clock_id}/workers/{wid}")
                assert refused.status_code == 403 and refused.json()["code"] == "FORBIDDEN"
                refused = await viewer.delete(f"/clocks/{clock_id}/workers/{wid}")
                assert refused.status_code == 403 and refused.json()["code"] == "FORBIDDEN"
            assert wid in sim.roster
            who = (await http.get(f"/clocks/{clock_id}/workers")).json()
            assert [w["worker_id"] for w in who["data"]] == [wid]

            # 6. Unassigned → off the clock (and unassigning again is harmless).
            for _ in range(2):
                removed = await http.delete(f"/clocks/{clock_id}/workers/{wid}")
                assert removed.status_code == 204, removed.text
            await sim.wait_until(lambda c: wid not in c.roster, timeout=30, what="worker removed")
            who = (await http.get(f"/clocks/{clock_id}/workers")).json()
            assert who["data"] == []
            assert (await http.get(f"/workers/{wid}/clocks")).json()["data"] == []

            async def settled():
                body = (await http.get(f"/clocks/{clock_id}")).json()
                return body if body["in_sync"] and body["roster_size"] == 0 else None

            await wait_for(settled, timeout=30, what="removal acknowledged")
            sequences = [s for s, _, _ in sim.applied]
            assert sequences == sorted(set(sequences)) and sim.duplicates == 0
            assert not sim.failed and not sim.unauthorized

        # 7. The audit log: the registration and the assignment (the clock as target), the
        # viewer's refusals, the unassignment; no credential anywhere in it.
        audit = await http.get("/audit-log", params={"limit": 500})
        assert audit.status_code == 200, audit.text
        rows = audit.json()["data"]

        def of(action: str) -> list[dict]:
            return [r for r in rows if r["action"] == action]

        [registration] = of("POST /api/v1/clocks")
        assert registration["status_code"] == 201
        # The gateway never reads response bodies, so it cannot know the new clock's id.
        assert registration["target_id"] in (None, clock_id)
        assignment = "PUT /api/v1/clocks/{id}/workers/{worker_id}"
        puts = of(assignment)
        assert sorted(r["status_code"] for r in puts) == [200, 200, 403]
        assert {r["target_id"] for r in puts} == {clock_id}
        assert [r["actor_id"] for r in puts if r["status_code"] == 403] == [viewer_id]
        deletes = of("DELETE /api/v1/clocks/{id}/workers/{worker_id}")
        assert sorted(r["status_code"] for r in deletes) == [204, 204, 403]
        assert {r["target_id"] for r in deletes} == {clock_id}
        assert [r["target_id"] for r in of("PATCH /api/v1/workers/{id}")] == [wid]
        assert credential not in audit.text
        assert secret not in audit.text
        assert PIN not in audit.text

    # The credential's secret is in no service's log.
    for service in ("gateway", "devices", "identity"):
        assert secret not in system[service].log_file.read_text(), service


async def test_a_worker_created_and_assigned_at_once_is_assigned_the_first_time(system):
    """As an integration script does it, with no retry: create, then assign at once. device-sync
    learns the worker from identity's event a moment later and waits for it (PROJECTION_WAIT_S)
    instead of answering 404 "try again"; a worker that does not exist is still a 404."""
    email = f"{unique('admin')}@example.com"
    create_tenant(system["gateway"], email, PASSWORD)
    http = await login(system["gateway"], email, PASSWORD)
    async with http:
        registered = await http.post(
            "/clocks",
            json={"serial_number": unique("SN"), "name": "Gate", "site_id": "", "time_zone": "UTC"},
        )
        assert registered.status_code == 201, registered.text
        clock_id = registered.json()["id"]
        for n in range(5):
            created = await http.post(
                "/workers",
                json={"employee_id": unique("Q")[:20], "name": f"Quick {n}", "status": "Active"},
            )
            assert created.status_code == 201, created.text
            answer = await http.put(f"/clocks/{clock_id}/workers/{created.json()['id']}")
            assert answer.status_code == 200, answer.text
        nobody = await http.put(f"/clocks/{clock_id}/workers/{uuid.uuid4()}")
        assert (nobody.status_code, nobody.json()["code"]) == (404, "WORKER_NOT_FOUND")
        roster = await http.get(f"/clocks/{clock_id}/workers")
        assert roster.json()["count"] == 5
