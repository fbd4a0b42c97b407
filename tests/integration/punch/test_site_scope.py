"""Managers correct the ledger of their own sites only (the kit's one site rule, applied in
punch's service layer); viewers never write."""

from __future__ import annotations

import uuid

from tests.support.punch import known


async def test_a_manager_adds_punches_only_for_workers_of_their_sites(punch, feed):
    mine = await feed.worker("Ada Site-A", site_id="site-a")
    theirs = await feed.worker("Ben Site-B", site_id="site-b")
    clock_a = await feed.clock(site_id="site-a")
    await known(punch, feed.tenant_id, workers=[mine["id"], theirs["id"]], clocks=[clock_a])

    def body(worker_id: str) -> dict:
        return {
            "worker_id": worker_id,
            "direction": "IN",
            "punched_at": "2026-11-16T08:00:00+01:00",
            "clock_id": clock_a,
            "reason": "forgot to clock in",
        }

    async with punch.admin(feed.tenant_id, role="manager", sites=("site-a",)) as http:
        # A clock of my site does not make a worker of another site mine.
        other = await http.post("/punches", json=body(theirs["id"]))
        assert other.status_code == 403, other.text
        assert other.json() == {
            "code": "SITE_NOT_MANAGED",
            "message": "this is at a site you do not manage",
            "field": "worker_id",
        }
        at_other_site = await http.post(
            "/punches",
            json={**body(mine["id"]), "clock_id": None, "site_id": "site-b", "time_zone": "UTC"},
        )
        assert at_other_site.status_code == 403 and at_other_site.json()["field"] == "site_id"
        ok = await http.post("/punches", json=body(mine["id"]))
        assert ok.status_code == 201, ok.text
        listed = (await http.get("/punches")).json()["data"]
        assert [p["worker_id"] for p in listed] == [mine["id"]]

    async with punch.admin(feed.tenant_id, role="viewer") as http:
        viewer = await http.post("/punches", json=body(mine["id"]))
        assert viewer.status_code == 403 and viewer.json()["code"] == "FORBIDDEN"
        void = await http.post(f"/punches/{ok.json()['id']}/void", json={"reason": "not my call"})
        assert void.status_code == 403

    async with punch.admin(feed.tenant_id) as http:  # a sysadmin: every site
        assert (await http.post("/punches", json=body(theirs["id"]))).status_code == 201
        missing = await http.post("/punches", json=body(str(uuid.uuid4())))
        assert missing.status_code == 404
