"""The real gateway app, in process, on its own throw-away database (dropped at the end), with
stand-in "identity" and "device-sync" upstreams (tiny FastAPI apps under uvicorn on random
ports) that echo the internal caller they verified. Each test makes its own tenants."""

from __future__ import annotations

import asyncio
import secrets
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import argon2
import httpx
import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from punchcard_gateway.adapters.passwords import PasswordHasher
from punchcard_gateway.main import build_app
from punchcard_gateway.service_layer.users import CreateTenant, create_tenant
from punchcard_gateway.settings import GatewaySettings
from punchcard_kit.internal_auth import InvalidInternalToken, audience_of, verify_internal_token

from tests.support.databases import admin_url, drop_database, new_database
from tests.support.stack import documentation_ip, unique

# The gateway's internal token key pair for these tests (not the development one): the
# gateway signs with the private key, the stand-in services verify with the public key.
_INTERNAL_KEY = Ed25519PrivateKey.generate()
INTERNAL_PRIVATE_KEY = _INTERNAL_KEY.private_bytes(
    Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
).decode()
INTERNAL_PUBLIC_KEY = (
    _INTERNAL_KEY.public_key()
    .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    .decode()
)
# The in-process client's address: new each run (a documentation IPv6 address), so the login
# throttle's per-client window in the shared Redis never carries over from an earlier run.
CLIENT_IP = documentation_ip()
ADMIN_SECRET = "admin-jwt-secret-for-gateway-tests-0123456789"
PASSWORD = "correct horse battery staple"


def fast_hasher() -> PasswordHasher:
    """Still argon2id, at a cost that keeps the tests quick (production uses the defaults)."""
    return PasswordHasher(argon2.PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1))


def _caller(request: Request, service: str) -> dict:
    """The internal caller the request carries, verified as ``service`` verifies it (its own
    audience, the gateway's public key): InvalidInternalToken if not."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    caller = verify_internal_token(token, INTERNAL_PUBLIC_KEY, audience_of(service))
    return {
        "tenant_id": caller.tenant_id,
        "user_id": caller.user_id,
        "role": caller.role,
        "sites": list(caller.sites),
        "ip": caller.ip,
        "request_id": caller.request_id,
    }


def _audience(request: Request) -> str | list[str]:
    """What the request's token says it is for, as sent."""
    token = request.headers.get("authorization", "").partition(" ")[2]
    return jwt.decode(token, options={"verify_signature": False})["aud"]


def upstream_app() -> FastAPI:
    """A stand-in service: a call without a valid internal caller token is a 401."""
    app = FastAPI()

    @app.exception_handler(InvalidInternalToken)
    async def unauthenticated(_: Request, error: InvalidInternalToken) -> JSONResponse:
        return JSONResponse({"code": "UNAUTHENTICATED", "message": str(error)}, 401)

    return app


def add_echo(app: FastAPI, name: str) -> FastAPI:
    """Answers every other /internal/v1 call with what it received (and the service's
    ``name``); ``?status=N`` picks the status code, each ``?header=name:value`` adds a header."""

    @app.api_route("/internal/v1/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def echo(path: str, request: Request) -> JSONResponse:
        caller = _caller(request, name)
        body = await request.body()
        return JSONResponse(
            {
                "upstream": name,
                "caller": caller,
                "audience": _audience(request),
                "method": request.method,
                "path": request.url.path,
                "query": request.url.query,
                "body": body.decode(),
                "content_type": request.headers.get("content-type"),
                "x_request_id": request.headers.get("x-request-id"),
                "idempotency_key": request.headers.get("idempotency-key"),
            },
            status_code=int(request.query_params.get("status", "200")),
            headers=dict(h.split(":", 1) for h in request.query_params.getlist("header")),
        )

    return app


def echo_identity() -> FastAPI:
    return add_echo(upstream_app(), "identity")


def fake_device_sync() -> FastAPI:
    """The echo, except that registering a clock and re-keying one answer, as device-sync
    does, with a fresh credential (``pcc_<clock_id>_<secret>``), shown once."""
    app = upstream_app()

    def credential(clock_id: str) -> str:
        return f"pcc_{clock_id}_{secrets.token_urlsafe(32)}"

    @app.post("/internal/v1/clocks", status_code=201)
    async def register(request: Request) -> dict:
        caller = _caller(request, "device-sync")
        clock_id = str(uuid.uuid4())
        clock = {"id": clock_id, **(await request.json()), "status": "never_seen"}
        return {"clock": clock, "credential": credential(clock_id), "caller": caller}

    @app.post("/internal/v1/clocks/{clock_id}/credential")
    async def rekey(clock_id: str, request: Request) -> dict:
        caller = _caller(request, "device-sync")
        return {"clock_id": clock_id, "credential": credential(clock_id), "caller": caller}

    return add_echo(app, "device-sync")


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """``app`` under uvicorn on a random local port, for as long as the block runs."""
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            log_config=None,
            access_log=False,
            lifespan="off",
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.005)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture(scope="session")
async def identity_url() -> AsyncIterator[str]:
    async with serving(echo_identity()) as url:
        yield url


@pytest.fixture(scope="session")
async def device_sync_url() -> AsyncIterator[str]:
    async with serving(fake_device_sync()) as url:
        yield url


@pytest.fixture(scope="session")
async def face_match_url() -> AsyncIterator[str]:
    """A stand-in face-match that echoes (verifying tokens addressed to face-match)."""
    async with serving(add_echo(upstream_app(), "face-match")) as url:
        yield url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
async def gateway_dsn() -> AsyncIterator[str]:
    """The gateway's own database, owned by its own non-superuser login role (as production)."""
    dsn = await new_database("gateway", "gw_test")
    yield dsn
    await drop_database(dsn)


def settings_for(
    dsn: str, identity_url: str, device_sync_url: str, **overrides: object
) -> GatewaySettings:
    return GatewaySettings(
        **{
            "environment": "test",
            "database_url": dsn,
            "identity_url": identity_url,
            "device_sync_url": device_sync_url,
            "internal_token_private_key": INTERNAL_PRIVATE_KEY,
            "admin_jwt_secret": ADMIN_SECRET,
            "relay_enabled": False,
            "log_json": False,
            **overrides,
        }
    )


@asynccontextmanager
async def running_gateway(
    dsn: str, identity_url: str, device_sync_url: str, **overrides: object
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The gateway app with its lifespan (migrations, pool, upstream client) running, and a
    client that talks to it in process (``overrides``: more settings, e.g. ``punch_url``)."""
    settings = settings_for(dsn, identity_url, device_sync_url, **overrides)
    app = build_app(settings, hasher=fast_hasher())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(CLIENT_IP, 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield app, client


@dataclass(frozen=True)
class Admin:
    tenant_id: str
    user_id: str
    email: str
    password: str = PASSWORD


class Gateway:
    """The running gateway and the helpers the tests share."""

    def __init__(self, app: FastAPI, http: httpx.AsyncClient, dsn: str) -> None:
        self.app, self.http, self.dsn = app, http, dsn
        # The superuser's URL of the same database, for a test to look inside (RLS-free).
        self.admin_dsn = admin_url(dsn)

    async def new_tenant(self, name: str | None = None) -> Admin:
        """A fresh tenant and its first sysadmin (as the bootstrap command does it)."""
        email = f"{unique('admin')}@example.com"
        tenant, admin = await create_tenant(
            self.app.state.gateway.services,
            CreateTenant(name=name or unique("tenant"), admin_email=email, admin_password=PASSWORD),
        )
        return Admin(str(tenant.id), str(admin.id), email)

    async def login(self, email: str, password: str = PASSWORD) -> dict:
        response = await self.http.post(
            "/api/v1/auth/token", data={"username": email, "password": password}
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def headers(self, admin: Admin) -> dict[str, str]:
        tokens = await self.login(admin.email, admin.password)
        return {"Authorization": f"Bearer {tokens['access_token']}"}

    async def add_user(self, sysadmin: Admin, role: str, site_ids=()) -> Admin:
        email = f"{unique(role)}@example.com"
        response = await self.http.post(
            "/api/v1/users",
            headers=await self.headers(sysadmin),
            json={
                "email": email,
                "name": f"A {role}",
                "role": role,
                "password": PASSWORD,
                "site_ids": list(site_ids),
            },
        )
        assert response.status_code == 201, response.text
        return Admin(sysadmin.tenant_id, response.json()["id"], email)


@pytest.fixture(scope="session")
async def gateway(
    gateway_dsn: str, identity_url: str, device_sync_url: str, face_match_url: str
) -> AsyncIterator[Gateway]:
    async with running_gateway(
        gateway_dsn, identity_url, device_sync_url, face_match_url=face_match_url
    ) as (app, http):
        yield Gateway(app, http, gateway_dsn)


def new_id() -> str:
    return str(uuid.uuid4())
