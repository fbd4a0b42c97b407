"""An offline punch captured long before the kiosk could send it is recorded, and the portal's
Punches list marks it "Needs review" (a recent offline punch is not marked)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.async_api import expect

from .conftest import save_screenshot, sign_in
from .test_portal_punches import WAIT_MS, arrange_pin_punch, wall


async def test_an_old_offline_punch_is_marked_for_review(page, request, system, tenant, admin_api):
    captured = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=30)
    worker, punch = await arrange_pin_punch(system, tenant, admin_api, captured)
    assert punch["captured_offline"] is True and punch["needs_review"] is True
    local = wall(punch["local_time"]).date()
    first, last = (local - timedelta(days=1)).isoformat(), (local + timedelta(days=2)).isoformat()

    await sign_in(page, tenant)
    await page.goto(f"/manage/punches?worker_id={worker['id']}&from={first}&to={last}")
    row = page.get_by_role("row", name=re.compile("Ana Pérez"))
    await expect(row).to_have_count(1, timeout=WAIT_MS)
    await expect(row).to_contain_text("Captured offline")
    await expect(row).to_contain_text("Needs review")
    await save_screenshot(page, request)
