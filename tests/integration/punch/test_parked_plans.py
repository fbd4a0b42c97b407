"""The statements on punch's parked verdicts stay bounded by their batch when the planner
believes the table is empty. parked_verdicts is a queue: most often empty, and autovacuum
analyses it so (pg_class: one row over many pages), while a backlog builds exactly when the
projections lag. Then ``attempt_id = ANY(...)``, ``worker_id = ANY(...)`` and ``seq = ANY(...)``
read the tenant's whole backlog through whichever (tenant_id, …) index was smallest, for every
verdict batch and every claim: 20,026, 25,027 and 20,001 rows here for batches of 50, 50 and
500, and as LATERAL probes that still named the tenant first, ~15,000 rows a probe. The trap is
set as autovacuum sets it; every statement, custom and generic plan alike, must touch about
as many rows as its batch."""

import uuid

import asyncpg
import pytest
from punchcard_kit.tenancy import enter_tenant
from punchcard_punch.adapters.ledger import _DECIDED
from punchcard_punch.adapters.parked import _COUNT, _HELD, _REMOVE, _TAKE

from tests.support.plans import as_tenant, touched

BACKLOG = 40_000  # two tenants' parked verdicts, half each
WORKERS = 200
_FILL = """
INSERT INTO parked_verdicts (tenant_id, attempt_id, worker_id, clock_id, event_id, topic,
                             kafka_partition, kafka_offset, record_key, envelope, reason)
SELECT CASE WHEN i % cardinality($3::uuid[]) % 2 = 0 THEN $1::uuid ELSE $2::uuid END,
       gen_random_uuid(),
       ($3::uuid[])[1 + i % cardinality($3::uuid[])], gen_random_uuid(), gen_random_uuid(),
       'punchcard.identity.verdicts.v1', 0, i, 'k'::bytea, repeat('x', 300)::bytea,
       'UNKNOWN_WORKER'
FROM generate_series(1, $4) AS i
"""


@pytest.fixture(scope="module")
async def trapped(punch):
    """parked_verdicts vacuumed with one row left over many pages, then a backlog of
    ``BACKLOG``; the first tenant, its workers, its oldest 500 rows' seqs and attempt ids."""
    admin = await asyncpg.connect(punch.admin_url)
    try:
        tenants = [uuid.uuid4(), uuid.uuid4()]
        workers = [uuid.uuid4() for _ in range(WORKERS)]
        await admin.execute(_FILL, *tenants, workers, BACKLOG)
        await admin.execute(
            "DELETE FROM parked_verdicts WHERE seq < (SELECT max(seq) FROM parked_verdicts)"
        )
        await admin.execute("VACUUM ANALYZE parked_verdicts")
        reltuples, relpages = await admin.fetchrow(
            "SELECT reltuples, relpages FROM pg_class WHERE relname = 'parked_verdicts'"
        )
        assert reltuples <= 1 < relpages  # the planner's belief: (nearly) empty
        await admin.execute(_FILL, *tenants, workers, BACKLOG)
        oldest = await admin.fetch(
            "SELECT seq, attempt_id FROM parked_verdicts WHERE tenant_id = $1"
            " ORDER BY seq LIMIT 500",
            tenants[0],
        )
    finally:
        await admin.close()
    return tenants[0], workers[0::2], oldest  # the workers at even places are the first's


@pytest.mark.parametrize("mode", ["force_custom_plan", "force_generic_plan"])
async def test_a_backlog_is_not_read_per_batch(trapped, owner_conn, mode):
    tenant, workers, oldest = trapped
    enter = as_tenant(tenant)

    # A verdict batch: which of its 50 attempts are decided or parked (half are parked), and
    # which of its 50 workers have parked verdicts (half have 200 each, half none).
    attempts = [r["attempt_id"] for r in oldest[:25]] + [uuid.uuid4() for _ in range(25)]
    decided = await touched(owner_conn, _DECIDED, "uuid, uuid[]", [tenant, attempts], mode, enter)
    assert decided < 500, decided
    batch = workers[:25] + [uuid.uuid4() for _ in range(25)]
    held = await touched(owner_conn, _HELD, "uuid, uuid[]", [tenant, batch], mode, enter)
    assert held < 500, held
    # An unparker's claim: the tenant's oldest 500, taken and then deleted by their seqs (the
    # owner's transaction).
    taken = await touched(owner_conn, _TAKE, "uuid, int", [tenant, 500], mode)
    assert taken < 5_000, taken
    seqs = [r["seq"] for r in oldest]
    removed = await touched(owner_conn, _REMOVE, "uuid, bigint[]", [tenant, seqs], mode)
    assert removed < 5_000, removed
    # The unparker's gauges (the owner's): a count stopped at its cap (1,000 here), the
    # oldest by seq.
    counted = await touched(owner_conn, _COUNT, "int", [1000], mode)
    assert counted < 5_000, counted


async def test_the_statements_answer_for_the_tenant(trapped, owner_conn):
    tenant, workers, oldest = trapped
    other = uuid.uuid4()
    async with owner_conn.transaction():
        await enter_tenant(owner_conn, "app", tenant)
        attempts = [r["attempt_id"] for r in oldest[:3]]
        found = await owner_conn.fetch(_DECIDED, tenant, [*attempts, uuid.uuid4()])
        assert sorted(r[0] for r in found) == sorted(map(str, attempts))
        assert await owner_conn.fetch(_DECIDED, other, attempts) == []  # another tenant's: none
        held = await owner_conn.fetch(_HELD, tenant, [workers[0], uuid.uuid4()])
        assert [r[0] for r in held] == [str(workers[0])]
    # The gauges: the count stops at its cap; the oldest is the row the vacuum left.
    count, oldest_s = await owner_conn.fetchrow(_COUNT, 1000)
    first = await owner_conn.fetchval(
        "SELECT extract(epoch FROM now() - min(parked_at)) FROM parked_verdicts"
    )
    assert count == 1000 and float(oldest_s) == pytest.approx(float(first), abs=1.0)
    removal = owner_conn.transaction()  # rolled back: the other test's backlog stays as it is
    await removal.start()
    try:
        await enter_tenant(owner_conn, "app", tenant)
        # Another tenant's name removes nothing; the tenant's own removes its row.
        assert await owner_conn.execute(_REMOVE, other, [oldest[0]["seq"]]) == "DELETE 0"
        assert await owner_conn.execute(_REMOVE, tenant, [oldest[0]["seq"]]) == "DELETE 1"
    finally:
        await removal.rollback()
