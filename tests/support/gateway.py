"""Driving the real gateway in tests: a tenant and its first sysadmin through the
``create-tenant`` command, and admins signed in through the public API."""

from __future__ import annotations

import json
import subprocess
import uuid
from datetime import UTC, datetime

import httpx

from .messaging import wait_for
from .services import ServiceProcess
from .stack import VENV_BIN, unique


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


# The time zone of the clocks these helpers register: a report's days are the clock's local
# days, which differ from UTC's for an hour around midnight.
CLOCK_TIME_ZONE = "Europe/Madrid"


async def register_clock(
    admin: httpx.AsyncClient, name: str = "Front door", site_id: str = ""
) -> tuple[str, str]:
    """A clock registered through the gateway's admin API: (clock id, credential shown once)."""
    registered = await admin.post(
        "/clocks",
        json={
            "serial_number": unique("SN"),
            "name": name,
            "site_id": site_id,
            "time_zone": CLOCK_TIME_ZONE,
        },
    )
    assert registered.status_code == 201, registered.text
    return registered.json()["id"], registered.json()["credential"]


async def assign(admin: httpx.AsyncClient, clock_id: str, worker_id: str) -> httpx.Response:
    """PUT the assignment, retrying while device-sync has not yet learnt the new worker from
    identity's events."""

    async def accepted():
        response = await admin.put(f"/clocks/{clock_id}/workers/{worker_id}")
        if response.status_code == 404 and response.json().get("code") == "WORKER_NOT_FOUND":
            return None
        return response

    return await wait_for(accepted, timeout=30, interval=0.1, what="device-sync knows the worker")


async def worker_on_new_clock(
    punch: ServiceProcess,
    admin: httpx.AsyncClient,
    tenant_id: str,
    name: str,
    employee_id: str | None = None,
    site_id: str = "",
) -> tuple[str, str, str]:
    """An Active worker assigned to a newly registered clock, returned once punch knows the
    worker, the clock and the assignment: (worker id, clock id, the clock's credential)."""
    from .punch import known

    created = await admin.post(
        "/workers",
        json={"employee_id": employee_id or unique("E")[:20], "name": name, "status": "Active"},
    )
    assert created.status_code == 201, created.text
    worker_id = created.json()["id"]
    clock_id, credential = await register_clock(admin, site_id=site_id)
    assert (await assign(admin, clock_id, worker_id)).status_code in (200, 201)
    await known(
        punch, tenant_id, workers=[worker_id], clocks=[clock_id], pairs=[(clock_id, worker_id)]
    )
    return worker_id, clock_id, credential


def kiosk(gateway: ServiceProcess, credential: str | None) -> httpx.AsyncClient:
    """A kiosk's client of the gateway's kiosk edge, with its clock credential (if any)."""
    headers = {"Authorization": f"Bearer {credential}"} if credential else {}
    return httpx.AsyncClient(base_url=gateway.url + "/kiosk/v1", headers=headers, timeout=60)


def pin_attempt(employee_id: str, pin: str, **extra) -> dict:
    """A PIN punch attempt as a kiosk makes it: a new attempt id, captured now."""
    return {
        "attempt_id": str(uuid.uuid4()),
        "captured_at": datetime.now(UTC).isoformat(),
        "method": "PIN",
        "employee_id": employee_id,
        "pin": pin,
        **extra,
    }


async def punch_decided(http: httpx.AsyncClient, attempt: dict) -> httpx.Response:
    """``POST /punches`` as a kiosk makes it, then, while the edge answers 202 (pending: its
    bounded wait ran out on a busy machine), ``GET /punches/{attempt_id}`` until decided, as
    the kiosk app does. Any other answer (4xx, 503) is returned as it came."""
    answer = await http.post("/punches", json=attempt)
    if answer.status_code != 202:
        return answer
    decided: list[httpx.Response] = []

    async def done() -> bool:
        response = await http.get(f"/punches/{attempt['attempt_id']}")
        decided[:] = [response]
        return response.status_code != 202

    await wait_for(done, timeout=120, interval=0.5, what="the attempt decided")
    return decided[0]
