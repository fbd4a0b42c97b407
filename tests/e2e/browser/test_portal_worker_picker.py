"""The portal's worker and clock pickers hold in a tenant of any size. They used to load every
worker and clock up to 2,000, so one past those could not be chosen in the Punches and
Timesheets filters, in "Add a missed punch" or in a worker's "Add to clock". Now a select lists
the first 50 by name; when there are more, a search box ("Name or Employee ID", "Name or serial
number") narrows it, and the chosen one stays whatever is typed next. Here 55 workers and 51
clocks sort before the ones we want."""

from __future__ import annotations

import asyncio
import re

from playwright.async_api import expect

from tests.support.gateway import register_clock
from tests.support.stack import unique

from .conftest import save_screenshot, sign_in

WAIT_MS = 30_000
PICK_LIMIT = 50  # worker-select.jsx


async def add_worker(admin_api, name: str) -> dict:
    created = await admin_api.post(
        "/workers",
        json={"employee_id": unique("E")[:20], "name": name, "status": "Active"},
    )
    assert created.status_code == 201, created.text
    return created.json()


async def test_a_worker_past_the_first_page_can_be_chosen_and_given_a_punch(
    page, request, tenant, admin_api
):
    for batch in range(5):
        await asyncio.gather(
            *(add_worker(admin_api, f"Aaron Filler {batch * 11 + i:02d}") for i in range(11))
        )
    zoe = await add_worker(admin_api, "Zoe Zapata")
    worker_option = f"Zoe Zapata ({zoe['employee_id']})"
    for batch in range(3):
        await asyncio.gather(
            *(register_clock(admin_api, f"Aaa Door {batch * 17 + i:02d}") for i in range(17))
        )
    zulu, _ = await register_clock(admin_api, "Zulu Gate")

    await sign_in(page, tenant)
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Punches").click()
    await page.get_by_role("heading", name="Punches", level=1).wait_for()
    filters = page.get_by_role("search", name="Filters")
    select = filters.get_by_label("Worker")
    # The first 50 by name, and a word on how to find the others.
    await expect(select.locator("option")).to_have_count(PICK_LIMIT + 1, timeout=WAIT_MS)
    await expect(select.locator("option", has_text="Zoe Zapata")).to_have_count(0)
    await expect(filters).to_contain_text(f"{PICK_LIMIT} of 56 shown")

    # Typing her name finds her; choosing her filters the ledger by her id.
    await filters.get_by_label("Name or Employee ID").fill("zapata")
    await expect(select.locator("option")).to_have_count(2, timeout=WAIT_MS)
    await select.select_option(zoe["id"])
    await filters.get_by_role("button", name="Apply").click()
    await expect(page).to_have_url(re.compile(f"worker_id={zoe['id']}"))

    # Read from the URL on a fresh load, she stays chosen though the first page lacks her.
    await page.reload()
    filters = page.get_by_role("search", name="Filters")
    select = filters.get_by_label("Worker")
    await expect(select.locator("option:checked")).to_have_text(worker_option, timeout=WAIT_MS)

    # Clear empties the search box too, and the select shows the first 50 again.
    await filters.get_by_label("Name or Employee ID").fill("zapata")
    await expect(select.locator("option")).to_have_count(2, timeout=WAIT_MS)
    await filters.get_by_role("button", name="Clear").click()
    await expect(filters.get_by_label("Name or Employee ID")).to_have_value("", timeout=WAIT_MS)
    await expect(select.locator("option")).to_have_count(PICK_LIMIT + 1, timeout=WAIT_MS)
    await expect(select.locator("option:checked")).to_have_text("All workers")
    await page.goto(f"/manage/punches?worker_id={zoe['id']}")

    # "Add a missed punch" finds her by Employee ID.
    await page.get_by_role("button", name="Add a missed punch").click()
    dialog = page.get_by_role("dialog", name="Add a missed punch")
    await dialog.get_by_label("Name or Employee ID").fill(zoe["employee_id"])
    # Enter in the search box searches; it does not submit the dialog.
    await dialog.get_by_label("Name or Employee ID").press("Enter")
    await expect(dialog).to_be_visible()
    await dialog.get_by_label("Worker").select_option(zoe["id"])
    # The clock past the first 50, by its name: the punch takes the clock's time zone.
    clock = dialog.get_by_label("Clock", exact=True)
    await expect(clock.locator("option", has_text="Zulu Gate")).to_have_count(0)
    await dialog.get_by_label("Name or serial number").fill("ZULU")
    await clock.select_option(zulu)
    await expect(dialog.get_by_label("Time zone")).to_have_count(0)
    await dialog.get_by_label("Reason").fill("forgot to punch in")
    await dialog.get_by_role("button", name="Add punch").click()
    await expect(dialog).to_be_hidden(timeout=WAIT_MS)
    await save_screenshot(page, request, "-worker-picker")
    listed = (await admin_api.get("/punches", params={"worker_id": zoe["id"]})).json()["data"]
    assert [(p["worker_id"], p["clock_id"], p["kind"]) for p in listed] == [
        (zoe["id"], zulu, "CORRECTION")
    ]
    assert listed[0]["time_zone"] == "Europe/Madrid"
    # Its row names the clock: the page asks for the names of its punches' clocks only.
    row = page.get_by_role("row", name=re.compile("forgot to punch in"))
    await expect(row.get_by_role("link", name="Zulu Gate")).to_be_visible(timeout=WAIT_MS)

    # A worker's "Add to clock" finds that clock by its name too.
    await page.goto(f"/manage/workers/{zoe['id']}")
    section = page.get_by_role("region", name="Clocks")
    await section.get_by_label("Name or serial number").fill("zulu gate")
    await section.get_by_label("Add to clock").select_option(zulu)
    await section.get_by_role("button", name="Add clock").click()
    await expect(section.get_by_role("link", name="Zulu Gate")).to_be_visible(timeout=WAIT_MS)
