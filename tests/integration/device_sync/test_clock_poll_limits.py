"""A clock holds at most its long-polls at once on device-sync (``SYNC_POLLS_PER_CLOCK``): one
more is a 429 ``RATE_LIMITED`` with Retry-After, before any work, while another clock of the
tenant still long-polls; the slot is free again when the poll ends. (Failed before: every
poll of one credential was held, thousands of them.)"""

import asyncio

import httpx
import pytest

from tests.support.device_sync import new_tenant
from tests.support.services import start_service


@pytest.fixture(scope="module")
async def strict(tmp_path_factory):
    process = await start_service(
        "device-sync", tmp_path_factory.mktemp("device-sync-polls"), SYNC_POLLS_PER_CLOCK="1"
    )
    yield process
    await process.stop()


async def sync(http: httpx.AsyncClient, credential: str, after: int, wait_s: float):
    return await http.post(
        "/clock/v1/sync",
        json={"applied_sequence": after, "wait_s": wait_s},
        headers={"Authorization": f"Bearer {credential}"},
    )


async def test_one_clock_holds_at_most_its_long_polls(identity, strict):
    tenant = await new_tenant(identity, strict)
    (_, first), (_, second) = await tenant.clocks(2)
    async with httpx.AsyncClient(base_url=strict.url, timeout=60) as http:
        drained = await sync(http, first, 0, 0)
        after = drained.json()["last_sequence"]
        # Two long-polls of one clock at once: one is held (its wait ends with no command),
        # the other refused at once.
        answers = await asyncio.gather(sync(http, first, after, 3), sync(http, first, after, 3))
        assert sorted(a.status_code for a in answers) == [200, 429], [a.text for a in answers]
        [refused] = [a for a in answers if a.status_code == 429]
        assert refused.json()["code"] == "RATE_LIMITED" and refused.headers["retry-after"]
        # Free again once the poll ended.
        assert (await sync(http, first, after, 0.5)).status_code == 200
        # Another clock of the tenant still syncs; a poll without waiting is never refused.
        assert (await sync(http, second, 0, 0)).status_code == 200
        assert (await sync(http, first, after, 0)).status_code == 200
