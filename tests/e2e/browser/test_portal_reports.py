"""Reports and the audit log in the manage portal, on the whole system: three workers punching
by PIN at one kiosk within two minutes appear in the suspicious-PIN report; a PIN older than the
policy (set on the page) appears in the stale-PIN report; registering and editing a clock
appear in the audit log (the edit linked to the clock), and the log's action filter narrows
it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
from playwright.async_api import expect

from tests.support.gateway import CLOCK_TIME_ZONE, assign, kiosk, register_clock
from tests.support.punch import known
from tests.support.stack import unique

from .conftest import new_worker, save_screenshot, sign_in
from .test_portal_punches import PIN, kiosk_pin_punch

WAIT_MS = 30_000


async def test_suspicious_pin_use_and_stale_pins(page, request, system, tenant, admin_api):
    workers = [
        await new_worker(admin_api, n, pin=PIN) for n in ("Ana Pérez", "Ben Okafor", "Chen Wei")
    ]
    clock_id, credential = await register_clock(admin_api, "Front door")
    for w in workers:
        assert (await assign(admin_api, clock_id, w["id"])).status_code == 200
    ids = [w["id"] for w in workers]
    await known(
        system["punch"],
        tenant.tenant_id,
        workers=ids,
        clocks=[clock_id],
        pairs=[(clock_id, i) for i in ids],
    )
    # Three different workers by PIN at one kiosk within two minutes: a PIN burst.
    now = datetime.now(UTC)
    async with kiosk(system["gateway"], credential) as http:
        for i, w in enumerate(workers):
            at = now - timedelta(seconds=30 - 10 * i)
            await kiosk_pin_punch(http, w["employee_id"], at, offline=False)
    # Ana's PIN was set 40 days ago (the API cannot backdate it: the test does, in identity's
    # database).
    conn = await asyncpg.connect(system["identity"].admin_url)
    try:
        await conn.execute(
            "UPDATE worker_pins SET set_at = now() - interval '40 days' WHERE worker_id = $1",
            workers[0]["id"],
        )
    finally:
        await conn.close()

    await sign_in(page, tenant)
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    await page.get_by_role("heading", name="Reports", level=1).wait_for()

    suspicious = page.get_by_role("region", name="Suspicious PIN use")
    # The report's days are the clock's: up to its local today (the browser's own today, the
    # form's default, is UTC's, a day behind Madrid's for an hour around midnight).
    period = suspicious.get_by_role("form", name="Report period")
    await period.get_by_label("To").fill(datetime.now(ZoneInfo(CLOCK_TIME_ZONE)).date().isoformat())
    await period.get_by_role("button", name="Show").click()
    for w in workers:
        row = suspicious.get_by_role("row", name=re.compile(w["name"]))
        await expect(row).to_contain_text("PIN burst", timeout=WAIT_MS)
        await expect(row).to_contain_text("Front door")
        link = row.get_by_role("link", name=w["name"], exact=True)
        await expect(link).to_have_attribute("href", f"/manage/workers/{w['id']}")

    # No policy yet: nothing is stale. Set 30 days on the page: Ana's 40-day-old PIN is listed.
    stale = page.get_by_role("region", name="PINs older than the policy")
    await expect(stale).to_contain_text("No maximum PIN age is set")
    await stale.get_by_label("Maximum PIN age (days)").fill("0")
    await stale.get_by_role("button", name="Save policy").click()
    field = stale.get_by_label("Maximum PIN age (days)")
    await expect(field).to_have_attribute("aria-invalid", "true", timeout=WAIT_MS)
    await expect(stale.locator(".field-error")).to_contain_text("from 1 to 3650")
    await field.fill("30")
    await stale.get_by_role("button", name="Save policy").click()
    row = stale.get_by_role("row", name=re.compile("Ana Pérez"))
    await expect(row).to_contain_text("40", timeout=WAIT_MS)
    await expect(row.get_by_role("link", name="Ana Pérez")).to_have_attribute(
        "href", f"/manage/workers/{workers[0]['id']}"
    )
    await expect(stale.get_by_role("row", name=re.compile("Ben Okafor"))).to_have_count(0)
    policy = (await admin_api.get("/pin-policy")).json()
    assert policy["max_age_days"] == 30
    assert policy["devices_verify_pins"] is False  # the hardware-clock switch is untouched
    await save_screenshot(page, request, "-reports")

    # "Punches that day" opens the worker's punches.
    first = suspicious.get_by_role("row", name=re.compile("Ana Pérez"))
    await first.get_by_role("link", name=re.compile("Punches that day")).click()
    await page.get_by_role("heading", name="Punches", level=1).wait_for()
    await expect(page.get_by_role("row", name=re.compile("Ana Pérez"))).to_contain_text("PIN")


async def test_the_evidence_policy_switch(page, request, system, tenant, admin_api):
    """Reports → "Refuse PIN and card punches whose photo is not the worker's face": off by
    default, a sysadmin turns it on and off (punch's ``/punch-policy``)."""
    await sign_in(page, tenant)
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    section = page.get_by_role("region", name=re.compile("whose photo is not the worker's face"))
    await expect(section).to_contain_text("Off", timeout=WAIT_MS)
    await section.get_by_role("button", name="Refuse such punches").click()
    await expect(section.get_by_role("button", name="Stop refusing")).to_be_visible(timeout=WAIT_MS)
    assert (await admin_api.get("/punch-policy")).json()["refuse_unmatched_photos"] is True
    await section.get_by_role("button", name="Stop refusing").click()
    await expect(section.get_by_role("button", name="Refuse such punches")).to_be_visible(
        timeout=WAIT_MS
    )
    assert (await admin_api.get("/punch-policy")).json()["refuse_unmatched_photos"] is False


async def test_audit_log_shows_a_clock_registration(page, request, system, tenant, admin_api):
    await sign_in(page, tenant)
    await page.goto("/manage/clocks")
    await page.get_by_role("button", name="Register a clock").click()
    form = page.get_by_role("form", name="Register a clock")
    await form.get_by_label("Serial number").fill(unique("SN"))
    await form.get_by_label("Name", exact=True).fill("Loading dock")
    await form.get_by_label("Time zone").fill("Europe/Madrid")
    await form.get_by_role("button", name="Register clock").click()
    await page.get_by_role("region", name=re.compile("Clock registered")).wait_for(timeout=WAIT_MS)
    [clock] = (await admin_api.get("/clocks")).json()["data"]
    # The registration names no target (its id is made by the request); an edit names the clock.
    edited = await admin_api.patch(f"/clocks/{clock['id']}", json={"name": "Loading dock"})
    assert edited.status_code == 200, edited.text
    # A worker's edit names the worker: the page asks identity for its workers' names.
    worker = (
        await admin_api.post(
            "/workers", json={"employee_id": unique("E")[:20], "name": "Lola Audit"}
        )
    ).json()
    renamed = await admin_api.patch(f"/workers/{worker['id']}", json={"name": "Lola Audited"})
    assert renamed.status_code == 200, renamed.text

    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log").click()
    await page.get_by_role("heading", name="Audit log", level=1).wait_for()
    row = page.get_by_role("row", name=re.compile("Registered a clock"))
    await expect(row).to_contain_text("Done (201)", timeout=WAIT_MS)
    await expect(row).to_contain_text("Administrator")
    row = page.get_by_role("row", name=re.compile("Edited a clock"))
    await expect(row).to_contain_text("Done (200)")
    link = row.get_by_role("link", name="Loading dock")
    await expect(link).to_have_attribute("href", f"/manage/clocks/{clock['id']}")
    row = page.get_by_role("row", name=re.compile("Edited a worker"))
    link = row.get_by_role("link", name=f"Lola Audited ({worker['employee_id']})")
    await expect(link).to_have_attribute("href", f"/manage/workers/{worker['id']}")
    await expect(page.get_by_role("row", name=re.compile("Signed in"))).not_to_have_count(0)

    # The action filter: only the registration.
    filters = page.get_by_role("search", name="Filters")
    await filters.get_by_label("Action").select_option("POST /api/v1/clocks")
    await filters.get_by_role("button", name="Apply").click()
    await expect(page).to_have_url(re.compile("action="))
    await expect(page.get_by_role("row", name=re.compile("Signed in"))).to_have_count(0)
    await expect(page.get_by_role("row", name=re.compile("Registered a clock"))).to_have_count(1)
    await expect(page.get_by_role("status").filter(has_text="of 1")).to_be_visible()
