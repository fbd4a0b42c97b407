"""What cannot be processed goes to the group's dead-letter topic with its error, and the
partition moves on."""

import asyncpg
from aiokafka import AIOKafkaProducer
from punchcard.v1 import envelope_pb2
from punchcard_kit.messaging.connection import kafka_options
from punchcard_kit.messaging.consumer import dead_letter_topic

from tests.support.messaging import effect_counts, read_topic, wait_for, write_events
from tests.support.stack import KAFKA, unique


async def _values(dsn):
    conn = await asyncpg.connect(dsn)
    try:
        return [r[0] for r in await conn.fetch("SELECT value FROM effects ORDER BY at")]
    finally:
        await conn.close()


async def test_malformed_message_is_dead_lettered_and_the_next_is_processed(kit_db, topic, loops):
    producer = AIOKafkaProducer(**kafka_options(KAFKA))
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"\x08\x96not-an-envelope", key=b"same", partition=0)
    finally:
        await producer.stop()
    await write_events(kit_db, topic, ["good"], keys=["same"])
    group = unique("group")
    await loops.relay(kit_db)
    await loops.consumer(kit_db, topic, group)

    async def dead_letters():
        return await read_topic(KAFKA, dead_letter_topic(group))

    await wait_for(lambda: _has(kit_db, "good"), what="the good event")
    letters = await wait_for(dead_letters, what="a dead letter")
    assert len(letters) == 1
    letter = envelope_pb2.DeadLetter.FromString(letters[0].value)
    assert letter.value == b"\x08\x96not-an-envelope"
    assert letter.source_topic == topic and letter.source_offset == 0
    assert letter.error_type == "InvalidEnvelope" and letter.error_message
    assert letter.consumer_group == group
    assert await effect_counts(kit_db) == (1, 1, 0)


async def _has(dsn, value):
    return value in await _values(dsn)


async def test_event_whose_handler_keeps_failing_is_dead_lettered_after_retries(
    kit_db, topic, loops
):
    conn = await asyncpg.connect(kit_db)
    await conn.execute("INSERT INTO fail_values VALUES ('poison')")
    await conn.close()
    ids = await write_events(kit_db, topic, ["before", "poison", "after"], keys=["k", "k", "k"])
    group = unique("group")
    await loops.relay(kit_db)
    await loops.consumer(kit_db, topic, group, max_attempts=3, retry_initial_s=0.01)

    await wait_for(lambda: _has(kit_db, "after"), what="the event after the poison one")
    letters = await wait_for(
        lambda: read_topic(KAFKA, dead_letter_topic(group)), what="dead letter"
    )
    assert await _values(kit_db) == ["before", "after"]
    assert len(letters) == 1
    letter = envelope_pb2.DeadLetter.FromString(letters[0].value)
    assert letter.attempts == 3
    assert letter.error_type == "ValueError" and "poison" in letter.error_message
    poisoned = envelope_pb2.Envelope.FromString(letter.value)
    assert poisoned.event_id == ids[1]


async def test_non_canonical_event_id_is_dead_lettered_never_dropped_or_looped(
    kit_db, topic, loops
):
    """An upper-case event id used to be taken for a duplicate (PostgreSQL answers the
    canonical spelling) and silently dropped; a malformed one failed the batch forever."""
    from google.protobuf import wrappers_pb2
    from punchcard_kit.messaging import encode_envelope, new_envelope

    shouting = new_envelope(
        wrappers_pb2.StringValue(value="shouting"),
        tenant_id="00000000-0000-0000-0000-000000000001",
        producer="test",
    )
    shouting.event_id = shouting.event_id.upper()
    producer = AIOKafkaProducer(**kafka_options(KAFKA))
    await producer.start()
    try:
        await producer.send_and_wait(topic, encode_envelope(shouting), key=b"same", partition=0)
    finally:
        await producer.stop()
    await write_events(kit_db, topic, ["after"], keys=["same"])
    group = unique("group")
    await loops.relay(kit_db)
    await loops.consumer(kit_db, topic, group)

    await wait_for(lambda: _has(kit_db, "after"), what="the event after the bad one")
    letters = await wait_for(
        lambda: read_topic(KAFKA, dead_letter_topic(group)), what="a dead letter"
    )
    assert len(letters) == 1
    letter = envelope_pb2.DeadLetter.FromString(letters[0].value)
    assert letter.error_type == "InvalidEnvelope" and "event_id" in letter.error_message
    assert envelope_pb2.Envelope.FromString(letter.value).event_id == shouting.event_id
    assert await _values(kit_db) == ["after"]
