"""Benchmark: outbox → relay → Kafka → consumer, end to end, on this machine.

Two pipelines run in the same session on the same servers, each in its own processes (writer
here, relay and consumer as separate processes, as in production):
  - kit:   the kit as services run it (relay claims batches, consumer commits per batch);
  - naive: publish + commit per event (relay batch 1), consumer commits per message (batch 1).
Measured for each:
  - sustained events/s: writers commit events as fast as they can (50 per transaction) for a
    fixed time; rate = events handled by the consumer / time from first write to last arrival;
  - latency at a fixed rate (default 1,000 events/s, one event per transaction, after a
    warm-up at the same rate that is not measured): the time from the event's occurred_at (set
    just before its transaction commits) to the consumer's handler recording it, p50 / p99, and
    per hop: the writer's own transaction (occurred_at to its commit returning: PostgreSQL's
    WAL flush) and the pipeline (committed to handled: relay, Kafka, consumer). The JSON splits
    the pipeline at the record's Kafka timestamp too (whole milliseconds, so ±1 ms).
Prints a table and writes bench/results/outbox_pipeline.json. Not a test: no pass/fail.

    make bench            # or: .venv/bin/python bench/outbox_pipeline.py --seconds 10 [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time
import uuid

import asyncpg
import support
from google.protobuf import wrappers_pb2
from punchcard_kit.messaging import add_to_outbox, new_envelope
from punchcard_kit.messaging.schema import V1_UP
from punchcard_kit.messaging.topics import ensure_topics_exist
from support import KAFKA, PG, ROOT, VENV_BIN

TENANT = str(uuid.uuid4())
PAYLOAD = "x" * 200  # a small domain event's size


async def create_db() -> str:
    name = f"bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(f"{PG}/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    dsn = f"{PG}/{name}"
    conn = await asyncpg.connect(dsn)
    for statement in V1_UP:
        await conn.execute(statement)
    await conn.execute(
        "CREATE TABLE arrivals"
        " (event_id uuid, occurred_at timestamptz, produced_at timestamptz, arrived_at timestamptz)"
    )
    await conn.close()
    return dsn


def envelope(i: int):
    return new_envelope(wrappers_pb2.StringValue(value=PAYLOAD), tenant_id=TENANT, producer="bench")


def start_pipeline(dsn: str, topic: str, batch: int) -> list[subprocess.Popen]:
    # The caller's PYTHONPATH first (a worktree's sources measured instead of the venv's).
    path = [p for p in (os.environ.get("PYTHONPATH"), str(ROOT)) if p]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    relay = subprocess.Popen(
        [
            str(VENV_BIN / "punchcard-relay"),
            "--database-url",
            dsn,
            "--bootstrap-servers",
            KAFKA,
            "--batch-size",
            str(batch),
            "--log-level",
            "WARNING",
        ],
        env=env,
    )
    consumer = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "bench/_pipeline_consumer.py"),
            "--dsn",
            dsn,
            "--bootstrap",
            KAFKA,
            "--topic",
            topic,
            "--group",
            f"bench-{uuid.uuid4().hex[:6]}",
            "--max-batch",
            str(batch),
        ],
        env=env,
    )
    return [relay, consumer]


async def arrived(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval("SELECT count(*) FROM arrivals")
    finally:
        await conn.close()


async def wait_drained(dsn: str, total: int, limit_s: float) -> bool:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if await arrived(dsn) >= total:
            return True
        await asyncio.sleep(0.25)
    return False


async def warm_up(dsn: str, topic: str) -> None:
    """Wait until the consumer has joined its group and handled a first event."""
    conn = await asyncpg.connect(dsn)
    async with conn.transaction():
        await add_to_outbox(conn, [(topic, "warm", envelope(0))])
    await conn.close()
    if not await wait_drained(dsn, 1, 60):
        raise SystemExit("pipeline did not start: is the stack up (scripts/stack up)?")
    await truncate_arrivals(dsn)


async def sustained(dsn: str, topic: str, seconds: float, writers: int = 3, per_tx: int = 50):
    stop_at = time.monotonic() + seconds
    written = 0

    async def writer(w: int) -> None:
        nonlocal written
        conn = await asyncpg.connect(dsn)
        i = 0
        try:
            while time.monotonic() < stop_at:
                async with conn.transaction():
                    await add_to_outbox(
                        conn,
                        [
                            (topic, f"worker-{w}-{(i + k) % 97}", envelope(i + k))
                            for k in range(per_tx)
                        ],
                    )
                i += per_tx
                written += per_tx
        finally:
            await conn.close()

    started = time.time()
    await asyncio.gather(*(writer(w) for w in range(writers)))
    write_s = time.time() - started
    drained = await wait_drained(dsn, written, limit_s=max(60, seconds * 6))
    conn = await asyncpg.connect(dsn)
    last, count = await conn.fetchrow("SELECT max(arrived_at), count(*) FROM arrivals")
    await conn.execute("TRUNCATE arrivals")
    await conn.close()
    elapsed = last.timestamp() - started
    return {
        "events_written": written,
        "events_handled": count,
        "drained": drained,
        "write_events_per_s": round(written / write_s),
        "sustained_events_per_s": round(count / elapsed),
        "elapsed_s": round(elapsed, 2),
    }


async def fixed_rate(dsn: str, topic: str, rate: int, seconds: float, writers: int = 16):
    """Events at ``rate``/s, one per transaction, from ``writers`` connections; each event's
    latency end to end and per hop: the writer's transaction (occurred_at to its commit
    returning) and the pipeline (committed to handled: relay, Kafka, consumer)."""
    total = int(rate * seconds)
    committed: dict[str, float] = {}
    conns = [await asyncpg.connect(dsn) for _ in range(writers)]
    keys = [f"worker-{k}" for k in range(97)]

    async def paced(count: int) -> float:
        """``count`` events at ``rate``/s; returns the rate offered."""
        queue: asyncio.Queue[int | None] = asyncio.Queue()

        async def writer(conn: asyncpg.Connection) -> None:
            while (i := await queue.get()) is not None:
                event = envelope(i)
                async with conn.transaction():  # one event per transaction, as a service writes
                    await add_to_outbox(conn, [(topic, keys[i % len(keys)], event)])
                committed[event.event_id] = time.time()

        tasks = [asyncio.create_task(writer(conn)) for conn in conns]
        start = time.monotonic()
        for i in range(count):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            queue.put_nowait(i)
        for _ in tasks:
            queue.put_nowait(None)
        await asyncio.gather(*tasks)
        return count / (time.monotonic() - start)

    # Warm-up at the same rate, not measured: every writer's connection (its statements
    # prepared), every key's partition (the relay's producer, the consumer's fetch positions)
    # and the broker's and PostgreSQL's hot paths, so the run measures the steady state at this
    # rate. Without it the first ~0.2 s often stalled for ~100 ms on this machine (1-2 % of a
    # 10-s run: the whole p99).
    warm = max(len(keys), min(total // 5, 2 * rate))
    await paced(warm)
    if not await wait_drained(dsn, warm, limit_s=60):
        raise SystemExit("the pipeline did not handle the warm-up events")
    await truncate_arrivals(dsn)
    committed.clear()
    offered = await paced(total)
    for conn in conns:
        await conn.close()
    drained = await wait_drained(dsn, total, limit_s=max(60, seconds * 6))
    conn = await asyncpg.connect(dsn)
    rows = await conn.fetch(
        "SELECT event_id::text, extract(epoch FROM occurred_at)::float8,"
        " extract(epoch FROM produced_at)::float8, extract(epoch FROM arrived_at)::float8"
        " FROM arrivals"
    )
    await conn.execute("TRUNCATE arrivals")
    await conn.close()
    # Each event's four instants (s): occurred, committed, on Kafka, handled.
    times = [(o, committed[e], p, a) for e, o, p, a in rows if e in committed]

    def hop(first: int, last: int) -> dict:
        return support.summary([(t[last] - t[first]) * 1000 for t in times])

    end_to_end = hop(0, 3)
    hops = {
        "transaction": hop(0, 1),
        "pipeline": hop(1, 3),
        # Kafka's record timestamps are whole milliseconds: these two are ±1 ms.
        "relay": hop(1, 2),
        "kafka_consumer": hop(2, 3),
    }
    return {
        "target_rate": rate,
        "offered_rate": round(offered),
        "events": end_to_end["n"],
        "drained": drained,
        "p50_ms": end_to_end["p50_ms"],
        "p99_ms": end_to_end["p99_ms"],
        "max_ms": end_to_end["max_ms"],
        "p99_over_p50": end_to_end["p99_over_p50"],
        "hops": hops,
    }


async def truncate_arrivals(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    await conn.execute("TRUNCATE arrivals")
    await conn.close()


async def run_phase(name: str, batch: int, phase, *phase_args) -> dict:
    """Each phase on a fresh pipeline (database, topic, relay and consumer processes), so a
    backlog left by one phase never inflates the next one's numbers."""
    dsn = await create_db()
    topic = f"bench.pipeline.{name}.{uuid.uuid4().hex[:6]}"
    await ensure_topics_exist(KAFKA, [(topic, 12, 1, {})])
    processes = start_pipeline(dsn, topic, batch)
    try:
        await warm_up(dsn, topic)
        return await phase(dsn, topic, *phase_args)
    finally:
        support.stop_processes(processes)
        await support.drop_database(dsn)


async def run_variant(name: str, batch: int, args) -> dict:
    seconds = args.seconds if name == "kit" else args.seconds / 2
    return {
        "sustained": await run_phase(name, batch, sustained, seconds),
        "latency": await run_phase(name, batch, fixed_rate, args.rate, args.seconds),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--only", choices=["kit", "naive"], help="run one pipeline (diagnosis)")
    args = support.parse_args(parser, "outbox_pipeline", quick={"seconds": 2.0, "rate": 200})

    if args.only:
        print(json.dumps(await run_variant(args.only, 500 if args.only == "kit" else 1, args)))
        return
    results = {
        "kit": await run_variant("kit", 500, args),
        "naive": await run_variant("naive", 1, args),
    }

    kit, naive = results["kit"], results["naive"]
    # (label, key, section, higher is better?)
    rows = [
        ("sustained events/s", "sustained_events_per_s", "sustained", True),
        ("  (writers offered events/s)", "write_events_per_s", "sustained", None),
        (f"p50 latency at {args.rate}/s (ms)", "p50_ms", "latency", False),
        (f"p99 latency at {args.rate}/s (ms)", "p99_ms", "latency", False),
        ("  p99 / p50", "p99_over_p50", "latency", None),
        ("  hop: writer's transaction p50", ("transaction", "p50_ms"), "hops", False),
        ("  hop: writer's transaction p99", ("transaction", "p99_ms"), "hops", False),
        ("    p99 / p50", ("transaction", "p99_over_p50"), "hops", None),
        ("  hop: committed → handled p50", ("pipeline", "p50_ms"), "hops", False),
        ("  hop: committed → handled p99", ("pipeline", "p99_ms"), "hops", False),
        ("    p99 / p50", ("pipeline", "p99_over_p50"), "hops", None),
        ("  (offered rate/s)", "offered_rate", "latency", None),
    ]
    print(f"\noutbox → Kafka → consumer, {os.cpu_count()} cores, {args.seconds:.0f} s per phase")
    print(f"{'metric':34} {'kit':>12} {'naive':>12} {'kit better':>10}")
    for label, key, section, higher_better in rows:
        if section == "hops":
            hop, key = key
            a, b = (r["latency"]["hops"][hop][key] for r in (kit, naive))
        else:
            a, b = kit[section][key], naive[section][key]
        ratio = "-"
        if a and b and higher_better is not None:
            ratio = f"{(a / b if higher_better else b / a):.0f}x"
        print(f"{label:34} {a!s:>12} {b!s:>12} {ratio:>10}")
    print("targets: >= 5,000 events/s sustained; p99 < 100 ms at 1,000 events/s")
    for name in ("kit", "naive"):
        for section in ("sustained", "latency"):
            if not results[name][section]["drained"]:
                print(
                    f"note: {name} did not drain its {section} phase within the time limit: it"
                    " cannot keep up with the offered load (its latencies are of what arrived)"
                )

    support.write_result(
        args.out,
        {
            "benchmark": "outbox_pipeline",
            "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
            "seconds_per_phase": args.seconds,
            "results": results,
            "targets": {"sustained_events_per_s": 5000, "p99_ms_at_1000_per_s": 100},
        },
    )


if __name__ == "__main__":
    asyncio.run(main())
