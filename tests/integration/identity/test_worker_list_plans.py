"""The workers list reads the page's workers, not the tenant's: the tenant's list by name through
``workers_tenant_name_icu``, a manager's (their sites) through ``workers_tenant_site_name_icu``
(migration 0010, in ICU's order, which replaced 0002's and 0007's ``lower(name)`` in the
database's C order), each prepared with custom and generic plans, under the service's role, on
two analysed tenants of 20,000 workers at 500 sites of 40. Before 0007 a manager's page walked
the tenant's workers by name and kept their site's."""

import uuid

import asyncpg
import pytest
from punchcard_identity.adapters.postgres import WORKER_WITH_PIN
from punchcard_identity.domain.model import WorkerStatus
from punchcard_identity.views import WORKER_ORDER, worker_filter, workers_page
from punchcard_kit.credentials import employee_id_key

from tests.support.plans import (
    analysed,
    as_tenant,
    indexes_read,
    owner_connection,
    rows_touched,
    touched,
)

WORKERS = 20_000  # a tenant's
SITES = 500  # of WORKERS / SITES = 40 workers each
SITE = "S7"
OTHER_SITE = "S8"

_FILL = """
INSERT INTO workers (id, tenant_id, employee_id, name, site_id, status)
SELECT gen_random_uuid(), $1, 'E' || n, 'Worker ' || md5(n::text),
       'S' || (n % $3), 'Active'
FROM generate_series(1, $2) AS n
"""


@pytest.fixture(scope="module")
async def tenant(identity):
    tenants = [uuid.uuid4(), uuid.uuid4()]
    admin = await asyncpg.connect(identity.admin_url)
    try:
        for t in tenants:
            await admin.execute(_FILL, t, WORKERS, SITES)
        await admin.execute("ANALYZE workers")
        await admin.execute("ANALYZE worker_pins")
    finally:
        await admin.close()
    return tenants[0]


def _types(args: list) -> str:
    return (
        ", ".join(
            "uuid" if isinstance(a, uuid.UUID) else "text[]" if isinstance(a, list) else "text"
            for a in args
        )
        + ", int, int"
    )


@pytest.mark.parametrize("mode", ["force_custom_plan", "force_generic_plan"])
@pytest.mark.parametrize(
    "search, status, sites",
    [
        (None, None, None),  # a sysadmin's first page
        (None, WorkerStatus.ACTIVE, None),
        (None, None, [SITE]),  # a manager's
        (None, WorkerStatus.ACTIVE, [SITE]),
        ("worker", None, [SITE, OTHER_SITE]),  # a manager of two sites, searching
    ],
)
async def test_a_page_reads_its_workers(tenant, identity, mode, search, status, sites):
    condition, args = worker_filter(tenant, search, status, sites)
    sql = workers_page(condition, len(args), per_site=sites is not None)
    async with owner_connection(identity.database_url) as conn:
        plan = await analysed(conn, sql, _types(args), [*args, 0, 25], mode, as_tenant(tenant))
    # 25 workers and their PIN probes, or each site's first 25; the tenant is 20,000. Read in
    # the page's order from the index of the list's order (a sort of the tenant's is 20,000).
    assert rows_touched(plan) < 500, rows_touched(plan)
    by_name = "workers_tenant_site_name_icu" if sites else "workers_tenant_name_icu"
    assert by_name in indexes_read(plan), indexes_read(plan)


@pytest.mark.parametrize("mode", ["force_custom_plan", "force_generic_plan"])
@pytest.mark.parametrize("sites", [None, [SITE]])
async def test_names_for_a_page_of_ids_are_probes_of_the_key(tenant, identity, mode, sites):
    """``worker_id``: a page of the audit log asks for the names of its 50 workers."""
    async with owner_connection(identity.database_url) as conn:
        ids = [
            str(r["id"])
            for r in await conn.fetch(
                "SELECT id FROM workers WHERE tenant_id = $1 ORDER BY id LIMIT 50", tenant
            )
        ]
        condition, args = worker_filter(tenant, None, None, sites, ids)
        sql = workers_page(condition, len(args), per_site=False)
        rows = await touched(conn, sql, _types(args), [*args, 0, 50], mode, as_tenant(tenant))
        count_rows = await touched(
            conn,
            f"SELECT count(*) FROM workers w WHERE {condition}",
            _types(args).removesuffix(", int, int"),
            args,
            mode,
            as_tenant(tenant),
        )
    # 50 probes of the key and their PINs'; the tenant is 20,000.
    assert rows < 500 and count_rows < 500, (rows, count_rows)


@pytest.mark.parametrize("sites", [[SITE], [SITE, OTHER_SITE, SITE]])
async def test_a_managers_page_is_their_sites_workers(tenant, identity, sites):
    condition, args = worker_filter(tenant, None, None, sites)
    page_of = workers_page(condition, len(args), per_site=True)
    async with owner_connection(identity.database_url) as conn, conn.transaction():
        await as_tenant(tenant)(conn)
        total = await conn.fetchval(f"SELECT count(*) FROM workers w WHERE {condition}", *args)
        whole = await conn.fetch(
            f"SELECT w.employee_id, w.site_id FROM workers w WHERE {condition} {WORKER_ORDER}",
            *args,
        )
        offsets = range(0, total + 25, 25)
        pages = [await conn.fetch(page_of, *args, offset, 25) for offset in offsets]
    assert total == len(set(sites)) * WORKERS // SITES
    # The pages, in order, are the sites' workers by name: none twice, none left out.
    assert [r["employee_id"] for p in pages for r in p] == [r["employee_id"] for r in whole]
    assert {r["site_id"] for p in pages for r in p} == set(sites)
    assert [len(p) for p in pages[:-2]] == [25] * (len(pages) - 2) and pages[-1] == []


@pytest.mark.parametrize("mode", ["force_custom_plan", "force_generic_plan"])
async def test_the_pin_check_finds_its_worker_by_a_probe_in_any_case(tenant, identity, mode):
    """The PIN check's read (``WORKER_WITH_PIN``) by ``employee_key`` (migration 0008). With
    ``upper(employee_id) = $2`` instead, row-level security kept the index from applying it
    (``upper()`` is not leakproof): every worker of the tenant was read for each attempt."""
    args = [tenant, employee_id_key("e7"), str(uuid.uuid4())]
    async with owner_connection(identity.database_url) as conn:
        rows = await touched(
            conn, WORKER_WITH_PIN, "uuid, text, text", args, mode, as_tenant(tenant)
        )
    admin = await asyncpg.connect(identity.admin_url)
    try:
        found = await admin.fetchval(
            "SELECT employee_id FROM workers WHERE tenant_id = $1 AND employee_key = $2",
            tenant,
            args[1],
        )
    finally:
        await admin.close()
    assert found == "E7"
    assert rows < 10, rows  # the worker, its PIN probe, the assignment probe
