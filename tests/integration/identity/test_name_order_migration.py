"""Migration 0010 on a database that already has workers (as the non-superuser owner a
deployment migrates with): the list's indexes are rebuilt in ICU's root collation and the C
ones dropped, and back again on a downgrade."""

import asyncio
import uuid

import asyncpg
from alembic import command
from punchcard_identity.views import WORKER_ORDER
from punchcard_kit.migrations import alembic_config, upgrade_async

from tests.support.databases import admin_url, drop_database, index_definitions, new_database

PACKAGE = "punchcard_identity"
NAMES = ["Zoë", "Åsa", "anna", "Émile", "Bob"]


async def _indexes(url: str) -> dict[str, str]:
    return await index_definitions(url, "workers", "workers_tenant_%name%")


async def test_the_lists_indexes_are_rebuilt_in_icus_order():
    url = await new_database("identity")
    try:
        await upgrade_async(url, PACKAGE, "0009")
        tenant = uuid.uuid4()
        conn = await asyncpg.connect(admin_url(url))
        try:
            for n, name in enumerate(NAMES):
                await conn.execute(
                    "INSERT INTO workers (id, tenant_id, employee_id, name, site_id, status)"
                    " VALUES ($1, $2, $3, $4, 'north', 'Active')",
                    uuid.uuid4(),
                    tenant,
                    f"E{n}",
                    name,
                )
        finally:
            await conn.close()
        assert set(await _indexes(url)) == {"workers_tenant_name", "workers_tenant_site_name"}

        await upgrade_async(url, PACKAGE, "head")
        after = await _indexes(url)
        assert set(after) == {"workers_tenant_name_icu", "workers_tenant_site_name_icu"}
        assert all('name COLLATE "und-x-icu", employee_id)' in d for d in after.values()), after
        conn = await asyncpg.connect(admin_url(url))
        try:
            listed = await conn.fetch(
                f"SELECT w.name FROM workers w WHERE w.tenant_id = $1 {WORKER_ORDER}", tenant
            )
        finally:
            await conn.close()
        assert [r["name"] for r in listed] == ["anna", "Åsa", "Bob", "Émile", "Zoë"]

        await asyncio.to_thread(command.downgrade, alembic_config(url, PACKAGE), "0009")
        assert set(await _indexes(url)) == {"workers_tenant_name", "workers_tenant_site_name"}
        await upgrade_async(url, PACKAGE, "head")
        assert await _indexes(url) == after
    finally:
        await drop_database(url)
