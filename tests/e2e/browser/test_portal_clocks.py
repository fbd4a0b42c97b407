"""The Clocks pages of the manage portal, on the whole system: registering a clock (a bad field
is refused next to it and creates nothing; the credential is shown once), the list as a
simulated clock syncs (never seen → online with its roster version), and a clock's page: who
may use it (added by Employee ID, removed after a confirmation), its commands and its admin
actions (re-key shows a new credential once, revoke asks for a reason)."""

from __future__ import annotations

import re

import aiohttp
from playwright.async_api import expect
from punchcard_kiosk_sim.clock import SimulatedClock

from tests.support.gateway import assign
from tests.support.messaging import wait_for
from tests.support.stack import unique

from .conftest import new_worker, save_screenshot, sign_in

WAIT_MS = 30_000


async def sync_until_caught_up(device_sync_url: str, credential: str) -> SimulatedClock:
    """A simulated clock syncs (no long-poll) until it has applied and acknowledged its queue."""
    async with aiohttp.ClientSession() as session:
        clock = SimulatedClock(device_sync_url, credential, session, wait_s=0)

        async def caught_up():
            await clock.sync_once(wait_s=0)
            return clock.caught_up and not clock.pending_acks and clock.last_sequence

        await wait_for(caught_up, timeout=30, interval=0.3, what="the clock caught up")
        await clock.sync_once(wait_s=0)  # one more heartbeat with every ack delivered
        return clock


async def test_register_a_clock_then_it_syncs_and_shows_online(
    page, request, system, tenant, admin_api
):
    await sign_in(page, tenant)
    nav = page.get_by_role("navigation", name="Main")
    await nav.get_by_role("link", name="Clocks").click()
    await page.get_by_role("heading", name="Clocks", level=1).wait_for()
    await page.get_by_text("No clocks yet").wait_for()

    # A bad serial number first: refused next to its field, nothing created, nothing lost.
    await page.get_by_role("button", name="Register a clock").click()
    form = page.get_by_role("form", name="Register a clock")
    await form.get_by_label("Serial number").fill("bad serial!")
    await form.get_by_label("Name", exact=True).fill("Front door")
    await form.get_by_label("Site").fill("site-1")
    await form.get_by_label("Time zone").fill("Europe/Madrid")
    await form.get_by_role("button", name="Register clock").click()
    serial = form.get_by_label("Serial number")
    await expect(serial).to_have_attribute("aria-invalid", "true", timeout=WAIT_MS)
    error = form.locator(".field-error")
    await expect(error).to_have_count(1)
    assert "letters, digits" in await error.inner_text()
    described_by = (await serial.get_attribute("aria-describedby")).split()
    assert await error.get_attribute("id") in described_by
    assert await form.get_by_label("Name", exact=True).input_value() == "Front door"
    assert (await admin_api.get("/clocks")).json()["count"] == 0
    await save_screenshot(page, request, "-bad-serial")

    # An unknown time zone: refused next to the time zone.
    serial_number = unique("SN")
    await serial.fill(serial_number)
    await form.get_by_label("Time zone").fill("Mars/Olympus")
    await form.get_by_role("button", name="Register clock").click()
    await expect(form.get_by_label("Time zone")).to_have_attribute(
        "aria-invalid", "true", timeout=WAIT_MS
    )
    await expect(form.locator(".field-error")).to_contain_text("time zone")
    await expect(serial).not_to_have_attribute("aria-invalid", "true")

    # Good: the credential, once, with how to pair a kiosk.
    await form.get_by_label("Time zone").fill("Europe/Madrid")
    await form.get_by_role("button", name="Register clock").click()
    box = page.get_by_role("region", name=re.compile("Clock registered"))
    await box.wait_for(timeout=WAIT_MS)
    await expect(box).to_contain_text("It will not be shown again")
    await expect(box).to_contain_text("/kiosk/")
    credential = (await box.get_by_label("Clock credential").inner_text()).strip()
    assert credential.startswith("pcc_")
    await expect(box.get_by_role("button", name="Copy credential")).to_be_visible()
    [clock] = (await admin_api.get("/clocks")).json()["data"]
    assert clock["serial_number"] == serial_number and clock["time_zone"] == "Europe/Madrid"
    row = page.get_by_role("row", name=re.compile("Front door"))
    await expect(row).to_contain_text("Never seen")
    await save_screenshot(page, request, "-credential")

    await box.get_by_role("button", name="I have copied it").click()
    await expect(page.get_by_text(credential)).to_have_count(0)
    await page.reload()
    await page.get_by_role("heading", name="Clocks", level=1).wait_for()
    await expect(page.get_by_text(credential)).to_have_count(0)

    # A worker on the clock, and a simulated clock that syncs: online, with its roster version.
    worker = await new_worker(admin_api, "Ana Pérez")
    assigned = await assign(admin_api, clock["id"], worker["id"])
    assert assigned.status_code == 200, assigned.text
    sim = await sync_until_caught_up(system["device-sync"].url, credential)
    assert worker["id"] in sim.roster
    last = sim.applied_sequence

    async def online():
        await page.reload()
        row = page.get_by_role("row", name=re.compile("Front door"))
        await row.wait_for()
        text = await row.inner_text()
        return "Online" in text and f"{last} / {last}" in text and "In sync" in text

    await wait_for(online, timeout=30, interval=1, what="the list shows the clock online")
    row = page.get_by_role("row", name=re.compile("Front door"))
    await expect(row).to_contain_text("just now")
    await expect(row).to_contain_text("punchcard-kiosk-sim")
    await save_screenshot(page, request, "-online")

    # The clock's page: who may use it, and the command the clock acknowledged.
    await row.get_by_role("link", name="Front door").click()
    await page.get_by_role("heading", name="Front door", level=1).wait_for()
    people = page.get_by_role("region", name="Who may use this clock")
    link = people.get_by_role("link", name="Ana Pérez")
    await expect(link).to_have_attribute("href", f"/manage/workers/{worker['id']}")
    commands = page.get_by_role("region", name="Recent commands")
    upsert = commands.get_by_role("row", name=re.compile("Add or update worker"))
    await expect(upsert).to_contain_text("Acknowledged")
    # How its faces are searched (face-match): no one enrolled yet, a 1:N search.
    face = page.get_by_role("region", name="Face recognition")
    await expect(face).to_contain_text("This clock recognises faces 1:N among 0 workers")


async def test_a_clocks_page_adds_and_removes_workers_rekeys_and_revokes(
    page, request, system, tenant, admin_api
):
    registered = await admin_api.post(
        "/clocks",
        json={
            "serial_number": unique("SN"),
            "name": "Back door",
            "site_id": "",
            "time_zone": "America/New_York",
        },
    )
    assert registered.status_code == 201, registered.text
    clock_id, old_credential = registered.json()["id"], registered.json()["credential"]
    ana = await new_worker(admin_api, "Ana Pérez")
    ben = await new_worker(admin_api, "Ben Okafor")
    assert (await assign(admin_api, clock_id, ana["id"])).status_code == 200

    await sign_in(page, tenant)
    await page.goto(f"/manage/clocks/{clock_id}")
    await page.get_by_role("heading", name="Back door", level=1).wait_for()
    people = page.get_by_role("region", name="Who may use this clock")
    await people.get_by_role("link", name="Ana Pérez").wait_for()

    # By Employee ID: an unknown one is refused next to the field, then Ben's is added.
    field = people.get_by_label("Add a worker")
    await field.fill("NOPE-404")
    await people.get_by_role("button", name="Add to clock").click()
    await expect(field).to_have_attribute("aria-invalid", "true", timeout=WAIT_MS)
    await expect(people.locator(".field-error")).to_contain_text("No worker has")
    await field.fill(ben["employee_id"])

    ben_link = people.get_by_role("link", name="Ben Okafor")

    async def added():
        # Retried while device-sync has not yet learnt Ben from identity's events.
        if not await ben_link.count() and await field.input_value():
            await people.get_by_role("button", name="Add to clock").click()
            await page.wait_for_timeout(500)
        return await ben_link.count()

    await wait_for(added, timeout=30, interval=0.5, what="Ben added (device-sync knows him)")
    listed = (await admin_api.get(f"/clocks/{clock_id}/workers")).json()["data"]
    assert {w["worker_id"] for w in listed} == {ana["id"], ben["id"]}
    # Ben again (a suggestion can name a worker on another page of the roster): told so.
    await field.fill(ben["employee_id"])
    await people.get_by_role("button", name="Add to clock").click()
    await expect(page.get_by_role("status")).to_contain_text(
        "Ben Okafor was already assigned to this clock.", timeout=WAIT_MS
    )

    # Remove Ana, after a confirmation (Cancel first changes nothing).
    ana_row = people.get_by_role("row", name=re.compile("Ana Pérez"))
    await ana_row.get_by_role("button", name="Remove").click()
    dialog = page.get_by_role("dialog", name=re.compile("Remove Ana Pérez"))
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_be_hidden()
    await ana_row.get_by_role("button", name="Remove").click()
    await dialog.get_by_role("button", name="Remove worker").click()
    await expect(people.get_by_role("link", name="Ana Pérez")).to_have_count(0, timeout=WAIT_MS)
    listed = (await admin_api.get(f"/clocks/{clock_id}/workers")).json()["data"]
    assert [w["worker_id"] for w in listed] == [ben["id"]]
    commands = page.get_by_role("region", name="Recent commands")
    await expect(commands.get_by_role("row", name=re.compile("Remove worker"))).to_contain_text(
        "Waiting for the clock"
    )
    # She is off the roster: her name comes from identity, asked about the commands' workers.
    await expect(commands.get_by_role("row", name=re.compile("Remove worker"))).to_contain_text(
        "Ana Pérez", timeout=WAIT_MS
    )

    # Re-key: confirmed, a new credential shown once; the old one stops working.
    await page.get_by_role("button", name="Re-key", exact=True).click()
    await (
        page.get_by_role("dialog", name="Issue a new credential?")
        .get_by_role("button", name="Re-key clock")
        .click()
    )
    box = page.get_by_role("region", name=re.compile("New credential"))
    await box.wait_for(timeout=WAIT_MS)
    new_credential = (await box.get_by_label("Clock credential").inner_text()).strip()
    assert new_credential.startswith("pcc_") and new_credential != old_credential
    await expect(box).to_contain_text("It will not be shown again")
    async with aiohttp.ClientSession() as session:
        for credential, status in ((old_credential, 401), (new_credential, 200)):
            async with session.get(
                system["device-sync"].url + "/clock/v1/whoami",
                headers={"Authorization": f"Bearer {credential}"},
            ) as r:
                assert r.status == status
    await box.get_by_role("button", name="I have copied it").click()

    # Revoke: the reason is required (refused next to it), then the clock is revoked.
    await page.get_by_role("button", name="Revoke", exact=True).click()
    dialog = page.get_by_role("dialog", name="Revoke Back door?")
    await dialog.get_by_role("button", name="Revoke clock").click()
    reason = dialog.get_by_label("Reason")
    await expect(reason).to_have_attribute("aria-invalid", "true")
    await expect(dialog.locator(".field-error")).to_have_text("Give a reason.")
    assert (await admin_api.get(f"/clocks/{clock_id}")).json()["status"] != "revoked"
    await reason.fill("tablet stolen")
    await dialog.get_by_role("button", name="Revoke clock").click()
    await expect(dialog).to_be_hidden(timeout=WAIT_MS)
    await expect(page.get_by_text("tablet stolen")).to_be_visible(timeout=WAIT_MS)
    body = (await admin_api.get(f"/clocks/{clock_id}")).json()
    assert body["status"] == "revoked" and body["revoked_reason"] == "tablet stolen"
    await expect(page.get_by_role("button", name="Revoke", exact=True)).to_have_count(0)


async def test_a_hardware_clock_registered_with_a_comm_key_then_the_key_removed(
    page, request, system, tenant, admin_api
):
    await sign_in(page, tenant)
    await page.goto(page.url.split("/manage")[0] + "/manage/clocks")
    await page.get_by_role("heading", name="Clocks", level=1).wait_for()
    await page.get_by_role("button", name="Register a clock").click()
    form = page.get_by_role("form", name="Register a clock")
    # The Comm Key is a hardware clock's only.
    await expect(form.get_by_label("Comm Key (optional)")).to_have_count(0)
    await form.get_by_label(re.compile("ZKTeco PUSH hardware clock")).check()
    serial_number = unique("ZKSN")
    await form.get_by_label("Serial number").fill(serial_number)
    await form.get_by_label("Name", exact=True).fill("Dock gate")
    await form.get_by_label("Time zone").fill("Europe/Madrid")
    await form.get_by_label("Comm Key (optional)").fill("80 80")
    await form.get_by_role("button", name="Register clock").click()
    key = form.get_by_label("Comm Key (optional)")
    await expect(key).to_have_attribute("aria-invalid", "true", timeout=WAIT_MS)
    assert (await admin_api.get("/clocks")).json()["count"] == 0
    await key.fill("808080")
    await form.get_by_role("button", name="Register clock").click()

    async def registered():
        data = (await admin_api.get("/clocks")).json()["data"]
        return data[0] if data else None

    clock = await wait_for(registered, timeout=30, what="the ZK clock registered")
    assert clock["protocol"] == "ZK_PUSH" and clock["com_key_set"] is True
    await page.goto(page.url.split("/manage")[0] + f"/manage/clocks/{clock['id']}")
    section = page.get_by_role("region", name="Comm Key")
    await expect(section).to_contain_text("Comm Key set", timeout=WAIT_MS)
    await expect(page.get_by_text("808080")).to_have_count(0)  # never shown
    await save_screenshot(page, request, "-comm-key")
    await section.get_by_role("button", name="Remove Comm Key").click()
    await page.get_by_role("dialog").get_by_role("button", name="Remove Comm Key").click()
    await expect(section).to_contain_text("No Comm Key", timeout=WAIT_MS)
    assert (await admin_api.get(f"/clocks/{clock['id']}")).json()["com_key_set"] is False


async def test_the_clocks_list_and_a_clocks_workers_are_shown_a_page_at_a_time(
    page, request, tenant, admin_api
):
    """101 clocks: the list shows the first 100 by name and the 101st on the next page; a clock
    that a site rule gives 101 workers shows them 100 at a time too."""
    site = unique("site")
    for n in range(101):
        made = await admin_api.post(
            "/clocks",
            json={
                "serial_number": unique("SN"),
                "name": f"Door {n:03d}",
                "site_id": site if n == 0 else "",
                "time_zone": "UTC",
            },
        )
        assert made.status_code == 201, made.text
    first = (await admin_api.get("/clocks", params={"limit": 1})).json()["data"][0]
    assert first["name"] == "Door 000" and first["site_id"] == site
    clock_id = first["id"]

    await sign_in(page, tenant)
    await page.goto("/manage/clocks")
    pages = page.get_by_role("navigation", name="Pages of clocks")
    await expect(pages).to_contain_text("1–100 of 101", timeout=WAIT_MS)
    await expect(page.get_by_role("link", name="Door 099")).to_be_visible()
    await expect(page.get_by_role("link", name="Door 100")).to_have_count(0)
    await pages.get_by_role("button", name="Next").click()
    await expect(page.get_by_role("link", name="Door 100")).to_be_visible(timeout=WAIT_MS)
    await expect(pages).to_contain_text("101–101 of 101")
    await expect(page).to_have_url(re.compile(r"offset=100"))
    await save_screenshot(page, request, "-clocks-page-2")

    # 101 workers at the first clock's site, on it by the site rule.
    for n in range(101):
        created = await admin_api.post(
            "/workers",
            json={
                "employee_id": unique("P").replace("-", "")[:20],
                "name": f"Worker {n:03d}",
                "status": "Active",
                "site_id": site,
            },
        )
        assert created.status_code == 201, created.text
    rule = await admin_api.put(f"/sites/{site}/clock-rule", json={"enabled": True})
    assert rule.status_code == 200, rule.text

    async def all_on_the_clock():
        roster = await admin_api.get(f"/clocks/{clock_id}/workers", params={"limit": 1})
        return roster.json()["count"] == 101

    await wait_for(all_on_the_clock, timeout=60, interval=0.5, what="101 workers on the clock")
    await page.goto(f"/manage/clocks/{clock_id}")
    roster = page.get_by_role("region", name="Who may use this clock")
    workers = roster.get_by_role("navigation", name="Pages of workers")
    await expect(workers).to_contain_text("1–100 of 101", timeout=WAIT_MS)
    await expect(roster.get_by_role("link", name=re.compile("Worker 099"))).to_be_visible()
    await workers.get_by_role("button", name="Next").click()
    await expect(roster.get_by_role("link", name=re.compile("Worker 100"))).to_be_visible(
        timeout=WAIT_MS
    )
    await expect(roster.get_by_role("link", name=re.compile("Worker 000"))).to_have_count(0)
