"""PINs on hardware clocks that verify them, through the real identity and device-sync
processes, PostgreSQL and Kafka: with the tenant's switch on and one ZK clock opted in, a
worker's PIN reaches that clock as ``Passwd=`` and never the clock that is not opted in;
removing the PIN sends the worker again with an empty ``Passwd``; the PIN's digits never
appear on any Kafka topic, in device-sync's queue or tables, or in either service's log."""

from __future__ import annotations

import asyncpg
import pytest
from punchcard_kit.messaging import catalogue
from punchcard_kit.messaging.topics import ensure_topics_exist, specs_from_catalogue

from tests.integration.device_sync.test_zk_push import Device, zk_clock
from tests.support.device_sync import new_tenant
from tests.support.messaging import read_topic
from tests.support.services import start_service
from tests.support.stack import KAFKA, REPO

PIN = "739418"
DEVICE_PINS = catalogue.IDENTITY_DEVICE_PINS.name


@pytest.fixture(scope="module")
async def pin_devices(tmp_path_factory):
    # The topic exists wherever the stack was started from this catalogue; made here too.
    specs = specs_from_catalogue(REPO / "deploy" / "topics.yaml", 1)
    await ensure_topics_exist(KAFKA, [s for s in specs if s[0] == DEVICE_PINS])
    process = await start_service(
        "device-sync", tmp_path_factory.mktemp("device-sync-pins"), ZK_DEVICE_CACHE_S="0"
    )
    yield process
    await process.stop()


async def test_pins_reach_only_opted_in_clocks_and_never_travel_in_the_clear(identity, pin_devices):
    devices = pin_devices
    tenant = await new_tenant(identity, devices)
    switched = await tenant.identity.put("/pin-policy", json={"devices_verify_pins": True})
    assert switched.status_code == 200, switched.text
    assert switched.json()["devices_verify_pins"] is True
    worker = await tenant.worker("Ada Lovelace", pin=PIN)
    wid, badge = worker["id"], worker["employee_id"]

    opted, opted_serial = await zk_clock(tenant)
    plain, plain_serial = await zk_clock(tenant)
    kiosk = (
        await tenant.devices.post(
            "/clocks",
            json={"serial_number": "K" + opted_serial, "name": "Kiosk", "time_zone": "UTC"},
        )
    ).json()["id"]
    refused = await tenant.devices.patch(f"/clocks/{kiosk}", json={"device_verifies_pins": True})
    assert refused.status_code == 409 and refused.json()["code"] == "NOT_A_ZK_CLOCK"
    response = await tenant.devices.patch(f"/clocks/{opted}", json={"device_verifies_pins": True})
    assert response.status_code == 200, response.text
    assert response.json()["device_verifies_pins"] is True
    assert (await tenant.devices.get(f"/clocks/{plain}")).json()["device_verifies_pins"] is False
    await tenant.assign([(opted, wid), (plain, wid)])

    a, b = Device(devices.url, opted_serial), Device(devices.url, plain_serial)
    user = f"DATA UPDATE USERINFO PIN={badge}\tName=Ada Lovelace\tPri=0\tPasswd="
    try:
        for device in (a, b):
            assert (await device.handshake()).status_code == 200
        # The opted-in clock gets the PIN (once identity's sealed PIN reached device-sync).
        ident, _ = await a.wait_command(user + PIN + "\t")
        await a.result(ident, 0)
        # The other one gets the worker without it.
        ident, cmd = await b.wait_command(user)
        assert cmd.startswith(user + "\t"), cmd
        await b.result(ident, 0)

        # PIN removed: the opted-in clock gets the worker again, with an empty Passwd.
        assert (await tenant.identity.delete(f"/workers/{wid}/pin")).status_code == 200
        ident, _ = await a.wait_command(user + "\t")
        await a.result(ident, 0)
    finally:
        await a.close()
        await b.close()

    # Never in the clear: Kafka, device-sync's database (queue, sealed PINs), the logs.
    sealed = [
        r for r in await read_topic(KAFKA, DEVICE_PINS) if r.key.startswith(tenant.id.encode())
    ]
    assert len(sealed) >= 2 and sealed[-1].value is None  # a box, then the tombstone
    # This tenant's records only: the shared topics hold every test's events, and six digits
    # turn up by chance in the hex of enough of other tenants' ids (a flake, not a leak).
    for topic in (DEVICE_PINS, catalogue.IDENTITY_WORKERS.name, catalogue.DEVICE_CLOCKS.name):
        records = [
            r
            for r in await read_topic(KAFKA, topic)
            if (r.key or b"").startswith(tenant.id.encode())
            or dict(r.headers or ()).get("tenant-id") == tenant.id.encode()
        ]
        assert records, topic  # the worker's and the clocks' events are there to be checked
        for record in records:
            assert PIN.encode() not in (record.key or b"") + (record.value or b""), topic
    conn = await asyncpg.connect(devices.admin_url)
    try:
        for table in ("clock_commands", "device_pins", "outbox", "workers"):
            for row in await conn.fetch(f'SELECT row_to_json(t)::text FROM "{table}" t'):
                assert PIN not in row[0], table
        assert (
            await conn.fetchval("SELECT count(*) FROM device_pins WHERE worker_id = $1", wid) == 0
        )
    finally:
        await conn.close()
    for service in (identity, devices):
        assert PIN not in service.log_file.read_text(), service.name
