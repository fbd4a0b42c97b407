"""A connection given back to a kit pool (no reset query: punchcard_kit.db.reset_nothing_more)
keeps nothing of the tenant, role or locks its last transaction had, whether that transaction
committed, rolled back or was left open by its holder."""

import asyncpg
import pytest
from punchcard_kit.db import create_pool
from punchcard_kit.migrations import upgrade_async
from punchcard_kit.tenancy import tenant_transaction

from tests.support.databases import drop_database, new_database


@pytest.fixture
async def dsn():
    dsn = await new_database("identity", "pool_release")
    await upgrade_async(dsn, "punchcard_identity")
    yield dsn
    await drop_database(dsn)


async def _clean(pool: asyncpg.Pool, login: str) -> None:
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT current_user") == login
        assert not await conn.fetchval("SELECT current_setting('app.tenant_id', true)")
        assert not conn.is_in_transaction()
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                " AND pid = pg_backend_pid()"
            )
            == 0
        )


async def test_nothing_of_a_tenant_transaction_stays_on_the_connection(dsn):
    login = dsn.rsplit("/", 1)[1]
    pool = await create_pool(dsn, min_size=1, max_size=1)
    try:
        tenant = "6f1d2c3b-0000-4000-8000-000000000001"
        async with tenant_transaction(pool, "app", tenant) as conn:
            await conn.execute("SELECT pg_advisory_xact_lock(42)")
        await _clean(pool, login)

        with pytest.raises(RuntimeError):
            async with tenant_transaction(pool, "app", tenant):
                raise RuntimeError("rolled back")
        await _clean(pool, login)

        conn = await pool.acquire()  # a holder that leaves its transaction open
        tx = conn.transaction()
        await tx.start()
        await conn.execute("SELECT set_config('app.tenant_id', $1, true)", tenant)
        await pool.release(conn)
        await _clean(pool, login)
    finally:
        await pool.close()
