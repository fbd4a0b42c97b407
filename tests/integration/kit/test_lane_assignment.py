"""On the real broker: a group whose processes each run several consumers (lanes) gets its
partitions spread over the processes first (``LaneSpreadAssignor``); members of an older image
(the stock round robin, during a rolling upgrade) share the group with it, whichever leads; and
two lanes of one process as the kit runs them settle in a few generations, not in a rebalance
loop."""

from __future__ import annotations

import asyncio
from collections import Counter

from aiokafka import AIOKafkaConsumer
from aiokafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
from punchcard_kit.messaging.assignor import LaneSpreadAssignor
from punchcard_kit.messaging.connection import kafka_options
from punchcard_kit.messaging.consumer import ConsumerLoop
from punchcard_kit.messaging.topics import ensure_topics_exist

from tests.support.messaging import wait_for
from tests.support.stack import KAFKA, unique


async def start(group: str, topic: str, *assignors, client_id: str = "") -> AIOKafkaConsumer:
    consumer = AIOKafkaConsumer(
        **kafka_options(
            KAFKA,
            group_id=group,
            client_id=client_id or group,
            enable_auto_commit=False,
            partition_assignment_strategy=assignors,
            session_timeout_ms=10_000,
            heartbeat_interval_ms=500,
        )
    )
    consumer.subscribe([topic])
    await consumer.start()
    return consumer


async def settled(consumers: list[AIOKafkaConsumer], partitions: int):
    """Each consumer's partitions once all of them are in one generation of the group (the
    rebalance after the last one joined is done) and every partition is owned exactly once."""

    async def check():
        await asyncio.gather(*(c.getmany(timeout_ms=50) for c in consumers))
        generations = {c._coordinator.generation for c in consumers}
        if len(generations) != 1 or generations.pop() < 1:
            return None
        owned = [sorted(tp.partition for tp in c.assignment()) for c in consumers]
        flat = sorted(p for ps in owned for p in ps)
        return owned if flat == list(range(partitions)) else None

    return await wait_for(check, timeout=90, what="the group settled")


async def test_two_processes_of_three_lanes_share_four_partitions_two_and_two():
    """Six members, four partitions. Member ids are ``<client id>-<uuid>`` and process A's
    client id sorts first: round robin over member ids would give A three and B one."""
    topic = unique("test.lanes").replace("_", "-")
    await ensure_topics_exist(KAFKA, [(topic, 4, 1, {})])
    group = unique("lanes")
    consumers: list[AIOKafkaConsumer] = []
    try:
        for token in ("a", "a", "a", "b", "b", "b"):
            lanes = LaneSpreadAssignor.for_process(token.encode())
            client_id = f"{token}-{group}"
            consumers.append(await start(group, topic, lanes, client_id=client_id))
        owned = await settled(consumers, 4)
        per_process: Counter[str] = Counter()
        for token, partitions in zip("aaabbb", owned, strict=True):
            per_process[token] += len(partitions)
        assert per_process == {"a": 2, "b": 2}
        assert sorted(len(p) for p in owned) == [0, 0, 1, 1, 1, 1]  # at most one a lane
    finally:
        await asyncio.gather(*(c.stop() for c in consumers), return_exceptions=True)


async def test_members_of_an_older_image_share_the_group_whichever_leads():
    for first_old in (True, False):  # the first member to join leads
        topic = unique("test.lanes").replace("_", "-")
        await ensure_topics_exist(KAFKA, [(topic, 4, 1, {})])
        group = unique("lanes")
        consumers: list[AIOKafkaConsumer] = []
        try:
            new = LaneSpreadAssignor.for_process(b"new")
            kinds = (
                (RoundRobinPartitionAssignor, new)
                if first_old
                else (new, RoundRobinPartitionAssignor)
            )
            for assignor in kinds:
                consumers.append(await start(group, topic, assignor))
            owned = await settled(consumers, 4)
            assert [len(p) for p in owned] == [2, 2]
        finally:
            await asyncio.gather(*(c.stop() for c in consumers), return_exceptions=True)


async def test_two_lanes_of_a_process_settle_and_stay_settled():
    """As the kit's consumers start them (ConsumerLoop's own options), joining at once."""
    topic = unique("test.lanes").replace("_", "-")
    await ensure_topics_exist(KAFKA, [(topic, 12, 1, {})])
    group = unique("lanes")
    loops = [
        ConsumerLoop(
            group_id=group, topics=[topic], handler=None, pool=None, bootstrap_servers=KAFKA
        )
        for _ in range(2)
    ]
    consumers = await asyncio.gather(*(loop._start() for loop in loops))
    try:
        owned = await settled(list(consumers), 12)
        assert [len(p) for p in owned] == [6, 6]
        generation = consumers[0]._coordinator.generation
        for _ in range(10):  # a rebalance loop moves the generation every ~100 ms
            await asyncio.gather(*(c.getmany(timeout_ms=200) for c in consumers))
        assert {c._coordinator.generation for c in consumers} == {generation}
    finally:
        await asyncio.gather(*(c.stop() for c in consumers), return_exceptions=True)
