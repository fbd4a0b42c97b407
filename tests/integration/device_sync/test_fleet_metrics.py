"""``device_sync_clocks{protocol, status}``: the clocks in service counted over every tenant
from the database (clocks are under RLS: read tenant by tenant), with no tenant label."""

from datetime import timedelta

import httpx
from prometheus_client import REGISTRY
from punchcard_device_sync.adapters.fleet import sample_fleet
from punchcard_device_sync.domain.model import ClockStatus
from punchcard_kit.db import create_pool

from tests.support.device_sync import new_tenant
from tests.support.messaging import wait_for


async def test_the_fleet_is_counted_across_tenants_by_status(identity, devices):
    first = await new_tenant(identity, devices)
    second = await new_tenant(identity, devices)
    (_, seen_cred), _never = await first.clocks(2)
    (_, other_cred), (gone_id, gone_cred) = await second.clocks(2)
    async with httpx.AsyncClient(base_url=devices.url, timeout=30) as http:
        for credential in (seen_cred, other_cred, gone_cred):
            answer = await http.post(
                "/clock/v1/sync",
                json={"wait_s": 0},
                headers={"Authorization": f"Bearer {credential}"},
            )
            assert answer.status_code == 200, answer.text
    revoked = await second.devices.post(f"/clocks/{gone_id}/revoke", json={"reason": "stolen"})
    assert revoked.status_code == 200, revoked.text

    pool = await create_pool(devices.database_url, min_size=1, max_size=1)
    try:
        # Two tenants' clocks, the revoked one not counted.
        expected = {ClockStatus.ONLINE: 2, ClockStatus.OFFLINE: 0, ClockStatus.NEVER_SEEN: 1}

        async def counted():
            tally = await sample_fleet(pool, timedelta(seconds=90))
            found = {s: tally.get(("KIOSK_APP", s)) for s in expected}
            return tally if found == expected else None

        # The heartbeats are written within a second (HeartbeatBuffer).
        await wait_for(counted, what="the fleet counted")
        gauge = {
            s: REGISTRY.get_sample_value(
                "device_sync_clocks", {"protocol": "KIOSK_APP", "status": str(s)}
            )
            for s in expected
        }
        assert gauge == expected
        revoked = {"protocol": "KIOSK_APP", "status": "revoked"}
        assert REGISTRY.get_sample_value("device_sync_clocks", revoked) is None
        # Offline after: the same clocks, with a shorter offline limit than the time since.
        tally = await sample_fleet(pool, timedelta(microseconds=1))
        assert tally[("KIOSK_APP", ClockStatus.ONLINE)] == 0
        assert tally[("KIOSK_APP", ClockStatus.OFFLINE)] == 2
    finally:
        await pool.close()
