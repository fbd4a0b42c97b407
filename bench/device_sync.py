"""Benchmark: device-sync — commands reaching clocks.

The real identity and device-sync processes (their own databases), simulated clocks
(punchcard-kiosk-sim, one aiohttp session, in this process) long-polling device-sync:

1. Fan-out: one change affecting every one of N online clocks (default 1,000) — time from the
   admin's call until the last clock's acknowledgement is stored (device-sync's own acked_at).
   Twice: a bulk assignment through the admin API, and a worker rename made in identity
   (identity's outbox → Kafka → device-sync → every clock).
   Baseline, same run: the HTTP floor — the same N clocks each making one authenticated
   request to device-sync at once (no queue, no database write), time until all answered.
2. Delivery latency p50/p99 from the admin's API call to the clock's receipt, at a steady rate
   of changes (assign/unassign on one of the clocks, round robin), and for worker renames in
   identity (through Kafka) at a steady rate.
3. Concurrent clocks held by one device-sync process: C clocks (default 5,000) hold a
   long-poll at once (device-sync's own gauge says how many it holds), then one fan-out to
   all of them; the process's resident memory.

Prints a table and writes bench/results/device_sync.json.
    make bench     # or: .venv/bin/python bench/device_sync.py [--clocks 1000 ...] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import support
from punchcard_kiosk_sim import ClockFleet, make_session, raise_fd_limit, register_clocks
from support import admin_headers, rss_mib, start_service, summary, wait_for


async def held_requests(url: str) -> int:
    """Requests device-sync holds now (0 while it is too busy taking the fleet to answer)."""
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            text = (await http.get(url + "/metrics")).text
    except httpx.TimeoutException:
        return 0
    for line in text.splitlines():
        if line.startswith("device_sync_held_requests "):
            return int(float(line.split()[1]))
    return 0


class Bench:
    def __init__(self, identity, devices, tenant_id: str) -> None:
        self.identity, self.devices, self.tenant_id = identity, devices, tenant_id
        self.headers = admin_headers(tenant_id)
        self.admin = httpx.AsyncClient(
            base_url=devices.url + "/internal/v1", headers=self.headers, timeout=120
        )
        self.people = httpx.AsyncClient(
            base_url=identity.url + "/internal/v1", headers=self.headers, timeout=60
        )
        self.db: asyncpg.Connection | None = None

    async def worker(self, name: str) -> str:
        response = await self.people.post(
            "/workers",
            json={"employee_id": "B" + uuid.uuid4().hex[:12], "name": name, "status": "Active"},
        )
        response.raise_for_status()
        worker_id = response.json()["id"]
        await wait_for(self._known(worker_id), 30, 0.05, "device-sync learns the worker")
        return worker_id

    def _known(self, worker_id: str):
        async def known() -> bool:
            return bool(
                await self.db.fetchval(
                    "SELECT 1 FROM workers WHERE id = $1 AND profile IS NOT NULL", worker_id
                )
            )

        return known

    async def acked_after(self, worker_id: str, since: datetime, expected: int) -> float:
        """Seconds from ``since`` to the last acknowledgement of ``expected`` commands about
        the worker queued after ``since`` (device-sync's acked_at)."""
        query = (
            "SELECT count(*) FILTER (WHERE acked_at IS NOT NULL), max(acked_at)"
            " FROM clock_commands WHERE worker_id = $1 AND created_at >= $2"
        )

        async def done() -> bool:
            count, _ = await self.db.fetchrow(query, worker_id, since)
            return count >= expected

        await wait_for(done, 120, 0.1, f"{expected} acknowledgements")
        _, last = await self.db.fetchrow(query, worker_id, since)
        return (last - since).total_seconds()

    async def assign(self, pairs, unassign=()) -> None:
        response = await self.admin.post(
            "/assignments",
            json={
                "assign": [{"clock_id": c, "worker_id": w} for c, w in pairs],
                "unassign": [{"clock_id": c, "worker_id": w} for c, w in unassign],
            },
        )
        response.raise_for_status()


async def http_floor(session, url: str, credentials: list[str]) -> float:
    """Every clock makes one authenticated request at once: the cost of HTTP alone."""

    async def one(credential: str) -> None:
        async with session.post(
            url + "/clock/v1/acks",
            json={"acks": []},
            headers={"Authorization": f"Bearer {credential}"},
        ) as response:
            assert response.status == 200
            await response.read()

    started = time.monotonic()
    await asyncio.gather(*(one(c) for c in credentials))
    return time.monotonic() - started


async def run(args: argparse.Namespace) -> dict:
    raise_fd_limit()
    tmp = Path(tempfile.mkdtemp(prefix="bench-device-sync-"))
    identity = await start_service("identity", tmp, LOG_LEVEL="WARNING")
    devices = await start_service(
        "device-sync",
        tmp,
        LOG_LEVEL="WARNING",
        DB_POOL_MAX_SIZE=str(args.pool),
        # The bench's clocks are one tenant's, and it measures what one process holds: a
        # tenant's own cap on held long-polls (1,000 a process by default, more is a 429)
        # would stop it at 1,000 however many the process could hold.
        SYNC_POLLS_PER_TENANT=str(max(1000, args.concurrent, args.clocks)),
    )
    bench = Bench(identity, devices, str(uuid.uuid4()))
    bench.db = await asyncpg.connect(devices.admin_url)
    results: dict = {"clocks": args.clocks, "concurrent_target": args.concurrent}
    session = make_session()
    try:
        total = max(args.clocks, args.concurrent)
        started = time.monotonic()
        clocks = await register_clocks(
            devices.url + "/internal/v1",
            bench.headers,
            total,
            site_id="bench",
            prefix="bench-" + uuid.uuid4().hex[:6],
            concurrency=20,
            session=session,
        )
        results["registration_per_s"] = round(total / (time.monotonic() - started), 1)
        fan = clocks[: args.clocks]

        # --- 1. fan-out to N online clocks ---------------------------------------------
        # clock id -> futures waiting for that clock's next command (latency runs)
        waiting: dict[str, list[asyncio.Future]] = {}

        def on_command(clock, command, received_at):
            for future in waiting.pop(clock.clock_id, ()):
                if not future.done():
                    future.set_result(received_at)

        async with ClockFleet(
            devices.url, fan, session=session, wait_s=25, ramp_s=2, on_command=on_command
        ) as fleet:
            await wait_for(
                lambda: _ge(held_requests(devices.url), len(fan)), 60, 0.05, "every clock holding"
            )
            floors = [await http_floor(session, devices.url, [c for _, c in fan]) for _ in range(3)]
            results["http_floor_s"] = round(statistics.median(floors), 3)

            worker = await bench.worker("Fan Out")
            since = datetime.now(UTC)
            await bench.assign([(c, worker) for c, _ in fan])
            results["fanout_assign_s"] = round(await bench.acked_after(worker, since, len(fan)), 3)
            await fleet.wait_caught_up(60)

            since = datetime.now(UTC)
            response = await bench.people.patch(f"/workers/{worker}", json={"name": "Renamed"})
            response.raise_for_status()
            results["fanout_rename_via_kafka_s"] = round(
                await bench.acked_after(worker, since, len(fan)), 3
            )
            await fleet.wait_caught_up(60)

            # --- 2. delivery latency at a steady rate --------------------------------------
            target = fan[: min(200, len(fan))]
            mover = await bench.worker("Mover")
            latencies: list[float] = []
            by_clock = {c: fleet.by_clock_id(c) for c, _ in target}
            interval = 1 / args.rate
            n = int(args.rate * args.seconds)
            assigned: set[str] = set()
            pending: list = []
            next_at = time.monotonic()
            for i in range(n):
                clock_id = target[i % len(target)][0]
                receipt = _expect(waiting, clock_id)
                sent = time.monotonic()
                if clock_id in assigned:
                    r = await bench.admin.delete(f"/clocks/{clock_id}/workers/{mover}")
                    assigned.discard(clock_id)
                else:
                    r = await bench.admin.put(f"/clocks/{clock_id}/workers/{mover}")
                    assigned.add(clock_id)
                r.raise_for_status()
                pending.append(_record(receipt, sent, latencies))
                next_at += interval
                await asyncio.sleep(max(0, next_at - time.monotonic()))
            await asyncio.wait_for(asyncio.gather(*pending), 30)
            results["latency_api"] = latency(args.rate, latencies)

            # Renames in identity (outbox → Kafka → device-sync → clock) at a steady rate.
            one_clock = target[0][0]
            named = await bench.worker("Named 0")
            await bench.assign([(one_clock, named)])
            clock = by_clock[one_clock]
            await clock.wait_until(lambda c: named in c.roster, 30)
            kafka_latencies: list[float] = []
            pending = []
            n_renames = int(args.rename_rate * args.seconds)
            next_at = time.monotonic()
            for i in range(n_renames):
                receipt = _expect(waiting, one_clock)
                sent = time.monotonic()
                r = await bench.people.patch(f"/workers/{named}", json={"name": f"Named {i + 1}"})
                r.raise_for_status()
                pending.append(_record(receipt, sent, kafka_latencies))
                next_at += 1 / args.rename_rate
                await asyncio.sleep(max(0, next_at - time.monotonic()))
            await asyncio.wait_for(asyncio.gather(*pending), 30)
            results["latency_rename_via_kafka"] = latency(args.rename_rate, kafka_latencies)

        # --- 3. concurrent clocks on one process ---------------------------------------
        if args.concurrent:
            many = clocks[: args.concurrent]
            async with ClockFleet(
                devices.url, many, session=session, wait_s=50, ramp_s=10, history=False
            ) as fleet:
                await wait_for(
                    lambda: _ge(held_requests(devices.url), len(many)),
                    180,
                    0.5,
                    f"{len(many)} clocks holding",
                )
                results["concurrent_held"] = await held_requests(devices.url)
                results["device_sync_rss_mib"] = rss_mib(devices.process.pid)
                worker = await bench.worker("Everyone")
                since = datetime.now(UTC)
                await bench.assign([(c, worker) for c, _ in many])
                results["concurrent_fanout_s"] = round(
                    await bench.acked_after(worker, since, len(many)), 3
                )
                results["concurrent_clock_errors"] = fleet.stats().get("errors", 0)
    finally:
        await session.close()
        await bench.admin.aclose()
        await bench.people.aclose()
        await bench.db.close()
        await devices.stop()
        await identity.stop()
    return results


def latency(rate: float, seconds: list[float]) -> dict:
    """Delivery latencies (s) at ``rate`` changes/s, in ms."""
    return {"rate_per_s": rate, "changes": len(seconds), **summary([1000 * s for s in seconds])}


async def _ge(awaitable, n: int) -> bool:
    return (await awaitable) >= n


def _expect(waiting: dict, clock_id: str) -> asyncio.Future:
    """A future for the receipt time of the next command this clock gets."""
    future = asyncio.get_running_loop().create_future()
    waiting.setdefault(clock_id, []).append(future)
    return future


async def _record(receipt: asyncio.Future, sent: float, into: list[float]) -> None:
    into.append(await receipt - sent)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clocks", type=int, default=1000, help="clocks in the fan-out")
    parser.add_argument(
        "--concurrent", type=int, default=5000, help="clocks held at once (0: skip)"
    )
    parser.add_argument("--rate", type=float, default=20, help="admin changes per second")
    parser.add_argument("--rename-rate", type=float, default=5, help="identity renames/s")
    parser.add_argument("--seconds", type=float, default=15, help="duration of each rate run")
    parser.add_argument("--pool", type=int, default=10, help="device-sync DB pool size")
    args = support.parse_args(
        parser, "device_sync", quick={"clocks": 50, "concurrent": 100, "seconds": 3}
    )
    r = await run(args)
    floor = r["http_floor_s"]
    rows = [
        (f"fan-out to {args.clocks} clocks, bulk assign (s)", r["fanout_assign_s"]),
        (f"fan-out to {args.clocks} clocks, rename via Kafka (s)", r["fanout_rename_via_kafka_s"]),
        (f"baseline: HTTP floor, {args.clocks} clocks 1 request (s)", floor),
        ("  fan-out / HTTP floor", round(r["fanout_assign_s"] / floor, 2)),
        (f"API → clock p50 (ms) at {args.rate:g}/s", r["latency_api"]["p50_ms"]),
        (f"API → clock p99 (ms) at {args.rate:g}/s", r["latency_api"]["p99_ms"]),
        ("  p99 / p50", r["latency_api"].get("p99_over_p50")),
        (
            f"identity rename → clock p50 (ms) at {args.rename_rate:g}/s",
            r["latency_rename_via_kafka"]["p50_ms"],
        ),
        (
            f"identity rename → clock p99 (ms) at {args.rename_rate:g}/s",
            r["latency_rename_via_kafka"]["p99_ms"],
        ),
        ("  p99 / p50", r["latency_rename_via_kafka"].get("p99_over_p50")),
    ]
    if args.concurrent:
        rows += [
            ("concurrent clocks held by one process", r["concurrent_held"]),
            ("  device-sync RSS (MiB)", r["device_sync_rss_mib"]),
            (f"  fan-out to all {args.concurrent} (s)", r["concurrent_fanout_s"]),
        ]
    rows.append(("clock registrations/s", r["registration_per_s"]))
    support.print_table(f"device-sync, {os.cpu_count()} cores", rows, 56, 10)
    print("targets: fan-out to 1,000 acknowledged <= 2 s; delivery p99 <= 1 s; >= 5,000 clocks")
    support.write_result(args.out, {"benchmark": "device_sync", "cores": os.cpu_count(), **r})


if __name__ == "__main__":
    asyncio.run(main())
