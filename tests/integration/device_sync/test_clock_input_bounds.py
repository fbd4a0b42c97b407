"""A clock's numbers are untrusted: every field of its requests is bounded at the edge (422
with the field, nothing changed), and the batched heartbeat write keeps tenants apart (one
tenant's bad row never stops another tenant's heartbeats)."""

from datetime import UTC, datetime

import asyncpg
import httpx
import pytest
from punchcard_device_sync.adapters.heartbeats import Heartbeat, HeartbeatBuffer

from tests.support.databases import admin_url
from tests.support.device_sync import new_tenant, queue_of
from tests.support.messaging import wait_for


def _ack(command_id: str, sequence: int, **kw) -> dict:
    return {"command_id": command_id, "sequence": sequence, "result_code": 0, **kw}


@pytest.mark.parametrize(
    ("field", "body"),
    [
        ("applied_sequence", {"applied_sequence": -1}),
        ("applied_sequence", {"applied_sequence": 2**63}),
        ("applied_sequence", {"applied_sequence": 1.5}),
        ("software_version", {"software_version": "kiosk\x00"}),
        ("wait_s", {"wait_s": "NaN"}),
        ("acks.0.sequence", {"acks": [_ack("{command}", 2**63)]}),
        ("acks.0.sequence", {"acks": [_ack("{command}", 0)]}),
        ("acks.0.command_id", {"acks": [_ack("-" * 36, "{sequence}")]}),
        ("acks.0.result_code", {"acks": [_ack("{command}", "{sequence}", result_code=2**40)]}),
        ("acks.0.detail", {"acks": [_ack("{command}", "{sequence}", detail="bad\x00")]}),
        ("acks", {"acks": [_ack("{command}", "{sequence}")] * 1001}),
    ],
)
async def test_a_bad_number_from_a_clock_is_a_422_and_changes_nothing(
    identity, devices, field, body
):
    tenant = await new_tenant(identity, devices)
    worker = await tenant.worker("Bounded")
    ((clock_id, credential),) = await tenant.clocks(1)
    await tenant.assign([(clock_id, worker["id"])])
    (queued,) = await queue_of(devices.database_url, clock_id)
    command = await _command_id(devices.database_url, clock_id)

    def fill(value):
        if value == "{command}":
            return command
        if value == "{sequence}":
            return queued["sequence"]
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v) for v in value]
        return value

    headers = {"Authorization": f"Bearer {credential}"}
    async with httpx.AsyncClient(base_url=devices.url, headers=headers, timeout=30) as clock:
        sent = fill({"wait_s": 0, **body})
        for path in ("/clock/v1/sync", "/clock/v1/acks") if "acks" in body else ("/clock/v1/sync",):
            answer = await clock.post(path, json=sent)
            assert answer.status_code == 422, answer.text
            assert answer.json()["code"] == "INVALID" and answer.json()["field"] == field
        assert [r["acked_at"] for r in await queue_of(devices.database_url, clock_id)] == [None]
        # The clock's next good request is answered as ever.
        good = await clock.post(
            "/clock/v1/sync",
            json={"wait_s": 0, "acks": [_ack(command, queued["sequence"])]},
        )
        assert good.status_code == 200, good.text
    (acked,) = await queue_of(devices.database_url, clock_id)
    assert acked["acked_at"] is not None and acked["result_code"] == 0


async def _command_id(database_url: str, clock_id: str) -> str:
    conn = await asyncpg.connect(admin_url(database_url))  # the owner is bound by RLS
    try:
        return await conn.fetchval(
            "SELECT command_id::text FROM clock_commands WHERE clock_id = $1", clock_id
        )
    finally:
        await conn.close()


async def test_one_tenants_bad_heartbeat_does_not_stop_anothers(identity, devices):
    first, second = await new_tenant(identity, devices), await new_tenant(identity, devices)
    ((bad_clock, _),) = await first.clocks(1)
    ((good_clock, _),) = await second.clocks(1)
    pool = await asyncpg.create_pool(devices.database_url, min_size=1, max_size=2)
    try:
        buffer = HeartbeatBuffer(pool)
        now = datetime.now(UTC)
        # Past the edge's bounds (an older replica, a bug): the database refuses the row.
        buffer.record(Heartbeat(first.id, bad_clock, now, "v1", 2**63, ""))
        buffer.record(Heartbeat(second.id, good_clock, now, "v1", 7, ""))
        await buffer.flush()
        conn = await asyncpg.connect(admin_url(devices.database_url))
        try:
            rows = await conn.fetch(
                "SELECT clock_id::text, applied_sequence FROM clock_heartbeats"
                " WHERE clock_id = ANY($1::uuid[])",
                [bad_clock, good_clock],
            )
        finally:
            await conn.close()
        assert {r["clock_id"]: r["applied_sequence"] for r in rows} == {good_clock: 7}
        # The bad row is dropped, not retried forever ahead of every other heartbeat.
        await buffer.flush()
        assert not buffer._pending
    finally:
        await pool.close()

    # And through the API, the good clock shows the heartbeat.
    async def seen():
        return (await second.devices.get(f"/clocks/{good_clock}")).json()["applied_sequence"] == 7

    await wait_for(seen, timeout=30, what="the heartbeat recorded")


async def test_a_clock_saying_nothing_new_is_written_once_per_interval(identity, devices):
    """A fleet's 'still here' costs one row per clock per interval; anything new (its applied
    sequence, version, roster) is written at once."""
    from datetime import timedelta

    tenant = await new_tenant(identity, devices)
    ((clock_id, _),) = await tenant.clocks(1)
    pool = await asyncpg.create_pool(devices.database_url, min_size=1, max_size=2)
    conn = await asyncpg.connect(admin_url(devices.database_url))

    async def stored() -> tuple[datetime, int]:
        row = await conn.fetchrow(
            "SELECT last_seen_at, applied_sequence FROM clock_heartbeats WHERE clock_id = $1",
            clock_id,
        )
        return row["last_seen_at"], row["applied_sequence"]

    try:
        buffer = HeartbeatBuffer(pool, write_every=timedelta(seconds=30))
        t0 = datetime.now(UTC).replace(microsecond=0)
        buffer.record(Heartbeat(tenant.id, clock_id, t0, "v1", 1, ""))
        await buffer.flush()
        assert await stored() == (t0, 1)
        buffer.record(Heartbeat(tenant.id, clock_id, t0 + timedelta(seconds=10), "v1", 1, ""))
        await buffer.flush()
        assert await stored() == (t0, 1)  # nothing new, inside the interval: not written
        t1 = t0 + timedelta(seconds=12)
        buffer.record(Heartbeat(tenant.id, clock_id, t1, "v1", 2, ""))
        await buffer.flush()
        assert await stored() == (t1, 2)  # something new: at once
        t2 = t1 + timedelta(seconds=30)
        buffer.record(Heartbeat(tenant.id, clock_id, t2, "v1", 2, ""))
        await buffer.flush()
        assert await stored() == (t2, 2)  # the interval passed
    finally:
        await conn.close()
        await pool.close()
