"""device-sync is SIGKILLed in the middle of a ZK device's ATTLOG batch (its dedup rows and
verdicts written, not committed): the device got no OK, so it sends the batch again once
device-sync is back, and every punch of it is recorded once in punch's ledger."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.integration.device_sync.test_zk_push import attlog_line, ledger, zk_clock
from tests.support.device_sync import new_tenant
from tests.support.messaging import wait_for
from tests.support.services import start_service

pytestmark = pytest.mark.chaos


@pytest.fixture
async def killable_devices(tmp_path):
    process = await start_service(
        "device-sync", tmp_path, PUNCHCARD_FAILPOINTS="device_sync.zk.attlog_before_commit=kill@1"
    )
    yield process
    await process.stop()


@pytest.fixture
async def punch(tmp_path):
    (tmp_path / "punch").mkdir()
    process = await start_service("punch", tmp_path / "punch")
    yield process
    await process.stop()


async def test_the_resent_batch_is_recorded_once(identity, killable_devices, punch):
    devices = killable_devices
    tenant = await new_tenant(identity, devices)
    workers = [await tenant.worker(f"Worker {n}") for n in range(3)]
    clock_id, serial = await zk_clock(tenant)
    await tenant.assign([(clock_id, w["id"]) for w in workers])
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
    batch = "".join(attlog_line(w["employee_id"], at) for w in workers)
    params = {"SN": serial, "table": "ATTLOG", "Stamp": "7"}
    async with httpx.AsyncClient(base_url=devices.url + "/iclock", timeout=30) as http:
        with pytest.raises(httpx.TransportError):
            await http.post("/cdata", params=params, content=batch.encode())

        async def died():
            return devices.process.poll() is not None

        await wait_for(died, timeout=60, what="device-sync killed mid-batch")
        await devices.start(PUNCHCARD_FAILPOINTS="")
        # The device resends (it never got OK), twice for good measure.
        for _ in range(2):
            response = await http.post("/cdata", params=params, content=batch.encode())
            assert response.status_code == 200 and response.text == "OK"

    for worker in workers:

        async def one(worker=worker):
            return len(await ledger(punch, tenant.id, worker["id"])) == 1

        await wait_for(one, timeout=60, what="the punch in the ledger")
    for worker in workers:
        assert len(await ledger(punch, tenant.id, worker["id"])) == 1
