"""The kiosk app offline: with the network gone, an Employee ID not on the clock's roster is
still "Unknown User" (nothing kept), a worker's PIN attempt is kept in IndexedDB and the
worker told "Saved — will be confirmed when back online"; when the network returns the attempt
is sent, recorded in the ledger at its original capture time and marked offline, and the
outbox is empty again (no PIN left on the device)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from tests.support.messaging import wait_for

from .conftest import save_screenshot
from .test_kiosk_pin import PIN, outbox_size, pair, pin_punch, worker_on_clock


async def test_offline_pin_punch_is_kept_and_sent_when_back_online(
    context, page, admin_api, request
):
    w = await worker_on_clock(admin_api)
    await pair(page, w["credential"])
    await context.set_offline(True)
    status = page.get_by_role("status").filter(has_text="Offline")
    await status.wait_for()

    # Not on this clock's roster: told at once, nothing kept.
    await pin_punch(page, "4040404", PIN)
    await page.get_by_role("button", name="OK").click()
    await page.get_by_role("heading", name="Unknown User").wait_for()
    assert await outbox_size(page) == 0
    await page.get_by_role("button", name="Done").click()

    before = datetime.now(UTC)
    await pin_punch(page, w["employee_id"], PIN)
    await page.get_by_role("button", name="OK").click()
    await page.get_by_role("heading", name="Saved — will be confirmed when back online").wait_for()
    after = datetime.now(UTC)
    await page.get_by_role("status").filter(has_text="Offline — 1 saved").wait_for()
    await save_screenshot(page, request, "-saved")
    assert await outbox_size(page) == 1

    await asyncio.sleep(2)  # so that sending time and capture time differ visibly
    online_at = datetime.now(UTC)
    await context.set_offline(False)

    async def recorded():
        answer = await admin_api.get("/punches", params={"worker_id": w["worker_id"]})
        assert answer.status_code == 200, answer.text
        return answer.json()["data"]

    [punch] = await wait_for(recorded, timeout=90, interval=0.5, what="the offline punch")
    assert punch["method"] == "PIN" and punch["captured_offline"] is True
    punched_at = datetime.fromisoformat(punch["punched_at"])
    # The original capture time (ms precision on the device), not the sending time.
    assert before.replace(microsecond=before.microsecond // 1000 * 1000) <= punched_at <= after
    assert punched_at < online_at <= datetime.fromisoformat(punch["received_at"])

    async def outbox_empty():
        return await outbox_size(page) == 0

    await wait_for(outbox_empty, timeout=30, what="the outbox emptied")
    await page.get_by_role("status").filter(has_text="Online").wait_for()
    stored = await page.evaluate("() => JSON.stringify(Object.entries(localStorage))")
    assert PIN not in stored
