"""Passwords in the manage portal, in a real browser on the whole system: an admin changes
their own password on the account page (a wrong current password is shown beside its field),
stays signed in with the session's new tokens, and signs in with the new password; a
sysadmin sets a viewer's password from the Users page (not their own) and the viewer signs
in with it."""

from __future__ import annotations

from dataclasses import replace

from playwright.async_api import expect

from .conftest import TABLET, sign_in
from .test_portal_roles import new_admin

TIMEOUT_MS = 30_000
NEW_PASSWORD = "a brand new admin password"


async def error_beside(page, field) -> str:
    """The text of the error that ``field`` names as describing it (its last describer)."""
    await expect(field).to_have_attribute("aria-invalid", "true", timeout=TIMEOUT_MS)
    error_id = (await field.get_attribute("aria-describedby")).split()[-1]
    return await page.locator(f"[id='{error_id}']").inner_text()


async def test_an_admin_changes_their_password_and_stays_signed_in(page, tenant, admin_api):
    manager = await new_admin(admin_api, tenant, "manager", site_ids=["North"])
    await sign_in(page, manager)
    nav = page.get_by_role("navigation", name="Main")
    await nav.get_by_role("link", name="Change password").click()
    await page.get_by_role("heading", name="Change password", level=1).wait_for(timeout=TIMEOUT_MS)
    current = page.get_by_label("Current password")
    new = page.get_by_label("New password", exact=True)
    confirm = page.get_by_label("Confirm new password")

    # The two new ones differ: said beside the confirmation, nothing sent.
    await current.fill(manager.password)
    await new.fill(NEW_PASSWORD)
    await confirm.fill(NEW_PASSWORD + "!")
    await page.get_by_role("button", name="Change password").click()
    assert "differ" in await error_beside(page, confirm)

    # A wrong current password: the gateway's 403, beside the Current password field.
    await current.fill("not my password at all")
    await confirm.fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Change password").click()
    assert await error_beside(page, current)
    assert await new.input_value() == NEW_PASSWORD  # what was typed stays

    await current.fill(manager.password)
    await page.get_by_role("button", name="Change password").click()
    await (
        page.get_by_role("status")
        .filter(has_text="Your password has been changed")
        .wait_for(timeout=TIMEOUT_MS)
    )
    assert await current.input_value() == ""

    # Still signed in: Workers opens, and so it does after the access token is spoiled and the
    # page reloaded (a refresh with the session's refresh token: the new one, since changing
    # the password revoked the old).
    await nav.get_by_role("link", name="Workers").click()
    await page.get_by_role("heading", name="Workers", level=1).wait_for(timeout=TIMEOUT_MS)
    await page.evaluate(
        """() => {
          const s = JSON.parse(sessionStorage.getItem("punchcard.session"));
          sessionStorage.setItem("punchcard.session", JSON.stringify({ ...s, access: "spoiled" }));
        }"""
    )
    await page.reload()
    await page.get_by_role("heading", name="Workers", level=1).wait_for(timeout=TIMEOUT_MS)
    await page.locator("table").wait_for(timeout=TIMEOUT_MS)
    assert "/manage/login" not in page.url

    # Signed out, the old password is refused and the new one signs in.
    await page.get_by_role("button", name="Sign out").click()
    await page.get_by_role("heading", name="Sign in to Punchcard").wait_for(timeout=TIMEOUT_MS)
    await page.get_by_label("Email").fill(manager.email)
    await page.get_by_label("Password").fill(manager.password)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("alert").wait_for(timeout=TIMEOUT_MS)
    await sign_in(page, replace(manager, password=NEW_PASSWORD))


async def test_a_sysadmin_sets_a_viewers_password(page, chromium, system, tenant, admin_api):
    viewer = await new_admin(admin_api, tenant, "viewer")
    await sign_in(page, tenant)
    await page.goto("/manage/users")
    mine = page.locator("tbody tr", has_text=tenant.email)
    await mine.wait_for(timeout=TIMEOUT_MS)
    await expect(mine.get_by_role("button", name="Set password")).to_have_count(0)

    row = page.locator("tbody tr", has_text=viewer.email)
    await row.get_by_role("button", name="Set password").click()
    form = page.get_by_role("region", name="Set a password for")
    field = form.get_by_label("New password")
    await field.fill("too short")
    await form.get_by_role("button", name="Set password").click()
    assert "12" in await error_beside(page, field)
    await field.fill(NEW_PASSWORD)
    await form.get_by_role("button", name="Set password").click()
    await (
        page.get_by_role("status")
        .filter(has_text="sign-ins have ended")
        .wait_for(timeout=TIMEOUT_MS)
    )
    await expect(form).to_have_count(0)

    # The viewer, in a browser of their own, signs in with it.
    theirs = await chromium.new_context(base_url=system["gateway"].url, viewport=TABLET)
    try:
        viewer_page = await theirs.new_page()
        await sign_in(viewer_page, replace(viewer, password=NEW_PASSWORD))
    finally:
        await theirs.close()
