"""Driving device-sync in tests: a tenant with workers made through identity (so device-sync
learns them from identity's events, as in production), clocks registered through the admin
API, and simulated clocks (punchcard-kiosk-sim) that long-poll, apply and acknowledge."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg
import httpx

from .messaging import wait_for
from .services import ServiceProcess
from .stack import unique


@dataclass
class Tenant:
    id: str
    identity: httpx.AsyncClient
    devices: httpx.AsyncClient

    async def worker(self, name: str = "Ana Pérez", status: str = "Active", pin: str | None = None):
        response = await self.identity.post(
            "/workers",
            json={"employee_id": unique("E")[:20], "name": name, "status": status},
        )
        assert response.status_code == 201, response.text
        worker = response.json()
        if pin is not None:
            response = await self.identity.put(f"/workers/{worker['id']}/pin", json={"pin": pin})
            assert response.status_code == 200, response.text
        return worker

    async def clocks(self, count: int, site_id: str = "") -> list[tuple[str, str]]:
        """``count`` clocks: (clock id, credential)."""
        made = []
        for _ in range(count):
            response = await self.devices.post(
                "/clocks",
                json={
                    "serial_number": unique("SN"),
                    "name": unique("Clock"),
                    "site_id": site_id,
                    "time_zone": "Europe/Madrid",
                },
            )
            assert response.status_code == 201, response.text
            body = response.json()
            made.append((body["id"], body["credential"]))
        return made

    async def assign(self, pairs, unassign=()) -> dict:
        """Bulk (un)assign, retrying while device-sync has not yet seen a new worker."""
        body = {
            "assign": [{"clock_id": c, "worker_id": w} for c, w in pairs],
            "unassign": [{"clock_id": c, "worker_id": w} for c, w in unassign],
        }
        result = {}

        async def done():
            response = await self.devices.post("/assignments", json=body)
            if response.status_code == 404 and response.json()["code"] == "WORKER_NOT_FOUND":
                return False
            assert response.status_code == 200, response.text
            result.update(response.json())
            return True

        await wait_for(done, timeout=30, interval=0.1, what="assignment accepted")
        return result


async def new_tenant(identity: ServiceProcess, devices: ServiceProcess) -> Tenant:
    tenant_id = str(uuid.uuid4())
    return Tenant(tenant_id, identity.admin(tenant_id), devices.admin(tenant_id))


async def queue_of(database_url: str, clock_id: str) -> list[asyncpg.Record]:
    """The clock's durable queue as device-sync holds it (as the owner, for the test's eyes)."""
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            tenant = await conn.fetchval(
                "SELECT tenant_id::text FROM clock_credentials WHERE clock_id = $1", clock_id
            )
            await conn.execute("SELECT set_config('app.tenant_id', $1, true)", tenant)
            return await conn.fetch(
                "SELECT sequence, kind, worker_id::text, acked_at, result_code FROM clock_commands"
                " WHERE clock_id = $1 ORDER BY sequence",
                clock_id,
            )
    finally:
        await conn.close()
