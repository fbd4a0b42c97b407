"""A PIN's digits never appear in identity's logs, its HTTP responses, any Kafka topic it
touches, its database or Redis — checked by capturing all of them during a PIN lifecycle."""

import uuid

import asyncpg
from redis.asyncio import Redis

from tests.support.identity import ATTEMPTS, VERDICTS, WORKERS, reason
from tests.support.messaging import read_topic
from tests.support.stack import KAFKA, REDIS_URL

PIN = "739418"
WRONG = "739481"


async def test_pin_digits_appear_nowhere(identity, kiosk):
    t = str(uuid.uuid4())
    responses = []
    async with identity.admin(t) as http:
        worker = await http.post(
            "/workers", json={"employee_id": "E777", "name": "Grace Hopper", "status": "Active"}
        )
        wid = worker.json()["id"]
        responses.append(await http.put(f"/workers/{wid}/pin", json={"pin": PIN}))
        responses.append(await http.put(f"/workers/{wid}/pin", json={"pin": "1111"}))  # refused
        responses.append(await http.get(f"/workers/{wid}"))
        responses.append(await http.get("/workers", params={"search": "grace"}))
        assert reason(await kiosk.punch(t, "E777", PIN)) == "IDENTIFIED"
        assert reason(await kiosk.punch(t, "E777", WRONG)) == "WRONG_PIN"
        responses.append(await http.put(f"/workers/{wid}/pin", json={"pin": WRONG}))
        responses.append(await http.delete(f"/workers/{wid}/pin"))
    assert [r.status_code for r in responses] == [200, 422, 200, 200, 200, 200]

    secrets = (PIN, WRONG)
    for response in responses:
        assert not any(s in response.text for s in secrets), response.text

    log = identity.log_file.read_text()
    assert "pin attempt verified" in log  # the log really covers the lifecycle (DEBUG level)
    assert not any(s in log for s in secrets)

    # This test's tenant's records only: other tests' records on a shared stack hold random
    # ids, and among hundreds of thousands of them some contain these six digits by chance.
    for topic in (WORKERS, VERDICTS, ATTEMPTS):
        ours = [
            record
            for record in await read_topic(KAFKA, topic)
            if dict(record.headers or ()).get("tenant-id") == t.encode()
        ]
        assert ours or topic != VERDICTS, f"no record of this test's tenant on {topic}"
        for record in ours:
            blob = (record.key or b"") + (record.value or b"")
            assert not any(s.encode() in blob for s in secrets), topic

    conn = await asyncpg.connect(identity.admin_url)
    try:
        tables = [
            r[0]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        assert {"workers", "worker_pins", "outbox", "processed_events"} <= set(tables)
        for table in tables:
            for row in await conn.fetch(f'SELECT row_to_json(t)::text FROM "{table}" t'):
                assert not any(s in row[0] for s in secrets), table
    finally:
        await conn.close()

    redis = Redis.from_url(REDIS_URL)
    try:
        async for key in redis.scan_iter("identity:*"):
            if await redis.type(key) == b"hash":  # locks at a clock: clock id → until
                members = [m for pair in (await redis.hgetall(key)).items() for m in pair]
            else:
                members = await redis.smembers(key)
            assert not any(
                s.encode() in key or any(s.encode() in m for m in members) for s in secrets
            )
    finally:
        await redis.aclose()
