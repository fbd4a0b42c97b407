"""The outbox relay: publishes committed outbox rows to Kafka; their delete commits after.

- Claims and deletes rows (``FOR UPDATE SKIP LOCKED``) inside a transaction, publishes them
  with the idempotent producer, waits for every ack, commits. A relay killed after the
  publish and before the commit leaves the rows in place: they are published again (at least
  once), and consumers drop the duplicates by event id.
- Several relays may run (one per service replica). Rows are spread over shards by key, and a
  relay works on a shard only while it holds that shard's transaction-level advisory lock, so
  events with the same key are always published in the order they were written.
- ``LISTEN punchcard_outbox`` wakes the relay as soon as a row is committed; a slow poll covers
  a lost notification.
- Kafka or PostgreSQL down: the iteration is rolled back, a warning is logged, the relay backs
  off and tries again; the rows wait in the table.
- Rows are produced a partition at a time (``producer.create_batch`` / ``send_batch``, each
  partition's rows in the order claimed, partitioned as every producer partitions a key:
  ``producer.partition_for``): one record batch per partition instead of one ``send`` per
  row, each batch's future awaited before the delete commits.
- A batch is bounded by rows (``batch_size``) and by bytes (``batch_max_bytes``, keys and
  values): a backlog of face frames (up to ~700 KiB each) is never read into memory 500 at a
  time. One statement (``_TAKE``) locks the shards, claims the rows with their sizes, cuts
  the claim to the bound and deletes and returns the rows it keeps: an iteration is BEGIN,
  that statement and COMMIT (three round trips; four before, six before that). A single row
  larger than the bound still goes, alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal

import asyncpg
from aiokafka import AIOKafkaProducer

from ..db import create_pool
from ..event_loop import run_as_service
from ..failpoints import failpoint
from ..logging import configure_logging, get_logger
from ..metrics import OUTBOX_PUBLISHED, RELAY_ERRORS
from ..retry import Backoff, is_transient
from ..tracing import start_send_span
from .producer import partition_for, start_producer
from .schema import OUTBOX_CHANNEL, OUTBOX_SHARDS

log = get_logger(__name__)

# Advisory-lock namespace (first int4 key) for outbox shards.
SHARD_LOCK_CLASS = 0x5043_0001

# One statement, one round trip (``_TAKE``): the shards this relay can lock (transaction-level
# advisory locks, tried on every shard), up to $3 of their oldest rows (FOR UPDATE SKIP LOCKED)
# with their sizes, as many of those as fit in $4 bytes (always the first: a row larger than
# the bound goes alone), and the DELETE of those, returning them. The delete is the relay's
# transaction's, not yet committed: the relay commits it only once Kafka has acknowledged every
# row. A relay killed, or a publish failed, before that commit rolls it back and the rows are
# still there (at least once; the consumers drop duplicates by event id). Rows claimed but not
# taken (the byte bound) stay locked and unsent until the commit; ``claimed`` tells the relay
# that more wait. A backlog of face frames is never read into memory 500 at a time: only the
# rows taken are read in full.
# The statement also turns synchronous_commit off for this transaction (set_config(…, true):
# local to it, gone at its end): the relay's commit only deletes rows that Kafka has
# acknowledged, so it need not wait for the WAL flush (~4 ms here, more at p99). A delete lost
# in a PostgreSQL crash publishes those rows again, as a relay killed before its commit does.
# The services' own transactions stay synchronous.
#
# Every plan this statement can get is a bounded one, whatever the outbox's statistics say.
# A queue table is often vacuumed or analysed while it is nearly empty; the planner then
# believes it holds one row however large it has grown (pg_class's reltuples 0 or 1 over many
# pages), and an ordinary join or ``id = ANY(...)`` may become a scan of the whole outbox per
# row: a claim of 500 rows took 0.1–1.8 s on a 20,000-row backlog (bench/ledger_ingest: the relay
# fell to ~1,450 events/s and did not catch up). So:
# - the oldest rows are found through the primary key only (``shard + 0`` keeps the
#   (shard, id) index out of it; the alternative is a sort of every row of the shards);
# - the rows taken are deleted by their ctids within their range of ids: a TID scan or a scan
#   of that range of the primary key, never of the table. They are locked by this transaction,
#   so their ctids cannot change before it ends.
# tests/integration/kit/test_relay_plans.py holds this shape to it.
_TAKE = """
WITH mine AS MATERIALIZED (
    SELECT s::smallint AS shard
    FROM unnest($1::int[]) AS s, set_config('synchronous_commit', 'off', true)
    WHERE pg_try_advisory_xact_lock($2::int, s)
), claimed AS MATERIALIZED (
    SELECT id, ctid,
        coalesce(octet_length(key), 0) + coalesce(octet_length(value), 0) AS size
    FROM outbox
    WHERE shard + 0 = ANY(ARRAY(SELECT shard FROM mine))
    ORDER BY id
    LIMIT $3
    FOR UPDATE SKIP LOCKED
), taken AS MATERIALIZED (
    SELECT id, ctid FROM (
        SELECT id, ctid, sum(size) OVER (ORDER BY id) AS running,
            row_number() OVER (ORDER BY id) AS n
        FROM claimed
    ) AS c
    WHERE running <= $4::bigint OR n = 1
), gone AS (
    DELETE FROM outbox
    WHERE id BETWEEN (SELECT min(id) FROM taken) AND (SELECT max(id) FROM taken)
        AND ctid = ANY(ARRAY(SELECT ctid FROM taken))
    RETURNING id, topic, key, value, headers
)
SELECT g.id, g.topic, g.key, g.value, g.headers, (SELECT count(*) FROM claimed) AS claimed
FROM gone AS g
ORDER BY g.id
"""


class OutboxRelay:
    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        dsn: str,
        bootstrap_servers: str,
        name: str,
        batch_size: int = 500,
        batch_max_bytes: int = 16 * 1024 * 1024,
        poll_interval_s: float = 1.0,
        publish_timeout_s: float = 20.0,
        producer_options: dict | None = None,
    ) -> None:
        self.pool = pool
        self.dsn = dsn
        self.bootstrap_servers = bootstrap_servers
        self.name = name
        self.batch_size = batch_size
        self.batch_max_bytes = batch_max_bytes
        self.poll_interval_s = poll_interval_s
        self.publish_timeout_s = publish_timeout_s
        self.producer_options = producer_options or {}
        self.producer: AIOKafkaProducer | None = None
        self.published = 0
        self.healthy = False
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        self._listener: asyncpg.Connection | None = None
        self._cut_short = False  # the last batch stopped at the byte bound: more rows wait
        self._published = OUTBOX_PUBLISHED.labels(name)  # looked up once, not per iteration

    # -- lifecycle ---------------------------------------------------------------------------
    def stop(self) -> None:
        self._stopping.set()
        self._wakeup.set()

    async def run(self) -> None:
        """Relay until ``stop()``; never raises for a server that is down."""
        backoff = Backoff(0.2, 10)
        try:
            while not self._stopping.is_set():
                try:
                    await self._ensure_listening()
                    if self.producer is None:
                        self.producer = await start_producer(
                            self.bootstrap_servers,
                            client_id=f"{self.name}-relay",
                            **self.producer_options,
                        )
                    self._wakeup.clear()
                    count = await self.relay_once()
                    self.healthy = True
                    backoff.reset()
                    if count < self.batch_size and not self._cut_short:
                        await self._sleep_until_woken(self.poll_interval_s)
                except asyncio.CancelledError:
                    raise
                except Exception as error:  # noqa: BLE001 - the loop must outlive any failure
                    self.healthy = False
                    RELAY_ERRORS.labels(self.name).inc()
                    delay = backoff.delay()
                    log.warning(
                        "outbox relay iteration failed; rows stay in the outbox",
                        relay=self.name,
                        error=f"{type(error).__name__}: {error}",
                        transient=is_transient(error),
                        attempt=backoff.attempt_number,
                        retry_in_s=round(delay, 2),
                    )
                    await self._reset_producer()
                    await self._close_listener()
                    await self._sleep_until_woken(delay, stop_only=True)
        finally:
            await self._reset_producer()
            await self._close_listener()

    async def _sleep_until_woken(self, timeout: float, stop_only: bool = False) -> None:
        event = self._stopping if stop_only else self._wakeup
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass

    async def _ensure_listening(self) -> None:
        if self._listener is not None and not self._listener.is_closed():
            return
        self._listener = await asyncpg.connect(self.dsn)
        await self._listener.add_listener(OUTBOX_CHANNEL, self._on_notify)

    def _on_notify(self, *_args) -> None:
        self._wakeup.set()

    async def _close_listener(self) -> None:
        if self._listener is not None:
            listener, self._listener = self._listener, None
            try:
                await asyncio.wait_for(listener.close(), 2)
            except Exception:  # noqa: BLE001
                listener.terminate()

    async def _reset_producer(self) -> None:
        if self.producer is not None:
            producer, self.producer = self.producer, None
            try:
                await asyncio.wait_for(producer.stop(), 5)
            except Exception:  # noqa: BLE001
                pass

    # -- one claim ---------------------------------------------------------------------------
    async def relay_once(self) -> int:
        """Publish up to one batch; returns how many rows were published."""
        assert self.producer is not None
        self._cut_short = False
        shards = list(range(OUTBOX_SHARDS))
        random.shuffle(shards)
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                _TAKE, shards, SHARD_LOCK_CLASS, self.batch_size, self.batch_max_bytes
            )
            if not rows:
                return 0
            # Claimed beyond the byte bound: those stay locked until the commit, unsent.
            self._cut_short = len(rows) < rows[0]["claimed"]
            sends = []  # the producer spans of traced rows (punchcard_kit.tracing)
            try:
                async with asyncio.timeout(self.publish_timeout_s):
                    await asyncio.gather(*await self._produce(rows, sends))
            finally:
                for send_span in sends:
                    send_span.end()
            failpoint("relay.after_publish")
        failpoint("relay.after_commit")
        self.published += len(rows)
        self._published.inc(len(rows))
        return len(rows)

    async def _produce(self, rows, sends: list) -> list[asyncio.Future]:
        """Queue ``rows`` (in order) as one record batch per partition (more where a partition's
        rows outgrow ``max_batch_size``); the futures of the batches."""
        producer = self.producer
        assert producer is not None
        # The producer's own partitioner (the kit's, unless this relay was given another).
        partitioner = self.producer_options.get("partitioner", partition_for)
        by_partition: dict[tuple[str, int], list[tuple]] = {}
        partitions: dict[str, tuple[list[int], list[int]]] = {}
        for row in rows:
            topic = row["topic"]
            if topic not in partitions:
                await producer.partitions_for(topic)  # waits for the topic's metadata
                cluster = producer.client.cluster
                partitions[topic] = (
                    sorted(cluster.partitions_for_topic(topic)),
                    sorted(cluster.available_partitions_for_topic(topic)),
                )
            headers, send_span = start_send_span(topic, json.loads(row["headers"]))
            if send_span is not None:
                sends.append(send_span)
            partition = partitioner(row["key"], *partitions[topic])
            by_partition.setdefault((topic, partition), []).append(
                (row["key"], row["value"], [(k, v.encode()) for k, v in headers])
            )
        futures = []
        for (topic, partition), records in by_partition.items():
            batch = producer.create_batch()
            for key, value, headers in records:
                if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                    # Full: send it, and start the next (its first record always fits).
                    batch.close()
                    futures.append(await producer.send_batch(batch, topic, partition=partition))
                    batch = producer.create_batch()
                    batch.append(key=key, value=value, timestamp=None, headers=headers)
            batch.close()  # complete: a closed batch goes at once, without linger_ms
            futures.append(await producer.send_batch(batch, topic, partition=partition))
        return futures


# -- standalone entry point: `punchcard-relay` ----------------------------------------------
async def _main(args: argparse.Namespace) -> None:
    configure_logging(f"relay-{args.name}", args.log_level)
    pool = await create_pool(args.database_url, min_size=1, max_size=2)
    relay = OutboxRelay(
        pool=pool,
        dsn=args.database_url,
        bootstrap_servers=args.bootstrap_servers,
        name=args.name,
        batch_size=args.batch_size,
        batch_max_bytes=args.batch_max_bytes,
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, relay.stop)
    log.info("outbox relay started", relay=args.name, batch_size=args.batch_size)
    try:
        await relay.run()
    finally:
        await pool.close()
        log.info("outbox relay stopped", relay=args.name, published=relay.published)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Publish a database's outbox to Kafka (runs until SIGTERM)."
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--bootstrap-servers", required=True)
    parser.add_argument("--name", default="relay")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--batch-max-bytes", type=int, default=16 * 1024 * 1024)
    parser.add_argument("--log-level", default="INFO")
    run_as_service(_main(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
