"""Badge / proximity cards in identity for real (PostgreSQL with row-level security, Kafka):
unique per tenant, another tenant may use the same number, bad input is a 4xx that changes
nothing, and each change publishes the worker's full sorted list on the workers topic."""

import uuid

import asyncpg
from punchcard.v1 import identity_pb2
from punchcard_kit.messaging import decode_envelope, unpack_payload

from tests.support.databases import role_of
from tests.support.identity import WORKERS
from tests.support.messaging import read_topic, wait_for
from tests.support.stack import KAFKA


async def cards_events(key: str, count: int) -> list[list[str]]:
    """The cards lists published on the workers topic under ``key``, once ``count`` are there."""

    async def arrived():
        found = []
        for record in await read_topic(KAFKA, WORKERS):
            if record.key and record.key.decode() == key and record.value:
                event = unpack_payload(decode_envelope(record.value))
                if isinstance(event, identity_pb2.WorkerCardsChanged):
                    found.append(list(event.cards))
        return found if len(found) >= count else None

    return await wait_for(arrived, timeout=60, interval=0.5, what="cards events")


async def _worker(http, site_id="north") -> dict:
    response = await http.post(
        "/workers",
        json={
            "employee_id": f"E{uuid.uuid4().hex[:6]}",
            "name": "Ada Lovelace",
            "site_id": site_id,
            "status": "Active",
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_cards_are_unique_per_tenant_and_each_change_publishes_the_full_list(identity):
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    async with identity.admin(a) as http_a, identity.admin(b) as http_b:
        ada, bob = await _worker(http_a), await _worker(http_a)
        zed = await _worker(http_b)
        cards = f"/workers/{ada['id']}/cards"

        added = await http_a.post(cards, json={"number": "900"})
        assert added.status_code == 201 and added.json()["number"] == "900"
        assert (await http_a.post(cards, json={"number": "0012"})).status_code == 201
        again = await http_a.post(cards, json={"number": "900"})  # idempotent
        assert again.status_code == 201 and again.json() == added.json()

        taken = await http_a.post(f"/workers/{bob['id']}/cards", json={"number": "900"})
        assert taken.status_code == 409
        assert {k: taken.json()[k] for k in ("code", "field")} == {
            "code": "DUPLICATE_CARD",
            "field": "number",
        }
        # Another tenant may hold the same number; neither sees the other's worker.
        assert (
            await http_b.post(f"/workers/{zed['id']}/cards", json={"number": "900"})
        ).status_code == 201
        assert (await http_b.get(cards)).status_code == 404
        assert (await http_b.post(cards, json={"number": "1"})).status_code == 404

        for bad in ("12a", "", "1" * 21, 900, None, "١٢٣"):
            refused = await http_a.post(cards, json={"number": bad})
            assert refused.status_code == 422, (bad, refused.text)
            assert refused.json()["field"] == "number"
        assert (await http_a.post(cards, json={"number": "1", "x": 1})).status_code == 422
        assert (await http_a.delete(cards + "/12a")).status_code == 422
        assert (await http_a.delete(cards + "/555")).status_code == 404
        assert (await http_a.get(f"/workers/{uuid.uuid4()}/cards")).status_code == 404

        listed = (await http_a.get(cards)).json()
        assert [c["number"] for c in listed["data"]] == ["0012", "900"] and listed["count"] == 2
        assert (await http_a.get(f"/workers/{bob['id']}/cards")).json()["count"] == 0

        assert (await http_a.delete(cards + "/900")).status_code == 204
        assert (await http_a.delete(cards + "/900")).status_code == 404
        assert [c["number"] for c in (await http_a.get(cards)).json()["data"]] == ["0012"]
        # The number is free again for another worker of the tenant.
        assert (
            await http_a.post(f"/workers/{bob['id']}/cards", json={"number": "900"})
        ).status_code == 201

        assert await cards_events(f"{a}/{ada['id']}", 3) == [["900"], ["0012", "900"], ["0012"]]
        assert await cards_events(f"{a}/{bob['id']}", 1) == [["900"]]
        assert await cards_events(f"{b}/{zed['id']}", 1) == [["900"]]


async def test_roles_viewers_read_managers_change_their_sites_workers_only(identity):
    t = str(uuid.uuid4())
    async with (
        identity.admin(t) as admin,
        identity.admin(t, role="viewer") as viewer,
        identity.admin(t, role="manager", sites=("north",)) as north,
        identity.admin(t, role="manager", sites=("south",)) as south,
    ):
        ada = await _worker(admin, site_id="north")
        cards = f"/workers/{ada['id']}/cards"
        assert (await north.post(cards, json={"number": "42"})).status_code == 201
        assert (await viewer.get(cards)).json()["count"] == 1
        assert (await viewer.post(cards, json={"number": "43"})).status_code == 403
        assert (await viewer.delete(cards + "/42")).status_code == 403
        assert (await south.get(cards)).status_code == 404
        assert (await south.delete(cards + "/42")).status_code == 404
        assert [c["number"] for c in (await admin.get(cards)).json()["data"]] == ["42"]


async def test_cards_are_isolated_by_row_level_security(identity):
    """Below the application: the app role sees only the tenant set for the transaction."""
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    async with identity.admin(a) as http:
        ada = await _worker(http)
        assert (
            await http.post(f"/workers/{ada['id']}/cards", json={"number": "31337"})
        ).status_code == 201
    conn = await asyncpg.connect(identity.admin_url)
    try:
        role = await role_of(conn)
        for tenant, seen in ((a, 1), (b, 0)):
            async with conn.transaction():
                await conn.execute(f"SET LOCAL ROLE {role}")
                await conn.execute("SELECT set_config('app.tenant_id', $1, true)", tenant)
                count = await conn.fetchval("SELECT count(*) FROM worker_cards")
            assert count == seen
    finally:
        await conn.close()
