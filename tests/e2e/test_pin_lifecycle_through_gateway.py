"""The whole PIN lifecycle as an admin drives it, through the gateway's public API, with the real
gateway and identity processes on real PostgreSQL, Redis and Kafka; verification through Kafka.
Nothing of the PIN may leak into either service's logs or the audit log."""

import json
import os
import subprocess

import asyncpg
import httpx
import pytest

from tests.support.identity import Kiosk, reason, start_identity
from tests.support.messaging import wait_for
from tests.support.services import free_port
from tests.support.stack import KAFKA, PG_URL, VENV_BIN, unique

PIN = "604137"


@pytest.fixture(scope="module")
async def system(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("system")
    identity = await start_identity(tmp)
    port = free_port()
    gateway_db = f"{PG_URL}/{unique('gateway_e2e')}"
    env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "DATABASE_URL": gateway_db,
        "KAFKA_BOOTSTRAP_SERVERS": KAFKA,
        "HTTP_PORT": str(port),
        "IDENTITY_URL": identity.url,
        "LOG_LEVEL": "DEBUG",
    }
    log_file = tmp / "gateway.log"
    with open(log_file, "wb") as log:
        gateway = subprocess.Popen(
            [str(VENV_BIN / "punchcard-gateway")], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"

    async def ready():
        if gateway.poll() is not None:
            raise AssertionError(log_file.read_text()[-3000:])
        try:
            async with httpx.AsyncClient() as http:
                return (await http.get(url + "/readyz")).status_code == 200
        except httpx.TransportError:
            return False

    await wait_for(ready, timeout=90, what="gateway ready")
    yield {"url": url, "env": env, "identity": identity, "gateway_log": log_file}
    for process in (gateway, identity.process):
        process.terminate()
        process.wait(30)
    admin = await asyncpg.connect(f"{PG_URL}/postgres")
    for dsn in (gateway_db, identity.database_url):
        await admin.execute(f'DROP DATABASE IF EXISTS "{dsn.rsplit("/", 1)[1]}" WITH (FORCE)')
    await admin.close()


def create_tenant(system, email: str, password: str) -> str:
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
        env=system["env"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["tenant_id"]


async def login(system, email: str, password: str) -> httpx.AsyncClient:
    """An admin's client, signed in (use it as ``async with``)."""
    async with httpx.AsyncClient(base_url=system["url"] + "/api/v1") as http:
        token = await http.post("/auth/token", data={"username": email, "password": password})
    assert token.status_code == 200, token.text
    return httpx.AsyncClient(
        base_url=system["url"] + "/api/v1",
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
    )


async def test_pin_lifecycle_through_the_gateway(system):
    email = f"{unique('admin')}@example.com"
    tenant = create_tenant(system, email, "a long admin password")
    http = await login(system, email, "a long admin password")
    async with http, Kiosk(system["identity"]) as kiosk:
        worker = await http.post(
            "/workers",
            json={
                "employee_id": "E42",
                "name": "Alan Turing",
                "job_title": "Cryptanalyst",
                "status": "Active",
            },
        )
        assert worker.status_code == 201, worker.text
        wid = worker.json()["id"]

        weak = await http.put(f"/workers/{wid}/pin", json={"pin": "1990"})
        assert weak.status_code == 422 and weak.json()["code"] == "PIN_LOOKS_LIKE_YEAR"
        assert weak.json()["field"] == "pin"

        set_pin = await http.put(f"/workers/{wid}/pin", json={"pin": PIN})
        assert set_pin.status_code == 200 and set_pin.json()["pin_set"] is True
        profile = (await http.get(f"/workers/{wid}")).json()
        assert profile["pin_set"] and profile["pin_set_at"]

        assert reason(await kiosk.punch(tenant, "E42", PIN)) == "IDENTIFIED"
        assert reason(await kiosk.punch(tenant, "E42", "604173")) == "WRONG_PIN"

        assert (await http.put(f"/workers/{wid}/pin", json={"pin": "952864"})).status_code == 200
        assert reason(await kiosk.punch(tenant, "E42", PIN)) == "WRONG_PIN"
        assert (await http.delete(f"/workers/{wid}/pin")).json()["pin_set"] is False
        assert reason(await kiosk.punch(tenant, "E42", "952864")) == "PIN_NOT_SET"

        audit = (await http.get("/audit-log", params={"limit": 100})).json()
        actions = [row["action"] for row in audit["data"]]
        assert any("pin" in action and action.startswith("PUT") for action in actions)
        assert any(action.startswith("DELETE") for action in actions)
        assert PIN not in json.dumps(audit)

    for log in (system["gateway_log"], system["identity"].log_file):
        text = log.read_text()
        assert PIN not in text and "952864" not in text, log


async def test_roles_and_tenants_through_the_gateway(system):
    email_a = f"{unique('a')}@example.com"
    create_tenant(system, email_a, "password of tenant a")
    email_b = f"{unique('b')}@example.com"
    create_tenant(system, email_b, "password of tenant b")
    sys_a = await login(system, email_a, "password of tenant a")
    sys_b = await login(system, email_b, "password of tenant b")
    async with sys_a, sys_b:
        wid = (await sys_a.post("/workers", json={"employee_id": "E1", "name": "W"})).json()["id"]
        assert (await sys_b.get(f"/workers/{wid}")).status_code == 404
        assert (await sys_b.put(f"/workers/{wid}/pin", json={"pin": "604137"})).status_code == 404
        viewer_email = f"{unique('v')}@example.com"
        created = await sys_a.post(
            "/users",
            json={
                "email": viewer_email,
                "name": "V",
                "role": "viewer",
                "password": "viewer password 1",
            },
        )
        assert created.status_code == 201, created.text
    viewer = await login(system, viewer_email, "viewer password 1")
    async with viewer:
        assert (await viewer.get(f"/workers/{wid}")).status_code == 200
        assert (
            await viewer.post("/workers", json={"employee_id": "E2", "name": "X"})
        ).status_code == 403
        assert (await viewer.put(f"/workers/{wid}/pin", json={"pin": "604137"})).status_code == 403
    async with httpx.AsyncClient(base_url=system["url"] + "/api/v1") as anonymous:
        assert (await anonymous.get("/workers")).status_code == 401
