"""PostgreSQL access for parked verdicts (migration 0004). Every statement names its tenant;
the table has no row-level security because the unparker looks across tenants for work."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import asyncpg
from punchcard_kit.messaging import Message


async def workers_with_parked(
    conn: asyncpg.Connection, tenant_id: str, worker_ids: Iterable[str]
) -> set[str]:
    rows = await conn.fetch(
        "SELECT DISTINCT worker_id::text FROM parked_verdicts"
        " WHERE tenant_id = $1 AND worker_id = ANY($2::uuid[])",
        tenant_id,
        list(worker_ids),
    )
    return {r[0] for r in rows}


async def park(
    conn: asyncpg.Connection, tenant_id: str, items: Sequence[tuple[str, Message, str]]
) -> None:
    """``items``: (attempt id, the verdict's message, why). A verdict parked twice (its batch
    replayed) is kept once."""
    await conn.executemany(
        "INSERT INTO parked_verdicts (tenant_id, attempt_id, worker_id, clock_id, event_id,"
        " topic, kafka_partition, kafka_offset, record_key, envelope, reason)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        " ON CONFLICT (tenant_id, attempt_id) DO NOTHING",
        [
            (
                tenant_id,
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
            )
            for attempt_id, message, reason in items
        ],
    )


async def tenants_with_parked(conn: asyncpg.Connection, limit: int = 1000) -> list[str]:
    rows = await conn.fetch(
        "SELECT tenant_id::text FROM parked_verdicts GROUP BY tenant_id ORDER BY min(seq) LIMIT $1",
        limit,
    )
    return [r[0] for r in rows]


async def take(conn: asyncpg.Connection, tenant_id: str, limit: int) -> list[asyncpg.Record]:
    """The tenant's oldest parked verdicts, locked until the transaction ends."""
    return await conn.fetch(
        "SELECT seq, attempt_id::text, worker_id::text, clock_id::text, event_id::text, topic,"
        " kafka_partition, kafka_offset, record_key, envelope, reason, parked_at"
        " FROM parked_verdicts WHERE tenant_id = $1 ORDER BY seq LIMIT $2 FOR UPDATE",
        tenant_id,
        limit,
    )


async def remove(conn: asyncpg.Connection, tenant_id: str, seqs: Sequence[int]) -> None:
    await conn.execute(
        "DELETE FROM parked_verdicts WHERE tenant_id = $1 AND seq = ANY($2::bigint[])",
        tenant_id,
        list(seqs),
    )


async def count(conn: asyncpg.Connection) -> tuple[int, float]:
    """How many verdicts are parked, and the age in seconds of the oldest (0 when none)."""
    row = await conn.fetchrow(
        "SELECT count(*), coalesce(extract(epoch FROM now() - min(parked_at)), 0)"
        " FROM parked_verdicts"
    )
    return int(row[0]), float(row[1])
