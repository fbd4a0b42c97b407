"""What a viewer (an admin who only reads) is offered on the Workers screens, in a real
browser on the whole system: every fact, and no control that the API would refuse them
("your role does not allow this" after they had typed or chosen something)."""

from __future__ import annotations

from playwright.async_api import expect

from tests.support.gateway import assign, register_clock
from tests.support.stack import unique

from .conftest import PASSWORD, Tenant, new_worker, sign_in

TIMEOUT_MS = 30_000


async def new_admin(admin_api, tenant: Tenant, role: str, site_ids=()) -> Tenant:
    """Another admin of ``tenant`` (the same password), to sign in as."""
    email = f"{unique(role)}@example.com"
    made = await admin_api.post(
        "/users",
        json={
            "email": email,
            "name": f"A {role}",
            "role": role,
            "password": PASSWORD,
            "site_ids": list(site_ids),
        },
    )
    assert made.status_code == 201, made.text
    return Tenant(tenant_id=tenant.tenant_id, email=email, password=PASSWORD)


async def test_a_viewer_sees_the_worker_but_no_control_to_change_it(page, tenant, admin_api):
    worker = await new_worker(admin_api, unique("Vera Viewed"), job_title="Packer")
    clock_id, _ = await register_clock(admin_api, name=unique("Dock"))
    assert (await assign(admin_api, clock_id, worker["id"])).is_success
    viewer = await new_admin(admin_api, tenant, "viewer")
    await sign_in(page, viewer)

    # The list: the workers, no "Add worker".
    await page.locator("table").get_by_role("link", name=worker["name"]).wait_for()
    await expect(page.get_by_role("link", name="Add worker")).to_have_count(0)

    # The profile: the facts and the worker's clocks; no face upload, no adding or removing
    # clocks.
    await page.goto(f"/manage/workers/{worker['id']}")
    face = page.get_by_role("region", name="Face")
    await face.get_by_text("Only system administrators and managers enrol faces.").wait_for(
        timeout=TIMEOUT_MS
    )
    for button in ("Upload photos", "Take photo with webcam", "Enrol face"):
        await expect(face.get_by_role("button", name=button)).to_have_count(0)
    clocks = page.get_by_role("region", name="Clocks")
    await clocks.locator("tr", has_text="Dock").wait_for(timeout=TIMEOUT_MS)
    await expect(clocks.get_by_role("button", name="Remove")).to_have_count(0)
    await expect(clocks.get_by_role("button", name="Add clock")).to_have_count(0)
    await expect(clocks.get_by_label("Add to clock")).to_have_count(0)

    # Edit: the details shown, read only, with no Save.
    await page.goto(f"/manage/workers/{worker['id']}/edit")
    details = page.get_by_role("region", name="Details")
    await details.get_by_text("Only system administrators and managers change workers.").wait_for(
        timeout=TIMEOUT_MS
    )
    assert await details.get_by_label("Job title").input_value() == "Packer"
    for field in ("Name", "Employee ID", "Job title", "Site", "Status"):
        assert await details.get_by_label(field, exact=True).is_disabled(), field
    await expect(details.get_by_role("button", name="Save changes")).to_have_count(0)

    # Add worker, reached by its address: no form to fill in vain.
    await page.goto("/manage/workers/new")
    await page.get_by_text("Only system administrators and managers change workers.").wait_for(
        timeout=TIMEOUT_MS
    )
    await expect(page.get_by_role("button", name="Add worker")).to_have_count(0)


async def test_the_audit_log_is_offered_to_sysadmins_only(page, tenant, admin_api):
    manager = await new_admin(admin_api, tenant, "manager", site_ids=["North"])
    await sign_in(page, manager)
    nav = page.get_by_role("navigation", name="Main")
    await page.get_by_text("manager", exact=True).wait_for(timeout=TIMEOUT_MS)  # who signed in
    await expect(nav.get_by_role("link", name="Audit log")).to_have_count(0)
    await expect(nav.get_by_role("link", name="Reports")).to_have_count(1)
    # Its address still leads somewhere that says why, not to the API's raw refusal.
    await page.goto("/manage/audit")
    await page.get_by_text("The audit log is for system administrators.").wait_for(
        timeout=TIMEOUT_MS
    )
    await expect(page.get_by_text("your role does not allow this")).to_have_count(0)
