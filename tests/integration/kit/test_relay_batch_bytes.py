"""The relay bounds a batch by bytes as well as rows, on real PostgreSQL and Kafka: a backlog of
large events (think face frames) is published a few at a time, never all read at once, and
every event still arrives, in order."""

import asyncpg
from punchcard_kit.db import create_pool
from punchcard_kit.messaging.producer import start_producer
from punchcard_kit.messaging.relay import _TAKE, SHARD_LOCK_CLASS, OutboxRelay

from tests.support.messaging import outbox_rows, read_topic, write_events
from tests.support.stack import KAFKA, unique

LARGE = 100 * 1024


async def test_a_backlog_of_large_events_goes_out_in_byte_bounded_batches(kit_db, topic):
    values = [f"{i:03d}" + "x" * LARGE for i in range(10)]
    await write_events(kit_db, topic, values, keys=["one key"] * len(values))
    pool = await create_pool(kit_db, min_size=1, max_size=2)
    relay = OutboxRelay(
        pool=pool,
        dsn=kit_db,
        bootstrap_servers=KAFKA,
        name=unique("relay"),
        batch_size=500,
        batch_max_bytes=3 * LARGE,
    )
    relay.producer = await start_producer(KAFKA, client_id="test-relay-bytes")
    try:
        batches = []
        while count := await relay.relay_once():
            batches.append(count)
    finally:
        await relay.producer.stop()
        await pool.close()
    # Each event is a little over LARGE bytes (the envelope): two fit in 3 x LARGE, not three.
    assert batches == [2, 2, 2, 2, 2]
    assert await outbox_rows(kit_db) == 0
    records = await read_topic(KAFKA, topic)
    assert len(records) == 10


async def batches_taken(dsn: str, sizes: list[int], max_bytes: int) -> tuple[int, int]:
    """Rows of these value sizes (in order, on one shard) and one claim of them under
    ``max_bytes``: (rows taken, rows claimed). Rolled back."""
    conn = await asyncpg.connect(dsn)
    try:
        tx = conn.transaction()
        await tx.start()
        try:
            await conn.execute(
                "INSERT INTO outbox (shard, topic, value, headers, event_id)"
                " SELECT 0, 't', repeat('x', s)::bytea, '[]', gen_random_uuid()"
                " FROM unnest($1::int[]) WITH ORDINALITY AS u(s, n) ORDER BY n",
                sizes,
            )
            rows = await conn.fetch(_TAKE, [0], SHARD_LOCK_CLASS, 500, max_bytes)
            return len(rows), (rows[0]["claimed"] if rows else 0)
        finally:
            await tx.rollback()
    finally:
        await conn.close()


async def test_a_claim_takes_the_rows_that_fit_in_the_byte_bound(kit_db):
    assert await batches_taken(kit_db, [400, 400, 400, 400], 1000) == (2, 4)
    assert await batches_taken(kit_db, [400, 600, 1], 1000) == (2, 3)  # at the bound still fits
    assert await batches_taken(kit_db, [10] * 500, 16 * 1024 * 1024) == (500, 500)


async def test_a_row_larger_than_the_bound_goes_alone(kit_db):
    assert await batches_taken(kit_db, [5000, 10], 1000) == (1, 2)
    assert await batches_taken(kit_db, [10, 5000], 1000) == (1, 2)


async def test_no_rows_no_batch(kit_db):
    assert await batches_taken(kit_db, [], 1000) == (0, 0)
