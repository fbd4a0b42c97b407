"""The kiosk app by PIN, on the whole system: paired through its own screen with the clock's
credential, the roster synced, then Use PIN Instead → Employee ID → PIN (dots, never digits)
→ the worker's name, IN and the time, and the punch in the ledger. An Employee ID not on the
clock is "Unknown User", a wrong PIN says how many tries are left, a revoked credential
returns the kiosk to pairing with the reason.

The helpers here (a worker with a PIN on a clock, pairing through the screen, the keypad, the
outbox in IndexedDB) are shared by the other kiosk tests."""

from __future__ import annotations

import random
import re

from tests.support.gateway import assign, register_clock

from .conftest import save_screenshot

PIN = "604137"
WRONG_PIN = "111999"


def digits_id() -> str:
    """An Employee ID the on-screen digit keys can type (each test has its own tenant)."""
    return str(random.randint(10_000_000, 99_999_999))


async def worker_on_clock(admin_api, name: str = "Ana Pérez", pin: str | None = PIN) -> dict:
    """A new Active worker (with a PIN) assigned to a newly registered clock."""
    employee_id = digits_id()
    created = await admin_api.post(
        "/workers", json={"employee_id": employee_id, "name": name, "status": "Active"}
    )
    assert created.status_code == 201, created.text
    worker = created.json()
    if pin:
        set_pin = await admin_api.put(f"/workers/{worker['id']}/pin", json={"pin": pin})
        assert set_pin.status_code == 200, set_pin.text
    clock_id, credential = await register_clock(admin_api, "Front door")
    assigned = await assign(admin_api, clock_id, worker["id"])
    assert assigned.status_code in (200, 201), assigned.text
    return {
        "worker_id": worker["id"],
        "employee_id": employee_id,
        "name": name,
        "clock_id": clock_id,
        "credential": credential,
    }


async def pair(page, credential: str, workers: int = 1) -> None:
    """Open the kiosk, pair it through its screen, Start, and wait for the roster."""
    await page.goto("/kiosk/")
    await page.get_by_role("heading", name="Pair this kiosk").wait_for()
    await page.get_by_label("Clock credential").fill(credential)
    await page.get_by_role("button", name="Pair").click()
    await page.get_by_role("heading", name="Front door").wait_for()
    await page.get_by_role("button", name="Start").click()
    await page.get_by_role("button", name="Use PIN Instead").wait_for()
    label = "1 worker" if workers == 1 else f"{workers} workers"
    await page.get_by_text(label, exact=True).wait_for(timeout=60_000)


async def tap(page, text: str) -> None:
    """Type on the on-screen keypad, one key at a time."""
    keypad = page.get_by_role("group", name="Keypad")
    for ch in text:
        await keypad.get_by_role("button", name=ch, exact=True).click()


async def pin_punch(page, employee_id: str, pin: str, *, keyboard: bool = False) -> None:
    await page.get_by_role("button", name="Use PIN Instead").click()
    await page.get_by_role("heading", name="Enter your Employee ID").wait_for()
    if keyboard:
        await page.keyboard.type(employee_id)
    else:
        await tap(page, employee_id)
    entry = page.get_by_role("status", name="Employee ID")
    await entry.filter(has_text=employee_id).wait_for()
    if keyboard:
        await page.keyboard.press("Enter")
    else:
        await page.get_by_role("button", name="OK").click()
    await page.get_by_role("heading", name="Enter your PIN").wait_for()
    if keyboard:
        await page.keyboard.type(pin)
    else:
        await tap(page, pin)
    dots = page.get_by_role("img", name=f"PIN: {len(pin)} digits entered")
    await dots.wait_for()
    assert pin not in await page.locator("body").inner_text()
    assert pin not in await page.content()


async def outbox_size(page) -> int:
    return await page.evaluate(
        """() => new Promise((resolve, reject) => {
            const open = indexedDB.open("punchcard-kiosk");
            open.onerror = () => reject(open.error);
            open.onsuccess = () => {
              const db = open.result;
              const count = db.transaction("outbox").objectStore("outbox").count();
              count.onsuccess = () => { resolve(count.result); db.close(); };
              count.onerror = () => reject(count.error);
            };
          })"""
    )


def wrong_pin_text() -> re.Pattern:
    return re.compile(r"Wrong PIN — \d+ tries? left")


async def test_pin_punch_shows_the_name_and_lands_in_the_ledger(page, admin_api, request):
    w = await worker_on_clock(admin_api)
    await pair(page, w["credential"])
    await save_screenshot(page, request, "-camera")
    await pin_punch(page, w["employee_id"], PIN)
    await save_screenshot(page, request, "-pin-dots")
    await page.get_by_role("button", name="OK").click()
    await page.get_by_role("heading", name="Ana Pérez").wait_for(timeout=60_000)
    assert re.search(r"IN at \d\d:\d\d", await page.locator("main").inner_text())

    punches = (await admin_api.get("/punches", params={"worker_id": w["worker_id"]})).json()
    [punch] = punches["data"]
    assert (punch["method"], punch["direction"], punch["clock_id"]) == ("PIN", "IN", w["clock_id"])
    assert punch["captured_offline"] is False
    # Nothing of the PIN on the device: not in storage, not on the screen.
    stored = await page.evaluate("() => JSON.stringify(Object.entries(localStorage))")
    assert PIN not in stored
    assert PIN not in await page.content()


async def test_unknown_id_and_wrong_pin_are_explained(page, admin_api, request):
    w = await worker_on_clock(admin_api)
    await pair(page, w["credential"])

    await pin_punch(page, "4040404", PIN)
    await page.get_by_role("button", name="OK").click()
    await page.get_by_role("heading", name="Unknown User").wait_for(timeout=60_000)
    await save_screenshot(page, request, "-unknown-user")
    await page.get_by_role("button", name="Done").click()

    # By keyboard this time.
    await pin_punch(page, w["employee_id"], WRONG_PIN, keyboard=True)
    await page.keyboard.press("Enter")
    await page.get_by_role("heading", name=wrong_pin_text()).wait_for(timeout=60_000)
    text = await page.get_by_role("heading", level=1).inner_text()
    assert text == "Wrong PIN — 4 tries left", text
    assert await page.get_by_role("button", name="Try again").is_visible()
    punches = (await admin_api.get("/punches", params={"worker_id": w["worker_id"]})).json()
    assert punches["data"] == []


async def test_a_revoked_credential_returns_to_pairing(page, admin_api):
    w = await worker_on_clock(admin_api)
    await pair(page, w["credential"])
    revoked = await admin_api.post(f"/clocks/{w['clock_id']}/revoke", json={"reason": "stolen"})
    assert revoked.status_code == 200, revoked.text
    # The sync loop (or the next punch) is refused: back to pairing, saying why.
    await page.get_by_role("heading", name="Pair this kiosk").wait_for(timeout=90_000)
    alert = await page.get_by_role("alert").first.inner_text()
    assert "credential was revoked" in alert
    assert await page.evaluate("() => localStorage.getItem('punchcard.kiosk.credential')") is None
