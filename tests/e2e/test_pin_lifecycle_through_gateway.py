"""The whole PIN lifecycle as an admin drives it, through the gateway's public API, with the real
gateway and identity processes on real PostgreSQL, Redis and Kafka; verification through Kafka.
Nothing of the PIN may leak into either service's logs or the audit log."""

import json

import httpx
import pytest

from tests.support.gateway import create_tenant, login
from tests.support.identity import Kiosk, reason, start_identity
from tests.support.services import start_service
from tests.support.stack import unique

PIN = "604137"


@pytest.fixture(scope="module")
async def system(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("system")
    identity = await start_identity(tmp)
    gateway = await start_service("gateway", tmp, IDENTITY_URL=identity.url)
    yield {"gateway": gateway, "identity": identity}
    for service in (gateway, identity):
        await service.stop()


async def test_pin_lifecycle_through_the_gateway(system):
    email = f"{unique('admin')}@example.com"
    tenant = create_tenant(system["gateway"], email, "a long admin password")
    http = await login(system["gateway"], email, "a long admin password")
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

    for log in (system["gateway"].log_file, system["identity"].log_file):
        text = log.read_text()
        assert PIN not in text and "952864" not in text, log


async def test_roles_and_tenants_through_the_gateway(system):
    email_a = f"{unique('a')}@example.com"
    create_tenant(system["gateway"], email_a, "password of tenant a")
    email_b = f"{unique('b')}@example.com"
    create_tenant(system["gateway"], email_b, "password of tenant b")
    sys_a = await login(system["gateway"], email_a, "password of tenant a")
    sys_b = await login(system["gateway"], email_b, "password of tenant b")
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
    viewer = await login(system["gateway"], viewer_email, "viewer password 1")
    async with viewer:
        assert (await viewer.get(f"/workers/{wid}")).status_code == 200
        assert (
            await viewer.post("/workers", json={"employee_id": "E2", "name": "X"})
        ).status_code == 403
        assert (await viewer.put(f"/workers/{wid}/pin", json={"pin": "604137"})).status_code == 403
    async with httpx.AsyncClient(base_url=system["gateway"].url + "/api/v1") as anonymous:
        assert (await anonymous.get("/workers")).status_code == 401
