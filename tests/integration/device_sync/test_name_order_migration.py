"""Migration 0014 on a database that already has clocks (as the non-superuser owner a
deployment migrates with): the clocks list's index is rebuilt in ICU's root collation and the
C one dropped, and back again on a downgrade."""

import asyncio
import uuid

import asyncpg
from alembic import command
from punchcard_kit.migrations import alembic_config, upgrade_async

from tests.support.databases import admin_url, drop_database, index_definitions, new_database

PACKAGE = "punchcard_device_sync"
NAMES = ["Zulu Gate", "Éclair Door", "anna", "Åsa", "Bob"]


async def _indexes(url: str) -> dict[str, str]:
    return await index_definitions(url, "clocks", "clocks_tenant_name%")


async def test_the_clocks_lists_index_is_rebuilt_in_icus_order():
    url = await new_database("device-sync")
    try:
        await upgrade_async(url, PACKAGE, "0013")
        tenant = uuid.uuid4()
        conn = await asyncpg.connect(admin_url(url))
        try:
            for name in NAMES:
                await conn.execute(
                    "INSERT INTO clocks (id, tenant_id, serial_number, name, time_zone)"
                    " VALUES ($1, $2, $3, $4, 'UTC')",
                    uuid.uuid4(),
                    tenant,
                    f"SN-{uuid.uuid4().hex[:8]}",
                    name,
                )
        finally:
            await conn.close()
        assert set(await _indexes(url)) == {"clocks_tenant_name"}

        await upgrade_async(url, PACKAGE, "head")
        after = await _indexes(url)
        assert set(after) == {"clocks_tenant_name_icu"}
        assert 'name COLLATE "und-x-icu", id)' in after["clocks_tenant_name_icu"], after

        await asyncio.to_thread(command.downgrade, alembic_config(url, PACKAGE), "0013")
        assert set(await _indexes(url)) == {"clocks_tenant_name"}
        await upgrade_async(url, PACKAGE, "head")
        assert await _indexes(url) == after
    finally:
        await drop_database(url)
