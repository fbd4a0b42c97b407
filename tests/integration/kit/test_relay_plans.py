"""The relay's statements stay bounded by the batch when the planner believes the outbox is
empty. A queue table is often vacuumed while (nearly) empty: pg_class then says one row over
many pages, and PostgreSQL estimates one row however large the backlog has grown. With that,
a plain join or ``id = ANY(...)`` became a scan of the whole outbox per claimed row (a claim
of 500 took 0.1–1.8 s on a 20,000-row backlog, and the relay fell behind for good). Here the
trap is set as autovacuum sets it, and every statement, custom and generic plan alike, must
touch about as many rows as it claims, not as many as wait."""

import asyncpg
import pytest
from punchcard_kit.messaging.relay import _TAKE, SHARD_LOCK_CLASS
from punchcard_kit.messaging.schema import OUTBOX_SHARDS

from tests.support.plans import touched

BATCH = 500
BACKLOG = 40_000
_FILL = """
INSERT INTO outbox (shard, topic, key, value, headers, event_id)
SELECT i % 16, 't', 'k'::bytea, repeat('x', 300)::bytea, '[]', gen_random_uuid()
FROM generate_series(1, $1) AS i
"""


@pytest.fixture
async def trapped(kit_db):
    """An outbox vacuumed with one row left over many pages, then a backlog of ``BACKLOG``."""
    # No statement cache: the test prepares and deallocates its own statements.
    conn = await asyncpg.connect(kit_db, statement_cache_size=0)
    await conn.execute(_FILL, BACKLOG)
    await conn.execute("DELETE FROM outbox WHERE id < (SELECT max(id) FROM outbox)")
    await conn.execute("VACUUM ANALYZE outbox")
    reltuples, relpages = await conn.fetchrow(
        "SELECT reltuples, relpages FROM pg_class WHERE relname = 'outbox'"
    )
    assert reltuples <= 1 < relpages  # the planner's belief: (nearly) empty
    await conn.execute(_FILL, BACKLOG)
    yield conn
    await conn.close()


@pytest.mark.parametrize("mode", ["force_custom_plan", "force_generic_plan"])
async def test_the_claim_and_its_delete_touch_the_batch_not_the_backlog(trapped, mode):
    conn = trapped
    every = list(range(OUTBOX_SHARDS))
    claim_types = "int[], int, int, bigint"
    # Each node's rows count. A claim of 500 from every shard touches ~7,000 (scans, locks,
    # CTEs, the window, the delete, the sort); from 2 of the 16 shards ~14,500, as its scan and
    # its delete walk the ~4,000 ids that hold 500 of theirs. One scan of the backlog alone is
    # 40,000; a scan of it per claimed row, millions.
    bound = BACKLOG // 2
    # The whole claim taken, from every shard or two; and a claim cut to its first row.
    for shards, max_bytes in ((every, 16 * 1024 * 1024), ([3, 9], 16 * 1024 * 1024), (every, 1)):
        args = [shards, SHARD_LOCK_CLASS, BATCH, max_bytes]
        assert await touched(conn, _TAKE, claim_types, args, mode) < bound, (shards, max_bytes)
    assert await conn.fetchval("SELECT count(*) FROM outbox") == BACKLOG + 1  # rolled back
