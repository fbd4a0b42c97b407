"""The sites of a tenant's clocks (``GET /sites``), which the portal's Site boxes suggest:
every site once, by name, a revoked clock's too; those starting with what is typed, in any
case; a manager's own only; another tenant's never. A tenant of more clocks than one page of
them (the portal used to suggest the sites of its first 100 clocks) finds any of its sites."""

from tests.support.device_sync import new_tenant


async def test_the_sites_of_the_clocks_once_each_by_name(identity, devices):
    tenant = await new_tenant(identity, devices)
    other = await new_tenant(identity, devices)
    await tenant.clocks(2, site_id="North-1")
    await tenant.clocks(1, site_id="north-2")
    ((south, _),) = await tenant.clocks(1, site_id="South")
    await tenant.clocks(1)  # no site
    await other.clocks(1, site_id="Elsewhere")
    revoked = await tenant.devices.post(f"/clocks/{south}/revoke", json={"reason": "stolen"})
    assert revoked.status_code < 300, revoked.text

    every = await tenant.devices.get("/sites")
    assert every.status_code == 200, every.text
    assert every.json() == {"data": ["North-1", "South", "north-2"]}  # the revoked clock's too
    typed = await tenant.devices.get("/sites", params={"starts_with": "NOR"})
    assert typed.json()["data"] == ["North-1", "north-2"]
    assert (await tenant.devices.get("/sites", params={"limit": 1})).json()["data"] == ["North-1"]
    none = await tenant.devices.get("/sites", params={"starts_with": "%"})
    assert none.json()["data"] == []  # "%" is a character, not a wildcard
    bad = await tenant.devices.get("/sites", params={"limit": 0})
    assert bad.status_code == 422 and bad.json()["field"] == "limit"

    async with devices.admin(tenant.id, role="manager", sites=("South", "Nowhere")) as manager:
        assert (await manager.get("/sites")).json()["data"] == ["South"]
    assert (await other.devices.get("/sites")).json()["data"] == ["Elsewhere"]


async def test_any_site_of_a_large_fleet_is_found_by_its_first_letters(identity, devices):
    tenant = await new_tenant(identity, devices)
    for n in range(105):
        await tenant.clocks(1, site_id=f"store-{n:03d}")
    first = (await tenant.devices.get("/sites")).json()["data"]
    assert len(first) == 50 and first[0] == "store-000"  # the default page
    found = (await tenant.devices.get("/sites", params={"starts_with": "store-10"})).json()
    assert found["data"] == [f"store-{n}" for n in range(100, 105)]
