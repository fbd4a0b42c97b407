"""Punches and Timesheets in the manage portal, on the whole system: a PIN punch captured
offline at a kiosk is listed with its method and marks; a missed OUT is added through the
correction dialog (an empty reason is refused next to the field; an answer lost on the way
back and the admin's second try add it once); a punch is replaced with a reason; the timesheet
shows the shift and its CSV download holds it; the Site box suggests the tenant's sites that
start with what is typed."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, datetime, timedelta

from playwright.async_api import expect

from tests.support.gateway import assign, kiosk, register_clock
from tests.support.punch import known
from tests.support.stack import unique

from .conftest import save_screenshot, sign_in

PIN = "604137"
WAIT_MS = 30_000


async def kiosk_pin_punch(http, employee_id: str, captured_at: datetime, offline: bool) -> dict:
    """A PIN punch through the kiosk edge, answered "recorded"."""
    # Another system started by a concurrent test run reads the same topics (with its own
    # consumer groups): its identity, which has no such worker, may answer first with
    # UNKNOWN_USER. Nothing is recorded then, so the kiosk tries again, as a worker would.
    for _ in range(5):
        answer = await http.post(
            "/punches",
            json={
                "attempt_id": str(uuid.uuid4()),
                "captured_at": captured_at.isoformat(),
                "offline": offline,
                "direction": "IN",
                "method": "PIN",
                "employee_id": employee_id,
                "pin": PIN,
            },
        )
        assert answer.status_code == 200, answer.text
        if answer.json()["status"] != "rejected" or answer.json()["reason"] != "UNKNOWN_USER":
            break
    assert answer.json()["status"] == "recorded", answer.text
    return answer.json()


async def arrange_pin_punch(system, tenant, admin_api, captured_at: datetime) -> tuple[dict, dict]:
    """A worker with a PIN, a clock they may use, and one PIN punch captured offline there."""
    employee_id = unique("E")[:20]
    created = await admin_api.post(
        "/workers", json={"employee_id": employee_id, "name": "Ana Pérez", "status": "Active"}
    )
    assert created.status_code == 201, created.text
    worker = created.json()
    pin = await admin_api.put(f"/workers/{worker['id']}/pin", json={"pin": PIN})
    assert pin.status_code == 200, pin.text
    clock_id, credential = await register_clock(admin_api, "Front door")
    assert (await assign(admin_api, clock_id, worker["id"])).status_code == 200
    await known(
        system["punch"],
        tenant.tenant_id,
        workers=[worker["id"]],
        clocks=[clock_id],
        pairs=[(clock_id, worker["id"])],
    )
    async with kiosk(system["gateway"], credential) as http:
        await kiosk_pin_punch(http, employee_id, captured_at, offline=True)
    [punch] = (await admin_api.get("/punches", params={"worker_id": worker["id"]})).json()["data"]
    return worker, punch


def wall(local_iso: str, hours: float = 0) -> datetime:
    return datetime.fromisoformat(local_iso) + timedelta(hours=hours)


async def test_punches_corrections_and_the_timesheet_csv(page, request, system, tenant, admin_api):
    captured = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    worker, punch = await arrange_pin_punch(system, tenant, admin_api, captured)
    assert punch["method"] == "PIN" and punch["captured_offline"] is True
    local_in = wall(punch["local_time"])  # Europe/Madrid, the clock's zone
    # A day either side, so a correction across midnight stays in view.
    first = (local_in.date() - timedelta(days=1)).isoformat()
    last = (local_in.date() + timedelta(days=1)).isoformat()

    await sign_in(page, tenant)
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Punches").click()
    await page.get_by_role("heading", name="Punches", level=1).wait_for()
    filters = page.get_by_role("search", name="Filters")
    await filters.get_by_label("Worker").select_option(worker["id"])
    await filters.get_by_label("From").fill(first)
    await filters.get_by_label("To").fill(last)
    await filters.get_by_role("button", name="Apply").click()
    await expect(page).to_have_url(re.compile(f"worker_id={worker['id']}"))
    row = page.get_by_role("row", name=re.compile("Ana Pérez"))
    await expect(row).to_have_count(1, timeout=WAIT_MS)
    for text in ("PIN", "IN", "Captured offline", "Front door", local_in.strftime("%-I:%M")):
        await expect(row).to_contain_text(text)
    link = row.get_by_role("link", name="Ana Pérez")
    await expect(link).to_have_attribute("href", f"/manage/workers/{worker['id']}")

    # A missed OUT, two hours after the IN, through the dialog; an empty reason is refused.
    await page.get_by_role("button", name="Add a missed punch").click()
    dialog = page.get_by_role("dialog", name="Add a missed punch")
    await dialog.get_by_label("Worker").select_option(worker["id"])
    await dialog.get_by_label("Direction").select_option("OUT")
    await dialog.get_by_label("Clock").select_option(label="Front door (Europe/Madrid)")
    out_at = wall(punch["local_time"], 2).strftime("%Y-%m-%dT%H:%M")
    await dialog.get_by_label("Date and time").fill(out_at)
    await dialog.get_by_role("button", name="Add punch").click()
    reason = dialog.get_by_label("Reason")
    await expect(reason).to_have_attribute("aria-invalid", "true")
    await expect(dialog.locator(".field-error")).to_have_text("Give a reason.")
    # Too short for the ledger: the API's refusal, next to the field, the rest kept.
    await reason.fill("no")
    await dialog.get_by_role("button", name="Add punch").click()
    await expect(dialog.locator(".field-error")).to_have_text(
        "Give a reason of at least 3 characters.", timeout=WAIT_MS
    )
    assert await dialog.get_by_label("Date and time").input_value() == out_at
    assert (
        len((await admin_api.get("/punches", params={"worker_id": worker["id"]})).json()["data"])
        == 1
    )
    await save_screenshot(page, request, "-reason-refused")
    # The answer to this "Add punch" is lost on its way back although the punch is made (a
    # dropped connection): the dialog says so and the admin tries again. The dialog sends the
    # same Idempotency-Key, so punch answers with the punch it made instead of a second one.
    lost_keys = []

    async def lose_the_first_answer(route):
        if route.request.method != "POST" or lost_keys:
            await route.continue_()
            return
        lost_keys.append(await route.request.header_value("idempotency-key"))
        made = await route.fetch()
        assert made.status == 201, await made.text()
        await route.abort("connectionreset")

    await page.route("**/api/v1/punches", lose_the_first_answer)
    await reason.fill("forgot to punch out")
    await dialog.get_by_role("button", name="Add punch").click()
    await expect(dialog).to_contain_text("The server cannot be reached", timeout=WAIT_MS)
    assert lost_keys and lost_keys[0]
    await dialog.get_by_role("button", name="Add punch").click()
    await expect(dialog).to_be_hidden(timeout=WAIT_MS)
    await page.unroute("**/api/v1/punches", lose_the_first_answer)
    added = page.get_by_role("row", name=re.compile("Added by admin"))
    await expect(added).to_contain_text("forgot to punch out", timeout=WAIT_MS)
    await expect(added).to_contain_text("Manual")
    await expect(added).to_contain_text("OUT")
    listed = (await admin_api.get("/punches", params={"worker_id": worker["id"]})).json()["data"]
    assert [(p["direction"], p["kind"]) for p in listed] == [
        ("IN", "RECORDED"),
        ("OUT", "CORRECTION"),
    ]
    assert wall(listed[1]["local_time"]).strftime("%Y-%m-%dT%H:%M") == out_at
    # The audit log has both requests, the second marked as sent again (punch's
    # Idempotent-Replayed): one correction, not two.
    audit = await admin_api.get("/audit-log", params={"action": "POST /api/v1/punches"})
    made = [e["repeated"] for e in audit.json()["data"] if e["status_code"] == 201]
    assert made == [True, False]  # newest first

    # Replace the IN with one 30 minutes earlier: the original stays, voided, with the reason.
    original = page.get_by_role("row", name=re.compile("Captured offline"))
    await original.get_by_role("button", name=re.compile("^Replace")).click()
    dialog = page.get_by_role("dialog", name="Replace punch")
    in_at = wall(punch["local_time"], -0.5).strftime("%Y-%m-%dT%H:%M")
    await dialog.get_by_label("Date and time").fill(in_at)
    await dialog.get_by_role("button", name="Replace punch").click()
    await expect(dialog.get_by_label("Reason")).to_have_attribute("aria-invalid", "true")
    await dialog.get_by_label("Reason").fill("started before the tablet woke up")
    await dialog.get_by_role("button", name="Replace punch").click()
    await expect(dialog).to_be_hidden(timeout=WAIT_MS)
    voided = page.get_by_role("row", name=re.compile("Voided"))
    await expect(voided).to_contain_text("started before the tablet woke up", timeout=WAIT_MS)
    await expect(voided.get_by_role("button")).to_have_count(0)
    replacement = page.get_by_role("row", name=re.compile("Replacement"))
    await expect(replacement).to_contain_text("started before the tablet woke up")
    await save_screenshot(page, request, "-punches")

    # The timesheet: one shift of 2.50 h, and the CSV download holds it.
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Timesheets").click()
    await page.get_by_role("heading", name="Timesheets", level=1).wait_for()
    filters = page.get_by_role("search", name="Filters")
    await filters.get_by_label("Worker").select_option(worker["id"])
    await filters.get_by_label("From").fill(first)
    await filters.get_by_label("To").fill(last)
    await filters.get_by_role("button", name="Apply").click()
    sheet = page.get_by_role("region", name=re.compile("Ana Pérez"))
    await expect(sheet).to_contain_text("2.50", timeout=WAIT_MS)
    await expect(sheet.get_by_role("row", name=re.compile("Total"))).to_contain_text("2.50")
    await expect(sheet).to_contain_text(in_at[-5:].lstrip("0"))
    async with page.expect_download() as info:
        await page.get_by_role("button", name="Download CSV").click()
    download = await info.value
    assert download.suggested_filename == f"timesheets_{first}_{last}.csv"
    text = open(await download.path(), encoding="utf-8").read()
    rows = list(csv.DictReader(io.StringIO(text)))
    shift, total = rows
    assert shift["employee_id"] == worker["employee_id"] and shift["display_name"] == "Ana Pérez"
    assert shift["date"] == in_at[:10] and shift["hours"] == "2.50" and shift["flag"] == ""
    assert shift["in_local"].startswith(in_at) and shift["out_local"].startswith(out_at)
    assert total["date"] == "TOTAL" and total["hours"] == "2.50"


async def test_punches_csv_and_a_void(page, request, system, tenant, admin_api):
    captured = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    worker, punch = await arrange_pin_punch(system, tenant, admin_api, captured)
    local = wall(punch["local_time"]).date()
    first, last = (local - timedelta(days=1)).isoformat(), (local + timedelta(days=1)).isoformat()

    await sign_in(page, tenant)
    await page.goto(f"/manage/punches?from={first}&to={last}")
    row = page.get_by_role("row", name=re.compile("Ana Pérez"))
    await expect(row).to_contain_text("Captured offline", timeout=WAIT_MS)

    # The punches CSV (made in the browser from the listed filters).
    async with page.expect_download() as info:
        await page.get_by_role("button", name="Download CSV").click()
    download = await info.value
    assert download.suggested_filename == f"punches_{first}_{last}.csv"
    [line] = list(csv.DictReader(io.StringIO(open(await download.path(), encoding="utf-8").read())))
    assert line["punch_id"] == punch["id"] and line["method"] == "PIN"
    assert line["employee_id"] == worker["employee_id"] and line["captured_offline"] == "true"
    assert line["clock"] == "Front door" and line["local_time"] == punch["local_time"]

    # The Site box suggests the tenant's sites that start with what is typed, in any case.
    for site in ("Depot-North", "Depot-South"):
        made = await admin_api.post(
            "/clocks",
            json={
                "serial_number": unique("SN"),
                "name": f"{site} door",
                "site_id": site,
                "time_zone": "Europe/Madrid",
            },
        )
        assert made.status_code == 201, made.text
    site_box = page.get_by_role("search", name="Filters").get_by_label("Site")
    await site_box.fill("depot-n")
    suggested = page.locator(f"datalist[id='{await site_box.get_attribute('list')}'] option")
    await expect(suggested).to_have_count(1, timeout=WAIT_MS)
    assert await suggested.get_attribute("value") == "Depot-North"

    # Void it: the reason is required; voided, it stays listed and stops counting.
    await row.get_by_role("button", name=re.compile("^Void")).click()
    dialog = page.get_by_role("dialog", name="Void punch")
    await dialog.get_by_role("button", name="Void punch").click()
    await expect(dialog.get_by_label("Reason")).to_have_attribute("aria-invalid", "true")
    await dialog.get_by_label("Reason").fill("test punch")
    await dialog.get_by_role("button", name="Void punch").click()
    await expect(dialog).to_be_hidden(timeout=WAIT_MS)
    await expect(row).to_contain_text("Voided", timeout=WAIT_MS)
    await expect(row).to_contain_text("test punch")
    await expect(page.get_by_role("status").filter(has_text="Punch voided")).to_be_visible()
    [listed] = (await admin_api.get("/punches", params={"worker_id": worker["id"]})).json()["data"]
    assert listed["voided"] is True and listed["void_reason"] == "test punch"

    await page.goto(f"/manage/timesheets?from={first}&to={last}")
    await page.get_by_text("No shifts in this period").wait_for(timeout=WAIT_MS)
