"""The consumer loop commits offsets after their batches, in order, at most once every
``commit_every_s`` unless ``commit_every_records`` wait: a small batch's offsets wait and go
with the next batches'; a rebalance or a stop (``settle_commit``) commits what waits at once; a
failed commit is logged, never raised."""

import asyncio

from aiokafka import TopicPartition
from punchcard_kit.messaging.consumer import ConsumerLoop

A, B = TopicPartition("t", 0), TopicPartition("t", 1)


class _Consumer:
    def __init__(self, fail: bool = False) -> None:
        self.commits: list[dict] = []
        self.fail = fail

    async def commit(self, offsets) -> None:
        await asyncio.sleep(0)  # the broker's round trip
        if self.fail:
            raise RuntimeError("not the coordinator")
        self.commits.append(dict(offsets))


def _loop(consumer: _Consumer, every: float, records: int = 20) -> ConsumerLoop:
    loop = ConsumerLoop(
        group_id="g",
        topics=["t"],
        handler=None,
        pool=None,
        bootstrap_servers="unused:9092",
        commit_every_s=every,
        commit_every_records=records,
    )
    loop.consumer = consumer
    return loop


async def test_batches_within_the_interval_share_one_commit_of_their_last_offsets():
    consumer = _Consumer()
    loop = _loop(consumer, every=60)
    loop.offsets_done({A: 5}, {0: 0})
    await asyncio.sleep(0.01)
    assert consumer.commits == [{A: 5}]  # the first commit goes at once
    loop.offsets_done({A: 9}, {0: 5})
    loop.offsets_done({B: 3}, {1: 0})
    loop.offsets_done({A: 12}, {0: 9})
    await asyncio.sleep(0.05)
    assert consumer.commits == [{A: 5}]  # the rest wait for the interval
    await loop.settle_commit()  # a rebalance or a stop: now
    assert consumer.commits == [{A: 5}, {A: 12, B: 3}]
    await loop.settle_commit()
    assert len(consumer.commits) == 2  # nothing left to commit


async def test_what_waits_is_committed_once_the_interval_has_passed():
    consumer = _Consumer()
    loop = _loop(consumer, every=0.05)
    loop.offsets_done({A: 1}, {0: 0})
    await asyncio.sleep(0.01)
    loop.offsets_done({A: 2}, {0: 1})
    # No stop, no rebalance: the committer sends it once the interval has passed, then ends.
    await asyncio.wait_for(loop._commit, 10)
    assert consumer.commits == [{A: 1}, {A: 2}]


async def test_with_no_interval_every_batch_is_committed_in_order():
    consumer = _Consumer()
    loop = _loop(consumer, every=0)
    for offset in range(1, 6):
        loop.offsets_done({A: offset}, {0: offset - 1})
        await asyncio.sleep(0.01)
    await loop.settle_commit()
    assert consumer.commits == [{A: n} for n in range(1, 6)]


async def test_a_failed_commit_is_logged_and_the_loop_goes_on():
    consumer = _Consumer(fail=True)
    loop = _loop(consumer, every=0)
    loop.offsets_done({A: 1}, {0: 0})
    await loop.settle_commit()  # does not raise: the records are read again, deduplicated
    consumer.fail = False
    loop.offsets_done({A: 2}, {0: 1})
    await loop.settle_commit()
    assert consumer.commits == [{A: 2}]


async def test_a_stop_does_not_wait_for_ever_on_a_commit_kafka_never_answers():
    class _Unreachable(_Consumer):
        async def commit(self, offsets) -> None:
            await asyncio.Event().wait()  # aiokafka retries for as long as Kafka is away

    loop = _loop(_Unreachable(), every=0)
    loop.offsets_done({A: 1}, {0: 0})
    await asyncio.sleep(0.01)
    await loop.settle_commit(timeout_s=0.05)  # returns: the records are read again
    assert loop._commit.cancelled()


async def test_enough_records_are_committed_at_once_whatever_the_interval():
    consumer = _Consumer()
    loop = _loop(consumer, every=60, records=100)
    loop.offsets_done({A: 1}, {0: 0}, records=1)
    await asyncio.sleep(0.01)
    assert consumer.commits == [{A: 1}]  # the first goes at once
    loop.offsets_done({A: 51}, {0: 1}, records=50)
    await asyncio.sleep(0.05)
    assert consumer.commits == [{A: 1}]  # 50 records wait for the interval
    loop.offsets_done({A: 551}, {0: 51}, records=500)  # a big batch: now
    await asyncio.wait_for(loop._commit, 10)
    assert consumer.commits == [{A: 1}, {A: 551}]
