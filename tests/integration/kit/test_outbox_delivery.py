"""The backbone's promise: an event written in a committed transaction has its effect exactly
once at the consumer, whatever process dies when; a rolled-back transaction emits nothing."""

import asyncio
import signal

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from google.protobuf import wrappers_pb2
from punchcard_kit.messaging import add_to_outbox, new_envelope
from punchcard_kit.messaging.connection import kafka_options
from punchcard_kit.messaging.relay import _TAKE, SHARD_LOCK_CLASS

from tests.support.messaging import (
    effect_counts,
    outbox_rows,
    read_topic,
    record_effects,
    wait_exit,
    wait_for,
    write_events,
)
from tests.support.stack import KAFKA, unique


async def _all_handled(dsn: str, n: int):
    async def check():
        rows, distinct, _ = await effect_counts(dsn)
        return distinct >= n

    await wait_for(check, timeout=90, what=f"{n} events handled")


async def test_committed_events_reach_the_consumer_exactly_once(kit_db, topic, loops):
    values = [f"v{i}" for i in range(300)]
    ids = await write_events(kit_db, topic, values)
    await loops.relay(kit_db)
    await loops.consumer(kit_db, topic)

    await _all_handled(kit_db, len(values))

    rows, distinct, repeated = await effect_counts(kit_db)
    assert (rows, distinct, repeated) == (300, 300, 0)
    conn = await asyncpg.connect(kit_db)
    try:
        handled = {str(r[0]) for r in await conn.fetch("SELECT event_id FROM effects")}
    finally:
        await conn.close()
    assert handled == set(ids)
    assert await outbox_rows(kit_db) == 0


async def test_rolled_back_transaction_emits_nothing(kit_db, topic, loops):
    conn = await asyncpg.connect(kit_db)
    try:
        with pytest.raises(RuntimeError):
            async with conn.transaction():
                await add_to_outbox(
                    conn,
                    [
                        (
                            topic,
                            "k",
                            new_envelope(
                                wrappers_pb2.StringValue(value="rolled-back"),
                                tenant_id=unique("t"),
                                producer="test",
                            ),
                        )
                    ],
                )
                raise RuntimeError("the state change failed")
    finally:
        await conn.close()
    await write_events(kit_db, topic, ["committed"])
    await loops.relay(kit_db)
    await loops.consumer(kit_db, topic)
    await _all_handled(kit_db, 1)

    records = await read_topic(KAFKA, topic)
    values = [new_value(r.value) for r in records]
    assert values == ["committed"]
    assert await effect_counts(kit_db) == (1, 1, 0)


def new_value(raw: bytes) -> str:
    from punchcard_kit.messaging import decode_envelope, unpack_payload

    return unpack_payload(decode_envelope(raw)).value


@pytest.mark.chaos
async def test_relay_killed_between_publish_and_mark_loses_and_doubles_nothing(
    kit_db, topic, loops, processes
):
    values = [f"v{i}" for i in range(200)]
    await write_events(kit_db, topic, values)

    # The relay publishes a batch, gets Kafka's acks, and is SIGKILLed before deleting the rows.
    doomed = processes.relay(kit_db, failpoints="relay.after_publish=kill")
    assert await wait_exit(doomed) == -signal.SIGKILL
    published_before_restart = len(await read_topic(KAFKA, topic))
    assert published_before_restart > 0, "the relay should have published before it died"
    assert await outbox_rows(kit_db) == 200, "the rows of the unfinished claim must stay"

    processes.relay(kit_db)
    await loops.consumer(kit_db, topic)
    await _all_handled(kit_db, 200)

    assert await effect_counts(kit_db) == (200, 200, 0)
    # The scenario really happened: Kafka holds the first batch twice; the consumer dropped it.
    assert len(await read_topic(KAFKA, topic)) == 200 + published_before_restart
    await wait_for(lambda: _empty_outbox(kit_db), what="outbox drained")


async def _empty_outbox(dsn):
    return await outbox_rows(dsn) == 0


@pytest.mark.chaos
@pytest.mark.parametrize("point", ["consumer.before_db_commit", "consumer.after_db_commit"])
async def test_consumer_killed_mid_batch_handles_each_event_once(
    kit_db, topic, loops, processes, point
):
    values = [f"v{i}" for i in range(500)]
    await write_events(kit_db, topic, values)
    await loops.relay(kit_db)
    group = unique("group")

    # Dies on its third batch: two batches committed, the third in the middle of its work.
    doomed = processes.consumer(kit_db, topic, group, failpoints=f"{point}=kill@3", max_batch=50)
    assert await wait_exit(doomed, timeout=120) == -signal.SIGKILL
    rows_at_crash, _, _ = await effect_counts(kit_db)
    assert 0 < rows_at_crash < 500

    processes.consumer(kit_db, topic, group, max_batch=50)
    await _all_handled(kit_db, 500)
    assert await effect_counts(kit_db) == (500, 500, 0)


async def test_same_key_events_keep_their_order_with_two_relays(kit_db, topic, loops):
    keys = [f"worker-{i % 5}" for i in range(400)]
    values = [f"{i:05d}" for i in range(400)]
    await write_events(kit_db, topic, values, keys=keys, per_transaction=10)
    await loops.relay(kit_db, batch_size=20)
    await loops.relay(kit_db, batch_size=20)
    await loops.consumer(kit_db, topic)
    await _all_handled(kit_db, 400)

    conn = await asyncpg.connect(kit_db)
    try:
        rows = await conn.fetch("SELECT key, value FROM effects ORDER BY partition, kafka_offset")
    finally:
        await conn.close()
    by_key: dict[str, list[str]] = {}
    for row in rows:
        by_key.setdefault(row["key"], []).append(row["value"])
    assert len(by_key) == 5
    for key, seen in by_key.items():
        assert seen == sorted(seen), f"events of {key} were published out of order"


@pytest.mark.chaos
async def test_sigterm_drains_the_batch_in_hand_and_exits_cleanly(kit_db, topic, loops, processes):
    await write_events(kit_db, topic, [f"v{i}" for i in range(2000)], per_transaction=200)
    await loops.relay(kit_db)
    group = unique("group")
    consumer = processes.consumer(kit_db, topic, group, max_batch=50)

    async def started():
        return (await effect_counts(kit_db))[0] > 0

    await wait_for(started, what="the consumer to start handling")
    consumer.send_signal(signal.SIGTERM)
    assert await wait_exit(consumer) == 0
    stderr = consumer.stderr.read().decode()
    assert "consumer stopped" in stderr

    processes.consumer(kit_db, topic, group, max_batch=50)
    await _all_handled(kit_db, 2000)
    assert await effect_counts(kit_db) == (2000, 2000, 0)


async def test_only_the_relays_own_transaction_skips_the_wal_flush(kit_db):
    """The relay's claim turns synchronous_commit off for its transaction alone: the connection
    goes back to the pool as synchronous as it came (the services' writes stay durable)."""
    conn = await asyncpg.connect(kit_db)
    try:
        # A row to claim (the shards are locked, and the setting made, as the claim reads).
        await conn.execute(
            "INSERT INTO outbox (shard, topic, event_id) VALUES (1, 't', gen_random_uuid())"
        )
        assert await conn.fetchval("SHOW synchronous_commit") == "on"
        async with conn.transaction():
            assert len(await conn.fetch(_TAKE, [0, 1, 2], SHARD_LOCK_CLASS, 500, 1 << 20)) == 1
            assert await conn.fetchval("SHOW synchronous_commit") == "off"
        assert await conn.fetchval("SHOW synchronous_commit") == "on"
    finally:
        await conn.close()


async def test_a_stopped_consumer_has_committed_the_offsets_of_everything_it_handled(
    kit_db, topic, loops
):
    """Offset commits overlap the next batch; stopping waits for the last one, so a consumer
    that stops cleanly leaves nothing for its group to read again. Here it is stopped from
    inside the batch that handles the last event: that batch's commit is the one in flight."""
    values = [f"v{i}" for i in range(120)]
    await write_events(kit_db, topic, values)
    handled: set[str] = set()
    stopper: list = []

    async def handle_then_stop(conn, messages):
        await record_effects(conn, messages)
        handled.update(m.payload.value for m in messages)
        if len(handled) == len(values):
            stopper[0].stop()

    group = unique("group")
    loop = await loops.consumer(kit_db, topic, group=group, handler=handle_then_stop)
    stopper.append(loop)
    await loops.relay(kit_db)
    task = next(t for owner, t in loops.tasks if owner is loop)
    await asyncio.wait_for(task, 90)

    admin = AIOKafkaAdminClient(**kafka_options(KAFKA, client_id=unique("admin")))
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    assert sum(meta.offset for meta in committed.values()) == len(values)
