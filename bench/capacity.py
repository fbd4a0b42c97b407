"""Capacity on paper, checked on this machine (docs/capacity.md).

1. The plan: for a peak of attempts/s (default 50,000: 10 million workers, 200,000 clocks, a
   shift change), how many replicas each stage needs, from each stage's per-replica service
   time as the benchmarks measured it (the figures below name their bench; ``--results``
   takes them from bench/results/*.json where a run left them). Each stage is a queue with c
   servers (an M/M/c queue: Poisson arrivals — thousands of workers acting independently —,
   c busy lanes per replica): replicas are the fewest that keep utilisation <= ``--max-util``
   and the model's p99 time in the stage <= the stage's budget. Partitions follow: a consumer
   group uses at most one replica per partition.
2. The check (``--check``): the model's predictions against a real queue on this machine.
   identity's PIN lane is the stage whose work is pure CPU and whose servers are real (argon2
   releases the GIL: a thread per lane is a core per lane): the service time of identity's own
   argon2id verification is measured alone, then Poisson arrivals at two utilisations (scaled
   down to two lanes) are served by two threads, and the measured p50/p99 time in the queue
   are printed beside the model's. The model is the one the plan uses: if it predicts the
   measured tail within the stated tolerance here, the plan's replica counts hold as far as
   the per-replica figures do.

Prints tables and writes bench/results/capacity.json. Not a test.
    .venv/bin/python bench/capacity.py [--peak 50000] [--check] [--quick]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import support

# -- the queueing model (pure) ----------------------------------------------------------------


def erlang_c(servers: int, load: float) -> float:
    """The probability that an arrival waits in an M/M/c queue with ``servers`` and offered
    ``load`` = arrival rate × service time (Erlangs); 1 when the queue is unstable."""
    if servers <= 0 or load >= servers:
        return 1.0
    if load <= 0:
        return 0.0
    blocking = 1.0  # Erlang B by its stable recursion
    for k in range(1, servers + 1):
        blocking = load * blocking / (k + load * blocking)
    rho = load / servers
    return blocking / (1 - rho * (1 - blocking))


def wait_quantile(rate: float, service_s: float, servers: int, q: float) -> float:
    """The ``q`` quantile of the wait before service (s) in M/M/c: P(W > t) = C·e^-(cμ-λ)t."""
    if rate <= 0:
        return 0.0
    load = rate * service_s
    if load >= servers:
        return math.inf
    waits = erlang_c(servers, load)
    if waits <= 1 - q:
        return 0.0
    return math.log(waits / (1 - q)) / (servers / service_s - rate)


def time_in_stage(rate: float, service_s: float, servers: int, q: float) -> float:
    """The ``q`` quantile of wait + service, the service taken as the measured one (argon2, a
    frame and a batch vary little: the exponential tail is in the waits)."""
    return service_s + wait_quantile(rate, service_s, servers, q)


def replicas_needed(
    rate: float, service_s: float, lanes: int, budget_s: float, max_util: float, q: float = 0.99
) -> int:
    """The fewest replicas of ``lanes`` servers each that keep utilisation <= ``max_util`` and
    the ``q`` time in the stage <= ``budget_s``."""
    if rate <= 0:
        return 0
    if service_s >= budget_s:  # waits only add to the service: no count meets it
        raise ValueError(f"a {service_s} s service cannot meet a {budget_s} s budget")
    replicas = max(1, math.ceil(rate * service_s / (lanes * max_util) - 1e-9))
    while time_in_stage(rate, service_s, replicas * lanes, q) > budget_s:
        replicas += 1
    return replicas


def partitions_for(replicas: int, minimum: int = 12) -> int:
    """Partitions a consumed topic needs: one per replica at least, in steps of 12 (keys move
    when partitions are added: choose before going live)."""
    return max(minimum, 12 * math.ceil(replicas / 12))


# -- the plan -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stage:
    name: str
    share: float  # of the peak's attempts that reach the stage
    items_per_attempt: float  # frames per face attempt, polls per attempt...
    service_s: float  # one item on one lane (one core)
    lanes: int  # servers per replica (model workers, argon2 lanes, one loop)
    budget_s: float  # p99 time in this stage
    source: str  # where the service time comes from
    consumed: bool = True  # fed by a Kafka consumer group (partitions bound replicas)


def stages(args: argparse.Namespace, figures: dict) -> list[Stage]:
    face = 1 - args.pin_share - args.device_share
    return [
        Stage(
            "face-match: frame (dlib on CPU)",
            face,
            args.frames_per_face,
            figures["face_frame_s"],
            1,
            0.5,
            figures["face_frame_src"],
        ),
        Stage(
            "  or: frame (DlibKeras on CPU, batch 32)",
            face,
            args.frames_per_face,
            figures["face_keras_frame_s"],
            1,
            0.5,
            figures["face_keras_frame_src"],
        ),
        Stage(
            "identity: PIN attempt (argon2 + lookups)",
            args.pin_share,
            1,
            figures["pin_attempt_s"],
            2,
            0.1,
            figures["pin_attempt_src"],
        ),
        Stage(
            "punch: verdict → ledger (batched)",
            1,
            1,
            1 / figures["ledger_per_s"],
            1,
            0.1,
            figures["ledger_src"],
        ),
        Stage(
            "device-sync: ZK poll (10 s)",
            0,  # by clocks, not attempts: see plan()
            1,
            figures["zk_poll_s"],
            1,
            0.05,
            figures["zk_poll_src"],
            consumed=False,
        ),
    ]


DEFAULTS = {
    # bench/face_frame.py and face_punch.py: ~140 ms a frame per model worker (one core).
    "face_frame_s": 0.140,
    "face_frame_src": "face_frame/face_punch: ~140 ms a frame (docs/face-match.md)",
    # bench/face_embedding.py: the Keras model at batch 32 on one thread ~21 ms a face (48.6/s,
    # machine loaded), plus dlib's detection and alignment, ~20 ms a frame (face_frame).
    "face_keras_frame_s": 0.041,
    "face_keras_frame_src": "face_embedding + face_frame: ~21 ms embed + ~20 ms detect a frame",
    # bench/pin_verification.py: argon2id ~19-22 ms + identity's own ~6-9 ms of CPU.
    "pin_attempt_s": 0.028,
    "pin_attempt_src": "pin_verification: ~28 ms CPU an attempt (docs/identity.md)",
    # bench/ledger_ingest.py: 3,500-4,000 verdicts/s per punch process.
    "ledger_per_s": 3500.0,
    "ledger_src": "ledger_ingest: ~3,500 verdicts/s a process (docs/deployment.md)",
    # bench/zk_push.py: ~0.16 ms of device-sync CPU a poll at 20,000 devices.
    "zk_poll_s": 0.00016,
    "zk_poll_src": "zk_push: ~0.16 ms CPU a poll (docs/device-sync.md)",
}


def figures_from_results(results: Path) -> dict:
    """The defaults, replaced by what runs of the benches left in ``results``."""
    figures = dict(DEFAULTS)
    ledger = results / "ledger_ingest.json"
    if ledger.exists():
        runs = [
            r
            for r in json.loads(ledger.read_text()).get("results", [])
            if r.get("replicas") == 1 and r.get("punches_per_s")
        ]
        if runs:
            best = max(r["punches_per_s"] for r in runs)
            figures["ledger_per_s"] = float(best)
            figures["ledger_src"] = f"{ledger.name}: {best} verdicts/s (one process, this run)"
    return figures


def plan(args: argparse.Namespace, figures: dict) -> list[dict]:
    rows = []
    for stage in stages(args, figures):
        if stage.consumed:
            rate = args.peak * stage.share * stage.items_per_attempt
        else:
            rate = args.zk_clocks / args.zk_poll_s
        replicas = replicas_needed(
            rate, stage.service_s, stage.lanes, stage.budget_s, args.max_util
        )
        servers = replicas * stage.lanes
        rows.append(
            {
                **asdict(stage),
                "rate_per_s": round(rate, 1),
                "replicas": replicas,
                "cores": round(rate * stage.service_s / args.max_util, 1),
                "utilisation": round(rate * stage.service_s / servers, 3) if servers else 0.0,
                "p99_ms": round(1000 * time_in_stage(rate, stage.service_s, servers, 0.99), 1),
                "partitions": partitions_for(replicas) if stage.consumed else None,
            }
        )
    return rows


# -- the check: a real queue on this machine ---------------------------------------------------


def measure_service(verify, seconds: float) -> list[float]:
    samples, stop = [], time.perf_counter() + seconds
    while time.perf_counter() < stop:
        t0 = time.perf_counter()
        verify()
        samples.append(time.perf_counter() - t0)
    return samples


def queue_run(verify, rate: float, servers: int, seconds: float, seed: int) -> list[float]:
    """Poisson arrivals at ``rate`` served by ``servers`` threads; each arrival's time from
    arrival to done (s)."""
    rng = random.Random(seed)
    done: list[float] = []
    lock = threading.Lock()

    def serve(arrived: float) -> None:
        verify()
        with lock:
            done.append(time.perf_counter() - arrived)

    with ThreadPoolExecutor(servers) as pool:
        due = start = time.perf_counter()
        while due - start < seconds:
            due += rng.expovariate(rate)
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(serve, due)
    return done


def check(args: argparse.Namespace) -> dict:
    hasher, params = support.identity_default_hasher()
    stored = hasher.hash("482913")

    def verify() -> None:
        assert hasher.verify("482913", stored)

    measure_service(verify, 1.0)  # warm
    alone = measure_service(verify, args.check_seconds / 2)
    service_s = sum(alone) / len(alone)
    rows = []
    for util in args.check_utils:
        rate = util * args.check_servers / service_s
        measured = queue_run(verify, rate, args.check_servers, args.check_seconds, args.seed)
        rows.append(
            {
                "utilisation": util,
                "rate_per_s": round(rate, 1),
                "n": len(measured),
                "measured_p50_ms": round(1000 * support.percentile(measured, 50), 1),
                "measured_p99_ms": round(1000 * support.percentile(measured, 99), 1),
                "model_p50_ms": round(
                    1000 * time_in_stage(rate, service_s, args.check_servers, 0.5), 1
                ),
                "model_p99_ms": round(
                    1000 * time_in_stage(rate, service_s, args.check_servers, 0.99), 1
                ),
            }
        )
    return {
        "argon2": params,
        "servers": args.check_servers,
        "service_ms_mean": round(1000 * service_s, 2),
        "service_ms_p99": round(1000 * support.percentile(alone, 99), 2),
        "busy_pct_of_machine_meanwhile": None,
        "runs": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peak", type=float, default=50_000, help="attempts/s at shift change")
    parser.add_argument("--pin-share", type=float, default=0.25, help="of attempts: PIN")
    parser.add_argument(
        "--device-share", type=float, default=0.15, help="of attempts: identified by the clock"
    )
    parser.add_argument("--frames-per-face", type=float, default=1.0)
    parser.add_argument("--zk-clocks", type=int, default=100_000, help="of the 200,000 clocks")
    parser.add_argument("--zk-poll-s", type=float, default=10.0)
    parser.add_argument("--max-util", type=float, default=0.7)
    parser.add_argument(
        "--results",
        type=Path,
        help="take per-replica figures from the benches' JSON in this folder (bench/results)"
        " where a run left them, instead of the documented ones",
    )
    parser.add_argument("--check", action="store_true", help="check the model on this machine")
    parser.add_argument("--check-seconds", type=float, default=30.0)
    parser.add_argument("--check-servers", type=int, default=2)
    parser.add_argument("--check-utils", type=float, nargs="+", default=[0.3, 0.6])
    parser.add_argument("--seed", type=int, default=7)
    args = support.parse_args(parser, "capacity", {"check_seconds": 6.0})

    figures = figures_from_results(args.results) if args.results else dict(DEFAULTS)
    rows = plan(args, figures)
    print(
        f"\ncapacity at {args.peak:,.0f} attempts/s (PIN {args.pin_share:.0%}, clock-identified"
        f" {args.device_share:.0%}, face the rest), {args.zk_clocks:,} ZK clocks, utilisation"
        f" <= {args.max_util:.0%}"
    )
    print(
        f"{'stage':<42} {'items/s':>9} {'ms/item':>8} {'lanes':>5} {'replicas':>8}"
        f" {'cores':>7} {'p99 ms':>7} {'partitions':>10}"
    )
    for r in rows:
        print(
            f"{r['name']:<42} {r['rate_per_s']:>9,.0f} {1000 * r['service_s']:>8.2f}"
            f" {r['lanes']:>5} {r['replicas']:>8} {r['cores']:>7,.0f} {r['p99_ms']:>7}"
            f" {r['partitions'] or '-':>10}"
        )
    for r in rows:
        print(f"  {r['name']}: {r['source']}")
    result = {
        "benchmark": "capacity",
        "machine": support.machine_info(),
        "parameters": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "figures": figures,
        "plan": rows,
    }
    if args.check:
        busy0 = support.machine_cpu()
        checked = check(args)
        checked["busy_pct_of_machine_meanwhile"] = support.busy_pct_since(busy0)
        result["check"] = checked
        print(
            f"\nmodel check: identity's argon2id ({checked['argon2']}) on"
            f" {checked['servers']} threads, service {checked['service_ms_mean']} ms mean"
            f" (p99 {checked['service_ms_p99']}), machine"
            f" {checked['busy_pct_of_machine_meanwhile']} % busy"
        )
        print(
            f"{'utilisation':>11} {'rate/s':>7} {'n':>5} {'p50 measured/model':>20}"
            f" {'p99 measured/model':>20}"
        )
        for r in checked["runs"]:
            p50 = f"{r['measured_p50_ms']}/{r['model_p50_ms']}"
            p99 = f"{r['measured_p99_ms']}/{r['model_p99_ms']}"
            print(f"{r['utilisation']:>11} {r['rate_per_s']:>7} {r['n']:>5} {p50:>20} {p99:>20}")
    support.write_result(args.out, result)


if __name__ == "__main__":
    main()
