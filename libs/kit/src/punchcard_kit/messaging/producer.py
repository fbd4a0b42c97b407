"""The one way events leave a service: an idempotent Kafka producer (acks=all)."""

from __future__ import annotations

import random
from functools import lru_cache

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import murmur2

from ..logging import get_logger
from ..retry import retry_transient
from .connection import kafka_options

log = get_logger(__name__)


@lru_cache(maxsize=131_072)
def _key_hash(key: bytes) -> int:
    return murmur2(key) & 0x7FFFFFFF


def partition_for(key: bytes | None, all_partitions: list[int], available: list[int]) -> int:
    """The Java client's default partitioner (murmur2 of the key, so every client agrees on a
    key's partition), with the hash of recent keys remembered: aiokafka's murmur2 is pure
    Python and was over half of the relay's CPU per event. Keyless records go anywhere."""
    if key is None:
        return random.choice(available or all_partitions)
    return all_partitions[_key_hash(key) % len(all_partitions)]


def make_producer(bootstrap_servers: str, *, client_id: str, **overrides) -> AIOKafkaProducer:
    options = kafka_options(
        bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=256 * 1024,
        request_timeout_ms=30_000,
        retry_backoff_ms=200,
        partitioner=partition_for,
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
