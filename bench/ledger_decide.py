"""Benchmark: punch's decide path in Python alone, against another tree measured in the same run.

``ledger_ingest.py`` measures the whole stage (Kafka, PostgreSQL, the relay), but on this shared
2-core box it moves ±15 % from run to run with nothing changed, more than any one cut of
punch's per-verdict Python can show. This bench runs only that Python:
  - decoding the verdicts' envelopes, as the consumer loop does;
  - punch's verdicts handler on each batch of 500 (``Ingest.decide`` on each tenant's verdicts);
  - the ledger rows, attempts rows, events and outbox records it writes, built as the
    PostgreSQL adapters build them, the statements not sent.
The database's answers are faked in memory: every worker and clock known and assigned, one
earlier punch per worker hours before, nothing decided or parked. The verdicts are the ones
``ledger_ingest.py`` makes (same seed, same mix). Measured: CPU time per verdict of each
batch, p50 and p99 over every batch of every run.

``--against DIR``: a checkout of another revision (``git worktree add /tmp/base HEAD~1``). Its
punch and kit run in processes of their own (on ``PYTHONPATH``), alternating with this tree's,
``--rounds`` times, so both are measured in the same minutes on the same box. Prints a table
and writes bench/results/ledger_decide.json. Not a test: no pass/fail, no servers needed.

    .venv/bin/python bench/ledger_decide.py [--verdicts 20000] [--rounds 3] [--against DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import random
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import support

BATCH = 500


def _world(seed: int, verdicts: int) -> tuple[list, dict]:
    """The bench's Kafka records and, per tenant, what punch's projections would hold."""
    import ledger_ingest

    rng = random.Random(seed)
    world = ledger_ingest.make_world(rng, 2, 2000, 50, 5)
    records, _ = ledger_ingest.make_verdicts(rng, world, verdicts)
    known = {}
    for tenant in world:
        workers = {
            w["id"]: {**w, "status": "Active"} for w in tenant["workers"]
        }  # as punch's workers table answers
        clocks = {c["id"]: {**c, "revoked_at": None} for c in tenant["clocks"]}
        assigned = {
            (c, w["id"]) for w in tenant["workers"] for c in tenant["by_site"][w["site_id"]]
        }
        known[tenant["id"]] = (workers, clocks, assigned)
    return records, known


def _fakes(parts, known):
    """A unit of work whose reads answer from ``known`` and whose writes are built and
    dropped (the adapters' own code up to the statement)."""

    class Connection:
        def is_in_transaction(self) -> bool:
            return True

        async def execute(self, *args) -> None:
            return None

    class Ledger(parts.PostgresLedger):
        def __init__(self, conn, tenant_id: str) -> None:
            super().__init__(conn, tenant_id)
            self.workers_, self.clocks_, self.assigned_ = known[tenant_id]

        async def decided_attempts(self, ids):
            return set()

        async def evidence_checks(self, ids):
            return {}

        async def workers(self, ids):
            return {i: self.workers_[i] for i in ids if i in self.workers_}

        async def clocks(self, ids):
            return {i: self.clocks_[i] for i in ids if i in self.clocks_}

        async def assigned_pairs(self, pairs):
            return {p for p in pairs if p in self.assigned_}

        async def nearby(self, queries, window):
            earlier = "0190e4c8-0000-7000-8000-000000000000"
            return [[parts.Nearby(earlier, "IN", at - timedelta(hours=5))] for _, at in queries]

        async def punches_by_id(self, ids):
            return {}

    class Parked:
        async def workers_with_parked(self, ids):
            return set()

        async def park(self, items) -> None:
            raise AssertionError("nothing is parked in this bench")

    class Settings:
        async def refuse_unmatched_photos(self) -> bool:
            return False

    class UnitOfWork:
        def __init__(self, tenant_id: str) -> None:
            self.tenant_id = tenant_id
            self.connection = Connection()
            self.ledger = Ledger(self.connection, tenant_id)
            self.parked, self.settings = Parked(), Settings()

        async def __aenter__(self):
            return self

        async def __aexit__(self, *exc) -> None:
            return None

        async def publish_records(self, records) -> None:
            await parts.add_records(self.connection, list(records))

    return UnitOfWork


async def _decide_all(parts, records: list, unit_of_work) -> list[float]:
    """CPU seconds of each batch of ``BATCH`` records."""
    ingest = parts.Ingest(parts.Policy(), park_after=timedelta(days=3650))
    # punch's own consumer handler: the batch split by tenant, each tenant's verdicts decided.
    handle = parts.verdicts_handler(ingest, lambda conn, tenant_id: unit_of_work(tenant_id))
    took = []
    for start in range(0, len(records), BATCH):
        began = time.process_time()
        messages = [
            parts.Message("verdicts", 0, start + i, key, parts.decode_envelope(value), {})
            for i, (key, value) in enumerate(records[start : start + BATCH])
        ]
        await handle(None, messages)
        took.append((time.process_time() - began) / len(messages))
    return took


def measure(argv: list[str]) -> None:
    """The child: ``--runs`` passes over the verdicts; prints µs per verdict of every batch."""
    p = argparse.ArgumentParser()
    p.add_argument("--verdicts", type=int, required=True)
    p.add_argument("--runs", type=int, required=True)
    p.add_argument("--seed", type=int, required=True)
    args = p.parse_args(argv)
    logging.disable(logging.INFO)  # one "attempts decided" line per batch, not the subject
    parts = support.punch_decide_parts()
    records, known = _world(args.seed, args.verdicts)
    unit_of_work = _fakes(parts, known)
    gc.collect()
    gc.freeze()  # as the services do after start-up
    gc.set_threshold(support.punch_gc_threshold())
    asyncio.run(_decide_all(parts, records[:BATCH], unit_of_work))  # warm up
    batches: list[float] = []
    for _ in range(args.runs):
        batches += asyncio.run(_decide_all(parts, records, unit_of_work))
    print(json.dumps({"us": [b * 1e6 for b in batches], "from": parts.source}))


def _run(tree: Path | None, args) -> dict:
    env = dict(os.environ)
    if tree is not None:
        paths = [str(tree / "services" / "punch" / "src"), str(tree / "libs" / "kit" / "src")]
        env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    argv = [sys.executable, __file__, "_measure", "--verdicts", str(args.verdicts)]
    argv += ["--runs", str(args.runs), "--seed", str(args.seed)]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--verdicts", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3, help="passes per process")
    parser.add_argument("--rounds", type=int, default=3, help="processes per tree, alternating")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--against", type=Path, help="another tree, measured alternately")
    args = support.parse_args(parser, "ledger_decide", {"verdicts": 2_000, "rounds": 1})
    trees: dict[str, Path | None] = {"this tree": None}
    if args.against is not None:
        trees[f"against {args.against}"] = args.against.resolve()
    measured: dict[str, list[float]] = {name: [] for name in trees}
    sources: dict[str, str] = {}
    for _ in range(args.rounds):
        for name, tree in trees.items():
            found = _run(tree, args)
            measured[name] += found["us"]
            sources[name] = found["from"]
    rows, results = [], {}
    base = None
    for name, values in measured.items():
        p50, p99 = support.percentile(values, 50), support.percentile(values, 99)
        results[name] = {"p50_us": round(p50, 2), "p99_us": round(p99, 2), "batches": len(values)}
        results[name]["ingest_module"] = sources[name]
        base = base if base is not None else p50
        shown = support.p50_p99(round(p50, 1), round(p99, 1))
        rows.append((f"{name}: µs a verdict p50/p99", shown))
        if name != "this tree":
            rows.append(("  this tree's p50 / this one's", round(base / p50, 3)))
    support.print_table(
        f"punch's decide path, Python only ({args.verdicts} verdicts, batches of {BATCH},"
        f" {args.runs} passes x {args.rounds} processes per tree)",
        rows,
        width=58,
    )
    support.write_result(
        args.out,
        {
            "benchmark": "ledger_decide",
            "machine": support.machine_info(),
            "parameters": {k: str(v) for k, v in vars(args).items()},
            "results": results,
        },
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_measure":
        measure(sys.argv[2:])
    else:
        main()
