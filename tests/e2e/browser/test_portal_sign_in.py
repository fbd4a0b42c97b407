"""Signing in to the manage portal: a wrong password is refused on the screen, the right one
opens the Workers page with the sidebar, and signing out returns to the sign-in screen."""

from __future__ import annotations

from .conftest import sign_in


async def test_wrong_password_is_refused_on_the_sign_in_screen(page, tenant):
    missing = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    await page.goto("/manage/workers")
    await page.get_by_label("Email").fill(tenant.email)
    await page.get_by_label("Password").fill("not the password")
    await page.get_by_role("button", name="Sign in").click()
    alert = page.get_by_role("alert")
    await alert.wait_for()
    assert "password" in (await alert.inner_text()).lower()
    assert await page.get_by_role("heading", name="Sign in to Punchcard").is_visible()
    assert missing == []  # nothing the page asks for is missing


async def test_sign_in_shows_the_sidebar_and_sign_out_returns(page, tenant):
    await sign_in(page, tenant)
    nav = page.get_by_role("navigation", name="Main")
    # The audit log is a sysadmin's: its link comes once the portal knows who signed in.
    await nav.get_by_role("link", name="Audit log").wait_for()
    for item in ("Workers", "Clocks", "Punches", "Timesheets", "Reports", "Audit log"):
        assert await nav.get_by_role("link", name=item).is_visible()
    assert await nav.get_by_role("link", name="Workers").get_attribute("aria-current") == "page"
    await nav.get_by_role("link", name="Clocks").click()
    await page.get_by_role("heading", name="Clocks", level=1).wait_for()
    assert page.url.endswith("/manage/clocks")
    await page.get_by_role("button", name="Sign out").click()
    await page.get_by_role("heading", name="Sign in to Punchcard").wait_for()
    # Signed out: a bookmarked page asks to sign in again.
    await page.goto("/manage/workers")
    await page.get_by_role("heading", name="Sign in to Punchcard").wait_for()
