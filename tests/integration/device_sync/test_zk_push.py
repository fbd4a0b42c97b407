"""Hardware clocks speaking ZK PUSH against the real services (identity, device-sync, punch):
a small device client in the test speaks the protocol (handshake, polls, ATTLOG uploads,
command results) as firmware does. Register → handshake → roster arrives → a punch sent
three times is recorded once in punch's ledger → a gap after being offline is filled without
doubles → unassign deletes the user → unknown serials get nothing until adopted; tenants
apart; malformed lines and huge bodies refused."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from tests.support.device_sync import new_tenant
from tests.support.messaging import wait_for
from tests.support.services import start_service
from tests.support.stack import unique

ZONE = "Europe/Madrid"
COMMAND = re.compile(r"^C:(\d+):(.*)$")


@pytest.fixture(scope="module")
async def zk_devices(tmp_path_factory):
    # A device unheard for 2 s is "back after offline"; serial lookups are not cached (an
    # adopted device is served at once).
    process = await start_service(
        "device-sync",
        tmp_path_factory.mktemp("device-sync-zk"),
        ZK_GAP_AFTER_OFFLINE_S="2",
        ZK_GAP_MARGIN_S="600",
        ZK_DEVICE_CACHE_S="0",
    )
    yield process
    await process.stop()


@pytest.fixture(scope="module")
async def punch(tmp_path_factory):
    process = await start_service("punch", tmp_path_factory.mktemp("punch"))
    yield process
    await process.stop()


class Device:
    """The device's side of the protocol (plain HTTP, text). ``suffix``: appended to each
    route (``.aspx``, as some rebadged firmware asks); ``serial_key``: the query's name of the
    serial (``SN``, or ``sn`` on such firmware)."""

    def __init__(
        self,
        url: str,
        serial: str,
        com_key: str | None = None,
        *,
        suffix: str = "",
        serial_key: str = "SN",
    ) -> None:
        self.serial = serial
        self.com_key = com_key
        self.suffix = suffix
        self.serial_key = serial_key
        self.http = httpx.AsyncClient(base_url=url + "/iclock", timeout=30)

    def _sn(self, **params: str) -> dict[str, str]:
        return {self.serial_key: self.serial, **params}

    async def close(self) -> None:
        await self.http.aclose()

    async def handshake(self) -> httpx.Response:
        """As firmware with a Comm Key does: the key on the handshake only."""
        params = self._sn(options="all", pushver="2.4.1")
        if self.com_key:
            params["pushcommkey"] = self.com_key
        return await self.http.get(f"/cdata{self.suffix}", params=params)

    async def time(self) -> httpx.Response:
        return await self.http.get(f"/cdata{self.suffix}", params=self._sn(type="time"))

    async def ping(self) -> httpx.Response:
        return await self.http.get(f"/ping{self.suffix}", params=self._sn())

    async def poll(self, info: str | None = None) -> httpx.Response:
        params = self._sn()
        if info:
            params["INFO"] = info
        return await self.http.get(f"/getrequest{self.suffix}", params=params)

    async def upload(self, table: str, body: str | bytes, stamp: str = "1") -> httpx.Response:
        return await self.http.post(
            f"/cdata{self.suffix}",
            params=self._sn(table=table, Stamp=stamp),
            content=body if isinstance(body, bytes) else body.encode(),
        )

    async def result(self, command_id: int, code: int = 0) -> httpx.Response:
        return await self.http.post(
            f"/devicecmd{self.suffix}",
            params=self._sn(),
            content=f"ID={command_id}&Return={code}&CMD=DATA\n".encode(),
        )

    async def wait_command(self, prefix: str) -> tuple[int, str]:
        """Poll until a command starting with ``prefix`` arrives; acknowledge the others."""
        found: list[tuple[int, str]] = []

        async def arrived():
            response = await self.poll()
            assert response.status_code == 200, response.text
            for line in response.text.splitlines():
                match = COMMAND.match(line)
                if match is None:
                    continue
                ident, cmd = int(match[1]), match[2]
                if cmd.startswith(prefix):
                    found.append((ident, cmd))
                    return True
                if cmd != "CHECK":
                    await self.result(ident, 0)
            return False

        await wait_for(arrived, timeout=30, interval=0.2, what=f"command {prefix}")
        return found[0]


def local(at: datetime) -> str:
    return at.astimezone(ZoneInfo(ZONE)).strftime("%Y-%m-%d %H:%M:%S")


def attlog_line(badge: str, at: datetime, state: int = 0, verify: int = 1) -> str:
    # As firmware sends it: work code and reserved fields after VerifyMode.
    return f"{badge}\t{local(at)}\t{state}\t{verify}\t0\t0\t0\n"


async def zk_clock(tenant, serial: str | None = None) -> tuple[str, str]:
    serial = serial or unique("ZK")
    response = await tenant.devices.post(
        "/clocks",
        json={
            "serial_number": serial,
            "name": unique("Clock"),
            "time_zone": ZONE,
            "protocol": "ZK_PUSH",
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["protocol"] == "ZK_PUSH"
    return response.json()["id"], serial


async def ledger(punch, tenant_id: str, worker_id: str) -> list[dict]:
    async with punch.admin(tenant_id) as http:
        response = await http.get("/punches", params={"worker_id": worker_id})
        assert response.status_code == 200, response.text
        return response.json()["data"]


async def dedup_rows(devices, clock_id: str) -> int:
    conn = await asyncpg.connect(devices.admin_url)
    try:
        return await conn.fetchval("SELECT count(*) FROM zk_punches WHERE clock_id = $1", clock_id)
    finally:
        await conn.close()


async def test_a_zk_clock_from_registration_to_removal(identity, zk_devices, punch):
    devices = zk_devices
    tenant = await new_tenant(identity, devices)
    worker = await tenant.worker("Ana Pérez")
    badge = worker["employee_id"]
    clock_id, serial = await zk_clock(tenant)
    device = Device(devices.url, serial)
    try:
        # The handshake: options, the server's stamps, the zone's offset now.
        response = await device.handshake()
        assert response.status_code == 200, response.text
        lines = response.text.splitlines()
        assert lines[0] == f"GET OPTION FROM: {serial}"
        offset = datetime.now(ZoneInfo(ZONE)).utcoffset()
        hours = int(offset.total_seconds() // 3600)
        assert f"TimeZone=+{hours:02d}:00" in lines
        assert "ATTLOGStamp=0" in lines and "Realtime=1" in lines
        assert (await device.time()).text.startswith("Time=")
        assert (await device.ping()).text == "OK"

        # The first poll carries INFO; the roster arrives once the worker is assigned.
        first = await device.poll("Ver 8.0.4,0,0,0,10.1.2.3,10,7,12,0")
        assert first.status_code == 200 and first.text == "OK"
        await tenant.assign([(clock_id, worker["id"])])
        ident, cmd = await device.wait_command("DATA UPDATE USERINFO")
        assert cmd == (
            f"DATA UPDATE USERINFO PIN={badge}\tName=Ana Pérez\tPri=0\tPasswd=\tCard=\tGrp=1"
            "\tTZ=0000000000000000\tVerifyMode=-1"
        )
        assert (await device.result(ident, 0)).text == "OK"
        commands = (await tenant.devices.get(f"/clocks/{clock_id}/commands")).json()["data"]
        upsert = next(c for c in commands if c["sequence"] == ident)
        assert upsert["result_code"] == 0 and upsert["acked_at"] is not None
        assert upsert["delivered_at"] is not None and upsert["deliveries"] >= 1

        # Status: INFO, last poll, the offset told.
        async def status():
            clock = (await tenant.devices.get(f"/clocks/{clock_id}")).json()
            return clock if (clock["device"] or {}).get("firmware") else None

        clock = await wait_for(status, timeout=30, what="device status written")
        assert clock["device"]["ip"] == "10.1.2.3" and clock["status"] == "online"
        assert clock["device"]["time_zone_offset"] == f"+{hours:02d}:00"

        # One punch, sent three times (the OK was "lost"): recorded once in the ledger.
        punched_at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
        line = attlog_line(badge, punched_at, state=0, verify=1)
        for _ in range(3):
            response = await device.upload("ATTLOG", line, stamp="100")
            assert response.status_code == 200 and response.text == "OK"

        async def recorded(count: int):
            async def check():
                rows = await ledger(punch, tenant.id, worker["id"])
                return rows if len(rows) >= count else None

            return await wait_for(check, timeout=60, what=f"{count} punches in the ledger")

        [first_punch] = await recorded(1)
        assert first_punch["direction"] == "IN"
        assert await dedup_rows(devices, clock_id) == 1

        # Offline for longer than the setting: the server asks for the missing range, and
        # the re-upload (old record and the one captured meanwhile) doubles nothing.
        await asyncio.sleep(3)
        ident, cmd = await device.wait_command("DATA QUERY ATTLOG")
        assert re.match(
            r"^DATA QUERY ATTLOG StartTime=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"
            r"\tEndTime=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$",
            cmd,
        )
        missed = punched_at + timedelta(minutes=1)
        reupload = line + attlog_line(badge, missed, state=1, verify=2)
        assert (await device.upload("ATTLOG", reupload, stamp="101")).text == "OK"
        assert (await device.result(ident, 0)).text == "OK"
        rows = await recorded(2)
        await asyncio.sleep(1)
        rows = await ledger(punch, tenant.id, worker["id"])
        assert len(rows) == 2
        assert sorted(r["direction"] for r in rows) == ["IN", "OUT"]
        assert await dedup_rows(devices, clock_id) == 2

        # The server keeps the stamp: the next handshake hands it back.
        assert "ATTLOGStamp=101" in (await device.handshake()).text.splitlines()

        # Unassigned: the device deletes the user.
        await tenant.assign([], unassign=[(clock_id, worker["id"])])
        ident, cmd = await device.wait_command("DATA DELETE USERINFO")
        assert cmd == f"DATA DELETE USERINFO PIN={badge}"
        assert (await device.result(ident, -10)).text == "OK"
        commands = (await tenant.devices.get(f"/clocks/{clock_id}/commands")).json()["data"]
        assert next(c for c in commands if c["sequence"] == ident)["result_code"] == -10
    finally:
        await device.close()


async def test_firmware_asking_for_aspx_paths_is_served_as_any_clock(identity, zk_devices, punch):
    """eSSL and other rebadged firmware (x2008's, for one) asks for ``/iclock/cdata.aspx``,
    ``getrequest.aspx`` and ``devicecmd.aspx``, and names the serial ``sn``: the same
    protocol. Without the aliases such a clock gets 404 to every request and never works."""
    devices = zk_devices
    tenant = await new_tenant(identity, devices)
    worker = await tenant.worker()
    badge = worker["employee_id"]
    clock_id, serial = await zk_clock(tenant)
    device = Device(devices.url, serial, suffix=".aspx", serial_key="sn")
    try:
        handshake = await device.handshake()
        assert handshake.status_code == 200, handshake.text
        assert handshake.text.splitlines()[0] == f"GET OPTION FROM: {serial}"
        assert (await device.time()).text.startswith("Time=")
        assert (await device.ping()).text == "OK"
        assert (await device.poll("Ver 6.60,0,0,0,10.1.2.4")).text == "OK"
        # The roster reaches it and its result is taken.
        await tenant.assign([(clock_id, worker["id"])])
        ident, cmd = await device.wait_command("DATA UPDATE USERINFO")
        assert cmd.startswith(f"DATA UPDATE USERINFO PIN={badge}\t")
        assert (await device.result(ident, 0)).text == "OK"
        commands = (await tenant.devices.get(f"/clocks/{clock_id}/commands")).json()["data"]
        assert next(c for c in commands if c["sequence"] == ident)["result_code"] == 0
        # Its punch, sent twice, is one punch in the ledger.
        punched_at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
        for _ in range(2):
            uploaded = await device.upload("ATTLOG", attlog_line(badge, punched_at), stamp="7")
            assert uploaded.status_code == 200 and uploaded.text == "OK"

        async def recorded():
            rows = await ledger(punch, tenant.id, worker["id"])
            return rows or None

        [row] = await wait_for(recorded, timeout=60, what="the .aspx clock's punch")
        assert row["direction"] == "IN" and row["clock_id"] == clock_id
        assert await dedup_rows(devices, clock_id) == 1
        assert "ATTLOGStamp=7" in (await device.handshake()).text.splitlines()
        # A route firmware never asks for is still not found.
        other = await device.http.get("/options.aspx", params={"sn": serial})
        assert other.status_code == 404
    finally:
        await device.close()


async def test_a_badge_in_other_capitals_is_the_workers(identity, zk_devices, punch):
    """A user entered on the device by hand, in the capitals of its keypad, punches as the
    worker whose Employee ID has small letters: one Employee ID in any case."""
    devices = zk_devices
    tenant = await new_tenant(identity, devices)
    worker = await tenant.worker()
    typed = worker["employee_id"].swapcase()
    assert typed != worker["employee_id"]
    clock_id, serial = await zk_clock(tenant)
    device = Device(devices.url, serial)
    try:
        assert (await device.handshake()).status_code == 200
        await tenant.assign([(clock_id, worker["id"])])
        at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
        assert (await device.upload("ATTLOG", attlog_line(typed, at))).text == "OK"

        async def recorded():
            rows = await ledger(punch, tenant.id, worker["id"])
            return rows or None

        [row] = await wait_for(recorded, timeout=60, what="the punch of the badge in capitals")
        assert row["clock_id"] == clock_id
    finally:
        await device.close()


async def test_a_serial_typed_in_small_letters_serves_the_device(identity, zk_devices):
    """The label prints ``CQZ…``, the admin types ``cqz…``: the device is served, and no one
    registers the same serial again in another case, in any tenant."""
    devices = zk_devices
    tenant = await new_tenant(identity, devices)
    other = await new_tenant(identity, devices)
    serial = unique("ZKCASE").upper()
    device = Device(devices.url, serial)
    try:
        # It called before it was registered: listed as trying to connect, until registered.
        assert (await device.handshake()).status_code == 401

        async def listed():
            data = (await tenant.devices.get("/devices/unregistered")).json()["data"]
            return serial in {d["serial_number"] for d in data}

        await wait_for(listed, timeout=30, what="the device listed as unregistered")
        clock_id, _ = await zk_clock(tenant, serial.lower())
        assert not await listed()
        handshake = await device.handshake()
        assert handshake.status_code == 200, handshake.text
        assert handshake.text.splitlines()[0] == f"GET OPTION FROM: {serial}"  # as it sent it
        assert (await device.poll("Ver 8.0.4,0,0,0,10.1.2.5")).text == "OK"
        for admin in (tenant, other):
            taken = await admin.devices.post(
                "/clocks",
                json={
                    "serial_number": serial,
                    "name": "x",
                    "time_zone": ZONE,
                    "protocol": "ZK_PUSH",
                },
            )
            assert taken.status_code == 409, taken.text
            assert taken.json()["code"] == "DUPLICATE_SERIAL_NUMBER"
        assert not await listed()
        clock = (await tenant.devices.get(f"/clocks/{clock_id}")).json()
        assert clock["serial_number"] == serial.lower()  # shown as typed
    finally:
        await device.close()


async def test_a_clock_with_a_comm_key_serves_only_the_keyed_device(identity, zk_devices):
    devices = zk_devices
    tenant = await new_tenant(identity, devices)
    serial = unique("ZKKEY")
    registered = await tenant.devices.post(
        "/clocks",
        json={
            "serial_number": serial,
            "name": "Keyed door",
            "time_zone": ZONE,
            "protocol": "ZK_PUSH",
            "com_key": "808080",
        },
    )
    assert registered.status_code == 201, registered.text
    clock = registered.json()
    assert clock["com_key_set"] is True and "808080" not in registered.text
    clock_id = clock["id"]
    stranger = Device(devices.url, serial)  # knows the serial, not the key
    wrong = Device(devices.url, serial, com_key="111111")
    keyed = Device(devices.url, serial, com_key="808080")
    try:
        assert (await stranger.handshake()).status_code == 401
        assert (await wrong.handshake()).status_code == 401
        # Nobody handshook with the key yet: uploads without it are refused, nothing kept.
        line = attlog_line("E1", datetime.now(UTC))
        assert (await stranger.upload("ATTLOG", line)).status_code == 401
        answer = await keyed.handshake()
        assert answer.status_code == 200 and "GET OPTION FROM" in answer.text
        # The keyed device's address (here, the test's) is served without the key again.
        assert (await keyed.poll()).status_code == 200
        assert (await keyed.upload("ATTLOG", line)).text == "OK"
        # A wrong key is refused even from there.
        assert (await wrong.handshake()).status_code == 401
        # The key removed: the clock is known by its serial alone again.
        removed = await tenant.devices.patch(f"/clocks/{clock_id}", json={"com_key": None})
        assert removed.status_code == 200 and removed.json()["com_key_set"] is False
        assert (await stranger.handshake()).status_code == 200
        # A kiosk app has no Comm Key; a bad key is a clear 422.
        kiosk = await tenant.devices.post(
            "/clocks",
            json={"serial_number": unique("KIOSK"), "name": "App", "time_zone": ZONE},
        )
        refused = await tenant.devices.patch(
            f"/clocks/{kiosk.json()['id']}", json={"com_key": "808080"}
        )
        assert refused.status_code == 409 and refused.json()["code"] == "NOT_A_ZK_CLOCK"
        bad = await tenant.devices.patch(f"/clocks/{clock_id}", json={"com_key": "80 80"})
        assert bad.status_code == 422 and bad.json()["field"] == "com_key"
    finally:
        for d in (stranger, wrong, keyed):
            await d.close()


async def test_unknown_serials_get_nothing_until_adopted(identity, zk_devices):
    devices = zk_devices
    tenant = await new_tenant(identity, devices)
    serial = unique("ZKNEW")
    device = Device(devices.url, serial)
    try:
        response = await device.handshake()
        assert response.status_code == 401 and "GET OPTION" not in response.text
        assert (await device.poll()).status_code == 401
        refused = await device.upload("ATTLOG", attlog_line("E1", datetime.now(UTC)))
        assert refused.status_code == 401  # the device keeps its records for later

        async def listed():
            data = (await tenant.devices.get("/devices/unregistered")).json()["data"]
            return next((d for d in data if d["serial_number"] == serial), None)

        seen = await wait_for(listed, timeout=30, what="unregistered device listed")
        assert seen["requests"] >= 3 and seen["push_version"] == "2.4.1"
        viewer = devices.admin(tenant.id, role="viewer")
        async with viewer:
            assert (await viewer.get("/devices/unregistered")).status_code == 403

        adopted = await tenant.devices.post(
            f"/devices/unregistered/{serial}/adopt", json={"name": "Dock", "time_zone": ZONE}
        )
        assert adopted.status_code == 201, adopted.text
        assert adopted.json()["protocol"] == "ZK_PUSH"
        assert adopted.json()["serial_number"] == serial
        response = await device.handshake()
        assert response.status_code == 200
        assert response.text.startswith(f"GET OPTION FROM: {serial}")
        assert await listed() is None
        again = await tenant.devices.post(
            f"/devices/unregistered/{serial}/adopt", json={"name": "Dock", "time_zone": ZONE}
        )
        assert again.status_code == 404

        # Revoked: nothing useful again.
        clock_id = adopted.json()["id"]
        revoked = await tenant.devices.post(f"/clocks/{clock_id}/revoke", json={"reason": "x"})
        assert revoked.status_code == 200
        assert (await device.poll()).status_code == 401
    finally:
        await device.close()


async def test_a_device_of_one_tenant_never_sees_or_changes_another(identity, zk_devices):
    devices = zk_devices
    a = await new_tenant(identity, devices)
    b = await new_tenant(identity, devices)
    worker = await a.worker()
    clock_a, serial_a = await zk_clock(a)
    clock_b, serial_b = await zk_clock(b)
    # A serial is unique across tenants.
    taken = await b.devices.post(
        "/clocks",
        json={"serial_number": serial_a, "name": "x", "time_zone": ZONE, "protocol": "ZK_PUSH"},
    )
    assert taken.status_code == 409 and taken.json()["code"] == "DUPLICATE_SERIAL_NUMBER"
    device_a, device_b = Device(devices.url, serial_a), Device(devices.url, serial_b)
    try:
        await a.assign([(clock_a, worker["id"])])
        ident, _ = await device_a.wait_command("DATA UPDATE USERINFO")
        # B's device acknowledges A's command id and uploads A's badge: nothing of A changes.
        assert (await device_b.result(ident, -1)).text == "OK"
        queue = (await a.devices.get(f"/clocks/{clock_a}/commands")).json()["data"]
        assert next(c for c in queue if c["sequence"] == ident)["acked_at"] is None
        line = attlog_line(worker["employee_id"], datetime.now(UTC))
        assert (await device_b.upload("ATTLOG", line)).text == "OK"
        assert (await device_b.poll()).text == "OK"
        assert await dedup_rows(devices, clock_a) == 0
        assert await dedup_rows(devices, clock_b) == 1
        # B's admin does not see A's clock.
        assert (await b.devices.get(f"/clocks/{clock_a}")).status_code == 404
    finally:
        await device_a.close()
        await device_b.close()


async def test_malformed_lines_are_refused_by_number_and_huge_bodies_413(identity, zk_devices):
    devices = zk_devices
    tenant = await new_tenant(identity, devices)
    clock_id, serial = await zk_clock(tenant)
    device = Device(devices.url, serial)
    try:
        now = datetime.now(UTC)
        body = (
            attlog_line("E1", now)
            + "E2\t2026-02-30 08:00:00\t0\t1\n"  # bad date
            + "E3\t0\n"  # wrong field count
            + ("E4" * 40)
            + f"\t{local(now)}\t0\t1\n"  # overlong PIN
            + attlog_line("E5", now)
        )
        response = await device.upload("ATTLOG", body)
        assert response.status_code == 200 and response.text == "OK"
        assert await dedup_rows(devices, clock_id) == 2
        logged = [json.loads(x) for x in devices.log_file.read_text().splitlines() if x[:1] == "{"]
        refused = [
            e["line"]
            for e in logged
            if e.get("event") == "ZK ATTLOG line refused" and e.get("clock_id") == clock_id
        ]
        assert sorted(refused) == [2, 3, 4]
        huge = await device.upload("ATTLOG", b"E1\t" * (1024 * 1024))
        assert huge.status_code == 413
        assert await dedup_rows(devices, clock_id) == 2
        # Other tables: OK, never an error loop.
        assert (await device.upload("ATTPHOTO", b"\xff\xd8binary", stamp="555")).text == "OK"
        # The photo is not kept, its Stamp is: the next handshake hands it back (before, 0,
        # and the device sent every photo again).
        assert "ATTPHOTOStamp=555" in (await device.handshake()).text.splitlines()
        assert (await device.upload("FUTURELOG", "x=1")).text == "OK"
        assert (await device.upload("OPERLOG", "USER PIN=1\tName=A\n")).text == "OK"
        # Junk queries are 4xx, never 5xx.
        bad = await device.http.get("/getrequest", params={"SN": "a b"})
        assert bad.status_code == 400
    finally:
        await device.close()
