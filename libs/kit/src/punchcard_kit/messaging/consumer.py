"""The Kafka consumer loop every service uses.

Guarantees, per consumer group:
- A handler's effects and the record of the event id (``processed_events``) commit in one
  PostgreSQL transaction; the Kafka offset is committed only after that. A crash anywhere means
  the batch is delivered again and the already-processed events are skipped: each event's
  effect happens once.
- A handler idempotent by a key of its own (``idempotent_handler``: punch's verdicts, by the
  attempt id its ``attempts`` table holds for ever) makes the record of event ids redundant:
  the loop then writes none (one insert per event less) and only drops a second copy of an
  event in the same batch; dead letters are recorded as for every group.
- Batches: one transaction for everything one poll returned (fast path). If a handler
  raises, the batch is rolled back and replayed with a savepoint around each event; an event
  that keeps failing is retried with backoff ``max_attempts`` times, then written to the
  group's dead-letter topic (``<group>.dlq``, through this service's outbox, in the same
  transaction) and the partition moves on. A record that is not a valid envelope goes there at once.
- A server that is down (PostgreSQL, Kafka) is never a reason to dead-letter: the batch is
  retried with backoff and a clear log line until it goes through or the loop is stopped.
- Rebalance: partitions are given up only after the in-flight batch committed (database and
  offsets). ``stop()`` (SIGTERM) finishes the batch in hand, commits, and leaves the group.
- Offsets are committed after their batch's transaction, in order, by one task beside the loop
  (the broker's round trip off every event's path), at most once every ``commit_every_s``
  (0.5 s) unless ``commit_every_records`` (20) records wait: a small batch's offsets wait for
  the next commit with those of the batches after it. A commit costs the process ~0.3 ms of
  CPU (aiokafka's request and answer): at a few events a second each batch would pay one,
  while a batch of hundreds hardly notices it and is committed at once. So the committed
  offsets, the lag KEDA's kafka scaler reads, trail the work done by at most 20 records or
  0.5 s, under every ``lagThreshold`` (deploy/k8s/base/autoscaling.yaml). A rebalance and
  ``stop()`` commit what waits at once (``settle_commit``); a crash means those records read
  again, which ``processed_events`` (or the idempotent handler) drops. Kafka's own consumers
  commit every 5 s by default (``auto.commit.interval.ms``).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    KafkaError,
    TopicAuthorizationFailedError,
)

from ..failpoints import failpoint
from ..logging import correlation, get_logger
from ..metrics import BATCH_SECONDS, CONSUMED, CONSUMER_ERRORS, LagReport
from ..periodic import Interval
from ..retry import Backoff, is_transient, retry_transient
from ..tracing import TRACE_HEADERS, batch_spans, tracing_enabled
from .assignor import LaneSpreadAssignor
from .catalogue import DEAD_LETTER_PARTITIONS
from .connection import kafka_options
from .dead_letters import dead_letter_topic
from .envelope import InvalidEnvelope, Message, decode_envelope
from .outbox import OutboxRecord, add_records
from .topics import ensure_topics_exist

log = get_logger(__name__)

Handler = Callable[[asyncpg.Connection, Sequence[Message]], Awaitable[None]]

_MARK_PROCESSED = """
INSERT INTO processed_events (consumer_group, event_id)
SELECT $1, e FROM unnest($2::uuid[]) AS e
ON CONFLICT DO NOTHING
RETURNING event_id
"""
_PRUNE = """
DELETE FROM processed_events
WHERE consumer_group = $1 AND processed_at < now() - make_interval(days => $2)
"""
# How long a stop waits for its last offset commit (Kafka unreachable: aiokafka would retry it
# for ever, and the pod would wait for its SIGKILL).
_STOP_COMMIT_TIMEOUT_S = 5.0
_DLQ_NAMESPACE = uuid.UUID("6b1f4e0e-58b1-4c3e-9a55-2d1f5a0c7e11")


def dead_letter_record(
    group_id: str,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    error: Exception,
    attempts: int,
    event_id: str,
) -> OutboxRecord:
    """The outbox record that puts one consumed record on ``<group>.dlq`` as a ``DeadLetter``
    (the original bytes and the error), for the consumer loop and for a service that gives up
    on a record it held back (e.g. punch's parked verdicts)."""
    from punchcard.v1 import envelope_pb2

    letter = envelope_pb2.DeadLetter(
        source_topic=topic,
        source_partition=partition,
        source_offset=offset,
        key=key or b"",
        value=value or b"",
        consumer_group=group_id,
        error_type=type(error).__name__,
        error_message=str(error)[:4000],
        attempts=attempts,
    )
    letter.failed_at.FromDatetime(datetime.now(UTC))
    headers = [
        ("event-type", "punchcard.v1.DeadLetter"),
        ("event-id", event_id),
        ("error-type", type(error).__name__),
    ]
    return OutboxRecord(
        dead_letter_topic(group_id), key, letter.SerializeToString(), headers, event_id
    )


async def forget_processed(
    conn: asyncpg.Connection, group_id: str, event_ids: Sequence[str]
) -> None:
    """In the caller's transaction: these events were not processed by ``group_id`` after all
    (dead-lettered), so a redrive of them is handled as new. Handlers act as the service's
    application role (``tenancy.enter_tenant``, transaction-local); this bookkeeping is the
    owner's, so the role is reset first (a caller acting for a tenant enters it again)."""
    await conn.execute("SELECT set_config('role', 'none', true)")
    await conn.execute(
        "DELETE FROM processed_events WHERE consumer_group = $1 AND event_id = ANY($2::uuid[])",
        group_id,
        list(event_ids),
    )


class Unprocessable(ValueError):
    """Raised by a handler for an event that can never succeed (e.g. a malformed id): it is
    dead-lettered at once instead of after ``max_attempts`` retries."""


class _Stopping(Exception):
    """The loop was stopped while a batch was waiting for a server: leave it uncommitted."""


class ConsumerLoop:
    def __init__(
        self,
        *,
        group_id: str,
        topics: Sequence[str],
        handler: Handler,
        pool: asyncpg.Pool,
        bootstrap_servers: str,
        max_batch: int = 500,
        max_attempts: int = 5,
        retry_initial_s: float = 0.1,
        processed_retention_days: int = 14,
        dlq_partitions: int = DEAD_LETTER_PARTITIONS,
        dlq_replication_factor: int = 1,
        dlq_config: dict[str, str] | None = None,
        consumer_options: dict | None = None,
        transient: tuple[type[BaseException], ...] = (),
        idempotent_handler: bool = False,
        commit_every_s: float = 0.5,
        commit_every_records: int = 20,
    ) -> None:
        self.group_id = group_id
        # The handler recognises an event it has handled (its own key): no processed_events.
        self.idempotent_handler = idempotent_handler
        # This subscription's own "a server is down" errors: the batch waits, never dead-letters.
        self.transient = tuple(transient)
        self.topics = list(topics)
        self.handler = handler
        self.pool = pool
        self.bootstrap_servers = bootstrap_servers
        self.max_batch = max_batch
        self.max_attempts = max_attempts
        self.retry_initial_s = retry_initial_s
        self.processed_retention_days = processed_retention_days
        self.dlq_topic = dead_letter_topic(group_id)
        self.dlq_partitions = dlq_partitions
        self.dlq_replication_factor = dlq_replication_factor
        # A group reading biometric or secret payloads gives its DLQ the source's short retention.
        self.dlq_config = dlq_config or {}
        self.consumer_options = consumer_options or {}
        self.consumer: AIOKafkaConsumer | None = None
        self.healthy = False
        self.processed = 0
        self.lane = 0  # which of a group's consumers in this process (Subscription.lanes)
        self._stopping = asyncio.Event()
        self._in_flight = asyncio.Lock()
        self._prune = Interval(3600.0)  # processed_events past retention: hourly, first at once
        self._lag = LagReport(group_id)
        # This group's metric children, looked up once rather than by four ``labels()`` calls
        # a batch (each takes a lock and builds a key).
        self._processed, self._duplicates, self._dead = (
            CONSUMED.labels(group_id, outcome)
            for outcome in ("processed", "duplicate", "dead_lettered")
        )
        self._batch_seconds = BATCH_SECONDS.labels(group_id)
        # Offsets to commit: a task commits them (``_committer``), at most every commit_every_s
        # unless a rebalance or a stop wants them now (``_flush``).
        self.commit_every_s = commit_every_s
        self.commit_every_records = commit_every_records
        self._commit: asyncio.Task | None = None
        self._pending: dict[TopicPartition, int] = {}
        self._pending_first: dict[int, int] = {}  # the first offset read per partition, for logs
        self._pending_records = 0
        self._flush = asyncio.Event()  # a rebalance or a stop: commit now
        self._wake = asyncio.Event()  # the committer's wait ends early (flush, or records)
        self._last_commit = float("-inf")

    def stop(self) -> None:
        self._stopping.set()

    # -- the loop ----------------------------------------------------------------------------
    async def run(self) -> None:
        try:
            await retry_transient(
                f"kafka dead-letter topic {self.dlq_topic}",
                lambda: ensure_topics_exist(
                    self.bootstrap_servers,
                    [
                        (
                            self.dlq_topic,
                            self.dlq_partitions,
                            self.dlq_replication_factor,
                            self.dlq_config,
                        )
                    ],
                ),
            )
        except (TopicAuthorizationFailedError, ClusterAuthorizationFailedError):
            # Production: the topic is created with the others and the service may not create
            # topics; it is missing only when the catalogue's topics were not applied.
            log.error(
                "dead-letter topic missing and this service may not create it: apply the"
                " rendered KafkaTopics (deploy/k8s/base/kafka-topics.yaml) or run punchcard-topics",
                group=self.group_id,
                topic=self.dlq_topic,
            )
            raise
        self.consumer = await retry_transient(f"kafka consumer {self.group_id}", self._start)
        log.info("consumer started", group=self.group_id, topics=self.topics)
        try:
            while not self._stopping.is_set():
                batches = await self.consumer.getmany(timeout_ms=500, max_records=self.max_batch)
                self.healthy = True
                if self._lag.due():
                    await self._report_lag()
                batches = {tp: records for tp, records in batches.items() if records}
                if batches:
                    async with self._in_flight:
                        try:
                            await self._process(batches)
                        except _Stopping:
                            break
                await self._maybe_prune()
        finally:
            self.healthy = False
            self._lag.clear()
            try:
                await self.settle_commit(timeout_s=_STOP_COMMIT_TIMEOUT_S)
            except Exception as error:  # noqa: BLE001 - the consumer must still leave its group
                log.warning("offset commit failed at stop", group=self.group_id, error=str(error))
            consumer, self.consumer = self.consumer, None
            await consumer.stop()
            log.info("consumer stopped", group=self.group_id, processed=self.processed)

    async def _report_lag(self) -> None:
        if self.consumer is not None:
            self._lag.update(await owned_offsets(self.consumer))

    async def _start(self) -> AIOKafkaConsumer:
        options = kafka_options(
            self.bootstrap_servers,
            group_id=self.group_id,
            client_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.max_batch,
            session_timeout_ms=10_000,
            heartbeat_interval_ms=3_000,
            # Partitions dealt to processes first, then to their lanes (assignor.py). One
            # assignor only: aiokafka sends a JoinGroup per offered assignor, which kept groups
            # rebalancing (assignor.py says why it speaks as `roundrobin`).
            partition_assignment_strategy=(LaneSpreadAssignor,),
        )
        options.update(self.consumer_options)
        consumer = AIOKafkaConsumer(**options)
        consumer.subscribe(self.topics, listener=_DrainOnRevoke(self))
        try:
            await consumer.start()
        except BaseException:
            await consumer.stop()
            raise
        return consumer

    async def _process(self, batches: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        """Everything one poll returned, across partitions, in one transaction; then one offset
        commit for all of them."""
        started = time.perf_counter()
        messages: list[Message] = []
        invalid: list[tuple[ConsumerRecord, InvalidEnvelope]] = []
        first_offsets = {tp.partition: records[0].offset for tp, records in batches.items()}
        tracing = tracing_enabled()
        for record in (r for records in batches.values() for r in records):
            if record.value is None:
                headers = {k: v.decode(errors="replace") for k, v in record.headers or ()}
                messages.append(
                    Message.tombstone(
                        record.topic, record.partition, record.offset, record.key, headers
                    )
                )
                continue
            try:
                envelope = decode_envelope(record.value)
            except InvalidEnvelope as error:
                invalid.append((record, error))
                continue
            messages.append(
                Message(
                    record.topic,
                    record.partition,
                    record.offset,
                    record.key,
                    envelope,
                    _trace_headers(record) if tracing else {},
                )
            )

        backoff = Backoff(0.2, 10)
        careful = False
        while True:
            try:
                outcome = await self._apply(messages, invalid, careful)
                break
            except Exception as error:  # noqa: BLE001
                CONSUMER_ERRORS.labels(self.group_id).inc()
                if not is_transient(error, self.transient) and not careful:
                    log.warning(
                        "handler failed on a batch; replaying it one event at a time",
                        group=self.group_id,
                        first_offsets=first_offsets,
                        error=f"{type(error).__name__}: {error}",
                    )
                    careful = True
                    continue
                delay = backoff.delay()
                log.warning(
                    "batch not processed; a server is unavailable, retrying",
                    group=self.group_id,
                    first_offsets=first_offsets,
                    attempt=backoff.attempt_number,
                    retry_in_s=round(delay, 2),
                    error=f"{type(error).__name__}: {error}",
                )
                try:
                    await asyncio.wait_for(self._stopping.wait(), delay)
                    raise _Stopping() from error
                except TimeoutError:
                    pass

        failpoint("consumer.after_db_commit")
        self.offsets_done(
            {tp: records[-1].offset + 1 for tp, records in batches.items()},
            first_offsets,
            sum(map(len, batches.values())),
        )
        processed, duplicates, dead = outcome
        self.processed += processed
        self._processed.inc(processed)
        if duplicates:
            self._duplicates.inc(duplicates)
        if dead:
            self._dead.inc(dead)
        self._batch_seconds.observe(time.perf_counter() - started)

    def offsets_done(
        self, offsets: dict[TopicPartition, int], first_offsets: dict[int, int], records: int = 1
    ) -> None:
        """A batch (of ``records``) committed its transaction: these offsets (the next to read)
        are to be committed, with the ones that wait, by the committer (started if none
        runs); at once when ``commit_every_records`` records wait."""
        self._pending.update(offsets)
        for partition, offset in first_offsets.items():
            self._pending_first.setdefault(partition, offset)
        self._pending_records += records
        if self._pending_records >= self.commit_every_records:
            self._wake.set()
        if self._commit is None or self._commit.done():
            self._commit = asyncio.create_task(self._committer())

    async def _committer(self) -> None:
        """Commit what waits, in order, at most once every ``commit_every_s`` unless flushed or
        ``commit_every_records`` wait; ends when nothing waits (``offsets_done`` starts it
        again)."""
        clock = asyncio.get_running_loop().time
        while self._pending:
            wait = self._last_commit + self.commit_every_s - clock()
            if (
                wait > 0
                and not self._flush.is_set()
                and self._pending_records < self.commit_every_records
            ):
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), wait)
                except TimeoutError:
                    pass
            offsets, first_offsets = self._pending, self._pending_first
            self._pending, self._pending_first, self._pending_records = {}, {}, 0
            self._last_commit = clock()
            await self._commit_offsets(offsets, first_offsets)

    async def _commit_offsets(
        self, offsets: dict[TopicPartition, int], first_offsets: dict[int, int]
    ) -> None:
        try:
            await self.consumer.commit(offsets)
        except Exception as error:  # noqa: BLE001 - a lost commit only means records read again
            # Rebalanced away or Kafka unreachable: the next owner re-reads the batches and
            # skips what was processed.
            log.warning(
                "offset commit failed; the batch will be re-read and deduplicated",
                group=self.group_id,
                first_offsets=first_offsets,
                error=f"{type(error).__name__}: {error}",
            )

    async def settle_commit(self, timeout_s: float | None = None) -> None:
        """Commit the offsets that wait, now, and wait for that (a rebalance gives partitions
        up, a stop leaves the group, only after it). Commits stay in order: one task makes
        them. A commit late or lost only means records read again, which ``processed_events``
        drops; so a stop waits at most ``timeout_s`` (aiokafka retries a commit for as long as
        Kafka is unreachable) and then leaves without it."""
        self._flush.set()
        self._wake.set()
        try:
            task = self._commit
            if task is not None:
                done, _ = await asyncio.wait({task}, timeout=timeout_s)
                if not done:
                    task.cancel()
                    await asyncio.wait({task}, timeout=1)
                    log.warning(
                        "offset commit still waiting for Kafka; left undone, the records since"
                        " the last commit will be read again and deduplicated",
                        group=self.group_id,
                        waited_s=timeout_s,
                    )
        finally:
            self._flush.clear()

    async def _apply(
        self,
        messages: list[Message],
        invalid: list[tuple[ConsumerRecord, InvalidEnvelope]],
        careful: bool,
    ) -> tuple[int, int, int]:
        """One transaction: mark event ids processed, run the handler on the new ones, write
        dead letters. Returns (processed, duplicates, dead-lettered)."""
        invalid_ids = [self._dead_letter_id(record) for record, _ in invalid]
        async with self.pool.acquire() as conn, conn.transaction():
            fresh = await self._fresh(conn, messages, invalid_ids)
            todo: list[Message] = []
            for message in messages:
                if message.event_id in fresh:
                    fresh.discard(
                        message.event_id
                    )  # a second copy in the same batch is a duplicate
                    todo.append(message)
            letters = [
                self._dead_letter(record, error, 1, event_id)
                for (record, error), event_id in zip(invalid, invalid_ids, strict=True)
                if event_id in fresh
            ]
            if not careful:
                if todo:
                    with batch_spans(self.group_id, todo):
                        await self.handler(conn, todo)
            else:
                failed: list[Message] = []
                for message in list(todo):
                    error = await self._handle_alone(conn, message)
                    if error is not None:
                        tries = 1 if isinstance(error, Unprocessable) else self.max_attempts
                        letters.append(
                            self._dead_letter(message, error, tries, self._dead_letter_id(message))
                        )
                        failed.append(message)
                        todo.remove(message)
                if failed:
                    letters = await self._unmark_dead_lettered(conn, failed, letters)
            if letters:
                await add_records(conn, letters)
                for letter in letters:
                    log.error(
                        "message dead-lettered",
                        group=self.group_id,
                        dlq=self.dlq_topic,
                        event_id=letter.event_id,
                    )
            failpoint("consumer.before_db_commit")
        return len(todo), len(messages) + len(invalid) - len(todo) - len(letters), len(letters)

    async def _fresh(
        self, conn: asyncpg.Connection, messages: list[Message], invalid_ids: list[str]
    ) -> set[str]:
        """The ids of the events (and invalid records' dead letters) this group has not
        processed yet, recorded as processed in the batch's transaction. With an idempotent
        handler the events' ids are not recorded (every one is fresh: the handler knows its
        own); the invalid records' still are, so each is dead-lettered once."""
        ids = (
            invalid_ids if self.idempotent_handler else [m.event_id for m in messages] + invalid_ids
        )
        fresh = (
            {str(row[0]) for row in await conn.fetch(_MARK_PROCESSED, self.group_id, ids)}
            if ids
            else set()
        )
        if self.idempotent_handler:
            fresh.update(m.event_id for m in messages)
        return fresh

    async def _unmark_dead_lettered(
        self, conn: asyncpg.Connection, failed: list[Message], letters: list[OutboxRecord]
    ) -> list[OutboxRecord]:
        """A dead-lettered event was not processed: its id leaves ``processed_events``, so a
        redrive (``punchcard-dlq redrive``) of the same envelope is handled by this group
        (other groups that did process it still skip it). Each dead letter is written once
        even if this batch is replayed: its own id is recorded under ``<group>/dead-letters``."""
        await forget_processed(conn, self.group_id, [m.event_id for m in failed])
        written = {
            str(row[0])
            for row in await conn.fetch(
                _MARK_PROCESSED,
                f"{self.group_id}/dead-letters",
                [letter.event_id for letter in letters],
            )
        }
        return [letter for letter in letters if letter.event_id in written]

    async def _handle_alone(self, conn: asyncpg.Connection, message: Message) -> Exception | None:
        """Handle one event in a savepoint, retrying with backoff; the last error if it never
        succeeded (a transient error propagates: the whole batch waits for the server)."""
        backoff = Backoff(self.retry_initial_s, 2)
        for attempt in range(1, self.max_attempts + 1):
            try:
                with (
                    correlation(message.envelope.correlation_id, event_id=message.event_id),
                    batch_spans(self.group_id, [message]),
                ):
                    async with conn.transaction():
                        await self.handler(conn, [message])
                return None
            except Exception as error:  # noqa: BLE001
                if is_transient(error, self.transient):
                    raise
                if isinstance(error, Unprocessable):
                    return error
                log.warning(
                    "handler failed",
                    group=self.group_id,
                    event_id=message.event_id,
                    event_type=message.type,
                    attempt=attempt,
                    of=self.max_attempts,
                    error=f"{type(error).__name__}: {error}",
                )
                if attempt == self.max_attempts:
                    return error
                await asyncio.sleep(backoff.delay())
        return None

    def _dead_letter_id(self, item: ConsumerRecord | Message) -> str:
        # Deterministic: a replayed batch dead-letters the same record under the same id once.
        return str(
            uuid.uuid5(
                _DLQ_NAMESPACE, f"{self.group_id}/{item.topic}/{item.partition}/{item.offset}"
            )
        )

    def _dead_letter(
        self, item: ConsumerRecord | Message, error: Exception, attempts: int, event_id: str
    ) -> OutboxRecord:
        if isinstance(item, ConsumerRecord):
            value = item.value
        else:
            value = item.envelope.SerializeToString() if item.envelope is not None else b""
        return dead_letter_record(
            self.group_id,
            item.topic,
            item.partition,
            item.offset,
            item.key,
            value,
            error,
            attempts,
            event_id,
        )

    async def _maybe_prune(self) -> None:
        if not self._prune.due():
            return
        self._prune.done()
        try:
            async with self.pool.acquire() as conn:
                await conn.execute(_PRUNE, self.group_id, self.processed_retention_days)
        except Exception as error:  # noqa: BLE001
            log.warning("pruning processed events failed", group=self.group_id, error=str(error))


def _trace_headers(record: ConsumerRecord) -> dict[str, str]:
    """The W3C trace-context headers of a record (the trace its handling continues)."""
    return {
        name: value.decode(errors="replace")
        for name, value in record.headers or ()
        if name in TRACE_HEADERS and value is not None
    }


async def owned_offsets(
    consumer: AIOKafkaConsumer,
) -> dict[tuple[str, int], tuple[int | None, int | None]]:
    """(topic, partition) -> (highwater, position) of every partition the consumer owns, for
    ``punchcard_consumer_lag``: the highwater of its last fetch and its own position, from
    aiokafka's state (no request to Kafka; before a partition's first fetch, both unknown)."""
    offsets: dict[tuple[str, int], tuple[int | None, int | None]] = {}
    for tp in consumer.assignment():
        try:
            highwater = consumer.highwater(tp)
            # Known once a fetch answered (then position() does not wait on Kafka).
            position = await consumer.position(tp) if highwater is not None else None
        except (AssertionError, KafkaError):
            continue  # revoked meanwhile
        offsets[(tp.topic, tp.partition)] = (highwater, position)
    return offsets


class _DrainOnRevoke(ConsumerRebalanceListener):
    def __init__(self, loop: ConsumerLoop) -> None:
        self.loop = loop

    async def on_partitions_revoked(self, revoked) -> None:
        # Wait for the batch in hand to commit (database and offset) before giving it up.
        async with self.loop._in_flight:
            await self.loop.settle_commit()
        self.loop._lag.soon()
        if revoked:
            log.info("partitions revoked", group=self.loop.group_id, partitions=len(revoked))

    async def on_partitions_assigned(self, assigned) -> None:
        self.loop._lag.soon()
        log.info("partitions assigned", group=self.loop.group_id, partitions=len(assigned))
