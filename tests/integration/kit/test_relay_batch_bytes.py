"""The relay bounds a batch by bytes as well as rows, on real PostgreSQL and Kafka: a backlog of
large events (think face frames) is published a few at a time, never all read at once, and
every event still arrives, in order."""

from punchcard_kit.db import create_pool
from punchcard_kit.messaging.producer import start_producer
from punchcard_kit.messaging.relay import OutboxRelay

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
