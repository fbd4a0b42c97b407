"""The outbox relay: publishes committed outbox rows to Kafka, then deletes them.

- Claims rows with ``FOR UPDATE SKIP LOCKED`` inside a transaction, publishes them with the
  idempotent producer, waits for every ack, deletes them, commits. A relay killed after the
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
  row, each batch's future awaited before the rows are deleted.
- A batch is bounded by rows (``batch_size``) and by bytes (``batch_max_bytes``, keys and
  values): a backlog of face frames (up to ~700 KiB each) is never read into memory 500 at a
  time. One statement (``_CLAIM``) locks the shards, claims the rows with their sizes and,
  where the whole claim fits the bound, returns the rows themselves: an iteration is BEGIN,
  the claim, the DELETE and COMMIT (four round trips; six before). A claim that does not fit
  is cut (``batch_cut``) and only the rows kept are read in full; a single row larger than
  the bound still goes, alone.
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

# One statement, one round trip: the shards this relay can lock (transaction-level advisory
# locks, tried on every shard), up to $3 of their oldest rows (FOR UPDATE SKIP LOCKED) with
# their sizes, and — where the whole claim fits in $4 bytes, as it nearly always does — the
# rows themselves (``whole``). Otherwise the values stay in the table and the relay reads only
# the rows its batch takes (``batch_cut``, ``_READ_ROWS``): a backlog of face frames is never
# read into memory 500 at a time.
# The claim also turns synchronous_commit off for this transaction (set_config(…, true): local to
# it, gone at its end): the relay's commit only deletes rows that Kafka has acknowledged, so it
# need not wait for the WAL flush (~4 ms here, more at p99). A delete lost in a PostgreSQL crash
# publishes those rows again, as a relay killed before its commit does (at least once; the
# consumers drop duplicates by event id). The services' own transactions stay synchronous.
#
# Every plan these statements can get is a bounded one, whatever the outbox's statistics say.
# A queue table is often vacuumed or analysed while it is nearly empty; the planner then
# believes it holds one row however large it has grown (pg_class's reltuples 0 or 1 over many
# pages), and an ordinary join or ``id = ANY(...)`` may become a scan of the whole outbox per
# row: a claim of 500 rows took 0.1–1.8 s on a 20,000-row backlog (bench/ledger_ingest: the relay
# fell to ~1,450 events/s and did not catch up). So:
# - the oldest rows are found through the primary key only (``shard + 0`` keeps the
#   (shard, id) index out of it; the alternative is a sort of every row of the shards);
# - each claimed row's values are read by a lookup of its own, by its ``ctid`` (a lateral
#   subquery that is not flattened into a join, ``OFFSET 0``: a TID scan per row). The rows are
#   locked by this transaction, so their ctids cannot change before it ends;
# - the rows are read (a cut batch) and deleted again by their ctids within the claim's range
#   of ids: a TID scan or a scan of that range of the primary key, never of the table.
# tests/integration/kit/test_relay_plans.py holds these shapes to it.
_CLAIM = """
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
), whole AS MATERIALIZED (
    SELECT coalesce(sum(size), 0) <= $4 AS whole FROM claimed
)
SELECT c.id, c.ctid, c.size, w.whole, o.topic, o.key, o.value, o.headers
FROM claimed AS c CROSS JOIN whole AS w
LEFT JOIN LATERAL (
    SELECT topic, key, value, headers FROM outbox
    WHERE outbox.ctid = c.ctid AND w.whole
    OFFSET 0
) AS o ON true
ORDER BY c.id
"""
_READ_ROWS = """
SELECT id, topic, key, value, headers FROM outbox
WHERE id BETWEEN $1 AND $2 AND ctid = ANY($3::tid[])
ORDER BY id
"""


def batch_cut(sizes: list[int], max_bytes: int) -> int:
    """How many of the claimed rows (in order, with these sizes in bytes) one batch takes: as
    many as fit in ``max_bytes``, and always at least one."""
    total = 0
    for taken, size in enumerate(sizes):
        total += size
        if total > max_bytes and taken > 0:
            return taken
    return len(sizes)


_DELETE = "DELETE FROM outbox WHERE id BETWEEN $1 AND $2 AND ctid = ANY($3::tid[])"


def by_ctid(rows) -> tuple[int, int, list]:
    """The arguments of ``_READ_ROWS`` and ``_DELETE`` for claimed ``rows`` (in id order):
    their range of ids and their ctids."""
    return rows[0]["id"], rows[-1]["id"], [row["ctid"] for row in rows]


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
            claimed = await conn.fetch(
                _CLAIM, shards, SHARD_LOCK_CLASS, self.batch_size, self.batch_max_bytes
            )
            if not claimed:
                return 0
            if claimed[0]["whole"]:
                rows = claimed
            else:
                taken = batch_cut([row["size"] for row in claimed], self.batch_max_bytes)
                self._cut_short = taken < len(claimed)
                claimed = claimed[:taken]  # the rest stays locked until the commit, unsent
                rows = await conn.fetch(_READ_ROWS, *by_ctid(claimed))
            sends = []  # the producer spans of traced rows (punchcard_kit.tracing)
            try:
                async with asyncio.timeout(self.publish_timeout_s):
                    await asyncio.gather(*await self._produce(rows, sends))
            finally:
                for send_span in sends:
                    send_span.end()
            failpoint("relay.after_publish")
            await conn.execute(_DELETE, *by_ctid(claimed))
        failpoint("relay.after_commit")
        self.published += len(rows)
        OUTBOX_PUBLISHED.labels(self.name).inc(len(rows))
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
