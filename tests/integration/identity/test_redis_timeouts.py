"""Issue 14: a Redis that accepts connections but never answers (blackholed) must not hang
identity. Setting a PIN answers 503 instead of waiting for ever, /readyz reports Redis down, and
a kiosk PIN attempt waits (its consumer retries with backoff, logging why) and is verified once
Redis answers again: nothing is lost. Before the fix the PIN call hung until the client gave up,
and /readyz said ready."""

import asyncio
import uuid
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.blackhole import SilentableProxy
from tests.support.identity import Kiosk, reason, start_identity
from tests.support.messaging import wait_for
from tests.support.stack import REDIS_URL


@pytest.fixture
async def proxy():
    redis = urlsplit(REDIS_URL)
    running = SilentableProxy(redis.hostname or "127.0.0.1", redis.port or 6379)
    running.port_in_front = await running.start()
    yield running
    await running.close()


async def readiness(identity) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.get(identity.url + "/readyz")


async def test_a_blackholed_redis_fails_fast_is_reported_and_loses_no_attempt(tmp_path, proxy):
    identity = await start_identity(
        tmp_path,
        REDIS_URL=f"redis://127.0.0.1:{proxy.port_in_front}/0",
    )
    try:
        tenant = str(uuid.uuid4())
        async with identity.admin(tenant) as http, Kiosk(identity) as kiosk:
            worker = (
                await http.post(
                    "/workers", json={"employee_id": "E1", "name": "Ada", "status": "Active"}
                )
            ).json()
            pin = f"/workers/{worker['id']}/pin"
            assert (await http.put(pin, json={"pin": "8351"})).status_code == 200
            assert (await readiness(identity)).json()["checks"]["redis"] == "ok"

            proxy.silence()
            # The admin call fails fast with 503 (the client would give up after 30 s).
            refused = await http.put(pin, json={"pin": "8351"})
            assert refused.status_code == 503
            assert refused.json()["code"] == "UNAVAILABLE"
            # The worker's page is served, without the locks at clocks Redis holds.
            page = await http.get(f"/workers/{worker['id']}")
            assert page.status_code == 200 and page.json()["pin_locked_at_clocks"] == []

            async def not_ready():
                response = await readiness(identity)
                return response.status_code == 503 and response

            checks = (await wait_for(not_ready, what="readyz 503")).json()["checks"]
            assert checks["redis"].startswith("down")

            # A kiosk attempt now waits, its consumer retrying (and saying why) ...
            verdict = asyncio.create_task(kiosk.punch(tenant, "E1", "8351"))

            async def retried():
                log = identity.log_file.read_text()
                return "a server is unavailable, retrying" in log and "TimeoutError" in log

            await wait_for(retried, what="the attempt retried on a timeout")
            # ... and is verified once Redis answers again.
            proxy.restore()
            attempt_id = (await verdict).context.attempt_id

            async def identified():
                # Other identity processes on the shared topics may answer too (unknown tenant).
                answers = kiosk.verdicts.by_attempt.get(attempt_id, [])
                return any(reason(v) == "IDENTIFIED" for v in answers)

            await wait_for(identified, what="the attempt verified")
            ready = await wait_for(lambda: _ready(identity), what="readyz 200 again")
            assert ready["checks"]["redis"] == "ok"
    finally:
        await identity.stop()


async def _ready(identity):
    response = await readiness(identity)
    return response.status_code == 200 and response.json()
