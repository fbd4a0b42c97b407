"""Face enrolment on a worker's page, in a real browser, against the real face-match: photos
are uploaded, each photo's verdict is shown (a refused photo says why, and nothing is
enrolled), an accepted set shows "Face enrolled", and deleting the biometric data (confirmed)
leaves the worker with no face data."""

from __future__ import annotations

from playwright.async_api import expect

from tests.support.face import astronaut, blank, two_faces
from tests.support.face_match import enrol_at_gateway
from tests.support.stack import unique

from .conftest import save_screenshot, sign_in

TIMEOUT_MS = 60_000


async def test_upload_photos_see_verdicts_and_delete_biometric_data(
    page, tenant, admin_api, tmp_path, request
):
    created = await admin_api.post(
        "/workers",
        json={
            "employee_id": unique("F").replace("-", "")[:16],
            "name": unique("Eileen Collins"),
            "status": "Active",
        },
    )
    assert created.status_code == 201, created.text
    worker = created.json()
    files = {"astronaut.jpg": astronaut(), "blank.jpg": blank(), "two-faces.jpg": two_faces()}
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)

    await sign_in(page, tenant)
    await page.goto(f"/manage/workers/{worker['id']}")
    face = page.get_by_role("region", name="Face")
    await face.get_by_text("No face enrolled").wait_for()
    chooser = face.locator("input[type=file]")

    # A good photo with a blank one and one with two faces: each verdict is shown, nothing
    # is enrolled.
    await chooser.set_input_files([str(tmp_path / n) for n in files])
    photos = face.get_by_role("list", name="Photos to enrol")
    assert await photos.get_by_role("listitem").count() == 3
    await face.get_by_role("button", name="Enrol face (3 photos)").click()
    items = photos.get_by_role("listitem")
    await items.nth(1).get_by_text("Refused").wait_for(timeout=TIMEOUT_MS)
    assert "Accepted" in await items.nth(0).inner_text()
    assert "No face found" in await items.nth(1).inner_text()
    assert "Two or more faces" in await items.nth(2).inner_text()
    assert (await admin_api.get(f"/workers/{worker['id']}/face")).json()["enrolled"] is False
    await save_screenshot(page, request, "-refused")

    # Without the refused photos: enrolled.
    await face.get_by_role("button", name="Remove photo 3").click()
    await face.get_by_role("button", name="Remove photo 2").click()
    await face.get_by_role("button", name="Enrol face (1 photo)").click()
    await face.get_by_text("Face enrolled from 1 photo.").wait_for(timeout=TIMEOUT_MS)
    assert "Accepted" in await items.nth(0).inner_text()
    # The profile's facts are fetched again after the enrolment: wait for them, not a race.
    fact = page.locator("dl.facts dt:has-text('Face enrolled') + dd")
    await fact.filter(has_text="Yes").wait_for(timeout=TIMEOUT_MS)
    assert (await admin_api.get(f"/workers/{worker['id']}/face")).json()["enrolled"] is True
    await save_screenshot(page, request, "-enrolled")

    # The workers list says so too (face-match is asked about that page's workers).
    await page.goto("/manage/workers")
    row = page.get_by_role("row").filter(has_text=worker["name"])
    await expect(row.get_by_text("Enrolled")).to_be_visible(timeout=TIMEOUT_MS)
    await page.goto(f"/manage/workers/{worker['id']}")
    await face.get_by_role("button", name="Delete biometric data").wait_for(timeout=TIMEOUT_MS)

    # Delete the biometric data, confirmed.
    await face.get_by_role("button", name="Delete biometric data").click()
    dialog = page.get_by_role("dialog", name="Delete biometric data?")
    await dialog.get_by_role("button", name="Delete").click()
    await face.get_by_text("Biometric data deleted.").wait_for(timeout=TIMEOUT_MS)
    await face.get_by_text("No face enrolled").wait_for()
    assert (await admin_api.get(f"/workers/{worker['id']}/face")).json()["enrolled"] is False


async def test_twins_are_enrolled_only_when_a_sysadmin_confirms_and_are_then_verified_1_to_1(
    page, tenant, admin_api, tmp_path, request
):
    workers = []
    for name in ("Ada Twin", "Eda Twin"):
        created = await admin_api.post(
            "/workers",
            json={
                "employee_id": unique("T").replace("-", "")[:16],
                "name": unique(name),
                "status": "Active",
            },
        )
        assert created.status_code == 201, created.text
        workers.append(created.json())
    first, second = workers
    await enrol_at_gateway(admin_api, first["id"], ("ada.jpg", astronaut()))
    (tmp_path / "eda.jpg").write_bytes(astronaut(560))

    await sign_in(page, tenant)
    await page.goto(f"/manage/workers/{second['id']}")
    face = page.get_by_role("region", name="Face")
    await face.get_by_text("No face enrolled").wait_for()
    await face.get_by_text("Take 3 to 5 photos").wait_for()
    await face.locator("input[type=file]").set_input_files([str(tmp_path / "eda.jpg")])
    await face.get_by_text("2 more photos recommended").wait_for()
    await face.get_by_role("button", name="Enrol face (1 photo)").click()
    await face.get_by_text("already enrolled for another worker").wait_for(timeout=TIMEOUT_MS)
    assert (await admin_api.get(f"/workers/{second['id']}/face")).json()["enrolled"] is False
    await save_screenshot(page, request, "-lookalike")

    await face.get_by_role("button", name="Enrol as twins or lookalikes").click()
    dialog = page.get_by_role("dialog", name="Enrol a face that matches another worker?")
    await dialog.get_by_role("button", name="Enrol anyway").click()
    await face.get_by_text("Face enrolled from 1 photo.").wait_for(timeout=TIMEOUT_MS)
    await face.get_by_text("Verified 1:1").wait_for(timeout=TIMEOUT_MS)
    for worker in workers:
        status = (await admin_api.get(f"/workers/{worker['id']}/face")).json()
        assert status["enrolled"] and status["verify_one_to_one"], status
    await save_screenshot(page, request, "-twins")
