"""A simulator process of bench/zk_push.py's poll step (`--processes N`): its own ZkFleet
(punchcard-kiosk-sim), its own event loop and core, driven over stdin/stdout, one JSON object
a line each way:

    {"op": "add", "serials": [...], "ramp_s": 20}  -> {"ok": true} once every new one polled
    {"op": "reset"}                                -> {"ok": true} (a new measuring window)
    {"op": "report"}                               -> {"poll_ms": [...], "late_ms": [...], ...}
    {"op": "stop"}                                 -> {"ok": true}, then it exits

So one Python process is not what limits how many devices the bench can drive: the main
process keeps the punching devices, these the others."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import resource
import sys
import time

from punchcard_kiosk_sim import ZkFleet, make_session, raise_fd_limit
from punchcard_kiosk_sim.http1 import Http1Pool

LINE_LIMIT = 64 * 1024 * 1024


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def serve(args: argparse.Namespace) -> None:
    raise_fd_limit()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=LINE_LIMIT)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    session = Http1Pool() if args.client == "http1" else make_session()
    fleet = ZkFleet(
        args.url,
        [],
        session=session,
        connections=args.connections,
        ramp_s=args.poll_s,
        poll_s=args.poll_s,
        history=False,
        request_timeout_s=args.request_timeout_s,
    )
    await fleet.start()
    cpu0, wall0 = cpu_s(), time.monotonic()

    def reply(obj: dict) -> None:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    try:
        while line := await reader.readline():
            command = json.loads(line)
            op = command["op"]
            if op == "add":
                added = fleet.add(command["serials"], ramp_s=command["ramp_s"])
                try:
                    await fleet.wait_until(
                        lambda f, added=added: all(d.polls > 0 for d in added),
                        timeout=command["ramp_s"] + 120,
                        what=f"{len(added)} new devices polling",
                    )
                    gc.collect()
                    gc.freeze()  # the devices live to the end: out of the collector's way
                    reply({"ok": True})
                except (TimeoutError, AssertionError) as error:
                    reply({"ok": False, "error": str(error)[:2000]})
            elif op == "reset":
                fleet.reset_measurements()
                cpu0, wall0 = cpu_s(), time.monotonic()
                reply({"ok": True})
            elif op == "report":
                stats = fleet.stats()
                reply(
                    {
                        "devices": len(fleet),
                        "online": sum(1 for d in fleet if d.state == "online"),
                        "poll_ms": fleet.latencies.samples.get("poll", []),
                        "late_ms": fleet.late_ms,
                        "errors": stats["errors"],
                        "cpu_pct": round(100 * (cpu_s() - cpu0) / (time.monotonic() - wall0), 1),
                    }
                )
            elif op == "stop":
                break
    finally:
        await fleet.stop()
        await session.close()
    reply({"ok": True})


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--poll-s", type=float, required=True)
    p.add_argument("--connections", type=int, default=1000)
    p.add_argument("--request-timeout-s", type=float, default=20)
    p.add_argument("--client", choices=("http1", "aiohttp"), default="http1")
    asyncio.run(serve(p.parse_args()))
