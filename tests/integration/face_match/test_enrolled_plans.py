"""The list of enrolled workers reads its page, not the tenant's templates: prepared, with
custom and generic plans, under the service's role, on two analysed tenants of 10,000 enrolled
workers (three templates each) at 250 sites of 40. A manager's reads their sites' workers'
templates (written as ``sites IS NULL OR worker_id IN (subquery)``, it read every template of
the tenant); a sysadmin's page of 100 reads those 100 workers' templates from wherever it
starts (unpaged, it read all 30,000). Paging through either list gives each enrolled worker
once, in order, none missing. Asked of a page of workers (the portal's workers list: is each
one enrolled?), it reads those workers' sets and templates."""

import uuid

import asyncpg
import pytest
from punchcard_face_match.adapters.repository import unit_of_work_factory
from punchcard_face_match.domain.gallery import Galleries
from punchcard_face_match.views import (
    _BEFORE_ALL,
    _ENROLLED,
    _ENROLLED_AT_SITES,
    _ENROLLED_OF_WORKERS,
    _ENROLLED_OF_WORKERS_AT_SITES,
    FaceViews,
)
from punchcard_kit.caller import Caller

from tests.support.plans import as_tenant, owner_connection, touched

WORKERS = 10_000  # a tenant's, each enrolled
SITES = 250  # of WORKERS / SITES = 40 workers each
TEMPLATES = 3  # a worker's
SITE = "S7"
PAGE = 100

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
            conn,
            _ENROLLED_AT_SITES,
            "uuid, uuid, bigint, text[]",
            [tenant, _BEFORE_ALL, PAGE + 1, [SITE]],
            mode,
            as_tenant(tenant),
        )
    # The site's 40 workers and their 120 templates, grouped; the tenant holds 30,000.
    assert rows < 1_000, rows


@pytest.mark.parametrize("mode", ["force_custom_plan", "force_generic_plan"])
@pytest.mark.parametrize("start", ["first", "middle"])
async def test_a_sysadmins_page_reads_its_workers_templates(tenant, face_match, mode, start):
    after = _BEFORE_ALL
    if start == "middle":
        admin = await asyncpg.connect(face_match.admin_url)
        try:
            after = await admin.fetchval(
                "SELECT worker_id FROM template_sets WHERE tenant_id = $1"
                " ORDER BY worker_id OFFSET $2 LIMIT 1",
                tenant,
                WORKERS // 2,
            )
        finally:
            await admin.close()
        assert after is not None
    async with owner_connection(face_match.database_url) as conn:
        rows = await touched(
            conn,
            _ENROLLED,
            "uuid, uuid, bigint",
            [tenant, after, PAGE + 1],
            mode,
            as_tenant(tenant),
        )
    # ~1,900 rows at EXPLAIN's count of every node (101 sets, their 303 templates checked and
    # counted, the join and the sort) from the start or the middle; the tenant holds 10,000 sets
    # and 30,000 templates. Without the EXISTS's own range, the middle read 16,920.
    assert rows < 3_000, rows


async def every_page(views: FaceViews, caller: Caller, limit: int) -> list[list[dict]]:
    """The list, page by page, as the API reads it (the view, on the service's role)."""
    found, cursor = [], None
    while True:
        items, cursor = await views.enrolled(caller, limit, cursor)
        found.append(items)
        if cursor is None:
            return found


async def test_paging_gives_every_enrolled_worker_once_in_order(tenant, face_match):
    pool = await asyncpg.create_pool(face_match.database_url, min_size=1, max_size=2)
    try:
        views = FaceViews(uow=unit_of_work_factory(pool), galleries=Galleries())
        manager = Caller(str(tenant), str(uuid.uuid4()), "manager", (SITE,))
        site = await every_page(views, manager, 7)
        everyone = await every_page(views, Caller(str(tenant), str(uuid.uuid4()), "sysadmin"), 999)
    finally:
        await pool.close()
    conn = await asyncpg.connect(face_match.admin_url)
    try:
        at_site = await conn.fetch(
            "SELECT id::text FROM workers WHERE tenant_id = $1 AND site_id = $2 ORDER BY id",
            tenant,
            SITE,
        )
        enrolled = await conn.fetch(
            "SELECT worker_id::text FROM template_sets WHERE tenant_id = $1 ORDER BY worker_id",
            tenant,
        )
    finally:
        await conn.close()
    assert [len(p) for p in site] == [7, 7, 7, 7, 7, 5]  # the site's 40
    assert [i["worker_id"] for p in site for i in p] == [r[0] for r in at_site]
    assert [len(p) for p in everyone] == [999] * 10 + [10]
    items = [i for p in everyone for i in p]
    assert [i["worker_id"] for i in items] == [r[0] for r in enrolled]  # once each, in order
    assert {(i["template_count"], i["model_name"]) for i in items} == {(TEMPLATES, "Facenet512")}


async def _some_workers(face_match, tenant, count: int, site: str | None = None) -> dict:
    """``count`` of the tenant's workers (of ``site``): id → site."""
    admin = await asyncpg.connect(face_match.admin_url)
    try:
        rows = await admin.fetch(
            "SELECT id::text, site_id FROM workers WHERE tenant_id = $1"
            " AND ($2::text IS NULL OR site_id = $2) ORDER BY employee_id LIMIT $3",
            tenant,
            site,
            count,
        )
    finally:
        await admin.close()
    return dict(rows)


@pytest.mark.parametrize("mode", ["force_custom_plan", "force_generic_plan"])
async def test_asked_of_a_page_of_workers_it_reads_their_templates(tenant, face_match, mode):
    page = list(await _some_workers(face_match, tenant, 50))
    mine = list(await _some_workers(face_match, tenant, 10, SITE))
    async with owner_connection(face_match.database_url) as conn:
        rows = await touched(
            conn,
            _ENROLLED_OF_WORKERS,
            "uuid, uuid, bigint, uuid[]",
            [tenant, _BEFORE_ALL, PAGE + 1, page],
            mode,
            as_tenant(tenant),
        )
        at_sites = await touched(
            conn,
            _ENROLLED_OF_WORKERS_AT_SITES,
            "uuid, uuid, bigint, text[], uuid[]",
            [tenant, _BEFORE_ALL, PAGE + 1, [SITE], mine + page[:5]],
            mode,
            as_tenant(tenant),
        )
    # 50 workers' sets and 150 templates, grouped (~1,000 at EXPLAIN's count of every node);
    # the tenant holds 10,000 sets and 30,000 templates.
    assert rows < 1_500, rows
    assert at_sites < 1_500, at_sites


async def test_asked_of_workers_it_answers_those_the_caller_sees(tenant, face_match):
    page = await _some_workers(face_match, tenant, 12)
    mine = await _some_workers(face_match, tenant, 3, SITE)
    asked = [*page, str(uuid.uuid4())]  # and a worker nobody enrolled
    pool = await asyncpg.create_pool(face_match.database_url, min_size=1, max_size=2)
    try:
        views = FaceViews(uow=unit_of_work_factory(pool), galleries=Galleries())
        sysadmin = Caller(str(tenant), str(uuid.uuid4()), "sysadmin")
        manager = Caller(str(tenant), str(uuid.uuid4()), "manager", (SITE,))
        items, cursor = await views.enrolled(sysadmin, 100, None, asked)
        paged, next_cursor = await views.enrolled(sysadmin, 5, None, asked)
        theirs, _ = await views.enrolled(manager, 100, None, [*mine, *page])
        stranger = Caller(str(uuid.uuid4()), str(uuid.uuid4()), "sysadmin")
        other_tenant, _ = await views.enrolled(stranger, 100, None, asked)
    finally:
        await pool.close()
    assert [i["worker_id"] for i in items] == sorted(page) and cursor is None
    assert [i["worker_id"] for i in paged] == sorted(page)[:5]
    assert next_cursor == paged[-1]["worker_id"]
    at_site = {w for w, site in {**page, **mine}.items() if site == SITE}
    assert {i["worker_id"] for i in theirs} == at_site and set(mine) <= at_site
    assert other_tenant == []
