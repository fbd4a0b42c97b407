"""device-sync finds a clock's workers by badge with an index probe per badge, not a read of
the tenant's workers (migration 0009, ``workers_badge``).

A ZK clock names a worker only by the badge, so every ATTLOG group commit looks up the badges
of its uploads, and a template upload its one badge. Before the index each lookup read every
worker of the tenant (0.75 ms a batch at 4,000 workers in bench/zk_push.py; a tenant of
100,000 workers pays 25 times that on every batch). Both statements run prepared, with custom
and generic plans, under the service's role, on two analysed tenants of 5,000 workers each."""

import uuid

import asyncpg
import pytest
from punchcard_device_sync.adapters.postgres import _BY_BADGE, _OF_BADGE

from tests.support.plans import as_tenant, owner_connection, touched

WORKERS = 5_000  # a tenant
BATCH = 50
BOUND = BATCH * 10  # ~1 row a badge with the index; a read of the tenant is 5,000

_FILL = """
INSERT INTO workers (id, tenant_id, employee_id, display_name, status, profile)
SELECT gen_random_uuid(), $1, $2 || n, 'Worker ' || n,
       CASE WHEN n % 10 = 0 THEN 'Inactive' ELSE 'Active' END, '{}'
FROM generate_series(1, $3) AS n
"""


@pytest.fixture(scope="module")
async def badges(devices):
    """Two tenants' workers, analysed; the first tenant and its badge prefix."""
    admin = await asyncpg.connect(devices.admin_url)
    try:
        tenants = [uuid.uuid4(), uuid.uuid4()]
        prefix = f"B{uuid.uuid4().hex[:6]}-"
        for tenant in tenants:
            # The same badges in both tenants: a badge is unique only within its tenant.
            await admin.execute(_FILL, tenant, prefix, WORKERS)
        await admin.execute("ANALYZE workers")
    finally:
        await admin.close()
    return tenants[0], prefix


@pytest.mark.parametrize("mode", ["force_custom_plan", "force_generic_plan"])
async def test_badge_lookups_probe_the_badges_not_the_tenant(badges, devices, mode):
    tenant, prefix = badges
    wanted = [f"{prefix}{n}" for n in range(1, BATCH + 1)]
    async with owner_connection(devices.database_url) as conn:
        batch = await touched(
            conn, _BY_BADGE, "uuid, text[]", [tenant, wanted], mode, as_tenant(tenant)
        )
        one = await touched(
            conn, _OF_BADGE, "uuid, text", [tenant, wanted[0]], mode, as_tenant(tenant)
        )
    assert batch < BOUND, batch
    assert one < 10, one


async def test_badge_lookups_find_the_tenants_own_workers(badges, devices):
    """The rows the probes find: the tenant's workers of those badges, an unknown badge none."""
    tenant, prefix = badges
    async with owner_connection(devices.database_url) as conn, conn.transaction():
        await as_tenant(tenant)(conn)
        rows = await conn.fetch(_BY_BADGE, tenant, [f"{prefix}1", f"{prefix}10", "nobody"])
        one = await conn.fetchrow(_OF_BADGE, tenant, f"{prefix}10")  # Inactive
    assert sorted(r["employee_id"] for r in rows) == [f"{prefix}1", f"{prefix}10"]
    assert {r["tenant_id"] for r in rows} == {str(tenant)}
    assert one is None
