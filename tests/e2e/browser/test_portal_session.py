"""The portal's session against a gateway whose access tokens last seconds: an admin idle past
expiry opens Punches (a page that loads several lists at once, so several requests meet the
expired token together) and stays signed in, with one refresh and no sign-in revoked; Sign out
revokes the refresh token at the gateway, so a copy of it no longer works."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import asyncpg
import httpx
import pytest

from tests.support.databases import admin_url
from tests.support.services import start_service

from .conftest import DIST, TABLET, save_screenshot, sign_in

ACCESS_TOKEN_TTL_S = 5


@pytest.fixture(scope="module")
async def short_lived(system, tmp_path_factory):
    """A second gateway on the same database and services, minting 5-second access tokens."""
    main = system["gateway"]
    gateway = await start_service(
        "gateway",
        tmp_path_factory.mktemp("short-lived"),
        **{
            name: main.env[name]
            for name in ("IDENTITY_URL", "DEVICE_SYNC_URL", "PUNCH_URL", "FACE_MATCH_URL")
        },
        DATABASE_URL=main.database_url,
        WEB_DIST_DIR=str(DIST),
        ACCESS_TOKEN_TTL_S=str(ACCESS_TOKEN_TTL_S),
    )
    gateway.database_url = main.database_url
    yield gateway
    await gateway.stop(drop_database=False)  # the database is the main gateway's


async def stored_session(page) -> dict:
    return json.loads(await page.evaluate("sessionStorage.getItem('punchcard.session')"))


def expires_at(access_token: str) -> int:
    payload = access_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["exp"]


async def refresh_tokens(database_url: str, email: str) -> list[asyncpg.Record]:
    db = await asyncpg.connect(admin_url(database_url))  # the owner is bound by RLS
    try:
        return await db.fetch(
            "SELECT t.family_id, t.used_at, t.revoked_at FROM refresh_tokens t"
            " JOIN admin_users u ON u.id = t.user_id WHERE u.email = lower($1)",
            email,
        )
    finally:
        await db.close()


async def test_idle_past_expiry_then_punches_keeps_the_admin_signed_in(
    chromium, short_lived, tenant, request
):
    context = await chromium.new_context(base_url=short_lived.url, viewport=TABLET)
    page = await context.new_page()
    unauthorised = []
    page.on(
        "response",
        lambda r: unauthorised.append(r.url) if r.status == 401 and "/api/v1/" in r.url else None,
    )
    try:
        await sign_in(page, tenant)
        # Idle until the access token in hand has expired.
        expiry = expires_at((await stored_session(page))["access"])
        await asyncio.sleep(max(0.0, expiry - time.time()) + 1)
        nav = page.get_by_role("navigation", name="Main")
        await nav.get_by_role("link", name="Punches").click()
        await page.get_by_role("heading", name="Punches", level=1).wait_for()
        await page.wait_for_load_state("networkidle")
        await save_screenshot(page, request)
        assert page.url.endswith("/manage/punches")
        assert await page.get_by_role("button", name="Sign out").is_visible()
        # Several requests met the expired token at once ...
        assert len(unauthorised) >= 2, unauthorised
        # ... and one refresh answered them all: nothing revoked.
        tokens = await refresh_tokens(short_lived.database_url, tenant.email)
        assert len({t["family_id"] for t in tokens}) == 1
        assert all(t["revoked_at"] is None for t in tokens), tokens
        assert sum(t["used_at"] is not None for t in tokens) >= 1

        # Sign out: the gateway revokes the family; a copy of the refresh token is worthless.
        refresh = (await stored_session(page))["refresh"]
        await page.get_by_role("button", name="Sign out").click()
        await page.get_by_role("heading", name="Sign in to Punchcard").wait_for()
        async with httpx.AsyncClient(base_url=short_lived.url) as http:
            again = await http.post("/api/v1/auth/refresh", json={"refresh_token": refresh})
        assert again.status_code == 401
        tokens = await refresh_tokens(short_lived.database_url, tenant.email)
        assert all(t["revoked_at"] is not None for t in tokens), tokens
    finally:
        await context.close()
