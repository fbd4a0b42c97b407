"""Biometric templates from hardware clocks against the real device-sync and its database.

Most tests drive an upload through device-sync's own service-layer entry
(``StoredBiometrics.uploaded``, the seam the ZK edge calls) on the PostgreSQL unit of work, with
the key the running process holds; the rest is the real process: the admin API (counts,
per-clock state, deletion, roles, tenants), the queue, the acknowledgements, and the
deactivation from identity's events. The last test goes end to end over the ZK PUSH protocol
(``/iclock/*``): a fingerprint enrolled on clock A reaches clock B, and deactivation deletes it
everywhere."""

from __future__ import annotations

import base64
import os
import uuid

import asyncpg
import httpx
import pytest
from punchcard_device_sync.adapters.postgres import PostgresUnitOfWork
from punchcard_device_sync.adapters.sealing import AesGcmSealer
from punchcard_device_sync.domain.model import CommandKind
from punchcard_device_sync.domain.zk_records import OperRecord
from punchcard_device_sync.service_layer.biometrics import StoredBiometrics

from tests.support.device_sync import Tenant, new_tenant, queue_of
from tests.support.messaging import wait_for
from tests.support.services import start_service
from tests.support.stack import unique

KEY = os.urandom(32)
TMP = base64.b64encode(b"\x03minutiae of a right index finger\xfe" * 12).decode()
FACE_TMP = base64.b64encode(b"visible-light face template" * 20).decode()


@pytest.fixture(scope="module")
async def devices(tmp_path_factory):
    """device-sync with a biometric key of its own (the test seals uploads with the same)."""
    process = await start_service(
        "device-sync",
        tmp_path_factory.mktemp("device-sync"),
        AUTO_RESYNC_MIN_INTERVAL_S="0",
        BIOMETRIC_KEY=base64.b64encode(KEY).decode(),
    )
    yield process
    await process.stop()


@pytest.fixture(scope="module")
async def pool(devices):
    """The service's own login on its database (the unit of work takes its app role, RLS)."""
    pool = await asyncpg.create_pool(devices.database_url, min_size=1, max_size=2)
    yield pool
    await pool.close()


BIO = StoredBiometrics(AesGcmSealer(KEY))


async def zk_clocks(tenant: Tenant, devices, count: int, site_id: str = "") -> list[tuple]:
    """Clocks registered through the admin API, then marked ZK_PUSH in the database (the edge
    adds ``protocol`` to POST /clocks; until then the column is set here)."""
    made = await tenant.clocks(count, site_id)
    conn = await asyncpg.connect(devices.admin_url)
    try:
        await conn.execute(
            "UPDATE clocks SET protocol = 'ZK_PUSH' WHERE id = ANY($1::uuid[])",
            [clock_id for clock_id, _ in made],
        )
    finally:
        await conn.close()
    return made


async def on_two_zk_clocks(identity, devices, name: str):
    """A new tenant's worker assigned to two ZK PUSH clocks registered through the admin API:
    (tenant, worker id, badge, [(clock id, serial)] × 2)."""
    tenant = await new_tenant(identity, devices)
    worker = await tenant.worker(name)
    clocks = []
    for serial in (unique("ZKA"), unique("ZKB")):
        response = await tenant.devices.post(
            "/clocks",
            json={"serial_number": serial, "name": unique("ZK"), "site_id": "",
                  "time_zone": "Europe/Madrid", "protocol": "ZK_PUSH"},
        )  # fmt: skip
        assert response.status_code == 201, response.text
        clocks.append((response.json()["id"], serial))
    await tenant.assign([(clock_id, worker["id"]) for clock_id, _ in clocks])
    return tenant, worker["id"], worker["employee_id"], clocks


async def upload(pool, tenant_id: str, clock_id: str, records) -> None:
    uow = PostgresUnitOfWork.on_pool(pool, tenant_id)
    async with uow:
        await BIO.uploaded(uow, clock_id, records)
        await uow.commit()


async def lines(pool, tenant_id: str, kind: CommandKind, worker_id: str, badge: str) -> list:
    uow = PostgresUnitOfWork.on_pool(pool, tenant_id)
    async with uow:
        return await BIO.command_lines(
            uow, kind, {"worker": {"worker_id": worker_id, "employee_id": badge}}
        )


async def stored(devices, tenant_id: str, worker_id: str) -> list[asyncpg.Record]:
    """The template rows as the database holds them (superuser: the test's eyes)."""
    conn = await asyncpg.connect(devices.admin_url)
    try:
        return await conn.fetch(
            "SELECT kind, slot_no, source, sealed, source_clock_id::text"
            " FROM biometric_templates WHERE tenant_id = $1 AND worker_id = $2",
            tenant_id,
            worker_id,
        )
    finally:
        await conn.close()


async def bodies(devices, clock_id: str) -> list[str]:
    conn = await asyncpg.connect(devices.admin_url)
    try:
        rows = await conn.fetch(
            "SELECT body FROM clock_commands WHERE clock_id = $1 ORDER BY sequence", clock_id
        )
        return [r["body"] for r in rows]
    finally:
        await conn.close()


def fp(badge: str, fid: int = 6) -> OperRecord:
    fields = {"PIN": badge, "FID": str(fid), "Size": str(len(TMP)), "Valid": "1", "TMP": TMP}
    return OperRecord("FP", fields, 1)


def face(badge: str) -> OperRecord:
    fields = {
        "Pin": badge, "No": "0", "Index": "0", "Valid": "1", "Duress": "0", "Type": "9",
        "MajorVer": "5", "MinorVer": "8", "Format": "0", "Tmp": FACE_TMP,
    }  # fmt: skip
    return OperRecord("BIODATA", fields, 2)


async def test_templates_are_sealed_counted_pushed_and_deleted_everywhere(identity, devices, pool):
    tenant = await new_tenant(identity, devices)
    worker = await tenant.worker("Finger Print")
    wid, badge = worker["id"], worker["employee_id"]
    (a, cred_a), (b, cred_b) = await zk_clocks(tenant, devices, 2)
    [(kiosk, _)] = await tenant.clocks(1)
    await tenant.assign([(a, wid), (b, wid), (kiosk, wid)])

    # Clock A uploads a fingerprint and a face; a badge the tenant does not know is ignored.
    await upload(pool, tenant.id, a, [fp(badge), face(badge), fp("no-such-badge")])

    rows = await stored(devices, tenant.id, wid)
    assert sorted((r["kind"], r["source"]) for r in rows) == [
        ("FACE", "BIODATA"),
        ("FINGERPRINT", "FP"),
    ]
    for row in rows:
        # Encrypted at rest: neither the base64 nor the template's bytes are in the row.
        sealed = bytes(row["sealed"])
        assert TMP.encode() not in sealed and base64.b64decode(TMP)[:32] not in sealed
        assert FACE_TMP.encode() not in sealed and row["source_clock_id"] == a
    # Only the other ZK clock gets the push, and the queue holds no template.
    assert [r["kind"] for r in await queue_of(devices.database_url, b)][-1] == "UPSERT_TEMPLATES"
    assert "UPSERT_TEMPLATES" not in [r["kind"] for r in await queue_of(devices.database_url, a)]
    assert "UPSERT_TEMPLATES" not in [
        r["kind"] for r in await queue_of(devices.database_url, kiosk)
    ]
    assert not any(TMP in body or FACE_TMP in body for body in await bodies(devices, b))
    # Expanded at delivery: the templates opened with the process's key, in their own forms.
    pushed = await lines(pool, tenant.id, CommandKind.UPSERT_TEMPLATES, wid, badge)
    assert sorted(line.split(" ", 3)[2] for line in pushed) == ["BIODATA", "FINGERTMP"]
    assert f"DATA UPDATE FINGERTMP PIN={badge}\tFID=6\tSize={len(TMP)}\tValid=1\tTMP={TMP}" in (
        pushed
    )

    response = await tenant.devices.get(f"/workers/{wid}/biometrics")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["fingerprints"], body["faces"], body["palms"], body["photos"]) == (1, 1, 0, 0)
    assert body["updated_at"] is not None
    assert [(c["clock_id"], c["kind"], c["state"]) for c in body["clocks"]] == [
        (b, "UPSERT_TEMPLATES", "waiting")
    ]
    assert TMP not in response.text

    # A viewer may read, never delete; nothing changed.
    viewer = devices.admin(tenant.id, role="viewer")
    assert (await viewer.delete(f"/workers/{wid}/biometrics")).status_code == 403
    assert len(await stored(devices, tenant.id, wid)) == 2

    # The admin deletes: nothing stored any more, DELETE_TEMPLATES to both ZK clocks.
    response = await tenant.devices.delete(f"/workers/{wid}/biometrics")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["fingerprints"], body["faces"]) == (0, 0)
    assert sorted((c["clock_id"], c["kind"], c["state"]) for c in body["clocks"]) == sorted(
        [(a, "DELETE_TEMPLATES", "waiting"), (b, "DELETE_TEMPLATES", "waiting")]
    )
    assert await stored(devices, tenant.id, wid) == []
    assert "DELETE_TEMPLATES" not in [
        r["kind"] for r in await queue_of(devices.database_url, kiosk)
    ]
    deleted = await lines(pool, tenant.id, CommandKind.UPSERT_TEMPLATES, wid, badge)
    assert deleted == []  # a push still pending elsewhere would now carry nothing

    # Each clock acknowledges its deletion (the existing ack path): A applied it, B refused.
    async def ack(clock_id: str, credential: str, code: int) -> None:
        [command] = [
            r for r in await queue_of(devices.database_url, clock_id)
            if r["kind"] == "DELETE_TEMPLATES"
        ]  # fmt: skip
        conn = await asyncpg.connect(devices.admin_url)
        try:
            command_id = await conn.fetchval(
                "SELECT command_id::text FROM clock_commands WHERE clock_id = $1 AND sequence = $2",
                clock_id,
                command["sequence"],
            )
        finally:
            await conn.close()
        async with httpx.AsyncClient(base_url=devices.url, timeout=30) as http:
            response = await http.post(
                "/clock/v1/acks",
                headers={"Authorization": f"Bearer {credential}"},
                json={
                    "acks": [
                        {"command_id": command_id, "sequence": command["sequence"],
                         "result_code": code, "detail": ""}
                    ]
                },
            )  # fmt: skip
        assert response.status_code == 200, response.text

    await ack(a, cred_a, 0)
    await ack(b, cred_b, -1002)
    body = (await tenant.devices.get(f"/workers/{wid}/biometrics")).json()
    states = {c["clock_id"]: (c["state"], c["result_code"]) for c in body["clocks"]}
    assert states == {a: ("acknowledged", 0), b: ("failed", -1002)}


async def test_sites_and_tenants_see_only_their_workers_biometrics(identity, devices, pool):
    tenant = await new_tenant(identity, devices)
    worker = await tenant.worker("Other Site")
    wid = worker["id"]
    [(a, _)] = await zk_clocks(tenant, devices, 1)
    await tenant.assign([(a, wid)])
    await upload(pool, tenant.id, a, [fp(worker["employee_id"])])

    other_tenant = devices.admin(str(uuid.uuid4()))
    assert (await other_tenant.get(f"/workers/{wid}/biometrics")).status_code == 404
    assert (await other_tenant.delete(f"/workers/{wid}/biometrics")).status_code == 404
    manager = devices.admin(tenant.id, role="manager", sites=(unique("site"),))
    assert (await manager.get(f"/workers/{wid}/biometrics")).status_code == 404
    assert (await manager.delete(f"/workers/{wid}/biometrics")).status_code == 404
    assert (await tenant.devices.get("/workers/not-a-uuid/biometrics")).status_code == 422
    assert len(await stored(devices, tenant.id, wid)) == 1
    # The other tenant's unit of work does not see the row either (RLS).
    assert await lines(pool, str(uuid.uuid4()), CommandKind.UPSERT_TEMPLATES, wid, "x") == []


async def test_a_deactivated_workers_templates_are_deleted(identity, devices, pool):
    tenant = await new_tenant(identity, devices)
    worker = await tenant.worker("Leaving Soon")
    wid = worker["id"]
    (a, _), (b, _) = await zk_clocks(tenant, devices, 2)
    await tenant.assign([(a, wid), (b, wid)])
    await upload(pool, tenant.id, a, [fp(worker["employee_id"])])
    assert len(await stored(devices, tenant.id, wid)) == 1

    response = await tenant.identity.patch(f"/workers/{wid}", json={"status": "Inactive"})
    assert response.status_code == 200, response.text

    async def forgotten():
        return await stored(devices, tenant.id, wid) == []

    await wait_for(forgotten, timeout=30, what="the Inactive worker's templates deleted")
    # Every clock removes the user, and with them their templates on the device.
    for clock_id in (a, b):
        assert [r["kind"] for r in await queue_of(devices.database_url, clock_id)][-1] == (
            "REMOVE_WORKER"
        )


async def test_fingerprint_enrolled_on_clock_a_appears_on_clock_b_and_deactivation_deletes_it(
    identity, devices
):
    """Over the protocol: a fingerprint enrolled on clock A appears on clock B; worker
    deactivated → templates deleted everywhere. Enable once the edge is merged (clocks
    registered with ``protocol: ZK_PUSH``; the edge's container wired with
    ``StoredBiometrics``)."""
    tenant, wid, badge, clocks = await on_two_zk_clocks(identity, devices, "Enrolled Elsewhere")
    serials = [serial for _, serial in clocks]
    sn_a, sn_b = serials
    async with httpx.AsyncClient(base_url=devices.url, timeout=30) as device:
        for sn in serials:  # handshake
            assert (await device.get(f"/iclock/cdata?SN={sn}&options=all")).status_code == 200
        line = f"FP PIN={badge}\tFID=6\tSize={len(TMP)}\tValid=1\tTMP={TMP}\n"
        response = await device.post(f"/iclock/cdata?SN={sn_a}&table=OPERLOG", content=line)
        assert response.status_code == 200 and response.text.startswith("OK")

        async def on_b():
            text = (await device.get(f"/iclock/getrequest?SN={sn_b}")).text
            return f"DATA UPDATE FINGERTMP PIN={badge}\tFID=6" in text and text

        text = await wait_for(on_b, timeout=30, what="the fingerprint offered to clock B")
        assert f"TMP={TMP}" in text

        response = await tenant.identity.patch(f"/workers/{wid}", json={"status": "Inactive"})
        assert response.status_code == 200, response.text

        async def removed(sn: str):
            text = (await device.get(f"/iclock/getrequest?SN={sn}")).text
            return f"DATA DELETE USERINFO PIN={badge}" in text

        for sn in serials:
            await wait_for(lambda sn=sn: removed(sn), timeout=30, what=f"{sn} removes the user")
    body = (await tenant.devices.get(f"/workers/{wid}/biometrics")).json()
    assert (body["fingerprints"], body["faces"]) == (0, 0)


async def test_a_face_enrolled_on_push3_firmware_uploads_as_biodata_and_reaches_other_clocks(
    identity, devices
):
    """PUSH 3.x firmware (visible-light face terminals) uploads templates with
    ``table=BIODATA`` and no ``Stamp`` (the handshake has no BIODATA stamp): answered ``OK``,
    the template stored and offered to the worker's other clock, as an OPERLOG upload is."""
    tenant, wid, badge, clocks = await on_two_zk_clocks(identity, devices, "Face Enrolled")
    serials = [serial for _, serial in clocks]
    sn_a, sn_b = serials
    async with httpx.AsyncClient(base_url=devices.url, timeout=30) as device:
        for sn in serials:
            query = f"SN={sn}&options=all&pushver=3.1.1"
            assert (await device.get(f"/iclock/cdata?{query}")).status_code == 200
        line = (
            f"BIODATA Pin={badge}\tNo=0\tIndex=0\tValid=1\tDuress=0\tType=9\tMajorVer=5"
            f"\tMinorVer=8\tFormat=0\tTmp={FACE_TMP}\n"
        )
        response = await device.post(f"/iclock/cdata?SN={sn_a}&table=BIODATA", content=line)
        assert response.status_code == 200, response.text
        assert response.text == "OK"

        async def on_b():
            text = (await device.get(f"/iclock/getrequest?SN={sn_b}")).text
            return f"DATA UPDATE BIODATA Pin={badge}" in text and text

        text = await wait_for(on_b, timeout=30, what="the face offered to clock B")
        assert f"Tmp={FACE_TMP}" in text
    assert [(r["kind"], r["source_clock_id"]) for r in await stored(devices, tenant.id, wid)] == [
        ("FACE", clocks[0][0])
    ]
    body = (await tenant.devices.get(f"/workers/{wid}/biometrics")).json()
    assert (body["fingerprints"], body["faces"]) == (0, 1)
