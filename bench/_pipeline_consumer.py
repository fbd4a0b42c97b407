"""The consumer process of bench/outbox_pipeline.py: the kit's ConsumerLoop with a handler that
records when each event arrived (one row per event, like a small real handler), and when the
relay's producer put it on Kafka (the record's timestamp, ms), to tell the hops apart."""

import argparse
import asyncio
import signal

from punchcard_kit.db import create_pool
from punchcard_kit.event_loop import run_as_service
from punchcard_kit.logging import configure_logging
from punchcard_kit.messaging.consumer import ConsumerLoop
from punchcard_kit.service import freeze_start_up
from punchcard_kit.settings import PYTHON_GC_GEN0_THRESHOLD

# (partition, offset) -> the record's timestamp (ms): set by the relay's producer as it
# appended the record (CreateTime), read by the handler of the same batch.
PRODUCED_AT: dict[tuple[int, int], int] = {}


class StampedLoop(ConsumerLoop):
    async def _process(self, batches) -> None:
        for records in batches.values():
            for r in records:
                PRODUCED_AT[(r.partition, r.offset)] = r.timestamp
        try:
            await super()._process(batches)
        finally:
            PRODUCED_AT.clear()


async def record(conn, messages) -> None:
    await conn.executemany(
        "INSERT INTO arrivals (event_id, occurred_at, produced_at, arrived_at) "
        "VALUES ($1, to_timestamp($2), to_timestamp($3), clock_timestamp())",
        [
            (
                m.event_id,
                m.envelope.occurred_at.ToNanoseconds() / 1e9,
                PRODUCED_AT.get((m.partition, m.offset), 0) / 1e3,
            )
            for m in messages
        ],
    )


async def main(args) -> None:
    configure_logging("bench-consumer", "WARNING")
    pool = await create_pool(args.dsn, min_size=1, max_size=2)
    loop = StampedLoop(
        group_id=args.group,
        topics=[args.topic],
        handler=record,
        pool=pool,
        bootstrap_servers=args.bootstrap,
        max_batch=args.max_batch,
    )
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, loop.stop)
    # As a service does once started (GC_GEN0_THRESHOLD's default: Python's own).
    freeze_start_up(PYTHON_GC_GEN0_THRESHOLD)
    try:
        await loop.run()
    finally:
        await pool.close()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    for name in ("dsn", "bootstrap", "topic", "group"):
        p.add_argument(f"--{name}", required=True)
    p.add_argument("--max-batch", type=int, default=500)
    run_as_service(main(p.parse_args()))  # the loop the services run on (uvloop)
