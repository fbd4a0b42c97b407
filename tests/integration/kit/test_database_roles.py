"""A service's database roles as production has them (issue 14): the login role owns its
database and is no superuser; the NOLOGIN row-level-security roles are named after the database
(roles are cluster-wide) and granted to the owner, whether a DBA made them beforehand (the owner
then needs no CREATEROLE) or the owner made them itself with CREATEROLE."""

import asyncpg
import pytest
from punchcard_kit.migrations import upgrade_async
from punchcard_kit.provisioning import provision
from punchcard_kit.tenancy import tenant_transaction

from tests.support.databases import drop_database
from tests.support.stack import PG_URL, unique


async def _serves_a_tenant(dsn: str) -> None:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
    try:
        async with tenant_transaction(pool, "app", None) as conn:
            role = await conn.fetchval("SELECT current_user")
            assert await conn.fetchval("SELECT count(*) FROM workers") == 0
    finally:
        await pool.close()
    assert role == dsn.rsplit("/", 1)[1] + "_app"


async def _owner_with(attributes: str) -> str:
    """A login role owning a fresh database, none of its NOLOGIN roles made beforehand."""
    dsn = await provision(
        PG_URL, "identity", unique("roles_test"), password="pw-" + "x" * 8, purposes=()
    )
    name = dsn.rsplit("/", 1)[1]
    admin = await asyncpg.connect(f"{PG_URL}/postgres")
    try:
        await admin.execute(f'ALTER ROLE "{name}" {attributes}')
    finally:
        await admin.close()
    return dsn


async def test_an_owner_with_createrole_makes_and_joins_its_own_roles():
    dsn = await _owner_with("CREATEROLE")
    try:
        await upgrade_async(dsn, "punchcard_identity")
        await _serves_a_tenant(dsn)
    finally:
        await drop_database(dsn)


async def test_an_owner_without_createrole_is_told_what_the_dba_must_do():
    dsn = await _owner_with("NOCREATEROLE")
    try:
        with pytest.raises(Exception, match="may not create roles") as refused:
            await upgrade_async(dsn, "punchcard_identity")
        assert "_app does not exist" in str(refused.value)
    finally:
        await drop_database(dsn)


async def test_two_databases_of_one_service_share_no_role():
    first = await provision(PG_URL, "identity", unique("roles_test"), password="pw-" + "x" * 8)
    second = await provision(PG_URL, "identity", unique("roles_test"), password="pw-" + "y" * 8)
    try:
        for dsn in (first, second):
            await upgrade_async(dsn, "punchcard_identity")
            await _serves_a_tenant(dsn)
        # The first database's owner may not act as the second's application role.
        conn = await asyncpg.connect(first)
        try:
            other = second.rsplit("/", 1)[1] + "_app"
            assert not await conn.fetchval("SELECT pg_has_role(current_user, $1, 'MEMBER')", other)
        finally:
            await conn.close()
    finally:
        await drop_database(first)
        await drop_database(second)


async def test_a_database_the_superuser_made_is_handed_to_the_service_role():
    """`make run` on a machine where earlier versions migrated as `postgres`: provisioning hands
    the database and everything in it to the service's own role, which then migrates and
    serves (the gateway: its SECURITY DEFINER functions stay with their NOLOGIN owner)."""
    name = unique("roles_test")
    admin = await asyncpg.connect(f"{PG_URL}/postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    await upgrade_async(f"{PG_URL}/{name}", "punchcard_gateway")
    dsn = await provision(PG_URL, "gateway", name, password="pw-" + "z" * 8)
    try:
        await upgrade_async(dsn, "punchcard_gateway")
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
        try:
            async with tenant_transaction(pool, "app", None) as conn:
                assert await conn.fetchval("SELECT gateway_tenant_of_email('a@b.c')") is None
                assert await conn.fetchval("SELECT count(*) FROM tenants") == 0
            async with pool.acquire() as conn:
                owners = await conn.fetch(
                    "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'"
                )
        finally:
            await pool.close()
        assert [r[0] for r in owners] == [name]
    finally:
        await drop_database(dsn)
