"""Clock roles in the kiosk app, on the whole system: the clock's Administrator taps
"Manager" on the camera screen, signs in with Employee ID and PIN (nothing is punched), and
the kiosk's settings open — the clock, its roster, last sync, connection, saved attempts and
version; "Sync roster now" asks device-sync for a full resync; "Forget this clock on this
tablet", after its confirmation, returns the tablet to pairing. A User is refused."""

from __future__ import annotations

from tests.support.face import astronaut_bgr
from tests.support.fake_camera import write_y4m
from tests.support.gateway import assign
from tests.support.identity import roles_known
from tests.support.messaging import wait_for

from .conftest import face_punch_shows, fake_camera_page, save_screenshot
from .test_kiosk_pin import PIN, digits_id, pair, pin_punch, tap, worker_on_clock

USER_PIN = "418290"


async def sign_in_at_kiosk(page, employee_id: str, pin: str) -> None:
    await page.get_by_role("button", name="Manager or Administrator sign-in").click()
    await page.get_by_role("heading", name="Manager sign-in: your Employee ID").wait_for()
    await tap(page, employee_id)
    await page.get_by_role("button", name="OK").click()
    await page.get_by_role("heading", name="Manager sign-in: your PIN").wait_for()
    await tap(page, pin)
    await page.get_by_role("button", name="OK").click()


async def test_the_administrator_opens_the_settings(page, admin_api, system, tenant, request):
    w = await worker_on_clock(admin_api, "Grace Hopper")
    promoted = await admin_api.put(
        f"/clocks/{w['clock_id']}/workers/{w['worker_id']}", json={"clock_role": "ADMINISTRATOR"}
    )
    assert promoted.status_code in (200, 201), promoted.text
    # A User of the same clock.
    employee_id = digits_id()
    user = await admin_api.post(
        "/workers", json={"employee_id": employee_id, "name": "Uma User", "status": "Active"}
    )
    user_id = user.json()["id"]
    assert (
        await admin_api.put(f"/workers/{user_id}/pin", json={"pin": USER_PIN})
    ).status_code == 200
    assert (await assign(admin_api, w["clock_id"], user_id)).status_code in (200, 201)
    await roles_known(
        system["identity"],
        tenant.tenant_id,
        [(w["clock_id"], w["worker_id"], "ADMINISTRATOR"), (w["clock_id"], user_id, "USER")],
    )
    await pair(page, w["credential"], workers=2)

    # A User: refused, and told why.
    await sign_in_at_kiosk(page, employee_id, USER_PIN)
    await page.get_by_role("heading", name="Your role on this clock is for punching only").wait_for(
        timeout=60_000
    )
    await page.get_by_role("button", name="Done").click()

    await sign_in_at_kiosk(page, w["employee_id"], PIN)
    await page.get_by_role("heading", name="Kiosk settings").wait_for(timeout=60_000)
    main = page.locator("main")
    text = await main.inner_text()
    for expected in ("Front door", "Europe/Madrid", "2 workers", "Online", "punchcard-kiosk-app"):
        assert expected in text, (expected, text)
    assert "Grace Hopper (Administrator)" in text
    await save_screenshot(page, request, "-settings")

    await page.get_by_role("button", name="Sync roster now").click()
    await (
        page.get_by_role("status")
        .filter(has_text="Resync asked: 3 commands")
        .wait_for(timeout=30_000)
    )

    # Nothing was punched by the sign-ins.
    for worker_id in (w["worker_id"], user_id):
        punches = (await admin_api.get("/punches", params={"worker_id": worker_id})).json()
        assert punches["data"] == []

    # Done returns to the camera; signing in again is needed to come back.
    await page.get_by_role("button", name="Done").click()
    await page.get_by_role("button", name="Use PIN Instead").wait_for()

    await sign_in_at_kiosk(page, w["employee_id"], PIN)
    await page.get_by_role("heading", name="Kiosk settings").wait_for(timeout=60_000)
    await page.get_by_role("button", name="Forget this clock on this tablet").click()
    dialog = page.get_by_role("alertdialog", name="Forget this clock on this tablet?")
    await dialog.wait_for()
    await dialog.get_by_role("button", name="Keep it").click()
    await page.get_by_role("button", name="Forget this clock on this tablet").click()
    await page.get_by_role("button", name="Forget this clock", exact=True).click()
    await page.get_by_role("heading", name="Pair this kiosk").wait_for()
    stored = await page.evaluate("() => JSON.stringify(Object.entries(localStorage))")
    assert w["credential"] not in stored
    assert PIN not in stored and PIN not in await page.content()


async def test_a_manager_sign_in_does_not_punch_and_a_punch_still_works(
    page, admin_api, system, tenant
):
    """The same worker punches by PIN after signing in: the sign-in did not count as one."""
    w = await worker_on_clock(admin_api, "Mary Manager")
    promoted = await admin_api.put(
        f"/clocks/{w['clock_id']}/workers/{w['worker_id']}", json={"clock_role": "MANAGER"}
    )
    assert promoted.status_code in (200, 201), promoted.text
    await roles_known(
        system["identity"], tenant.tenant_id, [(w["clock_id"], w["worker_id"], "MANAGER")]
    )
    await pair(page, w["credential"])
    await sign_in_at_kiosk(page, w["employee_id"], PIN)
    await page.get_by_role("heading", name="Enrol a face: the worker's Employee ID").wait_for(
        timeout=60_000
    )
    await page.get_by_role("button", name="Cancel").click()
    await pin_punch(page, w["employee_id"], PIN)
    await page.get_by_role("button", name="OK").click()
    await page.get_by_role("heading", name="Mary Manager").wait_for(timeout=60_000)
    punches = (await admin_api.get("/punches", params={"worker_id": w["worker_id"]})).json()
    assert [p["direction"] for p in punches["data"]] == ["IN"]


async def test_a_manager_enrols_a_workers_face_who_then_punches_by_face(
    playwright, system, admin_api, tenant, tmp_path, request
):
    """Chromium's fake camera shows a face (skimage's astronaut); the clock's Manager signs in,
    types the worker's Employee ID, the worker agrees on screen, the photo is taken: the worker
    is enrolled, and the camera then punches them by face."""
    m = await worker_on_clock(admin_api, "Mo Manager")
    promoted = await admin_api.put(
        f"/clocks/{m['clock_id']}/workers/{m['worker_id']}", json={"clock_role": "MANAGER"}
    )
    assert promoted.status_code in (200, 201), promoted.text
    target_eid = digits_id()
    target = await admin_api.post(
        "/workers", json={"employee_id": target_eid, "name": "Eileen Collins", "status": "Active"}
    )
    target_id = target.json()["id"]
    assert (await assign(admin_api, m["clock_id"], target_id)).status_code in (200, 201)
    await roles_known(
        system["identity"],
        tenant.tenant_id,
        [(m["clock_id"], m["worker_id"], "MANAGER"), (m["clock_id"], target_id, "USER")],
    )

    video = write_y4m(astronaut_bgr(), tmp_path / "camera.y4m", size=(640, 640))
    async with fake_camera_page(playwright, system, video) as page:
        await pair(page, m["credential"], workers=2)
        await sign_in_at_kiosk(page, m["employee_id"], PIN)
        await page.get_by_role("heading", name="Enrol a face: the worker's Employee ID").wait_for(
            timeout=60_000
        )
        await tap(page, target_eid)
        await page.get_by_role("button", name="OK").click()
        await page.get_by_role("heading", name="Enrol Eileen Collins").wait_for()
        take = page.get_by_role("button", name="Take photo")
        assert await take.is_disabled()  # not before the worker agreed
        await page.get_by_role("checkbox").check()
        await page.wait_for_function(
            "() => { const v = document.querySelector('video'); return v && v.currentTime > 0.3; }"
        )
        await take.click()
        await page.get_by_role("heading", name="Face enrolled for Eileen Collins").wait_for(
            timeout=120_000
        )
        await save_screenshot(page, request, "-enrolled")
        status = (await admin_api.get(f"/workers/{target_id}/face")).json()
        assert status["enrolled"] is True

        async def in_gallery():
            return (await admin_api.get(f"/workers/{target_id}/face")).json()["in_gallery"]

        await wait_for(in_gallery, timeout=60, what="the enrolment in face-match's gallery")
        await page.get_by_role("button", name="Done").click()
        # The camera now knows the face: Eileen punches by face.
        await face_punch_shows(page, system, "Eileen Collins", m["clock_id"], 120_000)
        punches = (await admin_api.get("/punches", params={"worker_id": target_id})).json()
        assert [p["method"] for p in punches["data"]] == ["FACE"]
        audit = (await admin_api.get("/audit-log", params={"limit": 50})).json()["data"]
        [row] = [r for r in audit if r["action"] == "POST /kiosk/v1/face-enrolments"]
        assert (row["actor_id"], row["target_id"], row["clock_id"]) == (
            m["worker_id"],
            target_id,
            m["clock_id"],
        )
