"""PostgreSQL access for parked verdicts (migration 0004). Every statement names its tenant;
the table has no row-level security because the unparker looks across tenants for work."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime

import asyncpg
from punchcard_kit.messaging import Message, add_records
from punchcard_kit.messaging.consumer import forget_processed
from punchcard_kit.messaging.outbox import OutboxRecord
from punchcard_kit.ops import OUTBOX_COUNT_CAP
from punchcard_kit.tenancy import enter_tenant

from ..service_layer.unit_of_work import Claim, UnitOfWork

# The unparker's advisory locks: one replica per tenant at a time.
_LOCK_SPACE = 0x5043_0003

# parked_verdicts is a queue: most often empty, and autovacuum analyses it so. PostgreSQL then
# believes it holds one row however many verdicts wait (a backlog builds exactly when the
# projections lag), and any index leading with tenant_id looks as good as any other to it: it
# read the tenant's whole backlog for every batch. So each statement here finds its rows by a
# key no other index offers, whatever the statistics say (test_parked_plans.py sets the trap):
# - which of a batch's workers have parked verdicts: one probe of the index led by the worker
#   (migration 0009) per worker. The tenant, compared as text (both sides in uuid's one
#   spelling), which no index can serve, only guards (a worker belongs to one tenant). A
#   LATERAL subquery with LIMIT is never flattened into a join or a hash;
_HELD = """
SELECT q.w::text FROM unnest($2::uuid[]) AS q(w)
CROSS JOIN LATERAL (
    SELECT 1 FROM parked_verdicts p
    WHERE p.worker_id = q.w AND p.tenant_id::text = $1::uuid::text LIMIT 1
) AS held
"""
# - the rows a claim decided, by their primary key, the tenant as text again; the rows are
#   this transaction's, locked by ``take``, so the tenant is a guard, not a search.
_REMOVE = (
    "DELETE FROM parked_verdicts WHERE seq = ANY($2::bigint[]) AND tenant_id::text = $1::uuid::text"
)


class PostgresParked:
    """The parked verdicts of one tenant, in its transaction."""

    def __init__(self, conn: asyncpg.Connection, tenant_id: str, role: str = "app") -> None:
        self.conn = conn
        self.tenant_id = tenant_id
        self.role = role

    async def workers_with_parked(self, worker_ids: Iterable[str]) -> set[str]:
        rows = await self.conn.fetch(_HELD, self.tenant_id, list(worker_ids))
        return {r[0] for r in rows}

    async def park(self, items: Sequence[tuple[str, Message, str, datetime | None]]) -> None:
        """``items``: (attempt id, the verdict's message, why, until when it waits for its
        photo's check). A verdict parked twice (its batch replayed) is kept once."""
        await self.conn.executemany(
            "INSERT INTO parked_verdicts (tenant_id, attempt_id, worker_id, clock_id, event_id,"
            " topic, kafka_partition, kafka_offset, record_key, envelope, reason, evidence_due)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
            " ON CONFLICT (tenant_id, attempt_id) DO NOTHING",
            [
                (
                    self.tenant_id,
                    attempt_id,
                    message.payload.worker_id or None,
                    message.payload.context.clock_id,
                    message.event_id,
                    message.topic,
                    message.partition,
                    message.offset,
                    message.key,
                    message.envelope.SerializeToString(),
                    reason,
                    evidence_due,
                )
                for attempt_id, message, reason, evidence_due in items
            ],
        )

    async def remove(self, seqs: Sequence[int]) -> None:
        await self.conn.execute(_REMOVE, self.tenant_id, list(seqs))

    async def dead_letter(
        self, group_id: str, rows: Sequence, letters: Sequence[OutboxRecord]
    ) -> None:
        """``forget_processed`` is the owner's bookkeeping (it leaves the tenant's role): the
        tenant is entered again afterwards."""
        await forget_processed(self.conn, group_id, [r["event_id"] for r in rows])
        await add_records(self.conn, list(letters))
        await self.remove([r["seq"] for r in rows])
        await enter_tenant(self.conn, self.role, self.tenant_id)


# The tenant's oldest: the one index led by the tenant, (tenant_id, seq), in its order.
_TAKE = (
    "SELECT seq, attempt_id::text, worker_id::text, clock_id::text, event_id::text, topic,"
    " kafka_partition, kafka_offset, record_key, envelope, reason, parked_at, evidence_due"
    " FROM parked_verdicts WHERE tenant_id = $1 ORDER BY seq LIMIT $2 FOR UPDATE"
)


async def take(conn: asyncpg.Connection, tenant_id: str, limit: int) -> list[asyncpg.Record]:
    """The tenant's oldest parked verdicts, locked until the transaction ends."""
    return await conn.fetch(_TAKE, tenant_id, limit)


# The unparker's gauges, on every pass (every UNPARK_EVERY_S), over a backlog that builds
# exactly while the projections lag: a count stopped at the kit's cap for backlog counts
# (OUTBOX_COUNT_CAP; then "at least", as the outbox backlog), and the oldest as the first by
# seq (the primary key), not a read of the whole backlog each pass
# (tests/integration/punch/test_parked_plans.py).
_COUNT = """
SELECT (SELECT count(*) FROM (SELECT 1 FROM parked_verdicts LIMIT $1) AS backlog),
       coalesce(extract(epoch FROM now() - (SELECT parked_at FROM parked_verdicts
                                             ORDER BY seq LIMIT 1)), 0)
"""


class PostgresParkedVerdicts:
    """The parked verdicts across tenants, for the unparker (``service_layer/parking.py``).
    ``unit_of_work(conn, tenant_id)`` opens the tenant's unit of work on a claim's
    connection."""

    def __init__(self, pool: asyncpg.Pool, unit_of_work) -> None:
        self.pool = pool
        self.unit_of_work = unit_of_work

    async def tenants_with_parked(self, limit: int = 1000) -> list[str]:
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT tenant_id::text FROM parked_verdicts GROUP BY tenant_id"
                " ORDER BY min(seq) LIMIT $1",
                limit,
            )
        return [r[0] for r in rows]

    async def count(self) -> tuple[int, float]:
        """How many verdicts are parked (at most ``OUTBOX_COUNT_CAP``: then "at least"), and
        the age in seconds of the oldest (0 when none)."""
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(_COUNT, OUTBOX_COUNT_CAP)
        return int(row[0]), float(row[1])

    @asynccontextmanager
    async def claim(self, tenant_id: str, limit: int) -> AsyncIterator[Claim | None]:
        """The lock and the rows are taken as the table's owner (the application role may not
        lock them), before the claim's unit of work enters the tenant."""
        async with self.pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval(
                "SELECT pg_try_advisory_xact_lock($1, hashtext($2))", _LOCK_SPACE, tenant_id
            ):
                yield None  # another replica is on this tenant
                return
            rows = await take(conn, tenant_id, limit)
            uow: UnitOfWork = self.unit_of_work(conn, tenant_id)
            yield Claim(list(rows), uow)
