"""A consumer process for crash tests: ``python -m tests.support.effects_consumer``.
Runs the kit's ConsumerLoop with the counting handler until SIGTERM (or a failpoint kills it)."""

import argparse
import asyncio
import signal

from punchcard_kit.db import create_pool
from punchcard_kit.logging import configure_logging
from punchcard_kit.messaging.consumer import ConsumerLoop

from tests.support.messaging import record_effects


async def main(args: argparse.Namespace) -> None:
    configure_logging("effects-consumer", "INFO")
    pool = await create_pool(args.dsn, min_size=1, max_size=3)
    loop = ConsumerLoop(
        group_id=args.group,
        topics=[args.topic],
        handler=record_effects,
        pool=pool,
        bootstrap_servers=args.bootstrap,
        max_batch=args.max_batch,
        # A SIGKILLed member is noticed after the session timeout; the broker's minimum keeps
        # the restart tests short.
        consumer_options={"session_timeout_ms": 6000, "heartbeat_interval_ms": 1000},
    )
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, loop.stop)
    try:
        await loop.run()
    finally:
        await pool.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--max-batch", type=int, default=100)
    asyncio.run(main(parser.parse_args()))
