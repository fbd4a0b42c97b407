"""The admin login against online guessing, on real Redis and PostgreSQL: failed logins per
account and per client in a sliding window (429 with Retry-After), an account locked after
repeated failures (audited, refused even with the right password) until a sysadmin unlocks
it, and one account's or client's flood leaving everyone else alone. Also sign-out, the
retention of expired refresh tokens and old audit rows, and the real client address behind a
proxy (FORWARDED_ALLOW_IPS)."""

from __future__ import annotations

import asyncio
import secrets
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from punchcard_gateway.main import build_app
from punchcard_gateway.service_layer.auth import LOCK_ACTION
from punchcard_gateway.settings import GatewaySettings
from punchcard_kit.service import uvicorn_config

from tests.support.stack import documentation_ip, unique

from .conftest import PASSWORD, Gateway, fast_hasher, running_gateway, settings_for

ACCOUNT_LIMIT = 4
CLIENT_LIMIT = 8
LOCK_AFTER = 3


def new_ip() -> str:
    """A documentation address of its own per test: no window is shared with another test."""
    return documentation_ip("2001:db8:1::")


@pytest.fixture(scope="module")
async def strict(gateway_dsn, identity_url, device_sync_url) -> AsyncIterator[Gateway]:
    """The gateway with small login limits, on the same database as the shared one."""
    async with running_gateway(
        gateway_dsn,
        identity_url,
        device_sync_url,
        login_max_failures_per_account=ACCOUNT_LIMIT,
        login_max_failures_per_client=CLIENT_LIMIT,
        login_lock_after_failures=LOCK_AFTER,
        login_window_s=600,
    ) as (app, http):
        yield Gateway(app, http, gateway_dsn)


@asynccontextmanager
async def client_at(app: FastAPI, ip: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(ip, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


async def attempt(http: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await http.post("/api/v1/auth/token", data={"username": email, "password": password})


async def test_wrong_passwords_over_the_account_window_get_429_with_retry_after(strict):
    admin = await strict.new_tenant()
    async with client_at(strict.app, new_ip()) as http:
        for _ in range(ACCOUNT_LIMIT):
            assert (await attempt(http, admin.email, "wrong password!")).status_code == 401
        refused = await attempt(http, admin.email, "wrong password!")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 600
    assert refused.json() == {
        "code": "TOO_MANY_REQUESTS",
        "message": "too many failed sign-in attempts; try again later",
        "field": None,
    }
    # From anywhere else too: the account's window counts the account.
    async with client_at(strict.app, new_ip()) as elsewhere:
        assert (await attempt(elsewhere, admin.email, PASSWORD)).status_code == 429


async def test_an_unknown_email_answers_exactly_like_a_known_one(strict):
    admin = await strict.new_tenant()
    answers = {}
    for email in (admin.email, f"{unique('nobody')}@example.com"):
        async with client_at(strict.app, new_ip()) as http:
            seen = []
            for _ in range(ACCOUNT_LIMIT + 1):
                response = await attempt(http, email, "wrong password!")
                seen.append((response.status_code, response.json()))
        answers[email] = seen
    known, unknown = answers.values()
    assert known == unknown
    assert [status for status, _ in known] == [401] * ACCOUNT_LIMIT + [429]


async def test_repeated_failures_lock_the_account_until_a_sysadmin_unlocks_it(strict):
    sysadmin = await strict.new_tenant()
    manager = await strict.add_user(sysadmin, "manager", site_ids=["north"])
    ip = new_ip()
    async with client_at(strict.app, ip) as http:
        for _ in range(LOCK_AFTER):
            assert (await attempt(http, manager.email, "wrong password!")).status_code == 401
    # Locked: the right password is refused, with the same answer as a wrong one.
    async with client_at(strict.app, new_ip()) as http:
        locked = await attempt(http, manager.email, PASSWORD)
    assert locked.status_code == 401
    assert locked.json()["message"] == "incorrect email or password"

    headers = await strict.headers(sysadmin)
    shown = await strict.http.get(f"/api/v1/users/{manager.user_id}", headers=headers)
    assert shown.json()["locked_until"] is not None
    audit = await strict.http.get(
        "/api/v1/audit-log", params={"action": LOCK_ACTION}, headers=headers
    )
    [entry] = audit.json()["data"]
    assert entry["target_id"] == manager.user_id
    assert entry["status_code"] == 423 and entry["actor_id"] is None
    assert entry["client_ip"] == ip

    unlocked = await strict.http.post(f"/api/v1/users/{manager.user_id}/unlock", headers=headers)
    assert unlocked.status_code == 200, unlocked.text
    assert unlocked.json()["locked_until"] is None
    async with client_at(strict.app, new_ip()) as http:
        assert (await attempt(http, manager.email, PASSWORD)).status_code == 200
    audit = await strict.http.get(
        "/api/v1/audit-log",
        params={"action": "POST /api/v1/users/{id}/unlock"},
        headers=headers,
    )
    [entry] = audit.json()["data"]
    assert entry["actor_id"] == sysadmin.user_id and entry["target_id"] == manager.user_id


async def test_only_a_sysadmin_of_the_same_tenant_unlocks(strict):
    sysadmin = await strict.new_tenant()
    manager = await strict.add_user(sysadmin, "manager", site_ids=["north"])
    other = await strict.new_tenant()
    as_manager = await strict.http.post(
        f"/api/v1/users/{sysadmin.user_id}/unlock", headers=await strict.headers(manager)
    )
    assert as_manager.status_code == 403
    as_other_tenant = await strict.http.post(
        f"/api/v1/users/{manager.user_id}/unlock", headers=await strict.headers(other)
    )
    assert as_other_tenant.status_code == 404


async def test_one_accounts_flood_leaves_other_accounts_and_tenants_alone(strict):
    victim = await strict.new_tenant()
    colleague = await strict.add_user(victim, "viewer")
    other_tenant = await strict.new_tenant()
    attacker_ip = new_ip()
    async with client_at(strict.app, attacker_ip) as attacker:
        answers = await asyncio.gather(
            *(attempt(attacker, victim.email, f"guess {n}!") for n in range(CLIENT_LIMIT))
        )
    assert {r.status_code for r in answers} <= {401, 429}
    assert sum(r.status_code == 401 for r in answers) <= ACCOUNT_LIMIT
    async with client_at(strict.app, new_ip()) as office:
        assert (await attempt(office, colleague.email, PASSWORD)).status_code == 200
        assert (await attempt(office, other_tenant.email, PASSWORD)).status_code == 200


async def test_one_clients_flood_is_refused_and_other_clients_are_not(strict):
    admin = await strict.new_tenant()
    flooder = new_ip()
    async with client_at(strict.app, flooder) as http:
        for _ in range(CLIENT_LIMIT):
            guess = await attempt(http, f"{unique('guess')}@example.com", "wrong password!")
            assert guess.status_code == 401
        # Even a right password, from this client, waits.
        refused = await attempt(http, admin.email, PASSWORD)
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    async with client_at(strict.app, new_ip()) as http:
        assert (await attempt(http, admin.email, PASSWORD)).status_code == 200


async def test_successful_logins_do_not_fill_the_windows(strict):
    admin = await strict.new_tenant()
    async with client_at(strict.app, new_ip()) as http:
        for _ in range(CLIENT_LIMIT + 2):
            assert (await attempt(http, admin.email, PASSWORD)).status_code == 200


# --- sign-out -------------------------------------------------------------------------------


async def test_sign_out_revokes_the_refresh_family(gateway):
    admin = await gateway.new_tenant()
    first = await gateway.login(admin.email)
    rotated = await gateway.http.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert rotated.status_code == 200
    elsewhere = await gateway.login(admin.email)
    out = await gateway.http.post(
        "/api/v1/auth/logout", json={"refresh_token": rotated.json()["refresh_token"]}
    )
    assert out.status_code == 204
    again = await gateway.http.post(
        "/api/v1/auth/refresh", json={"refresh_token": rotated.json()["refresh_token"]}
    )
    assert again.status_code == 401
    # Another sign-in of the same admin is another family: still signed in.
    other = await gateway.http.post(
        "/api/v1/auth/refresh", json={"refresh_token": elsewhere["refresh_token"]}
    )
    assert other.status_code == 200
    # Recorded, with the admin as actor; an unknown token is a 204 too, and not recorded.
    unknown = await gateway.http.post("/api/v1/auth/logout", json={"refresh_token": "x" * 43})
    assert unknown.status_code == 204
    log = await gateway.http.get(
        "/api/v1/audit-log",
        params={"action": "POST /api/v1/auth/logout"},
        headers=await gateway.headers(admin),
    )
    [entry] = log.json()["data"]
    assert entry["actor_id"] == admin.user_id and entry["status_code"] == 204


# --- retention ------------------------------------------------------------------------------


async def test_expired_refresh_tokens_and_old_audit_rows_are_pruned(gateway):
    admin = await gateway.new_tenant()
    tokens = await gateway.login(admin.email)
    tenant, user = uuid.UUID(admin.tenant_id), uuid.UUID(admin.user_id)
    now = datetime.now(UTC)
    old_token, old_audit, recent_audit = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    db = await asyncpg.connect(gateway.admin_dsn)  # as a DBA: the owner is bound by RLS
    try:
        await db.execute(
            "INSERT INTO refresh_tokens (id, tenant_id, user_id, family_id, token_hash,"
            " issued_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            old_token,
            tenant,
            user,
            uuid.uuid4(),
            secrets.token_bytes(32),
            now - timedelta(days=30),
            now - timedelta(days=16),
        )
        for row_id, age in ((old_audit, 401), (recent_audit, 399)):
            await db.execute(
                "INSERT INTO audit_log (id, tenant_id, action, status_code, at)"
                " VALUES ($1, $2, 'POST /api/v1/users', 201, $3)",
                row_id,
                tenant,
                now - timedelta(days=age),
            )
        await gateway.app.state.gateway.prune_once()
        remaining = await db.fetch(
            "SELECT id FROM refresh_tokens WHERE id = $1"
            " UNION ALL SELECT id FROM audit_log WHERE id = ANY($2::uuid[])",
            old_token,
            [old_audit, recent_audit],
        )
    finally:
        await db.close()
    assert [r["id"] for r in remaining] == [recent_audit]
    # A live token is kept.
    kept = await gateway.http.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert kept.status_code == 200


# --- the real client behind a proxy ---------------------------------------------------------


@asynccontextmanager
async def served(app: FastAPI, settings: GatewaySettings) -> AsyncIterator[str]:
    """The app as the kit serves it (uvicorn_config), on a random port, lifespan included."""
    config = uvicorn_config(settings, app)
    config.port = 0
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.mark.parametrize(
    ("allowed", "expected"), [("127.0.0.1", "192.0.2.55"), ("10.9.9.9", "127.0.0.1")]
)
async def test_the_audit_log_records_the_client_a_trusted_proxy_names(
    gateway_dsn, identity_url, device_sync_url, allowed, expected
):
    settings = settings_for(gateway_dsn, identity_url, device_sync_url, forwarded_allow_ips=allowed)
    app = build_app(settings, hasher=fast_hasher())
    async with served(app, settings) as url:
        helper = Gateway(app, httpx.AsyncClient(base_url=url), gateway_dsn)
        try:
            admin = await helper.new_tenant()
            failed = await helper.http.post(
                "/api/v1/auth/token",
                data={"username": admin.email, "password": "wrong password!"},
                headers={"X-Forwarded-For": "192.0.2.55"},
            )
            assert failed.status_code == 401
            log = await helper.http.get(
                "/api/v1/audit-log",
                params={"action": "POST /api/v1/auth/token"},
                headers=await helper.headers(admin),
            )
        finally:
            await helper.http.aclose()
    rows = log.json()["data"]
    failure = next(r for r in rows if r["status_code"] == 401)
    assert failure["client_ip"] == expected


async def test_login_fails_closed_with_503_when_redis_is_unreachable(
    gateway_dsn, identity_url, device_sync_url
):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    async with running_gateway(
        gateway_dsn, identity_url, device_sync_url, redis_url=f"redis://127.0.0.1:{port}/0"
    ) as (app, http):
        admin = await Gateway(app, http, gateway_dsn).new_tenant()
        answer = await attempt(http, admin.email, PASSWORD)
    assert answer.status_code == 503
    assert answer.json()["code"] == "UNAVAILABLE" and answer.headers["retry-after"]
