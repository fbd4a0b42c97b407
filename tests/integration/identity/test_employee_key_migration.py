"""Migration 0008 on a database that already has workers (as the non-superuser owner a
deployment migrates with): each worker gains its Employee ID's key in capitals, and a tenant
holding two IDs that differ only in case stops the migration, naming the index, instead of
leaving the PIN check to pick one of them."""

import uuid

import asyncpg
import pytest
from punchcard_kit.credentials import employee_id_key
from punchcard_kit.migrations import upgrade_async

from tests.support.databases import admin_url, drop_database, new_database

PACKAGE = "punchcard_identity"


async def _workers(url: str, tenant: str, employee_ids: list[str]) -> None:
    conn = await asyncpg.connect(admin_url(url))
    try:
        for employee_id in employee_ids:
            await conn.execute(
                "INSERT INTO workers (id, tenant_id, employee_id, name, status)"
                " VALUES ($1, $2, $3, 'W', 'Active')",
                uuid.uuid4(),
                tenant,
                employee_id,
            )
    finally:
        await conn.close()


async def test_existing_workers_gain_their_keys():
    url = await new_database("identity")
    try:
        await upgrade_async(url, PACKAGE, "0007")
        tenant, other = str(uuid.uuid4()), str(uuid.uuid4())
        await _workers(url, tenant, ["jsmith", "E-7_a", "42"])
        await _workers(url, other, ["JSMITH"])  # another tenant's: no clash
        await upgrade_async(url, PACKAGE, "head")
        conn = await asyncpg.connect(admin_url(url))
        try:
            rows = await conn.fetch(
                "SELECT employee_id, employee_key FROM workers WHERE tenant_id = $1", tenant
            )
        finally:
            await conn.close()
        assert {r["employee_id"]: r["employee_key"] for r in rows} == {
            e: employee_id_key(e) for e in ("jsmith", "E-7_a", "42")
        }
    finally:
        await drop_database(url)


async def test_two_ids_differing_only_in_case_stop_the_migration():
    url = await new_database("identity")
    try:
        await upgrade_async(url, PACKAGE, "0007")
        await _workers(url, str(uuid.uuid4()), ["ab12", "AB12"])
        with pytest.raises(Exception, match="workers_tenant_employee_key"):
            await upgrade_async(url, PACKAGE, "head")
    finally:
        await drop_database(url)
