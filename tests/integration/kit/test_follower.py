"""TopicFollower on the real broker: no consumer group, every partition; from the end it sees only
what is published after it is positioned, from the beginning everything (then follows);
tombstones and bad records; partitions added later; stop; and a broker restart (chaos)."""

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions
from google.protobuf import wrappers_pb2
from punchcard_kit.messaging import Message, encode_envelope, new_envelope
from punchcard_kit.messaging.connection import kafka_options
from punchcard_kit.messaging.follower import TopicFollower
from punchcard_kit.messaging.topics import ensure_topics_exist

from tests.support import kafka_instance
from tests.support.messaging import wait_for
from tests.support.stack import KAFKA, unique

TENANT = "00000000-0000-0000-0000-0000000000aa"


async def new_topic(partitions: int = 3, bootstrap: str = KAFKA) -> str:
    name = unique("test.follower").replace("_", "-")
    await ensure_topics_exist(bootstrap, [(name, partitions, 1, {})])
    return name


async def publish(topic: str, values, *, bootstrap: str = KAFKA, partition: int | None = None):
    producer = AIOKafkaProducer(**kafka_options(bootstrap))
    await producer.start()
    try:
        for value in values:
            env = new_envelope(
                wrappers_pb2.StringValue(value=value), tenant_id=TENANT, producer="test"
            )
            await producer.send_and_wait(
                topic, encode_envelope(env), key=value.encode(), partition=partition
            )
    finally:
        await producer.stop()


class Following:
    """Followers run in the test's event loop; every one is stopped at the end."""

    def __init__(self) -> None:
        self.running: list[tuple[TopicFollower, asyncio.Task]] = []

    async def start(self, topic: str, *, positioned: bool = True, **options):
        seen: list[Message] = []

        async def handler(message: Message) -> None:
            seen.append(message)

        options.setdefault("bootstrap_servers", KAFKA)
        follower = TopicFollower(topics=[topic], handler=handler, name=unique("f"), **options)
        self.running.append((follower, asyncio.create_task(follower.run())))
        if positioned:
            await asyncio.wait_for(follower.positioned.wait(), 60)
        return follower, seen

    async def close(self) -> None:
        for follower, _ in self.running:
            follower.stop()
        if self.running:
            await asyncio.wait([t for _, t in self.running], timeout=30)


@pytest.fixture
async def following():
    running = Following()
    yield running
    await running.close()


def values(seen: list[Message]) -> list[str]:
    return sorted(m.payload.value for m in seen if not m.is_tombstone)


async def test_from_the_end_only_new_records_from_the_beginning_all(following):
    topic = await new_topic()
    await publish(topic, ["old-1", "old-2", "old-3"])

    at_end, seen_at_end = await following.start(topic)
    assert at_end.caught_up.is_set()  # nothing to catch up with when starting at the end
    await publish(topic, ["new-1", "new-2"])
    await wait_for(lambda: _at_least(seen_at_end, 2), what="the new records")

    from_start, seen_from_start = await following.start(topic, from_beginning=True)
    await asyncio.wait_for(from_start.caught_up.wait(), 30)
    assert values(seen_from_start) == ["new-1", "new-2", "old-1", "old-2", "old-3"]
    await publish(topic, ["new-3"])
    await wait_for(lambda: _at_least(seen_from_start, 6), what="a record after catching up")
    await wait_for(lambda: _at_least(seen_at_end, 3), what="the third new record")

    assert values(seen_at_end) == ["new-1", "new-2", "new-3"]
    assert values(seen_from_start) == ["new-1", "new-2", "new-3", "old-1", "old-2", "old-3"]
    message = seen_at_end[0]
    assert message.topic == topic and message.tenant_id == TENANT
    assert message.key == message.payload.value.encode()
    # No group: nothing was committed anywhere, and no group exists for the follower.
    admin = AIOKafkaAdminClient(**kafka_options(KAFKA))
    await admin.start()
    try:
        groups = {g[0] for g in await admin.list_consumer_groups()}
    finally:
        await admin.close()
    assert not any(at_end.name in g or from_start.name in g for g in groups)


async def test_two_followers_both_see_every_record(following):
    topic = await new_topic(partitions=4)
    _, one = await following.start(topic)
    _, two = await following.start(topic)
    sent = [f"v{i}" for i in range(40)]
    await publish(topic, sent)
    await wait_for(lambda: _at_least(one, 40), what="follower one")
    await wait_for(lambda: _at_least(two, 40), what="follower two")
    assert values(one) == values(two) == sorted(sent)


async def test_tombstones_and_bad_records(following):
    topic = await new_topic(partitions=1)
    follower, seen = await following.start(topic)
    producer = AIOKafkaProducer(**kafka_options(KAFKA))
    await producer.start()
    event_id = str(uuid.uuid4())
    try:
        await producer.send_and_wait(
            topic,
            None,
            key=b"t/w1",
            headers=[("event-type", b"tombstone"), ("event-id", event_id.encode())],
        )
        await producer.send_and_wait(topic, b"not an envelope", key=b"junk")
    finally:
        await producer.stop()
    await publish(topic, ["after"])
    await wait_for(lambda: _at_least(seen, 2), what="the tombstone and the record after")

    tombstone, after = seen
    assert tombstone.is_tombstone and tombstone.key == b"t/w1"
    assert tombstone.event_id == event_id
    assert after.payload.value == "after"  # the junk record was skipped, not fatal
    assert follower.handled == 2


async def test_a_failing_handler_does_not_stop_the_follower(following):
    topic = await new_topic(partitions=1)
    seen = []

    async def handler(message: Message) -> None:
        if message.payload.value == "poison":
            raise ValueError("cannot handle this one")
        seen.append(message.payload.value)

    follower = TopicFollower(topics=[topic], handler=handler, bootstrap_servers=KAFKA)
    following.running.append((follower, asyncio.create_task(follower.run())))
    await asyncio.wait_for(follower.positioned.wait(), 60)
    await publish(topic, ["a", "poison", "b"])
    await wait_for(lambda: _at_least(seen, 2), what="the records around the poison")
    assert seen == ["a", "b"]


async def test_partitions_added_later_are_read_from_their_beginning(following):
    topic = await new_topic(partitions=1)
    follower, seen = await following.start(topic, check_interval_s=0.5)
    admin = AIOKafkaAdminClient(**kafka_options(KAFKA))
    await admin.start()
    try:
        await admin.create_partitions({topic: NewPartitions(total_count=3)})
    finally:
        await admin.close()
    # Published to the new partitions before the follower noticed them: still seen.
    await publish(topic, ["p1"], partition=1)
    await publish(topic, ["p2"], partition=2)
    await publish(topic, ["p0"], partition=0)
    await wait_for(lambda: _at_least(seen, 3), timeout=60, what="records of the new partitions")
    assert values(seen) == ["p0", "p1", "p2"]


async def test_a_missing_topic_is_waited_for(following):
    topic = unique("test.follower.later").replace("_", "-")
    follower, seen = await following.start(topic, positioned=False)
    await asyncio.sleep(1.5)
    assert not follower.positioned.is_set() and not follower.healthy
    await ensure_topics_exist(KAFKA, [(topic, 1, 1, {})])
    await asyncio.wait_for(follower.positioned.wait(), 60)
    await publish(topic, ["late"])
    await wait_for(lambda: _at_least(seen, 1), what="a record of the late topic")


async def test_stop_ends_run_promptly(following):
    topic = await new_topic(partitions=1)
    follower, _ = await following.start(topic)
    task = following.running[-1][1]
    await wait_for(lambda: _true(follower.healthy), what="healthy")
    follower.stop()
    await asyncio.wait_for(task, 5)
    assert not follower.healthy


@pytest.mark.chaos
async def test_resumes_where_it_was_when_kafka_comes_back(following, tmp_path):
    directory = tmp_path / "kafka"
    port = await asyncio.to_thread(kafka_instance.start, directory)
    bootstrap = f"127.0.0.1:{port}"
    try:
        topic = await new_topic(partitions=2, bootstrap=bootstrap)
        follower, seen = await following.start(
            topic, bootstrap_servers=bootstrap, check_interval_s=1
        )
        await publish(topic, ["before"], bootstrap=bootstrap)
        await wait_for(lambda: _at_least(seen, 1), what="a record before the restart")

        await asyncio.to_thread(kafka_instance.kill, directory)
        await wait_for(lambda: _true(not follower.healthy), timeout=30, what="noticed down")
        await asyncio.to_thread(kafka_instance.restart, directory)
        # Published before the follower has reconnected: it resumes at its offsets, so it
        # still sees them (a fresh start at the end would not).
        await publish(topic, ["after-1", "after-2"], bootstrap=bootstrap)
        await wait_for(lambda: _at_least(seen, 3), timeout=120, what="records after the restart")
        assert values(seen) == ["after-1", "after-2", "before"]
    finally:
        await asyncio.to_thread(kafka_instance.kill, directory)


async def _at_least(items, n: int) -> bool:
    return len(items) >= n


async def _true(value) -> bool:
    return bool(value)
