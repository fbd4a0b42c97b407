"""The stale-PIN report (identity, PostgreSQL with row-level security): the workers whose PIN is
older than the tenant's maximum age, oldest first, a page at a time, ``count`` the whole
report's (a manager's: their sites'); a page out of bounds is a 422 naming its field."""

import uuid

import asyncpg
import pytest

PIN = "604137"


async def _worker_with_pin(http, site_id: str) -> str:
    made = await http.post(
        "/workers",
        json={
            "employee_id": f"S{uuid.uuid4().hex[:8]}",
            "name": "Stale " + site_id,
            "site_id": site_id,
            "status": "Active",
        },
    )
    assert made.status_code == 201, made.text
    worker_id = made.json()["id"]
    answer = await http.put(f"/workers/{worker_id}/pin", json={"pin": PIN})
    assert answer.status_code == 200, answer.text
    return worker_id


async def _pages(http, limit: int) -> tuple[list[str], set[int]]:
    ids, counts, offset = [], set(), 0
    while True:
        answer = await http.get("/reports/stale-pins", params={"offset": offset, "limit": limit})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert len(body["data"]) <= limit and body["max_age_days"] == 30
        ids += [w["id"] for w in body["data"]]
        counts.add(body["count"])
        offset += limit
        if offset >= body["count"]:
            return ids, counts


async def test_the_stale_pin_report_is_paged_oldest_pin_first(identity):
    tenant = str(uuid.uuid4())
    async with identity.admin(tenant) as http:
        sites = ["north", "south", "north", "north", "south"]
        stale = [await _worker_with_pin(http, site) for site in sites]
        fresh = await _worker_with_pin(http, "north")
        # PINs set 40 to 44 days ago, the first the oldest (the API cannot backdate a PIN).
        conn = await asyncpg.connect(identity.admin_url)
        try:
            for age, worker_id in enumerate(stale):
                await conn.execute(
                    "UPDATE worker_pins SET set_at = now() - make_interval(days => $2)"
                    " WHERE worker_id = $1",
                    uuid.UUID(worker_id),
                    44 - age,
                )
        finally:
            await conn.close()
        policy = await http.put("/pin-policy", json={"max_age_days": 30})
        assert policy.status_code == 200, policy.text
        # A change that does not name max_age_days leaves it as it is; null clears it.
        other = await http.put("/pin-policy", json={"devices_verify_pins": False})
        assert other.status_code == 200 and other.json()["max_age_days"] == 30, other.text

        ids, counts = await _pages(http, limit=2)
        assert ids == stale and counts == {5} and fresh not in ids
        beyond = (await http.get("/reports/stale-pins", params={"offset": 5})).json()
        assert beyond["data"] == [] and beyond["count"] == 5

    async with identity.admin(tenant, role="manager", sites=("north",)) as manager:
        ids, counts = await _pages(manager, limit=2)
        assert ids == [w for w, site in zip(stale, sites, strict=True) if site == "north"]
        assert counts == {3}


@pytest.mark.parametrize(
    ("params", "field"),
    [({"limit": 0}, "limit"), ({"limit": 501}, "limit"), ({"offset": -1}, "offset")],
)
async def test_a_page_of_the_report_out_of_bounds_is_refused(identity, params, field):
    async with identity.admin(str(uuid.uuid4())) as http:
        answer = await http.get("/reports/stale-pins", params=params)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field
