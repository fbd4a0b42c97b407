"""A manager's list of enrolled workers reads their sites' workers' templates, not the
tenant's: prepared, with custom and generic plans, under the service's role, on two analysed
tenants of 10,000 enrolled workers (three templates each) at 250 sites of 40. Written as
``$2 IS NULL OR worker_id IN (subquery)``, the list read every template of the tenant."""

import uuid

import asyncpg
import pytest
from punchcard_face_match.views import _ENROLLED_AT_SITES

from tests.support.plans import as_tenant, owner_connection, touched

WORKERS = 10_000  # a tenant's, each enrolled
SITES = 250  # of WORKERS / SITES = 40 workers each
TEMPLATES = 3  # a worker's
SITE = "S7"

_FILL = """
WITH w AS (
    INSERT INTO workers (tenant_id, id, employee_id, status, site_id)
    SELECT $1, gen_random_uuid(), 'E' || n, 'Active', 'S' || (n % $3)
    FROM generate_series(1, $2) AS n
    RETURNING id
), s AS (
    INSERT INTO template_sets (tenant_id, worker_id, model_name, dims, revision)
    SELECT $1, id, 'Facenet512', 4, 1 FROM w
    RETURNING worker_id
)
INSERT INTO templates (tenant_id, worker_id, template_id, model_name, dims, embedding,
                       quality, face_px)
SELECT $1, worker_id, gen_random_uuid(), 'Facenet512', 4, '\\x00000000000000000000000000000000',
       0.9, 200
FROM s, generate_series(1, $4)
"""


@pytest.fixture(scope="module")
async def tenant(face_match):
    tenants = [uuid.uuid4(), uuid.uuid4()]
    admin = await asyncpg.connect(face_match.admin_url)
    try:
        for t in tenants:
            await admin.execute(_FILL, t, WORKERS, SITES, TEMPLATES)
        for table in ("workers", "template_sets", "templates"):
            await admin.execute(f"ANALYZE {table}")
    finally:
        await admin.close()
    return tenants[0]


@pytest.mark.parametrize("mode", ["force_custom_plan", "force_generic_plan"])
async def test_a_managers_list_reads_their_sites_templates(tenant, face_match, mode):
    async with owner_connection(face_match.database_url) as conn:
        rows = await touched(
            conn, _ENROLLED_AT_SITES, "uuid, text[]", [tenant, [SITE]], mode, as_tenant(tenant)
        )
    # The site's 40 workers and their 120 templates, grouped; the tenant holds 30,000.
    assert rows < 1_000, rows


async def test_a_managers_list_is_their_sites_enrolled_workers(tenant, face_match):
    async with owner_connection(face_match.database_url) as conn, conn.transaction():
        await as_tenant(tenant)(conn)
        rows = await conn.fetch(_ENROLLED_AT_SITES, tenant, [SITE])
        sites = await conn.fetch(
            "SELECT DISTINCT site_id FROM workers WHERE tenant_id = $1 AND id = ANY($2::uuid[])",
            tenant,
            [r["worker_id"] for r in rows],
        )
    assert len(rows) == WORKERS // SITES
    assert {r["template_count"] for r in rows} == {TEMPLATES}
    assert [s["site_id"] for s in sites] == [SITE]
