"""Test helpers for the messaging kit: a throw-away database with the outbox tables and an
``effects`` table, a handler whose effect can be counted, and event writers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import asyncpg
from google.protobuf import wrappers_pb2
from punchcard_kit.messaging import Message, add_to_outbox, new_envelope
from punchcard_kit.messaging.connection import kafka_options
from punchcard_kit.messaging.schema import V1_UP

from .databases import new_database

# No unique constraint on purpose: a handler that ran twice for one event shows up as two rows.
EFFECTS_DDL = """
CREATE TABLE effects (
    event_id uuid NOT NULL,
    key text,
    value text NOT NULL,
    partition int NOT NULL,
    kafka_offset bigint NOT NULL,
    at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE fail_values (value text PRIMARY KEY);
"""


async def create_database() -> str:
    """A fresh database with the kit's V1 schema, owned by a login role of its own (not a
    superuser, as a service's in production); returns its owner's DSN."""
    dsn = await new_database("kit", "kit_test")
    conn = await asyncpg.connect(dsn)
    try:
        for statement in V1_UP:
            await conn.execute(statement)
        await conn.execute(EFFECTS_DDL)
    finally:
        await conn.close()
    return dsn


async def record_effects(conn: asyncpg.Connection, messages: Sequence[Message]) -> None:
    """The handler under test: one row per handled event. A value listed in ``fail_values``
    makes it raise (a poison event)."""
    values = [m.payload.value for m in messages]
    poison = await conn.fetchval(
        "SELECT value FROM fail_values WHERE value = ANY($1::text[]) LIMIT 1", values
    )
    if poison is not None:
        raise ValueError(f"cannot handle value {poison!r}")
    await conn.executemany(
        "INSERT INTO effects (event_id, key, value, partition, kafka_offset)"
        " VALUES ($1, $2, $3, $4, $5)",
        [
            (m.event_id, m.key.decode() if m.key else None, m.payload.value, m.partition, m.offset)
            for m in messages
        ],
    )


async def write_events(
    dsn: str,
    topic: str,
    values: Sequence[str],
    *,
    keys: Sequence[str] | None = None,
    per_transaction: int = 50,
    tenant_id: str = "00000000-0000-0000-0000-000000000001",
) -> list[str]:
    """Write events through the outbox in committed transactions; returns their event ids."""
    conn = await asyncpg.connect(dsn)
    ids: list[str] = []
    try:
        for start in range(0, len(values), per_transaction):
            chunk = range(start, min(start + per_transaction, len(values)))
            async with conn.transaction():
                items = []
                for i in chunk:
                    env = new_envelope(
                        wrappers_pb2.StringValue(value=values[i]),
                        tenant_id=tenant_id,
                        producer="test",
                    )
                    ids.append(env.event_id)
                    items.append((topic, keys[i] if keys else f"k{i % 7}", env))
                await add_to_outbox(conn, items)
    finally:
        await conn.close()
    return ids


async def wait_for(
    predicate, timeout: float = 60.0, interval: float = 0.2, what: str = "condition"
):
    """Poll an async predicate until it returns a truthy value (not a timing assertion: the
    bound only stops a broken test from hanging)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(interval)


async def effect_counts(dsn: str) -> tuple[int, int, int]:
    """(rows, distinct event ids, events handled more than once)."""
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            """SELECT count(*) AS rows, count(DISTINCT event_id) AS distinct_ids,
                      (SELECT count(*) FROM (SELECT event_id FROM effects GROUP BY event_id
                                             HAVING count(*) > 1) d) AS repeated
               FROM effects"""
        )
        return row["rows"], row["distinct_ids"], row["repeated"]
    finally:
        await conn.close()


@asynccontextmanager
async def kafka_admin(bootstrap: str) -> AsyncIterator:
    """An ``AIOKafkaAdminClient`` of the stack, started, closed after the block."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(**kafka_options(bootstrap))
    await admin.start()
    try:
        yield admin
    finally:
        await admin.close()


async def topic_partitions(bootstrap: str, topic: str) -> list:
    """The topic's partitions (``TopicPartition``s); none if there is no such topic."""
    from aiokafka import TopicPartition

    async with kafka_admin(bootstrap) as admin:
        if topic not in await admin.list_topics():
            return []
        [description] = await admin.describe_topics([topic])
    return [TopicPartition(topic, p["partition"]) for p in description["partitions"]]


async def read_topic(bootstrap: str, topic: str) -> list:
    """Every record now in ``topic``, read from the beginning without a consumer group."""
    from aiokafka import AIOKafkaConsumer

    partitions = await topic_partitions(bootstrap, topic)
    if not partitions:
        return []
    consumer = AIOKafkaConsumer(**kafka_options(bootstrap, enable_auto_commit=False))
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        records = []

        async def behind() -> bool:
            return any([await consumer.position(tp) < end[tp] for tp in partitions])

        while await behind():
            batch = await consumer.getmany(timeout_ms=1000)
            for items in batch.values():
                records.extend(items)
        return records
    finally:
        await consumer.stop()


async def start_groups_at_the_end(bootstrap: str, groups: dict[str, str]) -> None:
    """Commit, for each consumer group, the current end of its topic (``{group: topic}``): a
    service started with those groups and ``CONSUMER_OFFSET_RESET=earliest`` then reads only
    what comes after, not everything the shared test stack's topic holds (benchmarks leave
    hundreds of thousands of assignments there)."""
    from aiokafka import AIOKafkaConsumer

    for group, topic in groups.items():
        partitions = await topic_partitions(bootstrap, topic)
        consumer = AIOKafkaConsumer(
            **kafka_options(bootstrap, group_id=group, enable_auto_commit=False)
        )
        await consumer.start()
        try:
            consumer.assign(partitions)
            await consumer.commit(await consumer.end_offsets(partitions))
        finally:
            await consumer.stop()


async def _ending(admin, ending: str) -> list[str]:
    return [t for t in await admin.list_topics() if t.endswith(ending)]


async def topics_ending(bootstrap: str, ending: str) -> list[str]:
    """The topics whose names end with ``ending``."""
    async with kafka_admin(bootstrap) as admin:
        return await _ending(admin, ending)


async def delete_topics_ending(bootstrap: str, ending: str) -> list[str]:
    """Delete every topic whose name ends with ``ending`` (a test's own suffix); the names."""
    async with kafka_admin(bootstrap) as admin:
        names = await _ending(admin, ending)
        if names:
            await admin.delete_topics(names)
    return names


async def wait_exit(child, timeout: float = 60) -> int:
    """Wait for a child process without blocking the event loop."""
    return await asyncio.get_running_loop().run_in_executor(None, child.wait, timeout)


async def outbox_rows(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval("SELECT count(*) FROM outbox")
    finally:
        await conn.close()


class VerdictFeed:
    """Every identification verdict published from now on, by attempt id (every copy, so a test
    can assert that an attempt was answered exactly once). Reads all partitions, no group."""

    TOPIC = "punchcard.identification.verdicts.v1"

    def __init__(self, bootstrap: str, partitions: int = 12) -> None:
        from aiokafka import AIOKafkaConsumer

        self.consumer = AIOKafkaConsumer(**kafka_options(bootstrap, enable_auto_commit=False))
        self.partitions = partitions
        self.by_attempt: dict[str, list] = {}
        self.arrived_at: dict[str, float] = {}  # attempt id -> when its first verdict was read
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        from aiokafka import TopicPartition

        await self.consumer.start()
        partitions = [TopicPartition(self.TOPIC, p) for p in range(self.partitions)]
        self.consumer.assign(partitions)
        await self.consumer.seek_to_end(*partitions)
        for tp in partitions:
            await self.consumer.position(tp)
        self._task = asyncio.create_task(self._collect())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        await self.consumer.stop()

    async def _collect(self) -> None:
        from punchcard_kit.messaging import decode_envelope, unpack_payload

        while True:
            batch = await self.consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for record in records:
                    verdict = unpack_payload(decode_envelope(record.value))
                    self.by_attempt.setdefault(verdict.context.attempt_id, []).append(verdict)
                    self.arrived_at.setdefault(verdict.context.attempt_id, time.monotonic())

    async def first(self, attempt_id: str, timeout: float = 60):
        """The first verdict for the attempt (waits for it)."""

        async def arrived():
            found = self.by_attempt.get(attempt_id)
            return found[0] if found else None

        return await wait_for(arrived, timeout=timeout, interval=0.02, what="a verdict")
