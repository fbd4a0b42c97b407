"""The consumer process of bench/outbox_pipeline.py: the kit's ConsumerLoop with a handler that
records when each event arrived (one row per event, like a small real handler)."""

import argparse
import asyncio
import signal

from punchcard_kit.db import create_pool
from punchcard_kit.event_loop import run_as_service
from punchcard_kit.logging import configure_logging
from punchcard_kit.messaging.consumer import ConsumerLoop


async def record(conn, messages) -> None:
    await conn.executemany(
        "INSERT INTO arrivals (event_id, occurred_at, arrived_at) "
        "VALUES ($1, to_timestamp($2), clock_timestamp())",
        [(m.event_id, m.envelope.occurred_at.ToNanoseconds() / 1e9) for m in messages],
    )


async def main(args) -> None:
    configure_logging("bench-consumer", "WARNING")
    pool = await create_pool(args.dsn, min_size=1, max_size=2)
    loop = ConsumerLoop(
        group_id=args.group,
        topics=[args.topic],
        handler=record,
        pool=pool,
        bootstrap_servers=args.bootstrap,
        max_batch=args.max_batch,
    )
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, loop.stop)
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
