"""punch's per-batch lookups stay bounded by the batch, not by the ledger, once PostgreSQL has
the tables' statistics (autovacuum analyses a table within a minute of its first rows).

Each batch of verdicts asks three things of tables that grow with every punch: which attempts
were decided already, the punches they refer to, and each worker's neighbouring punches (the
direction rule). With statistics, each is an index probe per element of the batch. Without
them, PostgreSQL took the tenant for 0.5 % of the ledger, and the neighbour lookup walked the
tenant's punches in time order and filtered the worker, per punch of the batch (39 ms a batch
at 40,000 punches; bench/zk_push.py, docs/device-sync.md's ninth pass). This holds the indexes
and the statements to the first: a lookup that scanned the tenant's ledger touches its 10,000
rows per batch, or per punch."""

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from punchcard_kit.tenancy import enter_tenant
from punchcard_punch.adapters.ledger import _BY_ID, _DECIDED, _NEARBY

from tests.support.plans import as_tenant, touched

WORKERS = 100  # a tenant
PER_WORKER = 100  # punches each, twelve hours apart
BATCH = 50
BOUND = BATCH * 20  # ~6 rows a lookup with the right plan; a scan of the tenant is 10,000

_FILL = """
INSERT INTO punches (id, tenant_id, kind, worker_id, employee_id, display_name, method,
                     direction, punched_at, attempt_id)
SELECT gen_random_uuid(), $1, 'RECORDED', w, 'E' || n, 'W' || n, 'PIN',
       CASE WHEN p % 2 = 0 THEN 'OUT' ELSE 'IN' END,
       $3::timestamptz - make_interval(hours => 12 * p), gen_random_uuid()
FROM unnest($2::uuid[]) WITH ORDINALITY AS w(w, n), generate_series(1, $4) AS p
"""
_DECIDE = """
INSERT INTO attempts (tenant_id, attempt_id, outcome, punch_id, event_type, event)
SELECT tenant_id, attempt_id, 'RECORDED', id, 'bench.v1', '\\x00'::bytea
FROM punches WHERE tenant_id = $1
"""


@pytest.fixture(scope="module")
async def ledger(punch):
    """Two tenants' ledgers of WORKERS x PER_WORKER punches each, decided and analysed; the
    first tenant, its workers and some of its punches."""
    now = datetime.now(UTC)
    admin = await asyncpg.connect(punch.admin_url)
    try:
        tenants = [uuid.uuid4(), uuid.uuid4()]
        workers = {t: [uuid.uuid4() for _ in range(WORKERS)] for t in tenants}
        for tenant in tenants:
            await admin.execute(_FILL, tenant, workers[tenant], now, PER_WORKER)
            await admin.execute(_DECIDE, tenant)
        await admin.execute("ANALYZE punches")
        await admin.execute("ANALYZE attempts")
        await admin.execute("ANALYZE parked_verdicts")
        tenant = tenants[0]
        punches = await admin.fetch(
            "SELECT id, attempt_id FROM punches WHERE tenant_id = $1 LIMIT $2", tenant, BATCH
        )
    finally:
        await admin.close()
    return tenant, workers[tenant], punches, now


@pytest.mark.parametrize("mode", ["force_custom_plan", "force_generic_plan"])
async def test_each_lookup_touches_the_batch_not_the_ledger(ledger, owner_conn, mode):
    tenant, workers, punches, now = ledger
    enter = as_tenant(tenant)

    # The neighbours of a batch of workers' punches: now (after all of theirs), and in the
    # middle of their history (a punch captured offline, uploaded late).
    for at in (now, now - timedelta(hours=12 * PER_WORKER // 2 + 6)):
        args = [tenant, workers[:BATCH], [at] * BATCH, timedelta(minutes=10)]
        types = "uuid, uuid[], timestamptz[], interval"
        rows = await touched(owner_conn, _NEARBY, types, args, mode, enter)
        assert rows < BOUND, (at, rows)
    # Attempts decided already: half of the batch is, half is new.
    attempt_ids = [p["attempt_id"] for p in punches[: BATCH // 2]]
    attempt_ids += [uuid.uuid4() for _ in range(BATCH - len(attempt_ids))]
    rows = await touched(owner_conn, _DECIDED, "uuid, uuid[]", [tenant, attempt_ids], mode, enter)
    assert rows < BOUND, rows
    # The punches a batch refers to.
    ids = [p["id"] for p in punches]
    rows = await touched(owner_conn, _BY_ID, "uuid, uuid[]", [tenant, ids], mode, enter)
    assert rows < BOUND, rows


async def test_the_lookups_answer_under_the_tenants_role(ledger, owner_conn):
    """The statements the bounds are measured on are the ones the service runs: they answer,
    for this tenant only."""
    tenant, workers, punches, now = ledger
    async with owner_conn.transaction():
        await enter_tenant(owner_conn, "app", tenant)
        found = await owner_conn.fetch(
            _NEARBY, tenant, workers[:3], [now] * 3, timedelta(minutes=10)
        )
        assert sorted(r[0] for r in found) == [1, 2, 3]  # each worker's latest punch
        decided = await owner_conn.fetch(_DECIDED, tenant, [p["attempt_id"] for p in punches[:5]])
        assert len(decided) == 5
        by_id = await owner_conn.fetch(_BY_ID, tenant, [p["id"] for p in punches[:5]])
        assert {r["tenant_id"] for r in by_id} == {tenant}
