"""Following topics without a consumer group: every process sees every record.

A consumer group shares a topic's partitions among its members, so each record reaches one
of them. Some state must be in *every* replica instead: the kiosk edge's waiting requests (any
gateway replica may hold the request a punch outcome answers) and face-match's in-memory
gallery (every replica searches all templates). ``TopicFollower`` assigns itself every
partition of its topics, commits nothing, and hands each record to an async handler, in order
per partition:

- it starts at the end of each partition (only what is published from now on), or at the
  beginning when asked (``from_beginning=True``: rebuild a table from a compacted topic, then
  follow it; ``caught_up`` is set once the records that were there at the start are handled);
- records are decoded with the kit's envelope rules; a tombstone (null value) reaches the
  handler as a ``Message`` with ``is_tombstone``; a record that is not a valid envelope is
  logged and skipped (there is no group, hence no dead-letter topic);
- a handler that raises is logged (with the record's place) and the follower moves on: the
  handler owns its retries, as a follower has nowhere to park a record;
- Kafka down: one warning line per failed attempt, the consumer is rebuilt with backoff and
  resumes at the offsets it had reached, so nothing published meanwhile is skipped;
- every ``check_interval_s`` the topics are described again (an admin round trip, which also
  tells a dead broker from a quiet topic); partitions added meanwhile are read from their
  beginning: everything in them is newer than the follower's start;
- a topic that does not exist yet is waited for, like a broker that is down;
- ``stop()`` ends ``run()`` within about half a second.

At-least-once, like everything on Kafka: after a reconnect a record may be handed over again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from ..logging import correlation, get_logger
from ..metrics import LagReport
from ..retry import Backoff, is_transient
from ..tracing import follow, tracing_enabled
from .connection import kafka_options
from .consumer import owned_offsets
from .envelope import InvalidEnvelope, Message, decode_envelope

log = get_logger(__name__)

FollowHandler = Callable[[Message], Awaitable[None]]


class TopicMissing(ConnectionError):
    """A followed topic does not exist (yet): waited for like a server that is down."""


class TopicFollower:
    def __init__(
        self,
        *,
        topics: Sequence[str],
        handler: FollowHandler,
        bootstrap_servers: str,
        name: str = "follower",
        from_beginning: bool = False,
        check_interval_s: float = 10.0,
        max_batch: int = 500,
        consumer_options: dict | None = None,
    ) -> None:
        if not topics:
            raise ValueError("a follower needs at least one topic")
        self.topics = list(dict.fromkeys(topics))
        self.handler = handler
        self.bootstrap_servers = bootstrap_servers
        self.name = name
        # punchcard_consumer_lag{group="follower:<name>"}: every replica reads every partition,
        # so each reports its own lag of each.
        self._lag = LagReport(f"follower:{name}")
        self.from_beginning = from_beginning
        self.check_interval_s = check_interval_s
        self.max_batch = max_batch
        self.consumer_options = consumer_options or {}
        # True while connected and reading; what a readiness check reports.
        self.healthy = False
        self.handled = 0
        # Set once every partition has its starting offset: records published after this are
        # seen (with from_beginning=False, anything published before it may not be).
        self.positioned = asyncio.Event()
        # Set once the records present at the first start have been handled (at once when
        # starting at the end).
        self.caught_up = asyncio.Event()
        # Next offset to read per partition: where a rebuilt consumer resumes.
        self._positions: dict[TopicPartition, int] = {}
        self._catch_up_to: dict[TopicPartition, int] | None = None
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    # -- the loop ----------------------------------------------------------------------------
    async def run(self) -> None:
        backoff = Backoff(0.5, 10)
        while not self._stopping.is_set():
            consumer: AIOKafkaConsumer | None = None
            admin: AIOKafkaAdminClient | None = None
            try:
                admin = AIOKafkaAdminClient(
                    **kafka_options(self.bootstrap_servers, client_id=f"follower-{self.name}")
                )
                await admin.start()
                consumer = await self._connect(admin)
                if backoff.attempt_number:
                    log.info("follower reconnected", follower=self.name, topics=self.topics)
                backoff.reset()
                await self._follow(consumer, admin)
            except Exception as error:  # noqa: BLE001 - a follower never dies of an error
                self.healthy = False
                delay = backoff.delay()
                if is_transient(error) or isinstance(error, KafkaError):
                    log.warning(
                        "follower cannot read from kafka; reconnecting",
                        follower=self.name,
                        topics=self.topics,
                        attempt=backoff.attempt_number,
                        retry_in_s=round(delay, 2),
                        error=f"{type(error).__name__}: {error}",
                    )
                else:
                    log.exception(
                        "follower crashed; restarting",
                        follower=self.name,
                        retry_in_s=round(delay, 2),
                    )
                try:
                    await asyncio.wait_for(self._stopping.wait(), delay)
                except TimeoutError:
                    pass
            finally:
                self.healthy = False
                self._lag.clear()
                if consumer is not None:
                    await _quietly_close(consumer.stop)
                if admin is not None:
                    await _quietly_close(admin.close)
        log.info("follower stopped", follower=self.name, handled=self.handled)

    async def _connect(self, admin: AIOKafkaAdminClient) -> AIOKafkaConsumer:
        partitions = await self._partitions(admin)
        options = kafka_options(
            self.bootstrap_servers,
            group_id=None,
            client_id=f"follower-{self.name}",
            enable_auto_commit=False,
            # Only for a saved position that retention has deleted meanwhile: read what is
            # left rather than jump over it.
            auto_offset_reset="earliest",
            max_poll_records=self.max_batch,
        )
        options.update(self.consumer_options)
        consumer = AIOKafkaConsumer(**options)
        try:
            await consumer.start()
            consumer.assign(partitions)
            await self._seek(consumer, partitions, first=not self.positioned.is_set())
        except BaseException:
            await _quietly_close(consumer.stop)
            raise
        self.positioned.set()
        return consumer

    async def _partitions(self, admin: AIOKafkaAdminClient) -> list[TopicPartition]:
        """Every partition of the topics, asked of the cluster (a round trip: it also tells
        that a broker answers)."""
        async with asyncio.timeout(max(10.0, self.check_interval_s)):
            described = await admin.describe_topics(self.topics)
        found = []
        for topic in described:
            if topic["error_code"] or not topic["partitions"]:
                raise TopicMissing(
                    f"topic {topic['topic']!r} is not available (error {topic['error_code']})"
                )
            found.extend(
                TopicPartition(topic["topic"], p["partition"])
                for p in sorted(topic["partitions"], key=lambda p: p["partition"])
            )
        return found

    async def _seek(
        self, consumer: AIOKafkaConsumer, partitions: list[TopicPartition], *, first: bool
    ) -> None:
        """Known partitions resume where they were; on the very first start the rest begin at
        the end (or the beginning, if asked); partitions that appear later begin at their
        beginning (all of their records are newer than the follower)."""
        new = [tp for tp in partitions if tp not in self._positions]
        if new:
            if first and not self.from_beginning:
                starts = await consumer.end_offsets(new)
            else:
                starts = await consumer.beginning_offsets(new)
            self._positions.update(starts)
            if first:
                ends = await consumer.end_offsets(new) if self.from_beginning else starts
                self._catch_up_to = {tp: ends[tp] for tp in new}
        for tp in partitions:
            consumer.seek(tp, self._positions[tp])
        self._check_caught_up()

    async def _follow(self, consumer: AIOKafkaConsumer, admin: AIOKafkaAdminClient) -> None:
        log.info(
            "follower started",
            follower=self.name,
            topics=self.topics,
            partitions=len(consumer.assignment()),
            from_beginning=self.from_beginning,
        )
        next_check = time.monotonic() + self.check_interval_s
        while not self._stopping.is_set():
            batches = await consumer.getmany(timeout_ms=500, max_records=self.max_batch)
            if self._lag.due():
                self._lag.update(await owned_offsets(consumer))
            for tp, records in batches.items():
                for record in records:
                    if self._stopping.is_set():
                        return
                    await self._handle(record)
                    self._positions[tp] = record.offset + 1
            if batches:
                self._check_caught_up()
            if time.monotonic() >= next_check:
                # Raises when no broker answers (→ reconnect); notices added partitions.
                await self._notice_new_partitions(consumer, admin)
                next_check = time.monotonic() + self.check_interval_s
            self.healthy = True

    async def _notice_new_partitions(
        self, consumer: AIOKafkaConsumer, admin: AIOKafkaAdminClient
    ) -> None:
        partitions = await self._partitions(admin)
        assigned = consumer.assignment()
        added = [tp for tp in partitions if tp not in assigned]
        if not added:
            return
        for tp in assigned:  # assign() replaces the assignment and forgets positions
            self._positions[tp] = await consumer.position(tp)
        consumer.assign(partitions)
        await self._seek(consumer, partitions, first=False)
        log.info(
            "follower found new partitions",
            follower=self.name,
            added=[f"{tp.topic}/{tp.partition}" for tp in added],
        )

    async def _handle(self, record: ConsumerRecord) -> None:
        if record.value is None:
            headers = {k: v.decode(errors="replace") for k, v in record.headers or ()}
            message = Message.tombstone(
                record.topic, record.partition, record.offset, record.key, headers
            )
        else:
            try:
                envelope = decode_envelope(record.value)
            except InvalidEnvelope as error:
                log.warning(
                    "follower skipped a record that is not an envelope",
                    follower=self.name,
                    topic=record.topic,
                    partition=record.partition,
                    offset=record.offset,
                    error=str(error),
                )
                return
            message = Message(record.topic, record.partition, record.offset, record.key, envelope)
            if tracing_enabled():
                message.headers = {
                    k: v.decode(errors="replace") for k, v in record.headers or () if v is not None
                }
        correlation_id = message.envelope.correlation_id if message.envelope is not None else None
        try:
            with correlation(correlation_id, event_id=message.event_id), follow(message):
                await self.handler(message)
        except Exception as error:  # noqa: BLE001
            log.error(
                "follower handler failed; record skipped",
                follower=self.name,
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                event_type=message.type,
                error=f"{type(error).__name__}: {error}",
            )
        self.handled += 1

    def _check_caught_up(self) -> None:
        if self.caught_up.is_set() or self._catch_up_to is None:
            return
        if all(self._positions.get(tp, 0) >= end for tp, end in self._catch_up_to.items()):
            self.caught_up.set()


async def _quietly_close(close: Callable[[], Awaitable[None]]) -> None:
    """Close a Kafka client that may be half started or talking to a dead broker."""
    try:
        await close()
    except asyncio.CancelledError:
        # aiokafka's consumer, stopped right after it started, re-raises the cancellation of
        # its own internal task; only a cancellation of *this* task must go on.
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
    except Exception as error:  # noqa: BLE001
        log.debug("closing a follower's kafka client failed", error=type(error).__name__)
