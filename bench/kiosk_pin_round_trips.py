"""Benchmark: what the kiosk PIN path's own round trips cost the process that makes them, one
operation at a time, on the local PostgreSQL, Redis and Kafka — the pieces issue 18 made
fewer round trips of, measured as CPU (``time.process_time``) and wall per operation:

- ``limits``: the edge's rate limits of one PIN punch (``spend("punch")`` + ``spend("pin")``);
- ``claim``: the edge's claim of an attempt (claim, outbox rows, held copy) and its outcome
  saved (``PostgresKioskAttempts.claim`` + ``save_outcome``);
- ``relay``: one outbox row relayed to Kafka (``OutboxRelay.relay_once`` with one row waiting,
  as at a few events a second; the row's write is not counted).

Run it against two checkouts to compare (each in its own process, alternately):
    .venv/bin/python bench/kiosk_pin_round_trips.py [--n 400] [--tree DIR ...]
A tree is imported through PYTHONPATH (its libs/ and services/ sources). Prints a table and
writes bench/results/kiosk_pin_round_trips.json. No target: it explains the end-to-end bench.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCES = ("libs/kit/src", "libs/contracts/src") + tuple(
    f"services/{s}/src" for s in ("gateway", "identity", "face-match", "punch", "device-sync")
)


async def measure(op, n: int, setup=None) -> dict:
    cpu = wall = 0.0
    for _ in range(n):
        if setup is not None:
            await setup()
        c, w = time.process_time(), time.perf_counter()
        await op()
        cpu += time.process_time() - c
        wall += time.perf_counter() - w
    return {"cpu_ms": round(cpu / n * 1000, 3), "wall_ms": round(wall / n * 1000, 3)}


async def child(n: int) -> dict:
    from google.protobuf import wrappers_pb2
    from punchcard.v1 import punch_pb2
    from punchcard_kit.db import create_pool
    from punchcard_kit.messaging import new_envelope
    from punchcard_kit.messaging.outbox import add_to_outbox
    from punchcard_kit.messaging.producer import start_producer
    from punchcard_kit.messaging.relay import OutboxRelay
    from punchcard_kit.messaging.topics import ensure_topics_exist
    from punchcard_kit.migrations import upgrade_async
    from support import gateway_edge_parts

    from tests.support.databases import drop_database, new_database
    from tests.support.messaging import create_database
    from tests.support.stack import KAFKA, REDIS_URL, unique

    edge = gateway_edge_parts()
    EdgeLimiter, EdgeLimits = edge.EdgeLimiter, edge.EdgeLimits  # noqa: N806
    PostgresKioskAttempts, Claim = edge.PostgresKioskAttempts, edge.Claim  # noqa: N806
    RepublishPolicy = edge.RepublishPolicy  # noqa: N806
    out = {}
    # -- rate limits ---------------------------------------------------------------------
    big = 10**9
    limiter = EdgeLimiter.from_url(
        EdgeLimits(
            punch_per_clock=big, punch_per_tenant=big, pin_per_clock=big, pin_per_tenant=big
        ),
        REDIS_URL,
    )
    tenant = unique("bench-t")

    async def spend():
        await limiter.spend("punch", tenant, "c1")
        await limiter.spend("pin", tenant, "c1")

    await measure(spend, 20)
    out["limits"] = await measure(spend, n)
    await limiter.close()

    # -- claim + outcome -----------------------------------------------------------------
    dsn = await new_database("gateway", "gw_rt_bench")
    await upgrade_async(dsn, "punchcard_gateway")
    pool = await create_pool(dsn, min_size=1, max_size=2)
    policy = RepublishPolicy(
        after=timedelta(minutes=5), max_interval=timedelta(hours=6), hold=timedelta(days=7)
    )
    store = PostgresKioskAttempts(pool, policy)
    tenant_id = str(uuid.uuid4())

    async def claim_and_outcome():
        claim = Claim(
            tenant_id=tenant_id,
            attempt_id=str(uuid.uuid4()),
            clock_id="clock-1",
            method="PIN",
            fingerprint=hashlib.sha256(uuid.uuid4().bytes).digest(),
            received_at=datetime.now(UTC),
        )
        envelope = new_envelope(
            wrappers_pb2.BytesValue(value=b"sealed" * 20),
            tenant_id=tenant_id,
            producer="gateway",
            correlation_id=claim.attempt_id,
        )
        event = ("punchcard.kiosk.pin-attempts.v1", f"{tenant_id}/E-1", envelope)
        assert await store.claim(claim, [event]) is None
        await store.save_outcome(
            tenant_id, claim.attempt_id, punch_pb2.PunchRecorded(attempt_id=claim.attempt_id)
        )

    await measure(claim_and_outcome, 20)
    out["claim"] = await measure(claim_and_outcome, n)
    await pool.close()
    await drop_database(dsn)

    # -- relay, one row an iteration -----------------------------------------------------
    kit_db = await create_database()
    topic = unique("bench.rt").replace("_", "-")
    await ensure_topics_exist(KAFKA, [(topic, 3, 1, {})])
    pool = await create_pool(kit_db, min_size=1, max_size=2)
    relay = OutboxRelay(pool=pool, dsn=kit_db, bootstrap_servers=KAFKA, name=unique("relay"))
    relay.producer = await start_producer(KAFKA, client_id="bench-rt")
    writer = await create_pool(kit_db, min_size=1, max_size=1)

    async def write_one():
        env = new_envelope(
            wrappers_pb2.StringValue(value="x" * 200), tenant_id=tenant_id, producer="bench"
        )
        async with writer.acquire() as conn, conn.transaction():
            await add_to_outbox(conn, [(topic, f"k{uuid.uuid4()}", env)])

    async def relay_one():
        assert await relay.relay_once() == 1

    await measure(relay_one, 20, setup=write_one)
    out["relay"] = await measure(relay_one, n, setup=write_one)
    await relay.producer.stop()
    await writer.close()
    await pool.close()
    await drop_database(kit_db)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--tree", action="append", help="checkouts to compare (default: this)")
    parser.add_argument("--rounds", type=int, default=2, help="each tree this often, alternately")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    # As every bench's --quick (support.parse_args; not imported here: a child imports only
    # the tree it measures): a small run that checks the bench works, numbers meaning little.
    parser.add_argument("--quick", action="store_true", help="a small run: --n 50 --rounds 1")
    args = parser.parse_args()
    if args.quick:
        args.n = 50 if args.n == parser.get_default("n") else args.n
        args.rounds = 1 if args.rounds == parser.get_default("rounds") else args.rounds
    if args.child:
        print(json.dumps(asyncio.run(child(args.n))))
        return
    trees = args.tree or [str(REPO)]
    results: dict[str, list[dict]] = {tree: [] for tree in trees}
    for _ in range(args.rounds):
        for tree in trees:
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join([f"{tree}/{s}" for s in SOURCES] + [str(REPO)])
            done = subprocess.run(
                [sys.executable, __file__, "--child", "--n", str(args.n)],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                sys.exit(f"{tree}: {done.stderr[-3000:]}")
            results[tree].append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"per operation, mean of {args.n} (each tree {args.rounds}x, alternately)")
    print(f"{'tree':40} {'op':8} {'cpu ms':>18} {'wall ms':>18}")
    for tree, runs in results.items():
        for op in ("limits", "claim", "relay"):
            cpu = "/".join(f"{r[op]['cpu_ms']:.3f}" for r in runs)
            wall = "/".join(f"{r[op]['wall_ms']:.3f}" for r in runs)
            print(f"{tree[-40:]:40} {op:8} {cpu:>18} {wall:>18}")
    name = "kiosk_pin_round_trips.quick.json" if args.quick else "kiosk_pin_round_trips.json"
    out = REPO / "bench" / "results" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"n": args.n, "results": results}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
