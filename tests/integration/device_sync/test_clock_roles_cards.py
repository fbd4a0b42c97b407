"""Clock roles and badge cards reach simulated clocks through the real identity and
device-sync processes, PostgreSQL and Kafka: a worker's cards (identity) and their role on
each clock (device-sync) are in the profile each clock holds; a role change or a card change
queues UPSERT_WORKER again; the roster digest device-sync expects for each clock is the one
the clock computes over the profiles it received (so no resync is needed to agree)."""

import asyncpg
from punchcard_device_sync.adapters.postgres import PostgresUnitOfWork
from punchcard_kiosk_sim import ClockFleet, SimulatedClock

from tests.support.device_sync import new_tenant, queue_of
from tests.support.messaging import wait_for
from tests.support.services import admin_headers

WAIT_S = 2


async def roster_has(clock: SimulatedClock, predicate, what: str, timeout: float = 30):
    await clock.wait_until(predicate, timeout=timeout, what=what)


async def expected_digest(devices, tenant_id: str, clock_id: str) -> str:
    """The digest device-sync expects of the clock once it applied everything (its own SQL)."""
    pool = await asyncpg.create_pool(devices.admin_url, min_size=1, max_size=1)
    try:
        async with PostgresUnitOfWork.on_pool(pool, tenant_id) as uow:
            [(_, digest)] = (await uow.queue.expected_rosters([clock_id])).values()
        return digest
    finally:
        await pool.close()


async def test_cards_and_roles_reach_each_clock_and_the_digests_agree(identity, devices):
    tenant = await new_tenant(identity, devices)
    ana = await tenant.worker("Ana Pérez")
    bob = await tenant.worker("Bob")
    wid = ana["id"]
    for number in ("900", "0012"):
        added = await tenant.identity.post(f"/workers/{wid}/cards", json={"number": number})
        assert added.status_code == 201, added.text
    (a_id, a_cred), (b_id, b_cred) = await tenant.clocks(2)
    async with ClockFleet(devices.url, [a_cred, b_cred], wait_s=WAIT_S) as fleet:
        a, b = fleet.by_clock_id(a_id), fleet.by_clock_id(b_id)
        await tenant.assign([(b_id, wid), (a_id, bob["id"])])  # USER, by default
        # A per-pair role through the single assignment call (device-sync knows Ana now).
        response = await tenant.devices.put(
            f"/clocks/{a_id}/workers/{wid}", json={"clock_role": "MANAGER"}
        )
        assert response.status_code == 200, response.text
        assert response.json()["assigned"] == 1 and response.json()["roles_changed"] == 0

        await roster_has(a, lambda c: wid in c.roster and bob["id"] in c.roster, "A's roster")
        await roster_has(b, lambda c: wid in c.roster, "Ana on B")
        assert a.roster[wid]["clock_role"] == "MANAGER"
        assert b.roster[wid]["clock_role"] == "USER"
        assert a.roster[bob["id"]]["clock_role"] == "USER"
        for clock in (a, b):
            assert clock.roster[wid]["cards"] == ["0012", "900"]
        assert a.roster[bob["id"]]["cards"] == []

        # The digest each clock sends is the one device-sync expects of it (per-clock roles).
        for clock_id, clock in ((a_id, a), (b_id, b)):
            assert await expected_digest(devices, tenant.id, clock_id) == clock.digest(fresh=True)

        # The listings show the role on each side.
        who = (await tenant.devices.get(f"/clocks/{a_id}/workers")).json()
        assert {w["worker_id"]: w["clock_role"] for w in who["data"]} == {
            wid: "MANAGER",
            bob["id"]: "USER",
        }
        where = (await tenant.devices.get(f"/workers/{wid}/clocks")).json()
        assert {c["clock_id"]: c["clock_role"] for c in where["data"]} == {
            a_id: "MANAGER",
            b_id: "USER",
        }

        # A role change of an existing assignment: UPSERT_WORKER again, for that clock only.
        b_before = len(await queue_of(devices.admin_url, b_id))
        a_before = len(await queue_of(devices.admin_url, a_id))
        changed = await tenant.devices.put(
            f"/clocks/{b_id}/workers/{wid}", json={"clock_role": "ADMINISTRATOR"}
        )
        assert changed.json() == {
            "assigned": 0,
            "unassigned": 0,
            "commands_queued": 1,
            "roles_changed": 1,
        }
        await roster_has(
            b, lambda c: c.roster[wid]["clock_role"] == "ADMINISTRATOR", "B has the new role"
        )
        queue_b = await queue_of(devices.admin_url, b_id)
        assert len(queue_b) == b_before + 1 and queue_b[-1]["kind"] == "UPSERT_WORKER"
        assert queue_b[-1]["worker_id"] == wid
        assert len(await queue_of(devices.admin_url, a_id)) == a_before
        # No body keeps the role; the same role again changes nothing.
        kept = await tenant.devices.put(f"/clocks/{b_id}/workers/{wid}")
        assert kept.json()["commands_queued"] == 0
        same = await tenant.devices.put(
            f"/clocks/{b_id}/workers/{wid}", json={"clock_role": "ADMINISTRATOR"}
        )
        assert same.json()["roles_changed"] == 0 and same.json()["commands_queued"] == 0

        # A card deleted in identity reaches both clocks; each keeps its own role.
        assert (await tenant.identity.delete(f"/workers/{wid}/cards/900")).status_code == 204
        for clock in (a, b):
            await roster_has(clock, lambda c: c.roster[wid]["cards"] == ["0012"], "card gone")
        assert a.roster[wid]["clock_role"] == "MANAGER"
        assert b.roster[wid]["clock_role"] == "ADMINISTRATOR"
        for clock_id, clock in ((a_id, a), (b_id, b)):
            assert await expected_digest(devices, tenant.id, clock_id) == clock.digest(fresh=True)
        assert not any(kind == "FULL_RESYNC" for c in (a, b) for _, kind, _ in c.applied)

        # A full resync rebuilds each clock's roster with its roles and cards.
        good = {k: dict(v) for k, v in b.roster.items()}
        b.corrupt_roster("drop", wid)
        await roster_has(b, lambda c: wid in c.roster, "roster rebuilt")
        assert {k: dict(v) for k, v in b.roster.items()} == good


async def test_only_a_sysadmin_grants_or_takes_away_administrator(identity, devices):
    tenant = await new_tenant(identity, devices)
    ana = await tenant.worker("Ana Pérez")
    moved = await tenant.identity.patch(f"/workers/{ana['id']}", json={"site_id": "north"})
    assert moved.status_code == 200, moved.text
    [(clock_id, _)] = await tenant.clocks(1, site_id="north")

    async def moved_here():
        where = await tenant.devices.get(f"/workers/{ana['id']}/clocks", headers=manager)
        return where.status_code == 200

    manager = admin_headers(tenant.id, "manager", ("north",), service="device-sync")
    await tenant.assign([(clock_id, ana["id"])])
    await wait_for(moved_here, timeout=30, interval=0.1, what="the worker's move known")
    path = f"/clocks/{clock_id}/workers/{ana['id']}"
    refused = await tenant.devices.put(path, json={"clock_role": "ADMINISTRATOR"}, headers=manager)
    assert refused.status_code == 403, refused.text
    assert {k: refused.json()[k] for k in ("code", "field")} == {
        "code": "CLOCK_ROLE_NOT_ALLOWED",
        "field": "clock_role",
    }
    assert (await tenant.devices.put(path, json={"clock_role": "MANAGER"}, headers=manager)).json()[
        "roles_changed"
    ] == 1
    assert (await tenant.devices.put(path, json={"clock_role": "ADMINISTRATOR"})).status_code == 200
    demoted = await tenant.devices.put(path, json={"clock_role": "USER"}, headers=manager)
    assert demoted.status_code == 403
    # Bad input is a 422 and changes nothing.
    for body in ({"clock_role": "OWNER"}, {"clock_role": 1}, {"role": "USER"}):
        assert (await tenant.devices.put(path, json=body)).status_code == 422, body
    bulk = await tenant.devices.post(
        "/assignments",
        json={"assign": [{"clock_id": clock_id, "worker_id": ana["id"], "clock_role": "x"}]},
    )
    assert bulk.status_code == 422
    who = (await tenant.devices.get(f"/clocks/{clock_id}/workers")).json()
    assert [w["clock_role"] for w in who["data"]] == ["ADMINISTRATOR"]
