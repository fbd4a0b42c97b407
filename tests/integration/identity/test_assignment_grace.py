"""A worker assigned to a clock a moment after their PIN attempt reached identity: the real
identity process, Kafka and Redis. The attempt is counted as an unknown ID at first (identity's
copy of the assignments does not have the pair yet); the assignment arrives during the paced
wait (ASSIGNMENT_GRACE_S); the worker is looked up again, the PIN is checked, the verdict says
so, and the attempt is taken off the clock's unknown-ID count."""

from __future__ import annotations

import uuid

import httpx
import pytest
from punchcard_identity.adapters.sealing import seal_pin
from redis.asyncio import Redis

from tests.support.identity import Kiosk, reason, start_identity
from tests.support.messaging import wait_for
from tests.support.stack import REDIS_URL

PIN = "604137"


@pytest.fixture
async def identity(tmp_path):
    # A grace long enough for the assignment's event to be published and projected meanwhile,
    # even on a busy CI box (production waits 0.25 s).
    process = await start_identity(tmp_path, ASSIGNMENT_GRACE_S="5")
    yield process
    await process.stop()


async def test_a_worker_assigned_while_their_attempt_waits_is_identified(identity):
    tenant, clock = str(uuid.uuid4()), str(uuid.uuid4())
    async with identity.admin(tenant) as http:
        created = await http.post(
            "/workers", json={"employee_id": "E-LATE", "name": "Ada Late", "status": "Active"}
        )
        worker_id = created.json()["id"]
        assert (await http.put(f"/workers/{worker_id}/pin", json={"pin": PIN})).status_code == 200
    redis = Redis.from_url(REDIS_URL)
    unknown_at_clock = f"identity:pin:{tenant}:unknown:clock:{clock}"
    try:
        async with Kiosk(identity) as kiosk:
            attempt_id = await kiosk.send(tenant, "E-LATE", PIN, clock, seal_pin)
            await kiosk.producer.flush()

            async def counted_unknown() -> bool:
                return bool(await redis.sismember(unknown_at_clock, attempt_id))

            # identity has it, found the worker not on the clock, and is waiting out the grace.
            await wait_for(counted_unknown, timeout=30, interval=0.02, what="the attempt held")
            await kiosk.assign(tenant, clock, worker_id)  # device-sync's event, projected
            verdict = await kiosk.verdict(attempt_id)
            assert reason(verdict) == "IDENTIFIED" and verdict.worker_id == worker_id
            assert verdict.checked_assigned and verdict.checked_active
            assert not await redis.sismember(unknown_at_clock, attempt_id)

            # Still not assigned at the end of the grace: "Unknown User", counted.
            other_clock = str(uuid.uuid4())
            late = await kiosk.send(tenant, "E-LATE", PIN, other_clock, seal_pin)
            await kiosk.producer.flush()
            assert reason(await kiosk.verdict(late)) == "UNKNOWN_USER"
            assert await redis.sismember(f"identity:pin:{tenant}:unknown:clock:{other_clock}", late)
    finally:
        await redis.aclose()
    async with httpx.AsyncClient() as http:
        metrics = (await http.get(identity.url + "/metrics")).text
    assert 'identity_assignment_second_looks_total{assigned="true",what="pin"} 1.0' in metrics
    assert 'identity_assignment_second_looks_total{assigned="false",what="pin"} 1.0' in metrics
