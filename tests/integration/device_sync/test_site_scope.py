"""device-sync checks roles and sites itself (the kit's one rule), whatever the gateway let
through: a manager assigns only workers of their sites to clocks of their sites, and sees only
those; a viewer reads; only a sysadmin registers clocks or sets a site's rule."""

from tests.support.device_sync import new_tenant
from tests.support.stack import unique


async def test_a_manager_acts_only_within_their_sites(identity, devices):
    tenant = await new_tenant(identity, devices)

    async def worker(site_id: str) -> str:
        response = await tenant.identity.post(
            "/workers",
            json={"employee_id": unique("E")[:20], "name": "Site " + site_id, "site_id": site_id},
        )
        assert response.status_code == 201, response.text
        return response.json()["id"]

    w_a, w_b = await worker("site-a"), await worker("site-b")
    ((clock_a, _),) = await tenant.clocks(1, site_id="site-a")
    ((clock_b, _),) = await tenant.clocks(1, site_id="site-b")
    await tenant.assign([(clock_b, w_b), (clock_b, w_a)])  # as a sysadmin: both known now

    async with devices.admin(tenant.id, role="manager", sites=("site-a",)) as manager:
        # A worker of another site, even onto a clock of my site: refused, nothing changes.
        other = await manager.put(f"/clocks/{clock_a}/workers/{w_b}")
        assert other.status_code == 403, other.text
        assert other.json() == {
            "code": "SITE_NOT_MANAGED",
            "message": "this is at a site you do not manage",
            "field": "worker_id",
        }
        bulk = await manager.post(
            "/assignments",
            json={"assign": [{"clock_id": clock_a, "worker_id": w_b}], "unassign": []},
        )
        assert bulk.status_code == 403
        assert (await manager.delete(f"/clocks/{clock_b}/workers/{w_b}")).status_code == 404
        assert (await manager.get(f"/workers/{w_b}/clocks")).status_code == 404
        # Clock administration is a sysadmin's.
        made = await manager.post(
            "/clocks",
            json={
                "serial_number": unique("SN"),
                "name": "Mine",
                "site_id": "site-a",
                "time_zone": "UTC",
            },
        )
        assert made.status_code == 403 and made.json()["code"] == "FORBIDDEN"
        rule = await manager.put("/sites/site-a/clock-rule", json={"enabled": True})
        assert rule.status_code == 403
        # Within my site: allowed.
        mine = await manager.put(f"/clocks/{clock_a}/workers/{w_a}")
        assert mine.status_code == 200, mine.text
        seen = (await manager.get(f"/workers/{w_a}/clocks")).json()["data"]
        assert [c["clock_id"] for c in seen] == [clock_a]

    async with devices.admin(tenant.id, role="viewer") as viewer:
        refused = await viewer.delete(f"/clocks/{clock_a}/workers/{w_a}")
        assert refused.status_code == 403 and refused.json()["code"] == "FORBIDDEN"
        assert (await viewer.get(f"/workers/{w_b}/clocks")).status_code == 200

    clocks_of_b = (await tenant.devices.get(f"/clocks/{clock_a}/workers")).json()["data"]
    assert [w["worker_id"] for w in clocks_of_b] == [w_a]
