"""A group whose handler is idempotent by a key of its own (``idempotent_handler``, as punch's
verdicts are by attempt id): the loop records none of its events' ids, each event has its
effect once, and an invalid record is still dead-lettered once."""

from collections.abc import Sequence

import asyncpg
from aiokafka import AIOKafkaProducer
from google.protobuf import wrappers_pb2
from punchcard_kit.messaging import Message, encode_envelope, new_envelope
from punchcard_kit.messaging.connection import kafka_options
from punchcard_kit.messaging.consumer import dead_letter_topic

from tests.support.messaging import read_topic, wait_for
from tests.support.stack import KAFKA, unique

TENANT = "00000000-0000-0000-0000-000000000001"


async def once_per_value(conn: asyncpg.Connection, messages: Sequence[Message]) -> None:
    """Idempotent by the event's value: a value already handled changes nothing."""
    await conn.executemany(
        "INSERT INTO effects (event_id, key, value, partition, kafka_offset)"
        " SELECT $1, $2, $3::text, $4, $5"
        " WHERE NOT EXISTS (SELECT 1 FROM effects WHERE value = $3::text)",
        [(m.event_id, None, m.payload.value, m.partition, m.offset) for m in messages],
    )


async def test_no_event_ids_are_recorded_and_each_event_is_handled_once(kit_db, topic, loops):
    first, second, last = (
        new_envelope(wrappers_pb2.StringValue(value=v), tenant_id=TENANT, producer="test")
        for v in ("first", "second", "last")
    )
    producer = AIOKafkaProducer(**kafka_options(KAFKA))
    await producer.start()
    try:
        # One partition, in this order: an event twice (Kafka redelivered it), another,
        # a record that is no envelope, the last event.
        for value in (
            encode_envelope(first),
            encode_envelope(first),
            encode_envelope(second),
            b"\x08\x96not-an-envelope",
            encode_envelope(last),
        ):
            await producer.send_and_wait(topic, value, key=b"same", partition=0)
    finally:
        await producer.stop()
    group = unique("group")
    await loops.relay(kit_db)
    await loops.consumer(kit_db, topic, group, handler=once_per_value, idempotent_handler=True)

    conn = await asyncpg.connect(kit_db)
    try:

        async def handled():
            values = [r[0] for r in await conn.fetch("SELECT value FROM effects ORDER BY at")]
            return values if "last" in values else None

        assert await wait_for(handled, what="the last event") == ["first", "second", "last"]
        letters = await wait_for(
            lambda: read_topic(KAFKA, dead_letter_topic(group)), what="a dead letter"
        )
        recorded = await conn.fetch(
            "SELECT event_id::text FROM processed_events WHERE consumer_group = $1", group
        )
    finally:
        await conn.close()
    assert len(letters) == 1 and letters[0].value  # the invalid record, once
    # Only the dead letter's own id (so that a replayed batch writes it once); no event's.
    assert [r[0] for r in recorded] == [dict(letters[0].headers)["event-id"].decode()]
    assert not {first.event_id, second.event_id, last.event_id} & {r[0] for r in recorded}
