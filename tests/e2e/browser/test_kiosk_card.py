"""The kiosk app with a badge-card reader that types like a keyboard, on the whole system: on
the camera screen, a reader's burst (the number and Enter, a few milliseconds apart) punches
with method CARD and shows the worker's name; the same digits typed at a person's pace do
nothing; a card nobody holds is "Unknown User"; a card read the instant the camera screen is
back punches too; on the Employee ID keypad a burst is typed as the Employee ID."""

from __future__ import annotations

import random
import re

from playwright.async_api import expect

from .conftest import save_screenshot
from .test_kiosk_pin import pair, worker_on_clock


def card_number() -> str:
    return "0" + str(random.randint(100_000_000, 999_999_999))


# A reader's burst, dispatched inside the page in one go (a USB reader's keys arrive within a few
# milliseconds; key by key over the DevTools protocol, a busy machine could stretch the gaps
# past the detector's 50 ms and the test would fail for the machine, not the app).
BURST = """(keys) => {
  for (const key of keys) {
    for (const type of ["keydown", "keyup"]) {
      window.dispatchEvent(new KeyboardEvent(type, { key, bubbles: true, cancelable: true }));
    }
  }
}"""


async def read_card(page, number: str, delay_ms: float = 0) -> None:
    """What a keyboard-wedge reader does: the digits, then Enter (``delay_ms``: a person typing
    them on a keyboard instead, key by key)."""
    if delay_ms:
        await page.keyboard.type(number, delay=delay_ms)
        await page.keyboard.press("Enter")
    else:
        await page.evaluate(BURST, [*number, "Enter"])


async def paired_with_a_card_holder(page, admin_api) -> tuple[dict, str]:
    """A worker with no PIN and a badge card, on a clock this page's kiosk is paired with."""
    w = await worker_on_clock(admin_api, pin=None)
    card = card_number()
    added = await admin_api.post(f"/workers/{w['worker_id']}/cards", json={"number": card})
    assert added.status_code == 201, added.text
    await pair(page, w["credential"])
    return w, card


async def test_a_card_read_on_the_camera_screen_punches(page, admin_api, request):
    w, card = await paired_with_a_card_holder(page, admin_api)

    # A person typing the digits: no punch, the camera screen stays.
    await read_card(page, card, delay_ms=150)
    await page.wait_for_timeout(1000)  # what a punch would have shown by now
    assert await page.get_by_role("button", name="Use PIN Instead").is_visible()

    # A stranger's card: Unknown User.
    await read_card(page, card_number())
    await page.get_by_role("heading", name="Unknown User").wait_for(timeout=60_000)
    await page.get_by_role("button", name="Done").click()
    await page.get_by_role("button", name="Use PIN Instead").wait_for()

    # Read the instant the camera screen is back: heard (the listener does not wait for the
    # screen's effects to run).
    await read_card(page, card)
    await page.get_by_role("heading", name="Ana Pérez").wait_for(timeout=60_000)
    await save_screenshot(page, request, "-card")
    assert re.search(r"IN at \d\d:\d\d", await page.locator("main").inner_text())
    punches = (await admin_api.get("/punches", params={"worker_id": w["worker_id"]})).json()
    [punch] = punches["data"]
    assert (punch["method"], punch["clock_id"]) == ("CARD", w["clock_id"])
    # The number is kept nowhere on the device once sent.
    stored = await page.evaluate("() => JSON.stringify(Object.entries(localStorage))")
    assert card not in stored and card not in await page.content()


async def test_a_burst_on_the_employee_id_keypad_stays_an_employee_id(page, admin_api, request):
    """On a keypad the card reader does not listen: digits arriving in a burst (a barcode
    scanner typing an Employee ID, a quick hand on a keyboard) are the Employee ID, never a
    card; the worker then goes on to the PIN."""
    w, card = await paired_with_a_card_holder(page, admin_api)
    await page.get_by_role("button", name="Use PIN Instead").click()
    await page.get_by_role("heading", name="Enter your Employee ID").wait_for()
    await read_card(page, card)
    await page.get_by_role("heading", name="Enter your PIN").wait_for(timeout=60_000)
    await expect(page.get_by_text(f"Employee ID {card}")).to_be_visible()
    await save_screenshot(page, request, "-keypad-burst")
    punches = (await admin_api.get("/punches", params={"worker_id": w["worker_id"]})).json()
    assert punches["data"] == []
