"""Driving the real gateway in tests: a tenant and its first sysadmin through the
``create-tenant`` command, and admins signed in through the public API."""

from __future__ import annotations

import json
import subprocess

import httpx

from .services import ServiceProcess
from .stack import VENV_BIN


def create_tenant(gateway: ServiceProcess, email: str, password: str) -> str:
    done = subprocess.run(
        [
            str(VENV_BIN / "punchcard-gateway"),
            "create-tenant",
            "--name",
            "Acme",
            "--admin-email",
            email,
            "--admin-password",
            password,
        ],
        env=gateway.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["tenant_id"]


async def login(gateway: ServiceProcess, email: str, password: str) -> httpx.AsyncClient:
    """An admin's client, signed in (use it as ``async with``)."""
    base = gateway.url + "/api/v1"
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        token = await http.post("/auth/token", data={"username": email, "password": password})
    assert token.status_code == 200, token.text
    return httpx.AsyncClient(
        base_url=base,
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        timeout=30,
    )
