"""The manage portal's Workers screens in a real browser, on the whole system:

- sign in → Workers → search → a worker's profile → Edit → PIN Management: a weak PIN is
  refused with its reason next to the field (and nothing changes), a good PIN shows "PIN is
  currently set", Remove PIN asks for confirmation and the note is gone;
- the worker's Clocks section: adding a clock shows the command sent, then acknowledged by a
  simulated clock; a clock that was never seen shows "Clock offline — will sync when back";
  removing a clock is acknowledged too;
- the status filter; a new worker through the form, with the API's error next to its field;
- a PIN locked by wrong tries at the kiosk is unlocked from the Edit page."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from playwright.async_api import expect
from punchcard_kiosk_sim import ClockFleet

from tests.support.gateway import assign, kiosk, register_clock
from tests.support.identity import assignments_known
from tests.support.punch import known
from tests.support.stack import unique

from .conftest import new_worker, save_screenshot, sign_in

GOOD_PIN = "604137"
TIMEOUT_MS = 30_000


async def test_pin_management_through_the_edit_page(page, tenant, admin_api, request):
    worker = await new_worker(admin_api, unique("Ana Pérez"), job_title="Forklift driver")
    await sign_in(page, tenant)

    # Workers → search → the worker's profile.
    await page.get_by_role("searchbox", name="Search").fill(worker["name"])
    await page.get_by_role("link", name=worker["name"]).click()
    await page.get_by_role("heading", name=worker["name"], level=1).wait_for()
    subtitle = await page.locator(".subtitle").inner_text()
    assert worker["employee_id"] in subtitle and "Forklift driver" in subtitle
    facts = page.locator("dl.facts")
    assert "Not set" in await facts.inner_text()  # PIN
    assert "No" in await facts.locator("dt:has-text('Face enrolled') + dd").inner_text()
    # No face and no PIN: the Face section does not say a PIN lets them clock in.
    face = page.get_by_role("region", name="Face")
    await face.get_by_text("No PIN is set either").wait_for(timeout=TIMEOUT_MS)
    assert "can clock in with a PIN only" not in await face.inner_text()

    # Edit → PIN Management.
    await page.get_by_role("link", name="Edit").click()
    section = page.get_by_role("region", name="PIN Management")
    await section.wait_for()
    assert await section.get_by_text(
        "Enter a 4–6 digit PIN for this worker to use at the kiosk"
    ).is_visible()
    pin_field = section.get_by_label("PIN", exact=True)

    # A weak PIN: refused inline, with its reason, and nothing is set.
    await pin_field.fill("1234")
    await section.get_by_role("button", name="Set PIN").click()
    error = section.locator(".field-error")
    await error.wait_for(timeout=TIMEOUT_MS)
    assert "too easy to guess" in await error.inner_text()
    assert await pin_field.get_attribute("aria-invalid") == "true"
    assert await section.get_by_text("PIN is currently set").count() == 0
    assert (await admin_api.get(f"/workers/{worker['id']}")).json()["pin_set"] is False
    await save_screenshot(page, request, "-weak-pin")

    # A good PIN: set, and the section says so; the PIN is not on the page.
    await pin_field.fill(GOOD_PIN)
    await section.get_by_role("button", name="Set PIN").click()
    await section.get_by_text("PIN is currently set").wait_for(timeout=TIMEOUT_MS)
    assert await error.count() == 0
    assert await pin_field.input_value() == ""
    assert GOOD_PIN not in await page.content()
    assert (await admin_api.get(f"/workers/{worker['id']}")).json()["pin_set"] is True
    await save_screenshot(page, request, "-pin-set")

    # Remove PIN: asks first; Cancel keeps it, confirming removes it and the note goes.
    await section.get_by_role("button", name="Remove PIN").click()
    dialog = page.get_by_role("dialog", name="Remove PIN?")
    await dialog.wait_for()
    await dialog.get_by_role("button", name="Cancel").click()
    assert await section.get_by_text("PIN is currently set").is_visible()
    await section.get_by_role("button", name="Remove PIN").click()
    await dialog.get_by_role("button", name="Remove PIN").click()
    await section.get_by_text("PIN removed.").wait_for(timeout=TIMEOUT_MS)
    assert await section.get_by_text("PIN is currently set").count() == 0
    assert (await admin_api.get(f"/workers/{worker['id']}")).json()["pin_set"] is False

    # Generate PIN: shown once, and the worker now has a PIN.
    await section.get_by_role("button", name="Generate PIN").click()
    secret = section.locator(".secret")
    await secret.wait_for(timeout=TIMEOUT_MS)
    generated = (await secret.inner_text()).strip()
    assert generated.isdigit() and 4 <= len(generated) <= 6
    await section.get_by_role("button", name="Done, hide it").click()
    assert generated not in await page.content()
    await section.get_by_text("PIN is currently set").wait_for()

    # "PIN allowed" off: this worker may only use their face; the PIN field is disabled.
    await section.get_by_role("switch", name="PIN allowed").click()
    await section.get_by_text("PIN use turned off for this worker.").wait_for(timeout=TIMEOUT_MS)
    assert await pin_field.is_disabled()
    assert (await admin_api.get(f"/workers/{worker['id']}")).json()["pin_allowed"] is False


async def test_assigning_a_clock_shows_its_acknowledgement(system, page, tenant, admin_api):
    worker = await new_worker(admin_api, unique("Bo Lindqvist"))
    online_id, credential = await register_clock(admin_api, name=unique("Front door"))
    away_id, _ = await register_clock(admin_api, name=unique("Back gate"))
    clocks = {c["id"]: c["name"] for c in (await admin_api.get("/clocks")).json()["data"]}
    await sign_in(page, tenant)
    await page.goto(f"/manage/workers/{worker['id']}")
    section = page.get_by_role("region", name="Clocks")
    await section.get_by_text("Not on any clock yet.").wait_for(timeout=TIMEOUT_MS)

    async with ClockFleet(system["device-sync"].url, [credential], wait_s=2):
        # Added to a clock that is online: command sent, then acknowledged by the clock.
        await section.get_by_label("Add to clock").select_option(label=clocks[online_id])
        await section.get_by_role("button", name="Add clock").click()
        row = section.locator("tr", has_text=clocks[online_id])
        await row.get_by_text("Acknowledged by the clock").wait_for(timeout=TIMEOUT_MS)
        assert "Online" in await row.inner_text()

        # Added to a clock never seen: it waits for the clock.
        await section.get_by_label("Add to clock").select_option(label=clocks[away_id])
        await section.get_by_role("button", name="Add clock").click()
        away = section.locator("tr", has_text=clocks[away_id])
        await away.get_by_text("Clock offline — will sync when back").wait_for(timeout=TIMEOUT_MS)

        # Removed from the online clock (confirmed): the delete is acknowledged.
        await row.get_by_role("button", name="Remove").click()
        question = f"Remove {worker['name']} from {clocks[online_id]}?"
        dialog = page.get_by_role("dialog", name=question)
        await dialog.get_by_role("button", name="Remove from clock").click()
        await row.get_by_text("Removed from the clock").wait_for(timeout=TIMEOUT_MS)
        assert "(removed)" in await row.inner_text()

    where = (await admin_api.get(f"/workers/{worker['id']}/clocks")).json()
    assert [c["clock_id"] for c in where["data"]] == [away_id]


async def test_status_filter_and_the_new_worker_form(page, tenant, admin_api):
    pending = await new_worker(admin_api, unique("Pending Person"), status="Pending")
    active = await new_worker(admin_api, unique("Active Person"), status="Active")
    await sign_in(page, tenant)
    table = page.locator("table")
    await table.get_by_role("link", name=active["name"]).wait_for()
    await page.get_by_label("Status").select_option("Pending")
    await page.wait_for_url("**/manage/workers?status=Pending")
    await expect(table.get_by_role("link", name=active["name"])).to_have_count(0)
    await expect(table.get_by_role("link", name=pending["name"])).to_have_count(1)

    # New worker: the API's error is shown next to its field and what was typed is kept.
    await page.get_by_role("link", name="Add worker").click()
    await page.get_by_label("Name").fill("Cruz Ortega")
    await page.get_by_label("Employee ID").fill("not valid!")
    await page.get_by_role("button", name="Add worker").click()
    employee_error = page.locator(".field-error")
    await employee_error.wait_for(timeout=TIMEOUT_MS)
    assert await page.get_by_label("Employee ID").get_attribute("aria-invalid") == "true"
    assert await page.get_by_label("Name").input_value() == "Cruz Ortega"
    new_id = unique("E").replace("-", "")[:16]
    await page.get_by_label("Employee ID").fill(new_id)
    await page.get_by_role("button", name="Add worker").click()
    await page.get_by_role("heading", name="Cruz Ortega", level=1).wait_for(timeout=TIMEOUT_MS)
    found = (await admin_api.get("/workers", params={"search": new_id})).json()["data"]
    assert [w["name"] for w in found] == ["Cruz Ortega"]


async def test_a_locked_pin_is_unlocked_from_the_edit_page(system, page, tenant, admin_api):
    worker = await new_worker(admin_api, unique("Locked Out"))
    assert (await admin_api.put(f"/workers/{worker['id']}/pin", json={"pin": GOOD_PIN})).is_success
    # Wrong PINs at the kiosks until identity locks the PIN everywhere: 5 at one clock lock
    # it at that clock only, 15 across clocks lock it everywhere (what the portal shows).
    clocks = [await register_clock(admin_api, name=unique("Gate")) for _ in range(3)]
    for clock_id, _ in clocks:
        assert (await assign(admin_api, clock_id, worker["id"])).is_success
    await known(
        system["punch"],
        tenant.tenant_id,
        workers=[worker["id"]],
        clocks=[c for c, _ in clocks],
        pairs=[(c, worker["id"]) for c, _ in clocks],
    )
    await assignments_known(
        system["identity"], tenant.tenant_id, [(c, worker["id"]) for c, _ in clocks]
    )
    for n, (_, credential) in enumerate(clocks):
        if n == 1:
            # Locked at the first clock only (the kiosk there says "ask your manager"): the
            # worker's page says so, where before it showed nothing to unlock.
            await sign_in(page, tenant)
            await page.goto(f"/manage/workers/{worker['id']}")
            facts = page.locator("dl.facts")
            await facts.get_by_text("Locked at a clock until").wait_for(timeout=TIMEOUT_MS)
        async with kiosk(system["gateway"], credential) as http:
            for _ in range(5):
                answer = await http.post(
                    "/punches",
                    json={
                        "attempt_id": str(uuid.uuid4()),
                        "captured_at": datetime.now(UTC).isoformat(),
                        "method": "PIN",
                        "employee_id": worker["employee_id"],
                        "pin": "111999",
                    },
                )
                assert answer.status_code in (200, 202), answer.text
    locked = (await admin_api.get(f"/workers/{worker['id']}")).json()
    assert locked["pin_locked_until"] is not None

    await page.goto(f"/manage/workers/{worker['id']}")
    assert "Locked until" in await page.locator("dl.facts").inner_text()
    await page.get_by_role("link", name="Edit").click()
    section = page.get_by_role("region", name="PIN Management")
    await section.get_by_text("PIN locked after too many wrong tries").wait_for()
    await section.get_by_role("button", name="Unlock PIN").click()
    await section.get_by_text("PIN unlocked.").wait_for(timeout=TIMEOUT_MS)
    assert await section.get_by_text("PIN locked after too many wrong tries").count() == 0
    assert (await admin_api.get(f"/workers/{worker['id']}")).json()["pin_locked_until"] is None
