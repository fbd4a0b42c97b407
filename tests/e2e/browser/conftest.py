"""Browser tests of the manage portal and the kiosk app: the whole system (five real service
processes on the real stack) and Debian's Chromium driven by Playwright.

- Chromium is ``/usr/bin/chromium`` (``PUNCHCARD_CHROMIUM``); Playwright never downloads a
  browser. Where it is missing, or the web apps are not built, the tests skip and say why.
- Each test makes its own tenant (``tenant`` fixture) and gets a fresh browser context.
- Each test's final screen is saved to ``test-artifacts/browser/<test>.png``
  (``PUNCHCARD_ARTIFACTS``), passed or failed, to be looked at."""

from __future__ import annotations

import os
import re
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.gateway import create_tenant, login
from tests.support.services import whole_system
from tests.support.stack import REPO, unique

CHROMIUM = Path(os.environ.get("PUNCHCARD_CHROMIUM", "/usr/bin/chromium"))
DIST = REPO / "services" / "gateway" / "web" / "dist"
ARTIFACTS = Path(os.environ.get("PUNCHCARD_ARTIFACTS", REPO / "test-artifacts")) / "browser"
PASSWORD = "a long admin password"
# As the probe of this machine found: no background traffic to hosts this network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
TABLET = {"width": 1280, "height": 800}


def pytest_collection_modifyitems(items):
    reason = None
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (make browser installs Debian's chromium)"
    elif not (DIST / "manage" / "index.html").is_file():
        reason = f"the web apps are not built in {DIST} (make web)"
    if reason:
        for item in items:
            if item.path.is_relative_to(Path(__file__).parent):
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="package")
async def system(tmp_path_factory):
    """identity, device-sync, punch, face-match and the gateway that serves the web apps."""
    tmp = tmp_path_factory.mktemp("browser")
    async with whole_system(tmp, WEB_DIST_DIR=str(DIST)) as started:
        yield started


@pytest.fixture(scope="package")
async def playwright():
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        yield p


@pytest.fixture(scope="package")
async def chromium(playwright):
    browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    await browser.close()


@asynccontextmanager
async def fake_camera_page(playwright, system, video: Path, request=None):
    """A page of a Chromium of its own whose camera plays ``video`` (a .y4m file), on the
    gateway, at tablet size; on the way out its last screen is saved (``-end``, given the
    test's ``request``), passed or failed, and the browser closed."""
    browser = await launch_chromium(
        playwright,
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    )
    context = await browser.new_context(
        base_url=system["gateway"].url, viewport=TABLET, permissions=["camera"]
    )
    page = await context.new_page()
    try:
        yield page
    finally:
        try:
            if request is not None:
                await save_screenshot(page, request, "-end")
        finally:
            await context.close()
            await browser.close()


def face_match_decisions(system, clock_id: str, about: str = "face attempt decided") -> list[str]:
    """face-match's log lines ``about`` the face attempts of ``clock_id``."""
    log = system["face-match"].log_file.read_text()
    return [line for line in log.splitlines() if about in line and clock_id in line]


async def face_punch_shows(page, system, name: str, clock_id: str, timeout_ms: int) -> None:
    """Wait for the kiosk to show ``name`` (a face punch's result); past ``timeout_ms`` fail
    saying what the kiosk shows instead and what face-match decided for the clock, so that a
    run whose screenshots are out of reach (CI) still says why."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    try:
        await page.get_by_role("heading", name=name).wait_for(timeout=timeout_ms)
    except PlaywrightTimeout:
        headings = await page.get_by_role("heading").all_inner_texts()
        hints = await page.locator(".hint").all_inner_texts()
        decided = face_match_decisions(system, clock_id, "face attempt")
        raise AssertionError(
            f"the kiosk never showed {name!r} in {timeout_ms / 1000:.0f} s; it shows the "
            f"headings {headings} and the hints {hints}; face-match about this clock:\n"
            + "\n".join(decided[-10:])
        ) from None


async def launch_chromium(playwright, *extra_args: str):
    """A browser of its own (e.g. with a fake camera fed from a file): close it yourself."""
    return await playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *extra_args]
    )


@dataclass
class Tenant:
    tenant_id: str
    email: str
    password: str


@pytest.fixture
async def tenant(system) -> Tenant:
    """A new tenant and its first sysadmin (this test's own)."""
    email = f"{unique('admin')}@example.com"
    tenant_id = create_tenant(system["gateway"], email, PASSWORD)
    return Tenant(tenant_id=tenant_id, email=email, password=PASSWORD)


@pytest.fixture
async def admin_api(system, tenant):
    """The same admin's API client (to arrange data and to check what the screens did)."""
    async with await login(system["gateway"], tenant.email, tenant.password) as http:
        yield http


def _artifact_name(request) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)[:120]


async def save_screenshot(page, request, suffix: str = "") -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{_artifact_name(request)}{suffix}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
async def context(chromium, system, request):
    """A fresh browser context (tablet-sized, on the gateway) whose last page is saved as a
    screenshot when the test ends; console errors are kept in ``context.console_errors``."""
    ctx = await chromium.new_context(base_url=system["gateway"].url, viewport=TABLET)
    ctx.console_errors = []
    ctx.on(
        "console",
        lambda message: (
            ctx.console_errors.append(message.text) if message.type == "error" else None
        ),
    )
    try:
        yield ctx
    finally:
        if ctx.pages:
            try:
                await save_screenshot(ctx.pages[-1], request)
            except Exception:  # noqa: BLE001 - a screenshot must never hide the test's result
                pass
        await ctx.close()


@pytest.fixture
async def page(context):
    return await context.new_page()


async def new_worker(
    admin_api, name: str, status: str = "Active", job_title: str = "", pin: str | None = None
) -> dict:
    """A worker made through the admin API (its own Employee ID), with a PIN if given."""
    created = await admin_api.post(
        "/workers",
        json={
            "employee_id": unique("E").replace("-", "")[:20],
            "name": name,
            "job_title": job_title,
            "status": status,
        },
    )
    assert created.status_code == 201, created.text
    worker = created.json()
    if pin is not None:
        answer = await admin_api.put(f"/workers/{worker['id']}/pin", json={"pin": pin})
        assert answer.status_code == 200, answer.text
        worker = answer.json()
    return worker


async def sign_in(page, tenant: Tenant) -> None:
    """Through the sign-in screen, as an admin would."""
    await page.goto("/manage/")
    await page.get_by_label("Email").fill(tenant.email)
    await page.get_by_label("Password").fill(tenant.password)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("heading", name="Workers", level=1).wait_for()
