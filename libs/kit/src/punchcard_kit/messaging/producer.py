"""The one way events leave a service: an idempotent Kafka producer (acks=all)."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from ..logging import get_logger
from ..retry import retry_transient

log = get_logger(__name__)


def make_producer(bootstrap_servers: str, *, client_id: str, **overrides) -> AIOKafkaProducer:
    options = dict(
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=256 * 1024,
        request_timeout_ms=30_000,
        retry_backoff_ms=200,
    )
    options.update(overrides)
    return AIOKafkaProducer(**options)


async def start_producer(
    bootstrap_servers: str, *, client_id: str, **overrides
) -> AIOKafkaProducer:
    """Start a producer, waiting with backoff while Kafka is unreachable."""

    async def start() -> AIOKafkaProducer:
        producer = make_producer(bootstrap_servers, client_id=client_id, **overrides)
        try:
            await producer.start()
        except BaseException:
            await producer.stop()
            raise
        return producer

    return await retry_transient(f"kafka producer {client_id}", start)
