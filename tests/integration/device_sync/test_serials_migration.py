"""Migration 0012 on a database whose ZK clocks were registered as typed (as the
non-superuser owner a deployment migrates with): each serial's row becomes its key
(``zk.serial_key``, capitals), so the device that sends its serial as the label prints it is
served; a row whose key another row holds already is left as it was."""

import uuid

import asyncpg
from punchcard_device_sync.domain import zk
from punchcard_kit.migrations import upgrade_async

from tests.support.databases import admin_url, drop_database, new_database

PACKAGE = "punchcard_device_sync"


async def test_serials_registered_in_small_letters_become_their_keys():
    url = await new_database("device-sync")
    try:
        await upgrade_async(url, PACKAGE, "0011")
        tenant = str(uuid.uuid4())
        serials = ["cqz7232360123", "Ab12", "ZK9", "dup1", "DUP1"]
        clocks = {s: str(uuid.uuid4()) for s in serials}
        conn = await asyncpg.connect(admin_url(url))
        try:
            for serial, clock in clocks.items():
                await conn.execute(
                    "INSERT INTO clocks (id, tenant_id, serial_number, name, time_zone, protocol)"
                    " VALUES ($1, $2, $3, 'Door', 'UTC', 'ZK_PUSH')",
                    clock,
                    tenant,
                    serial,
                )
                await conn.execute(
                    "INSERT INTO zk_devices (serial_number, clock_id, tenant_id)"
                    " VALUES ($1, $2, $3)",
                    serial,
                    clock,
                    tenant,
                )
        finally:
            await conn.close()

        await upgrade_async(url, PACKAGE, "head")

        conn = await asyncpg.connect(admin_url(url))
        try:
            rows = dict(await conn.fetch("SELECT clock_id::text, serial_number FROM zk_devices"))
            typed = dict(await conn.fetch("SELECT id::text, serial_number FROM clocks"))
        finally:
            await conn.close()
        assert rows[clocks["cqz7232360123"]] == zk.serial_key("cqz7232360123")
        assert rows[clocks["Ab12"]] == "AB12" and rows[clocks["ZK9"]] == "ZK9"
        # "DUP1" held the key already: it serves the device; "dup1" stays as it was.
        assert rows[clocks["DUP1"]] == "DUP1" and rows[clocks["dup1"]] == "dup1"
        assert typed == {clock: serial for serial, clock in clocks.items()}  # shown as typed
    finally:
        await drop_database(url)
