"""device-sync's statements on tables that grow with the fleet read their own rows, not the
tenant's or every tenant's: each runs prepared, with custom and generic plans, under the
service's role, on two tenants' analysed data.

Badges (migration 0009, ``workers_badge``; since 0013 ``workers_badge_key``, in any case). A
ZK clock names a worker only by the badge, so every ATTLOG group commit looks up the badges of
its uploads, and a template upload its one badge. Before the index each lookup read every
worker of the tenant (0.75 ms a batch at 4,000 workers in bench/zk_push.py; a tenant of 100,000
workers pays 25 times that on every batch).

A worker's commands and the hourly prune (migration 0010). A worker's page reads, per clock,
the latest command about the worker; with no index led by the worker it read every tenant's
commands of the retention. The prune runs tenant by tenant, and each tenant's delete walked
every tenant's expired rows by time and kept its own.

The site rule's pairs, of a clock, a worker or a site's clocks: one statement for the three,
each condition or'd with ``$n IS NULL``, read every tenant's assignments for a site.

The clocks list (migration 0011, ``clocks_tenant_name``; since 0014 ``clocks_tenant_name_icu``,
names in ICU's order): it was answered whole, each clock with its roster counted, so every look
at the list counted every roster of the tenant. A page is now taken by name first, read from the
index in the page's order, and only its clocks are counted."""

import uuid

import asyncpg
import pytest
from punchcard_device_sync.adapters.postgres import (
    _BY_BADGE,
    _OF_BADGE,
    _PRUNE_ACKNOWLEDGED,
    _PRUNE_PUNCHES,
    _SITE_RULE_PAIRS,
)
from punchcard_device_sync.views import (
    _CLOCK_PAGE,
    _LATEST_COMMANDS,
    _PROFILE_COMMANDS,
    clock_filter,
    clock_page,
)
from punchcard_kit.credentials import employee_id_key

from tests.support.plans import (
    analysed,
    as_tenant,
    indexes_read,
    owner_connection,
    rows_touched,
    touched,
)

# A tenant of 20,000: at 5,000 (two tenants, 10,000 rows) a sequential read of the table was
# within 25 % of 50 index probes, and random_page_cost = 5 took it; the index's margin, not the
# planner's settings, is what the test holds.
WORKERS = 20_000
BATCH = 50
BOUND = BATCH * 10  # ~1 row a badge with the index; a read of the tenant is 20,000

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
    wanted = [employee_id_key(f"{prefix}{n}") for n in range(1, BATCH + 1)]
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
        # Keys of badges as a device may send them, in other capitals (``employee_id_key``).
        keys = [employee_id_key(b) for b in (f"{prefix}1".lower(), f"{prefix}10", "nobody")]
        rows = await conn.fetch(_BY_BADGE, tenant, keys)
        one = await conn.fetchrow(_OF_BADGE, tenant, employee_id_key(f"{prefix}10"))  # Inactive
    assert sorted(r["employee_id"] for r in rows) == [f"{prefix}1", f"{prefix}10"]
    assert {r["tenant_id"] for r in rows} == {str(tenant)}
    assert one is None


CLOCKS = 20  # a tenant
COMMANDED = 250  # workers with a command on each clock: 5,000 commands a tenant
EXPIRED_OWN = 50  # the first tenant's commands and ZK punches past retention
RETENTION_DAYS = 7

_CLOCKS = """
INSERT INTO clocks (id, tenant_id, serial_number, name, time_zone)
SELECT c, $1, 'SN-' || c, 'Clock ' || n, 'UTC' FROM unnest($2::uuid[]) WITH ORDINALITY AS c(c, n)
"""
# Every worker's profile command on every clock, acknowledged: the first $4 of them (or, with
# $4 NULL, all) acknowledged 30 days ago, past retention; the rest an hour ago.
_COMMANDS = """
INSERT INTO clock_commands (clock_id, sequence, tenant_id, command_id, kind, worker_id, body,
                            acked_at)
SELECT c, w.n, $1, gen_random_uuid(), 'UPSERT_WORKER', w.w, '{}',
       now() - CASE WHEN $4::int IS NULL OR (c.n - 1) * cardinality($3::uuid[]) + w.n <= $4
                    THEN interval '30 days' ELSE interval '1 hour' END
FROM unnest($2::uuid[]) WITH ORDINALITY AS c(c, n), unnest($3::uuid[]) WITH ORDINALITY AS w(w, n)
"""
_ZK_PUNCHES = """
INSERT INTO zk_punches (clock_id, badge, device_time, state, tenant_id, verify_mode,
                        attempt_id, received_at)
SELECT $2, 'B' || n, timestamp '2026-01-01' + make_interval(mins => n), 0, $1, 1,
       gen_random_uuid(),
       now() - CASE WHEN $4::int IS NULL OR n <= $4 THEN interval '100 days'
                    ELSE interval '1 hour' END
FROM generate_series(1, $3) AS n
"""


@pytest.fixture(scope="module")
async def fleet(devices):
    """Two tenants' clocks, commands and ZK punches, analysed: all of the second tenant's past
    retention, EXPIRED_OWN of the first's. The first tenant and one of its workers."""
    admin = await asyncpg.connect(devices.admin_url)
    try:
        tenants = [uuid.uuid4(), uuid.uuid4()]
        workers = {}
        for tenant, expired in zip(tenants, (EXPIRED_OWN, None), strict=True):
            clocks = [uuid.uuid4() for _ in range(CLOCKS)]
            workers[tenant] = [uuid.uuid4() for _ in range(COMMANDED)]
            await admin.execute(_CLOCKS, tenant, clocks)
            await admin.execute(_COMMANDS, tenant, clocks, workers[tenant], expired)
            await admin.execute(_ZK_PUNCHES, tenant, clocks[0], CLOCKS * COMMANDED, expired)
        for table in ("clocks", "clock_commands", "zk_punches", "clock_heartbeats"):
            await admin.execute(f"ANALYZE {table}")
    finally:
        await admin.close()
    return tenants[0], workers[tenants[0]][0]


@pytest.mark.parametrize("mode", ["force_custom_plan", "force_generic_plan"])
async def test_a_workers_commands_and_the_prune_read_their_own_rows(fleet, devices, mode):
    tenant, worker = fleet
    enter = as_tenant(tenant)
    async with owner_connection(devices.database_url) as conn:
        latest = await touched(
            conn,
            _LATEST_COMMANDS,
            "uuid, uuid, text[]",
            [tenant, worker, _PROFILE_COMMANDS],
            mode,
            enter,
        )
        commands = await touched(
            conn, _PRUNE_ACKNOWLEDGED, "uuid, int", [tenant, RETENTION_DAYS], mode, enter
        )
        punches = await touched(conn, _PRUNE_PUNCHES, "uuid, int", [tenant, 90], mode, enter)
    # The worker's 20 commands, their clocks (each probe counted) and the steps above them;
    # a read of the table is 10,000 rows.
    assert latest < CLOCKS * 25, latest
    # The tenant's 50 expired rows; the other tenant's 5,000 are not walked.
    assert commands < EXPIRED_OWN * 4, commands
    assert punches < EXPIRED_OWN * 4, punches


async def test_the_statements_find_the_tenants_own_rows(fleet, devices):
    """What they read and delete (rolled back): the worker's latest command on each clock, and
    the tenant's expired rows only."""
    tenant, worker = fleet
    async with owner_connection(devices.database_url) as conn:
        transaction = conn.transaction()
        await transaction.start()
        try:
            await as_tenant(tenant)(conn)
            latest = await conn.fetch(_LATEST_COMMANDS, tenant, worker, _PROFILE_COMMANDS)
            commands = await conn.execute(_PRUNE_ACKNOWLEDGED, tenant, RETENTION_DAYS)
            punches = await conn.execute(_PRUNE_PUNCHES, tenant, 90)
        finally:
            await transaction.rollback()
    assert len(latest) == CLOCKS
    assert {r["kind"] for r in latest} == {"UPSERT_WORKER"}
    assert commands == f"DELETE {EXPIRED_OWN}"
    assert punches == f"DELETE {EXPIRED_OWN}"


SITE_CLOCKS = {"small": 2, "big": 40}  # a tenant's clocks at each site
ASSIGNED = 500  # workers, each on every clock by the site rule: 21,000 pairs a tenant

_SITE_FLEET = """
WITH c AS (
    INSERT INTO clocks (id, tenant_id, serial_number, name, time_zone, site_id)
    SELECT gen_random_uuid(), $1, 'SR-' || s.site || '-' || n, 'Clock', 'UTC', s.site
    FROM unnest($2::text[], $3::int[]) AS s(site, clocks), generate_series(1, s.clocks) AS n
    RETURNING id
), w AS (
    INSERT INTO workers (id, tenant_id, employee_id, profile)
    SELECT gen_random_uuid(), $1, 'SR' || n, '{}' FROM generate_series(1, $4) AS n
    RETURNING id
)
INSERT INTO assignments (clock_id, worker_id, tenant_id, site_rule)
SELECT c.id, w.id, $1, true FROM c, w
"""


@pytest.fixture(scope="module")
async def site_rule(devices):
    """Two tenants' clocks at two sites, each with every worker by the site rule, analysed;
    the first tenant, one of its clocks at the small site, and one of its workers."""
    admin = await asyncpg.connect(devices.admin_url)
    try:
        tenants = [uuid.uuid4(), uuid.uuid4()]
        for tenant in tenants:
            await admin.execute(
                _SITE_FLEET, tenant, list(SITE_CLOCKS), list(SITE_CLOCKS.values()), ASSIGNED
            )
        for table in ("clocks", "workers", "assignments"):
            await admin.execute(f"ANALYZE {table}")
        tenant = tenants[0]
        clock = await admin.fetchval(
            "SELECT id FROM clocks WHERE tenant_id = $1 AND site_id = 'small' LIMIT 1", tenant
        )
        worker = await admin.fetchval(
            "SELECT worker_id FROM assignments WHERE clock_id = $1 LIMIT 1", clock
        )
    finally:
        await admin.close()
    return tenant, clock, worker


@pytest.mark.parametrize("mode", ["force_custom_plan", "force_generic_plan"])
async def test_the_site_rules_pairs_read_their_own_assignments(site_rule, devices, mode):
    tenant, clock, worker = site_rule
    enter = as_tenant(tenant)
    async with owner_connection(devices.database_url) as conn:
        rows = {
            by: await touched(
                conn, _SITE_RULE_PAIRS[by], f"uuid, {kind}", [tenant, key], mode, enter
            )
            for by, kind, key in (
                ("site", "text", "small"),
                ("clock", "uuid", clock),
                ("worker", "uuid", worker),
            )
        }
    # The small site's 1,000 pairs, a clock's 500, a worker's 42; the table holds 42,000.
    assert rows["site"] < ASSIGNED * SITE_CLOCKS["small"] * 5, rows
    assert rows["clock"] < ASSIGNED * 5, rows
    assert rows["worker"] < sum(SITE_CLOCKS.values()) * 5, rows


async def test_the_site_rules_pairs_are_the_tenants_own(site_rule, devices):
    tenant, clock, worker = site_rule
    async with owner_connection(devices.database_url) as conn, conn.transaction():
        await as_tenant(tenant)(conn)
        at_site = await conn.fetch(_SITE_RULE_PAIRS["site"], tenant, "small")
        of_clock = await conn.fetch(_SITE_RULE_PAIRS["clock"], tenant, clock)
        of_worker = await conn.fetch(_SITE_RULE_PAIRS["worker"], tenant, worker)
    assert len(at_site) == ASSIGNED * SITE_CLOCKS["small"]
    assert {r["clock_id"] for r in of_clock} == {str(clock)} and len(of_clock) == ASSIGNED
    assert {r["worker_id"] for r in of_worker} == {str(worker)}
    assert len(of_worker) == sum(SITE_CLOCKS.values())


@pytest.mark.parametrize("mode", ["force_custom_plan", "force_generic_plan"])
@pytest.mark.parametrize("offset", [0, 30])
async def test_a_page_of_clocks_counts_the_rosters_of_its_own_clocks(
    site_rule, devices, mode, offset
):
    """The clocks list's page is taken before each clock's counts are made: a page of 5 counts
    5 rosters of 500, not the tenant's 42 (21,000 pairs), first page or not."""
    tenant, _, _ = site_rule
    async with owner_connection(devices.database_url) as conn:
        rows = await touched(
            conn,
            _CLOCK_PAGE,
            "uuid, text[], bigint, bigint",
            [tenant, None, offset, 5],
            mode,
            as_tenant(tenant),
        )
    # Each pair of a roster shows at ~3 nodes (index, heap, join): ~15,000 for the page; the
    # tenant's 42 rosters are ~126,000.
    assert rows < 5 * ASSIGNED * 8, rows


@pytest.mark.parametrize("mode", ["force_custom_plan", "force_generic_plan"])
@pytest.mark.parametrize("search, ids", [(False, True), (True, False), (True, True)])
async def test_a_search_or_a_page_of_ids_counts_the_rosters_of_its_own_clocks(
    site_rule, devices, mode, search, ids
):
    """``search`` and ``clock_id`` (the names beside a page of punches): the page is still
    taken before its clocks' counts, and ids are probes of the key."""
    tenant, _, _ = site_rule
    async with owner_connection(devices.database_url) as conn:
        clocks = [
            str(r["id"])
            for r in await conn.fetch(
                "SELECT id FROM clocks WHERE tenant_id = $1 ORDER BY id LIMIT 5", tenant
            )
        ]
        condition, given = clock_filter(search, ids)
        extra = (["%%"] if search else []) + ([clocks] if ids else [])
        types = ", ".join(
            ["uuid", "text[]"] + (["text"] if search else []) + (["text[]"] if ids else [])
        )
        rows = await touched(
            conn,
            clock_page(condition, given),
            types + ", bigint, bigint",
            [tenant, None, *extra, 0, 5],
            mode,
            as_tenant(tenant),
        )
    assert rows < 5 * ASSIGNED * 8, rows


async def test_the_pages_of_clocks_are_the_tenants_clocks_by_name(site_rule, devices):
    tenant, _, _ = site_rule
    async with owner_connection(devices.database_url) as conn, conn.transaction():
        await as_tenant(tenant)(conn)
        every = await conn.fetch(_CLOCK_PAGE, tenant, None, 0, 100)
        pages = [await conn.fetch(_CLOCK_PAGE, tenant, None, at, 10) for at in range(0, 50, 10)]
        small = await conn.fetch(_CLOCK_PAGE, tenant, ["small"], 0, 100)
    ids = [r["id"] for r in every]
    assert len(ids) == sum(SITE_CLOCKS.values())
    assert [r["id"] for page in pages for r in page] == ids
    assert [(r["name"], r["id"]) for r in every] == sorted((r["name"], r["id"]) for r in every)
    assert {r["tenant_id"] for r in every} == {str(tenant)}
    assert {r["roster_size"] for r in every} == {ASSIGNED}
    assert [r["site_id"] for r in small] == ["small"] * SITE_CLOCKS["small"]


NAMED = 5_000  # a tenant's clocks, named in several scripts
PREFIXES = ["Zulu Gate", "Éclair Door", "anna", "Åsa", "Bob", "Ørsted"]
_NAMED_CLOCKS = """
INSERT INTO clocks (id, tenant_id, serial_number, name, time_zone)
SELECT gen_random_uuid(), $1, 'NM-' || gen_random_uuid(), ($3::text[])[1 + n % 6] || ' ' || n, 'UTC'
FROM generate_series(1, $2) AS n
"""


@pytest.fixture(scope="module")
async def named_clocks(devices):
    """Two tenants of NAMED clocks, analysed; the first tenant."""
    admin = await asyncpg.connect(devices.admin_url)
    try:
        tenants = [uuid.uuid4(), uuid.uuid4()]
        for tenant in tenants:
            await admin.execute(_NAMED_CLOCKS, tenant, NAMED, PREFIXES)
        await admin.execute("ANALYZE clocks")
    finally:
        await admin.close()
    return tenants[0]


@pytest.mark.parametrize("mode", ["force_custom_plan", "force_generic_plan"])
@pytest.mark.parametrize("offset", [0, 100])
async def test_a_page_of_clocks_is_read_from_the_index_by_name(named_clocks, devices, mode, offset):
    """The page's clocks are read in the page's order, names in ICU's root collation, from
    ``clocks_tenant_name_icu`` (migration 0014): the offset and the page, not the tenant's 5,000
    sorted."""
    async with owner_connection(devices.database_url) as conn:
        plan = await analysed(
            conn,
            _CLOCK_PAGE,
            "uuid, text[], bigint, bigint",
            [named_clocks, None, offset, 25],
            mode,
            as_tenant(named_clocks),
        )
    assert "clocks_tenant_name_icu" in indexes_read(plan), indexes_read(plan)
    assert rows_touched(plan) < (offset + 25) * 10, rows_touched(plan)


async def test_the_pages_of_clocks_sort_names_as_people_read_them(named_clocks, devices):
    """Not by bytes (the C locale's "Éclair Door" after "Zulu Gate"): the pages, one after
    another, are the tenant's clocks once each, the prefixes in ICU's order."""
    async with owner_connection(devices.database_url) as conn, conn.transaction():
        await as_tenant(named_clocks)(conn)
        pages = [
            await conn.fetch(_CLOCK_PAGE, named_clocks, None, at, 500)
            for at in range(0, NAMED, 500)
        ]
    names = [r["name"] for page in pages for r in page]
    assert len({r["id"] for page in pages for r in page}) == len(names) == NAMED
    prefixes = [name.rsplit(" ", 1)[0] for name in names]
    assert [p for n, p in enumerate(prefixes) if n == 0 or prefixes[n - 1] != p] == [
        "anna",
        "Åsa",
        "Bob",
        "Éclair Door",
        "Ørsted",
        "Zulu Gate",
    ]
