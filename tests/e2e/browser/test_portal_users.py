"""The manage portal's Users page in a real browser, on the whole system: a sysadmin adds a
manager of a site through the page, sees them listed and deactivates them; an e-mail that is
taken (409) shows its error beside the E-mail field and keeps what was typed; a manager is
not offered the page."""

from __future__ import annotations

from playwright.async_api import expect

from tests.support.stack import unique

from .conftest import PASSWORD, sign_in
from .test_portal_roles import new_admin

TIMEOUT_MS = 30_000


async def users_by_email(admin_api) -> dict[str, dict]:
    answer = await admin_api.get("/users", params={"limit": 200})
    assert answer.status_code == 200, answer.text
    return {u["email"]: u for u in answer.json()["data"]}


async def test_a_sysadmin_adds_a_manager_and_deactivates_them(page, tenant, admin_api):
    await sign_in(page, tenant)
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Users").click()
    await page.get_by_role("heading", name="Users", level=1).wait_for(timeout=TIMEOUT_MS)
    # The sysadmin themselves is listed, and not offered to deactivate themselves.
    me = page.locator("tbody tr", has_text=tenant.email)
    await me.wait_for(timeout=TIMEOUT_MS)
    await expect(me.get_by_role("button", name="Deactivate")).to_have_count(0)

    email = f"{unique('manager')}@example.com"
    name = unique("Mona Manager")
    site = unique("North")
    form = page.get_by_role("region", name="Add user")
    await form.get_by_label("E-mail").fill(email)
    await form.get_by_label("Name").fill(name)
    await form.get_by_label("Role").select_option("manager")
    await form.get_by_label("Site", exact=True).fill(site)
    await form.get_by_role("button", name="Add site").click()
    await form.get_by_role("list", name="Sites added").get_by_text(site).wait_for()
    await form.get_by_label("Initial password").fill(PASSWORD)
    await form.get_by_role("button", name="Add user").click()
    await form.get_by_text(f"Added {name}.").wait_for(timeout=TIMEOUT_MS)

    row = page.locator("tbody tr", has_text=email)
    await row.wait_for(timeout=TIMEOUT_MS)
    for text in (name, "Manager", site, "Active"):
        await expect(row).to_contain_text(text)
    made = (await users_by_email(admin_api))[email]
    assert (made["role"], made["site_ids"], made["active"]) == ("manager", [site], True)

    # Edit: another site added, then saved; the row shows both.
    second = unique("South")
    await row.get_by_role("button", name=f"Edit {name}").click()
    edit = page.get_by_role("region", name=f"Edit {name}")
    await edit.get_by_label("Site", exact=True).fill(second)
    await edit.get_by_role("button", name="Add site").click()
    await edit.get_by_role("button", name="Save changes").click()
    await expect(row).to_contain_text(f"{site}, {second}", timeout=TIMEOUT_MS)
    assert (await users_by_email(admin_api))[email]["site_ids"] == [site, second]

    # Deactivate asks first, then the row says so, and so does the API.
    await row.get_by_role("button", name="Deactivate").click()
    await page.get_by_role("dialog").get_by_role("button", name="Deactivate").click()
    await expect(row).to_contain_text("Inactive", timeout=TIMEOUT_MS)
    await expect(row.get_by_role("button", name="Reactivate")).to_have_count(1)
    assert (await users_by_email(admin_api))[email]["active"] is False


async def test_a_taken_email_is_shown_beside_its_field(page, tenant, admin_api):
    taken = await new_admin(admin_api, tenant, "viewer")
    await sign_in(page, tenant)
    await page.goto("/manage/users")
    form = page.get_by_role("region", name="Add user")
    await form.wait_for(timeout=TIMEOUT_MS)
    name = unique("Vic Second")
    await form.get_by_label("E-mail").fill(taken.email)
    await form.get_by_label("Name").fill(name)
    await form.get_by_label("Role").select_option("viewer")
    await form.get_by_label("Initial password").fill(PASSWORD)
    await form.get_by_role("button", name="Add user").click()

    field = form.get_by_label("E-mail")
    await expect(field).to_have_attribute("aria-invalid", "true", timeout=TIMEOUT_MS)
    error_id = (await field.get_attribute("aria-describedby")).split()[-1]
    error = page.locator(f"[id='{error_id}']")
    await expect(error).to_contain_text("already exists")
    # What was typed stays; nothing else was added.
    assert await field.input_value() == taken.email
    assert await form.get_by_label("Name").input_value() == name
    assert await form.get_by_label("Initial password").input_value() == PASSWORD
    assert name not in {u["name"] for u in (await users_by_email(admin_api)).values()}


async def test_a_manager_is_not_offered_the_users_page(page, tenant, admin_api):
    manager = await new_admin(admin_api, tenant, "manager", site_ids=["North"])
    await sign_in(page, manager)
    nav = page.get_by_role("navigation", name="Main")
    await page.get_by_text("manager", exact=True).wait_for(timeout=TIMEOUT_MS)  # who signed in
    await expect(nav.get_by_role("link", name="Users")).to_have_count(0)
    await expect(nav.get_by_role("link", name="Reports")).to_have_count(1)
    await page.goto("/manage/users")
    await page.get_by_text("Users are managed by system administrators.").wait_for(
        timeout=TIMEOUT_MS
    )
    await expect(page.get_by_text("your role does not allow this")).to_have_count(0)
