"""Kafka dies and comes back during a run: the relay and the consumer recover by themselves and
nothing is lost or doubled. Uses a throw-away broker of its own (scripts/stack kafka-instance),
so the shared one keeps serving the other tests."""

import asyncio

import pytest
from punchcard_kit.messaging.topics import ensure_topics_exist

from tests.support import kafka_instance
from tests.support.messaging import effect_counts, outbox_rows, wait_for, write_events


@pytest.fixture
async def own_kafka(tmp_path):
    directory = tmp_path / "kafka"
    port = await asyncio.to_thread(kafka_instance.start, directory)
    yield directory, f"127.0.0.1:{port}"
    await asyncio.to_thread(kafka_instance.kill, directory)


@pytest.mark.chaos
async def test_relay_and_consumer_recover_when_kafka_restarts(kit_db, loops, own_kafka):
    directory, bootstrap = own_kafka
    topic = "chaos.restart"
    await ensure_topics_exist(bootstrap, [(topic, 3, 1, {})])
    relay = await loops.relay(kit_db, bootstrap=bootstrap)
    consumer = await loops.consumer(kit_db, topic, bootstrap=bootstrap)

    async def handled(n):
        async def check():
            return (await effect_counts(kit_db))[1] >= n

        return check

    await write_events(kit_db, topic, [f"a{i}" for i in range(100)])
    await wait_for(await handled(100), timeout=90, what="events before the crash")

    await asyncio.to_thread(kafka_instance.kill, directory)
    await write_events(kit_db, topic, [f"b{i}" for i in range(100)])
    await asyncio.sleep(3)  # the relay fails, logs and backs off; the events wait in the outbox
    assert await outbox_rows(kit_db) == 100

    await asyncio.to_thread(kafka_instance.restart, directory)
    await write_events(kit_db, topic, [f"c{i}" for i in range(100)])
    await wait_for(await handled(300), timeout=120, what="every event after the restart")

    assert await effect_counts(kit_db) == (300, 300, 0)
    assert await outbox_rows(kit_db) == 0
    assert relay.published >= 300 and consumer.processed == 300
