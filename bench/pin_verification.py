"""Benchmark: PIN verification.

1. argon2id cost at the chosen parameters (OWASP minimum m=19 MiB, t=2, p=1, with the HMAC
   pepper): hashes and verifications per second on one core, and on two threads (argon2-cffi
   releases the GIL), side by side with argon2-cffi's defaults (RFC 9106 low-memory profile,
   m=64 MiB, t=3, p=4) measured in the same run.
2. A kiosk PIN attempt's verdict latency through Kafka at a fixed rate (default 20/s): the real
   identity service (its own process and database), attempts sealed and published as the edge
   does, verdicts read back from Kafka; p50 / p99 from publish to verdict. identity's CPU
   per attempt beyond argon2 (the target), and, set apart, what the process costs a second
   while it has nothing to verify (5 s idle in the same run, before the window).

Prints a table and writes bench/results/pin_verification.json.
    make bench     # or: .venv/bin/python bench/pin_verification.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import support
from argon2 import PasswordHasher

from tests.support.identity import Kiosk, reason, start_identity


def rate(fn, seconds: float, threads: int = 1) -> float:
    def worker() -> int:
        n, stop = 0, time.perf_counter() + seconds
        while time.perf_counter() < stop:
            fn()
            n += 1
        return n

    with ThreadPoolExecutor(threads) as pool:
        counts = list(pool.map(lambda _: worker(), range(threads)))
    return sum(counts) / seconds


def argon2_costs(seconds: float) -> dict:
    chosen = support.identity_pin_hasher({"k": secrets.token_bytes(32)}, "k")
    stored = chosen.hash("58203")
    defaults = PasswordHasher()
    default_hash = defaults.hash("58203")
    return {
        "chosen_params": "argon2id m=19456 KiB t=2 p=1 (+HMAC-SHA256 pepper)",
        "chosen_verify_per_s_1_thread": round(
            rate(lambda: chosen.verify("58203", stored), seconds), 1
        ),
        "chosen_verify_per_s_2_threads": round(
            rate(lambda: chosen.verify("58203", stored), seconds, threads=2), 1
        ),
        "default_params": "argon2-cffi default m=65536 KiB t=3 p=4",
        "default_verify_per_s_1_thread": round(
            rate(lambda: defaults.verify(default_hash, "58203"), seconds), 1
        ),
    }


CLOCKS = [f"clock-{n}" for n in range(8)]


async def pin_checks(url: str) -> tuple[float, float, float]:
    """identity's PIN checks so far, from its /metrics: (checks, wall seconds, CPU seconds)."""
    found = dict.fromkeys(
        (
            "identity_pin_hash_seconds_count",
            "identity_pin_hash_seconds_sum",
            "identity_pin_hash_cpu_seconds_total",
        ),
        0.0,
    )
    samples = await support.metric_samples(
        url, "identity_pin_hash_seconds", "identity_pin_hash_cpu_seconds"
    )
    for sample, labels, value in samples:
        if sample in found and labels.get("op") == "verify":
            found[sample] = value
    return tuple(found.values())


async def kiosk_latency(
    rate_per_s: float, seconds: float, warmup_s: float, idle_s: float = 5.0, workers: int = 41
) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        # INFO: the test kiosk takes the verdict this identity logged ("pin attempt verified";
        # other identity processes on the shared topics answer too).
        identity = await start_identity(Path(tmp), LOG_LEVEL="INFO")
        try:
            tenant = str(uuid.uuid4())
            pins = {}
            async with identity.admin(tenant) as http:
                for i in range(workers):
                    employee = f"B{i:04d}"
                    pin = f"{58203 + i * 7919:06d}"[-6:]
                    added = await support.add_worker_with_pin(http, employee, employee, pin)
                    pins[employee] = added["pin"]
            async with Kiosk(identity) as kiosk:
                # Every worker assigned to every clock before the clock starts (as device-sync
                # has long said it), so no attempt's time includes its assignment. Wrong PINs
                # spread over the clocks stay under each clock's limit of known workers' wrong
                # PINs (past it no PIN is checked: the bench would time refusals).
                for employee in pins:
                    await asyncio.gather(
                        *(kiosk.assign_employee(tenant, employee, c) for c in CLOCKS)
                    )
                warm = int(rate_per_s * warmup_s)
                total = int(rate_per_s * seconds)

                async def one(i: int) -> tuple[float, str]:
                    employee = f"B{i % workers:04d}"
                    # One attempt in ten has a wrong PIN; 41 workers spread them (no lockouts).
                    pin = pins[employee] if i % 10 else "000001"
                    sent = time.monotonic()
                    verdict = await kiosk.punch(tenant, employee, pin, CLOCKS[i % len(CLOCKS)])
                    # Until the verdict was read from Kafka (not until the kiosk helper's polls
                    # of the log and the feed, every 20-50 ms, noticed it).
                    arrived = kiosk.verdicts.arrived_at[verdict.context.attempt_id]
                    return (arrived - sent) * 1000, reason(verdict)

                # Warm-up at the offered rate, not measured: every worker and clock, both
                # outcomes, every pooled connection's prepared statements, the relay and the
                # consumer's fetches in their steady state. A single warm-up attempt left
                # those first-time costs in the measured window (make bench's 10-s run read
                # 4.74 ms beyond argon2 on a fresh clone, 2.8-3.5 in longer runs).
                await support.open_loop(rate_per_s, max(warm, 1), one)
                # The process with nothing to verify (its consumers' empty fetches, heartbeats,
                # the relay's poll): a cost by the second, whatever the rate. An upper bound
                # on the fixed part of what the window below charges to each attempt (under
                # load the busy lanes' fetches bring records instead of coming back empty).
                await asyncio.sleep(0.5)
                idle_before = support.cpu_seconds(identity.process.pid)
                await asyncio.sleep(idle_s)
                idle_ms_per_s = (
                    (support.cpu_seconds(identity.process.pid) - idle_before) * 1000 / idle_s
                )
                cpu_before = support.cpu_seconds(identity.process.pid)
                batches_before = await support.consumer_batch_seconds(identity.url)
                hashing_before = await pin_checks(identity.url)
                answers, _, _ = await support.open_loop(rate_per_s, total, lambda i: one(warm + i))
                # Everything the identity process spent on them (consumer, argon2, Redis,
                # PostgreSQL, its outbox relay, logs, metrics), read once every verdict is out.
                await asyncio.sleep(0.5)
                identity_cpu_ms = (support.cpu_seconds(identity.process.pid) - cpu_before) * 1000
                # The lane's wall time: the attempts' consumer batches, start to commit.
                batches = await support.consumer_batch_seconds(identity.url)
                group = next(g for g in batches if "pin-attempts" in g)
                before = batches_before.get(group, (0.0, 0.0))
                lane_batches, lane_s = (
                    now - then for now, then in zip(batches[group], before, strict=True)
                )
                # argon2 as it ran in this process, on its threads, during this run.
                checks, check_s, check_cpu_s = (
                    now - then
                    for now, then in zip(
                        await pin_checks(identity.url), hashing_before, strict=True
                    )
                )
            latencies = [ms for ms, _ in answers]
            outcomes = [outcome for _, outcome in answers]
            latency = support.summary(latencies)
            return {
                "rate_per_s": rate_per_s,
                "attempts": total,
                "identified": outcomes.count("IDENTIFIED"),
                "wrong_pin": outcomes.count("WRONG_PIN"),
                "p50_ms": latency["p50_ms"],
                "p99_ms": latency["p99_ms"],
                "max_ms": latency["max_ms"],
                "identity_cpu_ms_per_attempt": round(identity_cpu_ms / total, 2),
                "lane_ms_per_attempt": round(lane_s * 1000 / total, 2),
                "lane_batches": int(lane_batches),
                "pin_checks": int(checks),
                "argon2_ms_per_check": round(check_s * 1000 / checks, 2) if checks else None,
                "argon2_cpu_ms_per_check": round(check_cpu_s * 1000 / checks, 2)
                if checks
                else None,
                "identity_cpu_ms_beyond_argon2": round(
                    (identity_cpu_ms - check_cpu_s * 1000) / total, 2
                ),
                "lane_ms_beyond_argon2": round((lane_s - check_s) * 1000 / total, 2),
                "identity_idle_cpu_ms_per_s": round(idle_ms_per_s, 2),
            }
        finally:
            identity.process.terminate()
            identity.process.wait(30)


TARGET_P99_MS = 150.0  # verdict p99 at 20 attempts/s
TARGET_CPU_MS = 3.0  # identity's CPU per attempt beyond argon2
TARGET_LANE_MS = 5.0  # the lane's wall time per attempt beyond argon2


def targets_met(p99_ms: float, cpu_beyond_ms: float, lane_beyond_ms: float) -> dict[str, bool]:
    return {
        "verdict_p99": p99_ms <= TARGET_P99_MS,
        "cpu_beyond_argon2": cpu_beyond_ms <= TARGET_CPU_MS,
        "lane_beyond_argon2": lane_beyond_ms <= TARGET_LANE_MS,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="measured, at --rate")
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument(
        "--warmup-s", type=float, default=3.0, help="at --rate before the measured window"
    )
    args = support.parse_args(parser, "pin_verification", quick={"seconds": 2.0, "warmup_s": 1.0})

    costs = argon2_costs(min(args.seconds, 5.0))
    latency = await kiosk_latency(
        args.rate, args.seconds, args.warmup_s, idle_s=min(5.0, args.seconds)
    )
    one = costs["chosen_verify_per_s_1_thread"]
    argon2_ms = 1000 / one
    # Beyond argon2, as identity measured its own checks in this run (their CPU on the
    # hashing threads, their wall time in the lane). Below it, the older estimate: less this
    # bench's own argon2 rate, measured alone before the run; argon2 costs more beside
    # PostgreSQL, Kafka and the bench on 2 cores, so that estimate charges its excess to
    # identity.
    per_attempt = latency["identity_cpu_ms_per_attempt"]
    hashed = (latency["identified"] + latency["wrong_pin"]) / latency["attempts"]
    beyond = latency["identity_cpu_ms_beyond_argon2"]
    lane_beyond = latency["lane_ms_beyond_argon2"]
    reference_beyond = round(per_attempt - argon2_ms * hashed, 2)
    reference_lane_beyond = round(latency["lane_ms_per_attempt"] - argon2_ms * hashed, 2)
    # What an attempt adds beyond argon2 once the process's cost by the second is set apart
    # (for sizing: a replica's fixed cost plus this per attempt). The target is judged on
    # ``beyond``, which charges the idle process to the attempts.
    beyond_less_idle = round(beyond - latency["identity_idle_cpu_ms_per_s"] / args.rate, 2)
    rows = [
        ("argon2id verifications/s, 1 core (chosen params)", one),
        ("  per verification (ms)", round(argon2_ms, 1)),
        ("argon2id verifications/s, 2 threads (chosen)", costs["chosen_verify_per_s_2_threads"]),
        (
            "argon2 verifications/s, 1 core (library defaults)",
            costs["default_verify_per_s_1_thread"],
        ),
        (f"kiosk PIN verdict via Kafka p50 (ms) at {args.rate:g}/s", latency["p50_ms"]),
        (f"kiosk PIN verdict via Kafka p99 (ms) at {args.rate:g}/s", latency["p99_ms"]),
        ("  p99 / p50", support.tail_ratio(latency["p50_ms"], latency["p99_ms"])),
        ("identity CPU per attempt (ms), all of it", per_attempt),
        (
            "  argon2 in identity per check (ms CPU / ms wall)",
            f"{latency['argon2_cpu_ms_per_check']}/{latency['argon2_ms_per_check']}",
        ),
        ("  beyond argon2 (ms, less identity's own checks)", beyond),
        ("  beyond argon2 (ms, less the rate measured alone)", reference_beyond),
        ("  identity idle, same run (ms of CPU a second)", latency["identity_idle_cpu_ms_per_s"]),
        ("  beyond argon2 and the idle process (ms)", beyond_less_idle),
        ("identity lane wall per attempt (ms)", latency["lane_ms_per_attempt"]),
        ("  beyond argon2 (ms, less identity's own checks)", lane_beyond),
        ("  beyond argon2 (ms, less the rate measured alone)", reference_lane_beyond),
        ("  batches", latency["lane_batches"]),
        (
            "  attempts / identified / wrong PIN",
            f"{latency['attempts']}/{latency['identified']}/{latency['wrong_pin']}",
        ),
    ]
    support.print_table(f"PIN verification, {os.cpu_count()} cores", rows, 52)
    met = targets_met(latency["p99_ms"], beyond, lane_beyond)
    print(
        f"target: verdict p99 <= {TARGET_P99_MS:g} ms at 20 attempts/s:"
        f" {'met' if met['verdict_p99'] else 'NOT met'}"
    )
    print(
        f"target: identity beyond argon2 <= {TARGET_CPU_MS:g} ms of CPU"
        f" ({'met' if met['cpu_beyond_argon2'] else 'NOT met'}) and <= {TARGET_LANE_MS:g} ms of"
        f" lane wall ({'met' if met['lane_beyond_argon2'] else 'NOT met'}) per attempt"
    )
    support.write_result(
        args.out,
        {
            "benchmark": "pin_verification",
            "cores": os.cpu_count(),
            "argon2": costs,
            "kiosk_latency": latency,
            "identity_cpu_ms_beyond_argon2": beyond,
            "identity_lane_ms_beyond_argon2": lane_beyond,
            "identity_cpu_ms_beyond_argon2_less_idle": beyond_less_idle,
            "identity_cpu_ms_beyond_argon2_alone_rate": reference_beyond,
            "identity_lane_ms_beyond_argon2_alone_rate": reference_lane_beyond,
            "targets_met": met,
        },
    )


if __name__ == "__main__":
    asyncio.run(main())
