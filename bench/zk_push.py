"""Benchmark: hardware clocks speaking ZKTeco PUSH (ADMS) to device-sync's /iclock edge.

The real gateway, identity, device-sync and punch processes, each on its own database, on the
local PostgreSQL, Redis and Kafka (punch as deployed: three verdict lanes, its outbox relay a
process of its own; device-sync's relay in its process, or apart with `--device-sync-relay
apart`); simulated ZK devices (punchcard-kiosk-sim's ZkFleet: one
keep-alive HTTP client, `--client`, and one scheduler, in this process) registered as ZK_PUSH
clocks of one tenant.

1. ATTLOG ingest: D devices (default 1,000), each holding its own W workers (its roster arrives
   by USERINFO commands first), punch at an offered rate (default 2,500 punches/s) for S seconds,
   open loop; each punch is uploaded at once (Realtime=1: a device busy with a batch sends the
   punches made meanwhile in its next batch, as firmware does). Measured: device-to-OK (the punch
   made on the device → the OK of the batch that carried it) p50/p99, and punches/s through to
   punch's ledger (attempts decided, from punch's own database: decided_at); every second, how
   many punches wait in device-sync's outbox and how many were published but not yet decided
   (the largest of each says which stage the ledger waited on). Before the measured S seconds,
   the same load for --warm-up-s (5 s), then ANALYZE of the services' databases: the window is
   a system that has run for a while, whose tables hold rows and statistics, not a database
   made a minute ago (support.analyze; --cold-statistics skips the ANALYZE). Where the offered
   rate is above the target's 2,000/s, the same load follows at 2,000/s for S seconds: the
   target's p99 is measured there (the offered rate's window shows that the ledger keeps up
   with more, and a heavier load's tail, reported beside it).
   Baseline, same run: the kiosk app's PIN path (bench/kiosk_pin_punch.py's load step: HTTP in
   at the gateway → recorded answer, argon2 included) at --kiosk-rate.
2. Roster fan-out: one worker assigned to the D running devices in one bulk call — time until
   every device's devicecmd carrying its `DATA UPDATE USERINFO PIN=<badge>` result was answered,
   in poll intervals.
3. Poll capacity of one device-sync process: devices polling every --poll-s (10 s) added in
   steps (default 5,000, 10,000, 15,000, 20,000 in all); per step, after every new device has
   handshaken, a measuring window: p99 of the poll answer (`GET /iclock/getrequest`, sent →
   answered), device-sync's CPU and memory. Held: the largest step at p99 <= 50 ms. The
   simulator's own scheduler lateness is reported (the worst of its processes): a late client
   means the client, not device-sync, was the limit. `--processes N` spreads the devices added
   here over N - 1 more simulator processes (bench/_zk_poll_worker.py, one event loop each);
   the punching devices stay in this one.

Beside throughput and latency, the CPU each process spent per punch during phase 1
(device-sync, punch, the simulator): on a busy shared machine it moves far less than the
rates do, so it is what compares two runs of different code.

Targets: >= 2,000 punches/s decided (at the offered rate) with p99 device-to-OK <= 200 ms (at
2,000/s); >= 20,000 devices at p99 poll <= 50 ms; a roster change acknowledged by 1,000 devices
within 2 poll intervals.

Prints a table and writes bench/results/zk_push.json.
    .venv/bin/python bench/zk_push.py [--devices 1000 --rate 2500 ...] [--quick]
    --device-sync-env KEY=VALUE: settings for device-sync (e.g. the edge's Delay)
    --ingest-only: phase 1 alone (to compare settings of the ingest path)
    --warm-up-s S: the ATTLOG load for S s (default 5) before the tables are analysed
    --cold-statistics: skip that ANALYZE (see support.analyze)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import aiohttp
import asyncpg
import httpx
import support
from kiosk_pin_punch import (
    Kiosks,
    foreign_services,
    punch_step,
    set_up_tenant,
    start,
    start_gateway,
    start_punch,
    stop_all,
)
from prometheus_client.parser import text_string_to_metric_families
from punchcard_kiosk_sim import ZkFleet, make_session, raise_fd_limit, register_zk_clocks
from punchcard_kiosk_sim.http1 import Http1Pool
from support import ServiceProcess, admin_headers, cpu_seconds, rss_mib, summary, wait_for

TARGET_RATE = 2000.0  # punches/s
TARGET_OK_P99_MS = 200.0
TARGET_DEVICES = 20_000
TARGET_POLL_P99_MS = 50.0
TARGET_FANOUT_INTERVALS = 2.0
MAX_BULK_PAIRS = 5000  # device-sync's POST /assignments


# --- pure pieces (tested in tests/unit/bench/test_zk_push.py) ---------------------------------


def workers_per_device(rate: float, devices: int, minimum: int) -> int:
    """Workers each device holds so that no (device, badge) pair punches twice in the same
    second with the same State (those would be one record): a pair comes round every
    devices * workers / rate s and alternates IN/OUT, so the same State every 2x that; keep it
    >= 2 s."""
    return max(minimum, math.ceil(rate / max(devices, 1)))


def punch_plan(i: int, devices: int, workers: int) -> tuple[int, int]:
    """The i-th punch of the load: (device index, worker slot on that device), round robin over
    the devices, then over each device's workers."""
    return i % devices, (i // devices) % workers


def badge(device: int, slot: int, workers: int) -> str:
    """A numeric badge (the worker's Employee ID, the device's PIN) for a device's slot."""
    return str(100_000 + device * workers + slot)


def intervals(seconds: float | None, poll_s: float) -> float | None:
    return None if seconds is None else round(seconds / poll_s, 2)


def held_devices(steps: list[dict], target_p99_ms: float) -> int:
    """Devices held: the largest step whose p99 poll answer met the target, every device of it
    polling (0 when none did)."""
    held = 0
    for step in steps:
        if (
            step["poll"]["p99_ms"] is not None
            and step["poll"]["p99_ms"] <= target_p99_ms
            and step["polling"] >= step["devices"]
        ):
            held = max(held, step["devices"])
    return held


def parse_env(pairs: list[str]) -> dict[str, str]:
    env = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {pair!r}")
        env[key] = value
    return env


def steps_of(text: str) -> list[int]:
    steps = sorted({int(x) for x in text.split(",") if x.strip()})
    if not steps or steps[0] <= 0:
        raise argparse.ArgumentTypeError(f"expected positive device counts, got {text!r}")
    return steps


def _all_through(ingest: dict) -> bool:
    return ingest["acked"] == ingest["punches"] and ingest["decided"] >= ingest["punches"]


def verdict(r: dict) -> dict:
    """Each target met (True / False), or None for a phase not run (``--ingest-only``). The
    ingest target: the ledger keeps up with the offered rate (>= TARGET_RATE decided a second),
    and at TARGET_RATE the p99 device-to-OK is within TARGET_OK_P99_MS — measured in the phase
    at the target rate (``ingest_at_target``) where the offered rate was above it."""
    ingest, fan, polls = r["ingest"], r.get("fanout"), r.get("poll_capacity")
    at_target = r.get("ingest_at_target") or ingest
    return {
        "ingest": ingest["ledger_per_s"] is not None
        and ingest["ledger_per_s"] >= TARGET_RATE
        and _all_through(ingest)
        and at_target["device_to_ok"]["p99_ms"] is not None
        and at_target["device_to_ok"]["p99_ms"] <= TARGET_OK_P99_MS
        and _all_through(at_target),
        "polls": None if polls is None else polls["held"] >= TARGET_DEVICES,
        "fanout": None
        if fan is None
        else fan["intervals"] is not None and fan["intervals"] <= TARGET_FANOUT_INTERVALS,
    }


def rows(r: dict, args: argparse.Namespace) -> list[tuple[str, object]]:
    ingest, kiosk = r["ingest"], r["kiosk_baseline"]
    fan, polls = r.get("fanout"), r.get("poll_capacity")
    ok = ingest["device_to_ok"]
    out: list[tuple[str, object]] = [
        (f"ATTLOG offered punches/s ({ingest['devices']} devices)", ingest["offered_per_s"]),
        ("  answered OK per s (at the edge)", ingest["acked_per_s"]),
        ("  decided per s (punch's ledger)", ingest["ledger_per_s"]),
        ("  device-to-OK p50 / p99 (ms)", support.p50_p99(ok["p50_ms"], ok["p99_ms"])),
        (
            "  punches / OK / decided / recorded",
            f"{ingest['punches']}/{ingest['acked']}/{ingest['decided']}/{ingest['recorded']}",
        ),
        ("  batches / lines resent", f"{ingest['batches']}/{ingest['resent_lines']}"),
        ("  last OK -> last decided (s)", ingest["ledger_lag_s"]),
        (
            "  most waiting: in device-sync's outbox / published, undecided",
            "{}/{}".format(
                ingest.get("waiting", {}).get("device_sync_outbox_max"),
                ingest.get("waiting", {}).get("punch_undecided_max"),
            ),
        ),
        (
            "  uploads' wait / transaction ms, uploads per transaction",
            "{}/{}, {}".format(
                ingest.get("group_commit", {}).get("mean_wait_ms"),
                ingest.get("group_commit", {}).get("mean_transaction_ms"),
                ingest.get("group_commit", {}).get("mean_uploads_per_transaction"),
            ),
        ),
        (
            "  CPU ms per punch: device-sync / punch / simulator",
            "/".join(
                str(ingest.get("cpu_ms_per_punch", {}).get(n))
                for n in ("device-sync", "punch", "simulator")
            ),
        ),
        ("  machine busy % (all processes)", ingest.get("machine_busy_pct")),
    ]
    at_target = r.get("ingest_at_target")
    if at_target is not None:
        ok = at_target["device_to_ok"]
        out += [
            (
                f"ATTLOG at the target rate, {at_target['rate_per_s']:g}/s offered:"
                " device-to-OK p50 / p99 (ms)",
                support.p50_p99(ok["p50_ms"], ok["p99_ms"]),
            ),
            (
                "  answered OK / decided per s",
                f"{at_target['acked_per_s']}/{at_target['ledger_per_s']}",
            ),
            (
                "  punches / OK / decided / recorded",
                f"{at_target['punches']}/{at_target['acked']}/{at_target['decided']}"
                f"/{at_target['recorded']}",
            ),
            ("  machine busy % (all processes)", at_target.get("machine_busy_pct")),
        ]
    out += [
        (
            f"baseline: kiosk PIN punch p50 / p99 (ms) at {kiosk['rate_per_s']:g}/s",
            support.p50_p99(
                kiosk["recorded_latency"]["p50_ms"], kiosk["recorded_latency"]["p99_ms"]
            ),
        ),
        ("  kiosk PIN punches recorded / sent", f"{kiosk['recorded']}/{kiosk['punches']}"),
    ]
    if fan is None:
        return out
    out += [
        (f"roster fan-out to {fan['devices']} devices (s)", fan["seconds"]),
        (f"  in poll intervals ({args.poll_s:g} s)", fan["intervals"]),
    ]
    for step in polls["steps"]:
        out += [
            (
                f"{step['devices']} devices polling: poll p50 / p99 (ms)",
                support.p50_p99(step["poll"]["p50_ms"], step["poll"]["p99_ms"]),
            ),
            (
                "  polls/s, device-sync CPU %, RSS MiB",
                f"{step['polls_per_s']}/{step['device_sync_cpu_pct']}/{step['device_sync_rss_mib']}",
            ),
            (
                f"  simulator lateness p99 (ms), {step.get('simulator_processes', 1)} process(es)",
                step["scheduler_late_p99_ms"],
            ),
        ]
    out.append((f"devices held at p99 poll <= {TARGET_POLL_P99_MS:g} ms", polls["held"]))
    return out


# --- the run ---------------------------------------------------------------------------------


class Tenant:
    """The tenant's admin APIs (identity and device-sync, internal caller token) and punch's
    database (read only: what the ledger decided)."""

    def __init__(self, identity: ServiceProcess, devices: ServiceProcess, tenant_id: str):
        self.tenant_id = tenant_id
        headers = admin_headers(tenant_id)
        self.headers = headers
        # Idle connections dropped well before uvicorn's keep-alive timeout (5 s) closes them:
        # reusing one the server is closing is an httpx.ReadError (seen on a busy machine).
        limits = httpx.Limits(keepalive_expiry=1.0)
        self.people = httpx.AsyncClient(
            base_url=identity.url + "/internal/v1", headers=headers, timeout=60, limits=limits
        )
        self.devices = httpx.AsyncClient(
            base_url=devices.url + "/internal/v1", headers=headers, timeout=120, limits=limits
        )

    async def aclose(self) -> None:
        await self.people.aclose()
        await self.devices.aclose()

    async def workers(self, badges: list[str], concurrency: int = 16) -> dict[str, str]:
        """Active workers with these Employee IDs: {badge: worker_id}."""
        gate = asyncio.Semaphore(concurrency)

        async def one(b: str) -> tuple[str, str]:
            async with gate:
                r = await self.people.post(
                    "/workers", json={"employee_id": b, "name": f"ZK {b}", "status": "Active"}
                )
            assert r.status_code == 201, r.text
            return b, r.json()["id"]

        return dict(await asyncio.gather(*(one(b) for b in badges)))

    async def assign(self, pairs: list[tuple[str, str]]) -> float:
        """Bulk assignments in chunks, each retried until device-sync knows the workers; the
        monotonic time the first accepted call was sent."""
        sent: list[float] = []
        for start_at in range(0, len(pairs), MAX_BULK_PAIRS):
            chunk = pairs[start_at : start_at + MAX_BULK_PAIRS]
            body = {"assign": [{"clock_id": c, "worker_id": w} for c, w in chunk]}

            async def assigned(body=body):
                at = time.monotonic()
                r = await self.devices.post("/assignments", json=body)
                if r.status_code == 404:  # a worker device-sync has not heard of yet
                    return None
                assert r.status_code in (200, 201), r.text
                sent.append(at)
                return r

            await wait_for(assigned, timeout=120, interval=0.2, what="device-sync knows them")
        return sent[0] if sent else time.monotonic()


async def ledger_counts(db: asyncpg.Pool, tenant_id: str, since):
    """What punch's ledger decided for the tenant since ``since``: the fleet's punches (the
    kiosk baseline ends before the ATTLOG load starts). Sampled every second during the load,
    on the PostgreSQL the measured path shares: one pass over the tenant's attempts, with no
    per-row search of the fleet's 1,000 clock ids (that cost 35-160 ms a sample)."""
    return await db.fetchrow(
        "SELECT count(*) AS decided,"
        " count(*) FILTER (WHERE outcome = 'RECORDED') AS recorded,"
        " max(decided_at) AS last"
        " FROM attempts WHERE tenant_id = $1 AND decided_at >= $2",
        tenant_id,
        since,
    )


class Backlogs:
    """Every ``interval`` s during phase 1, where the punches made so far are: answered OK but
    still in device-sync's outbox (its relay behind), or published but not yet decided by punch
    (punch's verdict consumer behind). The largest of each says which stage the ledger waited
    on. Each OK'd new record is one outbox row (one verdict), so published = OK'd - outbox."""

    def __init__(self, devices_db, count_acked, count_decided, interval: float = 1.0):
        self.devices_db = devices_db
        self.count_acked, self.count_decided = count_acked, count_decided
        self.interval = interval
        self.samples: list[tuple[float, int, int, int]] = []  # t, acked, in outbox, decided
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._t0 = time.monotonic()
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            acked = self.count_acked()
            outbox = await self.devices_db.fetchval("SELECT count(*) FROM outbox")
            decided = await self.count_decided()
            self.samples.append((time.monotonic() - self._t0, acked, outbox, decided))
            await asyncio.sleep(self.interval)

    async def stop(self) -> dict:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        return backlog_summary(self.samples)


GROUP_COMMIT = (
    "device_sync_write_batch_wait_seconds",
    "device_sync_write_batch_seconds",
    "device_sync_write_batch_size",
)


_GROUP_COMMIT_SERIES = {f"{name}_{part}" for name in GROUP_COMMIT for part in ("sum", "count")}


def group_commit_series(text: str, writer: str = "zk_attlog") -> dict[str, float]:
    """From device-sync's /metrics: the sums and counts of its group commit's histograms for
    ``writer`` (``{"device_sync_write_batch_seconds_sum": …, …}``)."""
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name in _GROUP_COMMIT_SERIES and sample.labels.get("writer") == writer
    }


def group_commit_means(before: dict[str, float], after: dict[str, float]) -> dict:
    """Between two scrapes: per upload the mean wait for a transaction, per transaction its
    mean time and the uploads it carried."""

    def delta(name: str) -> float:
        return after.get(name, 0.0) - before.get(name, 0.0)

    waits, batches = delta(f"{GROUP_COMMIT[0]}_count"), delta(f"{GROUP_COMMIT[1]}_count")
    return {
        "transactions": int(batches),
        "mean_wait_ms": round(1000 * delta(f"{GROUP_COMMIT[0]}_sum") / waits, 1) if waits else None,
        "mean_transaction_ms": round(1000 * delta(f"{GROUP_COMMIT[1]}_sum") / batches, 1)
        if batches
        else None,
        "mean_uploads_per_transaction": round(delta(f"{GROUP_COMMIT[2]}_sum") / batches, 1)
        if batches
        else None,
    }


def backlog_summary(samples: list[tuple[float, int, int, int]]) -> dict:
    """The largest backlog of each stage over the samples (see ``Backlogs``)."""
    if not samples:
        return {"samples": 0, "device_sync_outbox_max": None, "punch_undecided_max": None}
    return {
        "samples": len(samples),
        # [s since the load began, OK'd, in device-sync's outbox, decided]
        "series": [[round(t, 1), acked, outbox, decided] for t, acked, outbox, decided in samples],
        "device_sync_outbox_max": max(outbox for _, _, outbox, _ in samples),
        "punch_undecided_max": max(
            max(acked - outbox - decided, 0) for _, acked, outbox, decided in samples
        ),
    }


async def ingest(
    args, fleet: ZkFleet, plan: dict, punch_db: asyncpg.Pool, tenant_id: str, devices_db=None
) -> dict:
    """Phase 1: the open-loop ATTLOG load, then wait for the ledger. ``devices_db``: device-sync's
    database (its owner's view), to sample where the punches wait (``Backlogs``)."""
    devices = fleet.devices[: args.devices]
    workers = plan["workers_per_device"]
    # Each badge's next State (IN 0 / OUT 1), kept from a warm-up to the measured load: a badge
    # that went IN twice in a row would be a punch the ledger rejects, not one it records.
    state: dict[str, int] = plan.setdefault("states", {})
    total = int(round(args.rate * args.seconds))
    fleet.reset_measurements()
    batches0 = sum(d.attlog_batches for d in devices)
    resent0 = sum(d.attlog_resent_lines for d in devices)
    acked0 = sum(d.punches_acked for d in devices)
    since = datetime.now(UTC)
    started = time.monotonic()
    backlogs = None
    if devices_db is not None:

        async def decided_so_far() -> int:
            return (await ledger_counts(punch_db, tenant_id, since))["decided"]

        backlogs = Backlogs(
            devices_db,
            lambda: sum(d.punches_acked for d in devices) - acked0,
            decided_so_far,
        )
        backlogs.start()

    def one(i: int) -> None:  # the punch only: the fleet's scheduler uploads it
        index, slot = punch_plan(i, len(devices), workers)
        pin = badge(index, slot, workers)
        direction = state.get(pin, 0)
        state[pin] = 1 - direction
        fleet.punch(devices[index], pin, state=direction, verify_mode=args.verify_mode)

    _, offered, late_ms = await support.open_loop(args.rate, total, one)
    await fleet.wait_until(
        lambda f: sum(d.punches_acked for d in devices) - acked0 >= total,
        timeout=args.drain_s,
        what="every punch answered OK",
    )
    acked_at = time.monotonic()
    acked = sum(d.punches_acked for d in devices) - acked0

    async def decided() -> bool:
        row = await ledger_counts(punch_db, tenant_id, since)
        return row["decided"] >= total

    try:
        await wait_for(decided, timeout=args.drain_s, interval=0.5, what="the ledger decided all")
    except (TimeoutError, AssertionError) as error:
        print(f"warning: {error}", flush=True)
    waiting = await backlogs.stop() if backlogs is not None else backlog_summary([])
    row = await ledger_counts(punch_db, tenant_id, since)
    ledger_s = (row["last"] - since).total_seconds() if row["last"] else None
    return {
        "devices": len(devices),
        "workers_per_device": workers,
        "rate_per_s": args.rate,
        "seconds": args.seconds,
        "punches": total,
        "offered_per_s": round(offered, 1),
        "scheduler_worst_late_ms": round(late_ms, 1),
        "acked": acked,
        "acked_per_s": round(acked / max(acked_at - started, 1e-9), 1),
        "decided": row["decided"],
        "recorded": row["recorded"],
        "ledger_per_s": round(row["decided"] / ledger_s, 1) if ledger_s else None,
        "ledger_lag_s": round(ledger_s - (acked_at - started), 3) if ledger_s else None,
        "device_to_ok": summary(fleet.punch_ok_ms),
        "attlog_requests": fleet.latencies.summary("attlog"),
        "batches": sum(d.attlog_batches for d in devices) - batches0,
        "resent_lines": sum(d.attlog_resent_lines for d in devices) - resent0,
        "waiting": waiting,
    }


class Acks:
    """When each device's result for the `DATA UPDATE USERINFO` of one badge was answered OK
    (the server has the acknowledgement then): the fleet's on_result hook."""

    def __init__(self) -> None:
        self.pin: str | None = None
        self.done: dict[str, float] = {}

    def expect(self, pin: str) -> None:
        self.done = {}
        self.pin = pin

    def on_result(self, device, command, code: int, at: float) -> None:
        fields = command.text.split(" ", 3)[-1].split("\t")
        if (
            self.pin is not None
            and code == 0
            and command.text.startswith("DATA UPDATE USERINFO")
            and f"PIN={self.pin}" in fields
        ):
            self.done.setdefault(device.serial, at)


async def fanout(args, fleet: ZkFleet, tenant: Tenant, plan: dict, acks: Acks) -> dict:
    """Phase 2: one worker assigned to every running device; until all acknowledged."""
    pin = str(90_000_000 + int(uuid.uuid4().int % 1_000_000))
    worker = (await tenant.workers([pin]))[pin]
    devices = fleet.devices[: args.devices]
    waiting = {d.serial for d in devices}
    acks.expect(pin)
    started = await tenant.assign([(c, worker) for c in plan["clock_ids"][: args.devices]])
    call_s = time.monotonic() - started

    async def all_acknowledged() -> bool:
        return waiting <= acks.done.keys()

    try:
        await wait_for(
            all_acknowledged,
            timeout=args.poll_s * 10,
            interval=0.05,
            what="every device acknowledged",
        )
    except (TimeoutError, AssertionError) as error:
        print(f"warning: {error}", flush=True)
    done = [at - started for serial, at in acks.done.items() if serial in waiting]
    last = max(done) if len(done) == len(waiting) else None
    return {
        "devices": len(waiting),
        "acknowledged": len(done),
        "assign_call_s": round(call_s, 3),
        "seconds": None if last is None else round(last, 3),
        "intervals": intervals(last, args.poll_s),
        "p50_s": round(support.percentile(done, 50), 3) if done else None,
    }


class PollWorkers:
    """The poll step's extra simulator processes (`--processes N`: N - 1 of them beside this
    one, bench/_zk_poll_worker.py): each its own ZkFleet and event loop, so the client's own
    lateness does not stand in for device-sync's answer time."""

    def __init__(self, url: str, count: int, args: argparse.Namespace) -> None:
        self.url, self.count, self.args = url, count, args
        self.procs: list[asyncio.subprocess.Process] = []

    async def start(self) -> PollWorkers:
        for _ in range(self.count):
            self.procs.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    str(Path(__file__).with_name("_zk_poll_worker.py")),
                    "--url",
                    self.url,
                    "--poll-s",
                    str(self.args.poll_s),
                    "--connections",  # in flight at once: the same in all as one process
                    str(max(1, self.args.connections // self.count)),
                    "--request-timeout-s",
                    str(self.args.request_timeout_s),
                    "--client",
                    self.args.client,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    limit=64 * 1024 * 1024,
                )
            )
        return self

    async def _ask(self, proc: asyncio.subprocess.Process, command: dict) -> dict:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write((json.dumps(command) + "\n").encode())
        await proc.stdin.drain()
        line = await proc.stdout.readline()
        if not line:
            raise RuntimeError(f"a poll worker exited (rc {proc.returncode})")
        return json.loads(line)

    async def all(self, command: dict) -> list[dict]:
        return list(await asyncio.gather(*(self._ask(p, command) for p in self.procs)))

    async def add(self, serials: list[str], ramp_s: float) -> None:
        shares = [serials[i :: self.count] for i in range(self.count)]
        answers = await asyncio.gather(
            *(
                self._ask(p, {"op": "add", "serials": share, "ramp_s": ramp_s})
                for p, share in zip(self.procs, shares, strict=True)
            )
        )
        failed = [a["error"] for a in answers if not a.get("ok")]
        if failed:
            raise TimeoutError(failed[0])

    async def stop(self) -> None:
        for proc in self.procs:
            try:
                await asyncio.wait_for(self._ask(proc, {"op": "stop"}), 20)
                await asyncio.wait_for(proc.wait(), 10)
            except Exception:  # noqa: BLE001 - stopping anyway
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()


def merged_lateness(late_ms: list[list[float]]) -> dict:
    """Each simulator process's scheduler lateness p99 (ms) and the worst of them."""
    each = [round(support.pct(x, 0.99), 1) if x else None for x in late_ms]
    known = [x for x in each if x is not None]
    return {"p99_ms": max(known) if known else None, "each_p99_ms": each}


async def poll_capacity(args, fleet: ZkFleet, devices: ServiceProcess, serials: list[str]):
    """Phase 3: grow the fleet step by step; a measuring window per step. With
    ``args.processes`` > 1 the devices added here are spread over that many - 1 simulator
    processes (this one keeps the punching devices)."""
    steps = []
    processes = max(1, getattr(args, "processes", 1))
    workers = (
        await PollWorkers(fleet.base_url, processes - 1, args).start() if processes > 1 else None
    )
    in_workers = 0
    try:
        for target in args.poll_steps:
            new = serials[len(fleet) + in_workers : target]
            if new:
                ramp = max(args.poll_s, len(new) / args.handshakes_per_s)
                try:
                    if workers is not None:
                        in_workers += len(new)
                        await workers.add(new, ramp)
                    else:
                        added = fleet.add(new, ramp_s=ramp)
                        await fleet.wait_until(
                            lambda f, added=added: all(d.polls > 0 for d in added),
                            timeout=ramp + 120,
                            what=f"{len(added)} new devices polling",
                        )
                except (TimeoutError, AssertionError) as error:
                    # The steps measured so far still count (and are written).
                    print(f"  {target} devices: not all polling: {error}"[:2000], flush=True)
                    break
                await asyncio.sleep(args.poll_s)  # every device back on its own phase
            fleet.reset_measurements()
            if workers is not None:
                await workers.all({"op": "reset"})
            cpu0, wall0 = cpu_seconds(devices.process.pid), time.monotonic()
            await asyncio.sleep(args.window_s)
            wall = time.monotonic() - wall0
            cpu = cpu_seconds(devices.process.pid) - cpu0
            reports = await workers.all({"op": "report"}) if workers is not None else []
            samples = list(fleet.latencies.samples.get("poll", []))
            late = [list(fleet.late_ms)]
            for report in reports:
                samples += report["poll_ms"]
                late.append(report["late_ms"])
            poll = summary(samples)
            lateness = merged_lateness(late)
            step = {
                "devices": len(fleet) + in_workers,
                "polling": sum(1 for d in fleet if d.state == "online")
                + sum(r["online"] for r in reports),
                "simulator_processes": 1 + len(reports),
                "window_s": round(wall, 1),
                "poll": poll,
                "polls_per_s": round(poll["n"] / wall, 1),
                "device_sync_cpu_pct": round(100 * cpu / wall, 1),
                "device_sync_rss_mib": rss_mib(devices.process.pid),
                "scheduler_late_p99_ms": lateness["p99_ms"],
                "scheduler_late_each_p99_ms": lateness["each_p99_ms"],
                "simulator_workers_cpu_pct": [r["cpu_pct"] for r in reports],
                "errors": fleet.stats()["errors"] + sum(r["errors"] for r in reports),
            }
            steps.append(step)
            print(f"  {step['devices']} devices: poll p99 {poll['p99_ms']} ms", flush=True)
            if poll["p99_ms"] is None or poll["p99_ms"] > args.stop_above_ms:
                break
    finally:
        if workers is not None:
            await workers.stop()
    return {
        "poll_s": args.poll_s,
        "steps": steps,
        "held": held_devices(steps, TARGET_POLL_P99_MS),
    }


async def run(args: argparse.Namespace) -> dict:
    raise_fd_limit()
    tmp = Path(tempfile.mkdtemp(prefix="bench-zk-push-"))
    started: list[ServiceProcess] = []
    kiosks: Kiosks | None = None
    tenant: Tenant | None = None
    # A pool: the backlog sampler's probe and the drain's run concurrently.
    punch_db: asyncpg.Pool | None = None
    devices_db: asyncpg.Connection | None = None
    fleet: ZkFleet | None = None
    session = None
    results: dict = {}
    try:
        log = {"LOG_LEVEL": args.log_level}
        identity = await start("identity", tmp, started, **log)
        ds_env = {**log, "DB_POOL_MAX_SIZE": str(args.pool), **args.ds_env}
        if args.device_sync_relay == "apart":
            ds_env["RELAY_ENABLED"] = "false"
        devices = await start("device-sync", tmp, started, **ds_env)
        if args.device_sync_relay == "apart":
            await start("device-sync", tmp, started, replica_of=devices, args=("relay",))
        punch, _ = await start_punch(tmp, started, **log, **args.punch_env)
        gateway = await start_gateway(tmp, started, identity, devices, punch, **log)
        results["foreign_services_at_start"] = foreign_services(started)
        print(f"services up (logs in {tmp}); setting up the tenant", flush=True)
        kiosk_tenant = await set_up_tenant(
            gateway, punch, SimpleNamespace(workers=args.kiosk_workers, clocks=args.kiosk_clocks)
        )
        tenant_id = kiosk_tenant["tenant_id"]
        tenant = Tenant(identity, devices, tenant_id)
        punch_db = await asyncpg.create_pool(punch.admin_url, min_size=1, max_size=2)
        devices_db = await asyncpg.connect(devices.admin_url)

        # ZK clocks, their workers and assignments
        workers = workers_per_device(args.rate, args.devices, args.workers_per_device)
        total = max(args.devices, *args.poll_steps)
        session = make_session()
        t0 = time.monotonic()
        registered = await register_zk_clocks(
            devices.url + "/internal/v1",
            tenant.headers,
            total,
            site_id="bench",
            prefix="ZKB" + uuid.uuid4().hex[:6].upper(),
            concurrency=20,
            time_zone=args.time_zone,
            session=session,
        )
        results["registration_per_s"] = round(total / (time.monotonic() - t0), 1)
        clock_ids = [c for c, _ in registered]
        serials = [s for _, s in registered]
        badges = [badge(d, s, workers) for d in range(args.devices) for s in range(workers)]
        by_badge = await tenant.workers(badges)
        pairs = [
            (clock_ids[d], by_badge[badge(d, s, workers)])
            for d in range(args.devices)
            for s in range(workers)
        ]
        await tenant.assign(pairs)
        plan = {"clock_ids": clock_ids, "workers_per_device": workers}

        async def punch_knows() -> bool:
            n = await punch_db.fetchval(
                "SELECT count(*) FROM assignments WHERE tenant_id = $1 AND clock_id = ANY($2)",
                tenant_id,
                clock_ids[: args.devices],
            )
            return n >= len(pairs)

        await wait_for(punch_knows, timeout=120, interval=0.5, what="punch knows the clocks")

        acks = Acks()

        fleet = ZkFleet(
            devices.url,
            serials[: args.devices],
            session=device_client(args.client),
            connections=args.connections,
            ramp_s=args.poll_s,
            poll_s=args.poll_s,
            history=False,
            on_result=acks.on_result,
            request_timeout_s=args.request_timeout_s,
        )
        await fleet.start()
        await fleet.wait_all(
            lambda d: d.registered is not None,
            timeout=args.poll_s * 2 + 180,  # a busy machine: some first tries time out
            what="every device got an answer to its handshake",
        )
        refused = [d for d in fleet if d.registered is False]
        if refused:
            raise RuntimeError(
                f"the edge refused {len(refused)} registered devices, e.g. {refused[0].serial}:"
                f" {refused[0].last_error}"
            )
        await fleet.wait_all(
            lambda d: len(d.users) >= workers,
            timeout=args.poll_s * 20 + 60,
            what="every device holds its roster",
        )
        results["registration_to_rosters_s"] = round(time.monotonic() - t0, 1)

        # The fleet and the tenant's setup live to the end of the run: out of the cyclic
        # collector's way (the client's CPU per punch, not its heap, is what is measured).
        gc.collect()
        gc.freeze()
        print("measuring: kiosk PIN baseline", flush=True)
        kiosks = Kiosks(gateway, kiosk_tenant)
        await punch_step(kiosks, args.kiosk_rate, 2, "warm-up")
        results["kiosk_baseline"] = await punch_step(kiosks, args.kiosk_rate, args.kiosk_seconds)

        if args.warm_up_s > 0:
            # The same load for a few seconds first: the ledger and the tables of the ATTLOG
            # path then hold rows of their own, not only the setup's.
            print(f"ATTLOG warm-up ({args.warm_up_s:g} s)", flush=True)
            warm = argparse.Namespace(**{**vars(args), "seconds": args.warm_up_s})
            await ingest(warm, fleet, plan, punch_db, tenant_id)
        if not args.cold_statistics:
            # Those rows analysed, as autovacuum would have a minute into a real install
            # (support.analyze): the measured window is the steady state, not a new database.
            analysed = await support.analyze(identity, devices, punch, gateway)
            results["analyze_s"] = round(analysed, 2)
        print("measuring: ATTLOG ingest", flush=True)
        with_cpu = {
            "identity": identity.process.pid,
            "device-sync": devices.process.pid,
            "punch": punch.process.pid,
            "gateway": gateway.process.pid,
            "simulator": os.getpid(),
        }
        async with httpx.AsyncClient(timeout=30) as http:
            metrics0 = group_commit_series((await http.get(devices.url + "/metrics")).text)
            cpu0 = {n: cpu_seconds(p) for n, p in with_cpu.items()}
            busy0 = support.machine_cpu()
            t_ingest = time.monotonic()
            results["ingest"] = await ingest(args, fleet, plan, punch_db, tenant_id, devices_db)
            wall = time.monotonic() - t_ingest
            metrics1 = group_commit_series((await http.get(devices.url + "/metrics")).text)
        results["ingest"]["group_commit"] = group_commit_means(metrics0, metrics1)
        cpu = {n: cpu_seconds(p) - cpu0[n] for n, p in with_cpu.items()}
        results["ingest"]["cpu_pct"] = {n: round(100 * c / wall, 1) for n, c in cpu.items()}
        # CPU per punch (load and drain): what a busy machine changes least.
        results["ingest"]["cpu_ms_per_punch"] = {
            n: round(1000 * c / max(results["ingest"]["punches"], 1), 3) for n, c in cpu.items()
        }
        results["ingest"]["machine_busy_pct"] = support.busy_pct_since(busy0)
        if args.rate > TARGET_RATE:
            # The target's p99 is at the target rate: offered more, the window above measures
            # a heavier load's tail (and that the ledger keeps up with it).
            print(f"measuring: ATTLOG ingest at the target rate ({TARGET_RATE:g}/s)", flush=True)
            at_target = argparse.Namespace(**{**vars(args), "rate": TARGET_RATE})
            busy0 = support.machine_cpu()
            results["ingest_at_target"] = await ingest(
                at_target, fleet, plan, punch_db, tenant_id, devices_db
            )
            results["ingest_at_target"]["machine_busy_pct"] = support.busy_pct_since(busy0)

        if not args.ingest_only:
            print("measuring: roster fan-out", flush=True)
            results["fanout"] = await fanout(args, fleet, tenant, plan, acks)

            print("measuring: poll capacity", flush=True)
            results["poll_capacity"] = await poll_capacity(args, fleet, devices, serials)
        results["simulator"] = fleet.stats()
        results["foreign_services_after"] = foreign_services(started)
        if args.keep_logs:
            results["logs"] = str(tmp)
    finally:
        if fleet is not None:
            await fleet.stop()
            await fleet.session.close()
        if session is not None:
            await session.close()
        if kiosks is not None:
            await kiosks.aclose()
        if tenant is not None:
            await tenant.aclose()
        if punch_db is not None:
            await punch_db.close()
        if devices_db is not None:
            await devices_db.close()
        await stop_all(started)
        if not args.keep_logs:
            shutil.rmtree(tmp, ignore_errors=True)
    return results


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=1000, help="devices punching (phase 1)")
    parser.add_argument("--rate", type=float, default=2500, help="offered punches/s")
    parser.add_argument("--seconds", type=float, default=20, help="load duration")
    parser.add_argument(
        "--warm-up-s",
        type=float,
        default=5,
        help="the same load, unmeasured, before the tables are analysed and phase 1 measured",
    )
    parser.add_argument(
        "--workers-per-device", type=int, default=4, help="at least (raised to rate/devices)"
    )
    parser.add_argument("--verify-mode", type=int, default=1, help="VerifyMode of the punches")
    parser.add_argument("--poll-s", type=float, default=10, help="every device polls every S s")
    parser.add_argument(
        "--poll-steps",
        type=steps_of,
        default=steps_of("5000,10000,15000,20000"),
        help="devices polling at each step of phase 3 (comma-separated totals)",
    )
    parser.add_argument("--window-s", type=float, default=30, help="measuring window per step")
    parser.add_argument(
        "--stop-above-ms", type=float, default=500, help="no further step past this p99"
    )
    parser.add_argument(
        "--handshakes-per-s", type=float, default=1000, help="new devices' first handshakes/s"
    )
    parser.add_argument("--connections", type=int, default=1000, help="simulator's HTTP pool")
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="simulator processes of the poll step (N - 1 beside this one hold the devices"
        " added there: the client's lateness then is not device-sync's)",
    )
    parser.add_argument("--request-timeout-s", type=float, default=20)
    parser.add_argument(
        "--client",
        choices=CLIENTS,
        default="http1",
        help="the simulated devices' HTTP client: the lean keep-alive one (http1) or aiohttp",
    )
    parser.add_argument("--drain-s", type=float, default=120, help="wait for OKs / the ledger")
    parser.add_argument("--time-zone", default="UTC", help="the clocks' IANA time zone")
    parser.add_argument("--kiosk-rate", type=float, default=20, help="kiosk PIN baseline /s")
    parser.add_argument("--kiosk-seconds", type=float, default=15)
    parser.add_argument("--kiosk-workers", type=int, default=20)
    parser.add_argument("--kiosk-clocks", type=int, default=2)
    parser.add_argument("--pool", type=int, default=10, help="device-sync DB pool size")
    parser.add_argument(
        "--device-sync-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting for device-sync (repeatable), e.g. the edge's Delay",
    )
    parser.add_argument(
        "--punch-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting for punch (repeatable) over its deployed ones, e.g. VERDICT_LANES=2",
    )
    parser.add_argument(
        "--device-sync-relay",
        choices=("in-process", "apart"),
        default="in-process",
        help="device-sync's outbox relay: in its process, or a process of its own beside it",
    )
    parser.add_argument(
        "--ingest-only",
        action="store_true",
        help="phase 1 only (no roster fan-out, no poll capacity): to compare ingest settings",
    )
    parser.add_argument(
        "--cold-statistics",
        action="store_true",
        help="measure before any table is analysed (the first minute of a new install)",
    )
    parser.add_argument("--log-level", default="WARNING", help="of the services")
    parser.add_argument("--keep-logs", action="store_true", help="keep the services' log files")
    return parser


CLIENTS = ("http1", "aiohttp")


def device_client(name: str) -> Http1Pool | aiohttp.ClientSession:
    """The simulated devices' HTTP client (`--client`); call it in the running loop."""
    return Http1Pool() if name == "http1" else make_session()


QUICK = {
    "devices": 20,
    "rate": 100,
    "seconds": 3,
    "poll_s": 2,
    "poll_steps": [40, 80],
    "window_s": 4,
    "kiosk_seconds": 2,
    "kiosk_workers": 4,
    "drain_s": 60,
    "warm_up_s": 1,
}


def parse() -> argparse.Namespace:
    """The arguments (sys.argv), `--quick` shrinking what was left at its default."""
    args = support.parse_args(build_parser(), "zk_push", quick=QUICK)
    args.ds_env = parse_env(args.device_sync_env)
    args.punch_env = parse_env(args.punch_env)
    # the phase-1 devices keep polling: no step has fewer
    args.poll_steps = sorted({max(step, args.devices) for step in args.poll_steps})
    return args


def said(met: bool | None) -> str:
    return "not run" if met is None else "met" if met else "NOT met"


async def main() -> None:
    args = parse()
    task = asyncio.current_task()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    r = await run(args)
    met = verdict(r)
    interference = sorted({*r["foreign_services_at_start"], *r["foreign_services_after"]})
    support.print_table(f"ZK PUSH edge, {os.cpu_count()} cores", rows(r, args), 58, 16)
    print(
        f"targets: >= {TARGET_RATE:g} punches/s at p99 device-to-OK <= {TARGET_OK_P99_MS:g} ms:"
        f" {said(met['ingest'])}; >= {TARGET_DEVICES} devices at p99 poll"
        f" <= {TARGET_POLL_P99_MS:g} ms: {said(met['polls'])}; fan-out"
        f" <= {TARGET_FANOUT_INTERVALS:g} poll intervals: {said(met['fanout'])}"
    )
    if interference:
        print(f"note: other services shared the PIN topics meanwhile: {interference}")
    support.write_result(
        args.out,
        {
            "benchmark": "zk_push",
            "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
            "parameters": {k: v for k, v in vars(args).items() if k not in ("out", "keep_logs")},
            "targets": {
                "punches_per_s": TARGET_RATE,
                "device_to_ok_p99_ms": TARGET_OK_P99_MS,
                "devices": TARGET_DEVICES,
                "poll_p99_ms": TARGET_POLL_P99_MS,
                "fanout_intervals": TARGET_FANOUT_INTERVALS,
            },
            "met": met,
            "interference": interference,
            **r,
        },
    )


if __name__ == "__main__":
    asyncio.run(main())
