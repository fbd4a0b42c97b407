"""A relay batch goes to Kafka as one closed record batch per partition. (Where it stops, at
its row and byte bounds, is the claim's SQL: tests/integration/kit/test_relay_batch_bytes.py.)"""

import asyncio

from punchcard_kit.messaging.producer import make_producer
from punchcard_kit.messaging.relay import OutboxRelay


class _Cluster:
    def partitions_for_topic(self, topic):
        return {0, 1, 2}

    available_partitions_for_topic = partitions_for_topic


class _Producer:
    """Just what the relay's ``_produce`` asks of aiokafka's producer, with aiokafka's own
    batch builder (``create_batch`` needs no broker)."""

    def __init__(self) -> None:
        self.client = type("Client", (), {"cluster": _Cluster()})()
        self._real = make_producer("127.0.0.1:1", client_id="test-relay-batches")
        self.sent: list[tuple[str, int, bool, int]] = []

    async def partitions_for(self, topic):
        return {0, 1, 2}

    def create_batch(self):
        return self._real.create_batch()

    async def send_batch(self, batch, topic, *, partition):
        self.sent.append((topic, partition, batch.closed(), batch.record_count()))
        return asyncio.get_running_loop().create_future()


async def test_each_partitions_rows_go_as_one_closed_batch():
    """A closed batch is sent at once; an open one would wait linger_ms for more records that
    the relay never adds (aiokafka's MessageBatch.remaining_linger)."""
    relay = OutboxRelay(pool=None, dsn="", bootstrap_servers="", name="t")
    relay.producer = producer = _Producer()
    rows = [
        {"topic": "t", "key": f"k{i % 4}".encode(), "value": b"v", "headers": "[]"}
        for i in range(20)
    ]
    try:
        futures = await relay._produce(rows, [])
    finally:
        await producer._real.stop()
    assert len(futures) == len(producer.sent) == len({(t, p) for t, p, _, _ in producer.sent})
    assert all(closed for _, _, closed, _ in producer.sent)
    assert sum(n for *_, n in producer.sent) == 20
