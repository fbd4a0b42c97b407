"""Benchmark: ledger ingest — verdicts → ledger → events on Kafka, sustained, on this machine.

Side by side in the same run, on the same servers, each variant with its own fresh database
(punch's Alembic migrations, then workers, clocks and assignments seeded with SQL as punch's
projection consumer stores them), its own consumer group and its own output topic:
  - kit:   the real thing — the kit's ConsumerLoop with ``Ingest(policy).handle`` (one
    transaction per poll of up to ``max_batch`` verdicts, CONSUMER_MAX_BATCH) and the kit's
    OutboxRelay publishing the events, in the consumer's process or (``r``) in a process of
    its own beside each consumer process, as punch is deployed (its relay sidecar); by
    default max_batch 500 on one lane with the relay in process (punch's shape before the
    sidecar: the same run's baseline), then as deployed: 500 on three consumers of the group
    in one process (``/3``: VERDICT_LANES, each lane its own partitions and transaction, so one
    lane's database round trips overlap the others' decoding and deciding), first with the
    loop recording every verdict's event id in ``processed_events`` (``i``: as before punch's
    handler was declared idempotent, the same run's baseline for it), then with Python's
    collector as it starts (``g``: nothing frozen, a collection every 700 allocations, as
    this bench ran punch until 2026-12-05; the services freeze what start-up built, and punch
    collects every GC_GEN0_THRESHOLD, 50,000), then as deployed, and 2000 with three
    processes in the group (three punch replicas), each with its relay apart
    (``--relay-process``: every variant's relay apart);
  - naive: a plain aiokafka consumer deciding the same kind of verdicts one at a time: decode,
    look up attempt, worker, clock, assignment and neighbouring punches, one ledger row + one
    attempts row + one outbox row in the message's own transaction, then one Kafka offset
    commit per message; the same relay publishes its outbox.
The verdicts are pre-filled before a consumer starts (one topic of N for the kit variants, a
smaller one for the naive one), 12 partitions keyed tenant/worker like the real topic: ~95 %
WorkerIdentified (PIN, and FACE with its match), ~4 % IdentificationRejected, ~2 % double
taps, ~0.5 % a second verdict for an attempt already sent, ~1 % at a clock the worker is not
assigned to, ~1 % captured offline; a worker's capture times are hours apart, so most verdicts
become punches.

Measured for each variant (``SELECT count(*) FROM attempts`` and the output topic's end
offsets, polled every 0.1 s):
  - punches/s: verdicts decided (attempts rows, one per distinct attempt) from the first
    commit seen to the last one (and, in the JSON, between 10 % and 90 % of them);
  - end to end: from the same first commit until every decided attempt's event (PunchRecorded,
    PunchRepeated or PunchRejected) is on the output topic; the outbox's largest backlog
    (sustained = the relay keeps up: the backlog stays about one consumer batch), read as the
    rows written (the outbox's identity sequence) less the events on the output topic: a
    ``count(*)`` every 0.1 s, even ``min(id)``, walks the dead rows the relay leaves behind
    (6–7 ms of PostgreSQL's time per probe, load the deployed system does not have);
  - in the JSON, CPU used meanwhile (cores busy, and microseconds per punch) by each process
    under test, by all PostgreSQL processes, by Kafka, and by the whole machine (the servers
    and the machine are shared: other work shows there).
Prints a table and writes bench/results/ledger_ingest.json. Not a test: no pass/fail. The
event topic punch publishes to is replaced by a bench topic (``support.punch_ingest``) so that
nothing reaches the real punches topic; databases and topics are dropped at the end. punch runs
in the bench's processes, not as ``punchcard-punch``, because its topics are fixed: a punch
process would read the shared verdicts topic, where every punch on the test stack would decide
the bench's verdicts too. Its databases are migrated by ``punchcard-punch migrate``.

    make bench     # or: .venv/bin/python bench/ledger_ingest.py [--verdicts 100000 ...] [--quick]
    .venv/bin/python bench/ledger_ingest.py --only kit --kit 2000 --profile /tmp/prof  # py-spy
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import support
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from punchcard.v1 import common_pb2, identification_pb2, kiosk_pb2, punch_pb2
from punchcard_kit.event_loop import run_as_service
from punchcard_kit.logging import configure_logging
from punchcard_kit.messaging import catalogue, encode_envelope, new_envelope
from punchcard_kit.messaging.connection import kafka_options
from punchcard_kit.messaging.topics import ensure_topics_exist
from support import KAFKA, ROOT, VENV_BIN, cpu_seconds, machine_busy, server_cpu

PARTITIONS = 12
RUN = uuid.uuid4().hex[:6]  # in every database, topic and group name of this run
# Each punch process's batch timings (``_serve --timings``), read once it has stopped.
TIMINGS = Path(tempfile.gettempdir()) / f"bench-ledger-{RUN}"
TIME_ZONES = ("Europe/Madrid", "America/New_York", "Europe/London", "America/Mexico_City")
DIRECTIONS = {"IN": common_pb2.PUNCH_DIRECTION_IN, "OUT": common_pb2.PUNCH_DIRECTION_OUT}


# -- the world: tenants, workers, clocks, assignments ---------------------------------------
def make_world(rng: random.Random, tenants: int, workers: int, clocks: int, sites: int) -> list:
    """Per tenant: its sites' clocks, its Active workers (each of one site), each worker
    assigned to every clock of its site."""
    world = []
    for t in range(tenants):
        tenant_id = str(uuid.UUID(int=rng.getrandbits(128)))
        site_names = [f"site-{t}-{s}" for s in range(sites)]
        tenant_clocks = [
            {
                "id": str(uuid.UUID(int=rng.getrandbits(128))),
                "site_id": site_names[c % sites],
                "time_zone": TIME_ZONES[c % sites % len(TIME_ZONES)],
                "name": f"Gate {t}-{c}",
            }
            for c in range(clocks // tenants + (t < clocks % tenants))
        ]
        tenant_workers = [
            {
                "id": str(uuid.UUID(int=rng.getrandbits(128))),
                "employee_id": f"E{t:02d}{w:05d}",
                "display_name": f"Worker {t}-{w}",
                "site_id": site_names[w % sites],
            }
            for w in range(workers // tenants + (t < workers % tenants))
        ]
        by_site: dict[str, list[str]] = {}
        for clock in tenant_clocks:
            by_site.setdefault(clock["site_id"], []).append(clock["id"])
        world.append(
            {
                "id": tenant_id,
                "clocks": tenant_clocks,
                "workers": tenant_workers,
                "by_site": by_site,
            }
        )
    return world


# A month of earlier punches for every worker, ending before the bench's verdicts begin (their
# capture times start 30 days ago): a ledger that is not empty, its statistics as in service.
_HISTORY = """
WITH punched AS (
    INSERT INTO punches (id, tenant_id, kind, worker_id, employee_id, display_name, clock_id,
                         site_id, time_zone, direction, direction_inferred, method, punched_at,
                         received_at, attempt_id)
    SELECT gen_random_uuid(), w.tenant_id, 'RECORDED', w.id, w.employee_id, w.display_name,
           c.id, w.site_id, c.time_zone, CASE WHEN g % 2 = 1 THEN 'IN' ELSE 'OUT' END, true,
           'PIN', at, at + interval '1 second', gen_random_uuid()
    FROM workers w
    CROSS JOIN LATERAL (SELECT id, time_zone FROM clocks
                        WHERE tenant_id = w.tenant_id AND site_id = w.site_id LIMIT 1) c
    CROSS JOIN generate_series(1, $1::int) AS g
    CROSS JOIN LATERAL (SELECT now() - interval '61 days' + g * (interval '30 days' / $1)
                               + random() * interval '1 hour' AS at) t
    RETURNING tenant_id, attempt_id, clock_id, id
)
INSERT INTO attempts (tenant_id, attempt_id, clock_id, outcome, punch_id, event_type, event)
SELECT tenant_id, attempt_id, clock_id, 'RECORDED', id, 'punchcard.v1.PunchRecorded', ''::bytea
FROM punched
"""


async def seed(dsn: str, world: list, history: int) -> dict:
    """The projections as punch's projection consumer stores them (COPY), and
    about ``history`` earlier punches in the ledger."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.copy_records_to_table(
            "workers",
            columns=["tenant_id", "id", "employee_id", "display_name", "status", "site_id"],
            records=[
                (uuid.UUID(t["id"]), uuid.UUID(w["id"]), w["employee_id"], w["display_name"])
                + ("Active", w["site_id"])
                for t in world
                for w in t["workers"]
            ],
        )
        await conn.copy_records_to_table(
            "clocks",
            columns=["tenant_id", "id", "name", "site_id", "time_zone"],
            records=[
                (uuid.UUID(t["id"]), uuid.UUID(c["id"]), c["name"], c["site_id"], c["time_zone"])
                for t in world
                for c in t["clocks"]
            ],
        )
        assignments = [
            (uuid.UUID(t["id"]), uuid.UUID(c), uuid.UUID(w["id"]))
            for t in world
            for w in t["workers"]
            for c in t["by_site"].get(w["site_id"], [])
        ]
        await conn.copy_records_to_table(
            "assignments", columns=["tenant_id", "clock_id", "worker_id"], records=assignments
        )
        workers = sum(len(t["workers"]) for t in world)
        if history:
            await conn.execute(_HISTORY, max(1, round(history / workers)))
        await conn.execute("VACUUM ANALYZE")
        return {
            "tenants": len(world),
            "workers": workers,
            "clocks": sum(len(t["clocks"]) for t in world),
            "assignments": len(assignments),
            "history_punches": await conn.fetchval("SELECT count(*) FROM punches"),
        }
    finally:
        await conn.close()


# -- the verdicts ---------------------------------------------------------------------------
def _ts(target, value: datetime) -> None:
    target.FromDatetime(value)


def make_verdicts(rng: random.Random, world: list, n: int) -> tuple[list, dict]:
    """``n`` Kafka records (key, value) in capture-time order (so each worker's in order, as
    the real topic is keyed), and what they are made of."""
    n_dups = round(n * 0.005)
    n_taps = round(n * 0.02)
    n_base = n - n_dups - n_taps
    n_rejected = round(n * 0.04)
    workers = [(t, w) for t in world for w in t["workers"]]
    start = datetime.now(UTC) - timedelta(days=30)
    per_worker: dict[int, list[int]] = {}
    for i in range(n_base):
        per_worker.setdefault(rng.randrange(len(workers)), []).append(i)
    rejected = set(rng.sample(range(n_base), n_rejected))
    items = []  # (sort time, seq, tenant, key, payload, producer)
    seq = 0
    counts = {"identified": 0, "rejected": 0, "double_taps": 0, "duplicates": 0}
    counts |= {"face": 0, "pin": 0, "not_assigned": 0, "offline": 0}
    identified_items = []
    for w_index, attempts in per_worker.items():
        tenant, worker = workers[w_index]
        at = start + timedelta(minutes=rng.uniform(0, 600))
        site_clocks = tenant["by_site"][worker["site_id"]]
        other_clocks = [c["id"] for c in tenant["clocks"] if c["id"] not in site_clocks]
        last_direction = "OUT"
        for i in attempts:
            at += timedelta(hours=rng.uniform(1, 14))  # a worker's punches are hours apart
            offline = rng.random() < 0.01
            received = at + (
                timedelta(minutes=rng.uniform(10, 180))
                if offline
                else timedelta(seconds=rng.uniform(0.05, 2))
            )
            if offline:
                counts["offline"] += 1
            clock_id = rng.choice(site_clocks)
            if other_clocks and rng.random() < 0.01:
                clock_id = rng.choice(other_clocks)
                counts["not_assigned"] += 1
            context = kiosk_pb2.PunchAttemptContext(
                attempt_id=str(uuid.UUID(int=rng.getrandbits(128))),
                clock_id=clock_id,
                captured_offline=offline,
            )
            _ts(context.captured_at, at)
            _ts(context.received_at, received)
            face = rng.random() < 0.55
            if i in rejected:
                counts["rejected"] += 1
                verdict = identification_pb2.IdentificationRejected(
                    context=context,
                    method=common_pb2.PUNCH_METHOD_FACE if face else common_pb2.PUNCH_METHOD_PIN,
                )
                if face:
                    verdict.reason = common_pb2.REJECT_REASON_NO_MATCH
                    verdict.face.model_name = "Dlib"
                    verdict.face.metric = "euclidean_l2"
                    verdict.face.distance = rng.uniform(0.45, 0.7)
                    verdict.face.threshold = 0.4
                    key = catalogue.verdict_key(tenant["id"], None, context.attempt_id)
                else:
                    verdict.reason = common_pb2.REJECT_REASON_WRONG_PIN
                    verdict.worker_id = worker["id"]
                    verdict.attempts_remaining = rng.randint(1, 4)
                    key = catalogue.verdict_key(tenant["id"], worker["id"], context.attempt_id)
                items.append((at, seq, tenant["id"], key, verdict, "identity"))
                seq += 1
                continue
            counts["identified"] += 1
            if rng.random() < 0.25:  # the kiosk asked for a direction; else punch toggles
                last_direction = "IN" if last_direction == "OUT" else "OUT"
                context.requested_direction = DIRECTIONS[last_direction]
            verdict = identification_pb2.WorkerIdentified(
                context=context,
                worker_id=worker["id"],
                method=common_pb2.PUNCH_METHOD_FACE if face else common_pb2.PUNCH_METHOD_PIN,
            )
            if face:
                counts["face"] += 1
                verdict.face.model_name = "Dlib"
                verdict.face.metric = "euclidean_l2"
                verdict.face.distance = rng.uniform(0.2, 0.38)
                verdict.face.margin = rng.uniform(0.05, 0.3)
                verdict.face.threshold = 0.4
            else:
                counts["pin"] += 1
            key = catalogue.verdict_key(tenant["id"], worker["id"], context.attempt_id)
            item = (at, seq, tenant["id"], key, verdict, "face-match" if face else "identity")
            items.append(item)
            identified_items.append(item)
            seq += 1
    # Double taps: the same worker again at the same clock a few seconds later (a new attempt).
    for at, _, tenant_id, key, verdict, producer in rng.sample(identified_items, n_taps):
        tap = identification_pb2.WorkerIdentified()
        tap.CopyFrom(verdict)
        tap.context.attempt_id = str(uuid.UUID(int=rng.getrandbits(128)))
        tap.context.ClearField("requested_direction")
        tap_at = at + timedelta(seconds=rng.uniform(2, 45))
        _ts(tap.context.captured_at, tap_at)
        _ts(tap.context.received_at, tap_at + timedelta(seconds=rng.uniform(0.05, 2)))
        items.append((tap_at, seq, tenant_id, key, tap, producer))
        seq += 1
        counts["double_taps"] += 1
    # Duplicates: a second verdict for an attempt already sent (same attempt id, new event).
    for at, _, tenant_id, key, verdict, producer in rng.sample(items, n_dups):
        items.append((at + timedelta(microseconds=1), seq, tenant_id, key, verdict, producer))
        seq += 1
        counts["duplicates"] += 1
    items.sort(key=lambda item: (item[0], item[1]))
    records = []
    for _at, _, tenant_id, key, verdict, producer in items:
        envelope = new_envelope(
            verdict,
            tenant_id=tenant_id,
            producer=producer,
            correlation_id=verdict.context.attempt_id,
            occurred_at=verdict.context.received_at.ToDatetime(tzinfo=UTC)
            + timedelta(milliseconds=30),
        )
        records.append((key.encode(), encode_envelope(envelope)))
    counts["messages"] = len(records)
    counts["distinct_attempts"] = len(records) - n_dups
    return records, counts


async def fill_topic(topic: str, records: list) -> float:
    await ensure_topics_exist(KAFKA, [(topic, PARTITIONS, 1, {})])
    producer = AIOKafkaProducer(
        **kafka_options(KAFKA, acks="all", linger_ms=20, max_batch_size=512 * 1024)
    )
    await producer.start()
    started = time.monotonic()
    try:
        sent = [await producer.send(topic, value, key=key) for key, value in records]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
    return time.monotonic() - started


async def delete_topics(topics: list[str]) -> None:
    await support.delete_topics(topics, client_id="bench-ledger-ingest")


# -- databases ------------------------------------------------------------------------------
async def create_db(variant: str) -> str:
    """punch's database as production has it: owned by its own non-superuser login role,
    migrated by punch itself (``punchcard-punch migrate``)."""
    dsn = await support.new_database("punch", f"bench_ledger_{RUN}_{variant.replace('-', '_')}")
    env = {**os.environ, "ENVIRONMENT": "test", "DATABASE_URL": dsn, "LOG_LEVEL": "WARNING"}
    migrated = await asyncio.to_thread(
        subprocess.run, [str(VENV_BIN / "punchcard-punch"), "migrate"], env=env
    )
    if migrated.returncode != 0:
        raise SystemExit(f"punchcard-punch migrate failed ({migrated.returncode})")
    return dsn


async def drop_db(dsn: str) -> None:
    await support.drop_database(dsn)


# A variant's collector (its result's "collector"): as punch runs, or as Python starts (``g``).
AS_THE_SERVICES = "as the services"
PYTHON_GC = "Python's own, nothing frozen"


# -- one variant ----------------------------------------------------------------------------
def spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, "_serve", *args], cwd=ROOT)


def profile(pid: int, out: Path) -> subprocess.Popen | None:
    """py-spy on a process under test (until it exits), when py-spy is on PATH."""
    py_spy = shutil.which("py-spy")
    if py_spy is None:
        print("note: --profile needs py-spy on PATH; no profile taken")
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    command = [py_spy, "record", "--pid", str(pid), "--rate", "200", "--idle", "--nonblocking"]
    command += ["--format", "raw", "--output", str(out)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL)


_BACKENDS = "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"


async def cpu_now(processes: list[subprocess.Popen], conn: asyncpg.Connection) -> dict:
    """CPU seconds so far: the processes under test, this database's PostgreSQL backends (by
    pid; the watcher's own excluded), all PostgreSQL and Kafka processes, the whole machine."""
    backends = [r[0] for r in await conn.fetch(_BACKENDS + " AND pid <> pg_backend_pid()")]
    servers = server_cpu()
    return {
        **{f"process_{i}": cpu_seconds(p.pid) for i, p in enumerate(processes)},
        "postgres_this_db": {pid: cpu_seconds(pid) for pid in backends},
        "postgres_all": servers["postgres"],
        "kafka": servers["kafka"],
        "whole_machine": machine_busy(),
    }


def cpu_used(before: dict, after: dict) -> dict[str, float]:
    used = {k: after[k] - before[k] for k in after if k != "postgres_this_db"}
    first, last = before["postgres_this_db"], after["postgres_this_db"]
    used["postgres_this_db"] = sum(cpu - first.get(pid, 0.0) for pid, cpu in last.items())
    return used


async def committed(admin: AIOKafkaAdminClient, group: str, topic: str) -> int:
    """Verdicts the group has committed (its offsets on the topic, summed)."""
    offsets = await admin.list_consumer_group_offsets(group)
    return sum(max(0, o.offset) for tp, o in offsets.items() if tp.topic == topic)


# Rows ever written to the outbox (its identity sequence: one read, whatever the table holds);
# less the events on the output topic, the backlog.
_WRITTEN = "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {}"


async def watch(
    dsn: str,
    *,
    group: str,
    topic: str,
    messages: int,
    expected: int,
    out_topic: str,
    processes: list[subprocess.Popen],
    limit_s: float,
) -> dict:
    """Poll progress until all ``messages`` are consumed and committed and the ``expected``
    decisions' events published (or the time limit). Progress is the group's committed
    offsets: the consumers commit them right after each database commit (a count(*) of the
    attempts table every 0.1 s would itself load PostgreSQL); the ledger is counted at the end.
    """
    conn = await asyncpg.connect(dsn)
    baseline_attempts = await conn.fetchval("SELECT count(*) FROM attempts")
    baseline_punches = await conn.fetchval("SELECT count(*) FROM punches")
    written = _WRITTEN.format(await conn.fetchval("SELECT pg_get_serial_sequence('outbox', 'id')"))
    written_before = await conn.fetchval(written)
    kafka = AIOKafkaConsumer(**kafka_options(KAFKA, client_id="bench-ledger-watch"))
    admin = AIOKafkaAdminClient(**kafka_options(KAFKA, client_id="bench-ledger-watch"))
    await kafka.start()
    await admin.start()
    partitions = [TopicPartition(out_topic, p) for p in range(PARTITIONS)]
    samples: list[tuple[float, int, int, int]] = []  # (t, committed, outbox backlog, published)
    first = ledger_done = published_done = None
    cpu_at_first: dict = {}
    cpu_at_done: dict = {}
    deadline = time.monotonic() + limit_s
    try:
        while time.monotonic() < deadline:
            done = await committed(admin, group, topic)
            published = sum((await kafka.end_offsets(partitions)).values())
            backlog = max(0, await conn.fetchval(written) - written_before - published)
            now = time.monotonic()
            samples.append((now, done, backlog, published))
            if first is None and done > 0:
                first = samples[-1]
                cpu_at_first = await cpu_now(processes, conn)
            if ledger_done is None and done >= messages:
                ledger_done = samples[-1]
                cpu_at_done = await cpu_now(processes, conn)
            if published_done is None and published >= expected:
                published_done = samples[-1]
            if ledger_done and published_done:
                break
            if any(p.poll() is not None for p in processes):
                raise SystemExit("a bench consumer process exited early; see its output above")
            await asyncio.sleep(0.1)
        outcomes = {
            r["outcome"]: r["n"]
            for r in await conn.fetch(
                "SELECT outcome, count(*) AS n FROM attempts"
                " WHERE event <> ''::bytea GROUP BY 1"  # not the history's
            )
        }
        decided = await conn.fetchval("SELECT count(*) FROM attempts") - baseline_attempts
        ledger_rows = await conn.fetchval("SELECT count(*) FROM punches") - baseline_punches
    finally:
        await admin.close()
        await kafka.stop()
        await conn.close()
    last = samples[-1]
    result = {
        "verdicts": messages,
        "expected_attempts": expected,
        "decided": decided,
        "published": last[3],
        "ledger_rows": ledger_rows,
        "outcomes": outcomes,
        "drained": bool(ledger_done and published_done) and decided == expected,
        "outbox_backlog_max": max((s[2] for s in samples if first and s[0] >= first[0]), default=0),
        # about one sample a second from the first commit: [s, committed, outbox rows, published]
        "timeline": _timeline(samples, first),
    }
    if first and ledger_done and ledger_done is not first:
        seconds = ledger_done[0] - first[0]
        handled = ledger_done[1] - first[1]  # verdicts committed after the first commit seen
        result["ledger_s"] = round(seconds, 2)
        result["punches_per_s"] = round(handled / seconds)
        result["outbox_backlog_at_ledger_done"] = ledger_done[2]
        # CPU used while the ledger filled, in cores (2 = both cores of a 2-core machine):
        # process_i are the processes under test; whole_machine includes other work
        used = cpu_used(cpu_at_first, cpu_at_done)
        result["cpu_cores_busy"] = {k: round(v / seconds, 2) for k, v in used.items()}
        # ... and per verdict (less sensitive to other load than the rate)
        result["cpu_us_per_punch"] = {k: round(1e6 * v / handled, 1) for k, v in used.items()}
    steady = _between(samples, 0.1 * messages, 0.9 * messages)
    if steady:
        result["steady_10_90_punches_per_s"] = round(0.8 * messages / steady)
    if first and published_done and published_done is not first:
        seconds = published_done[0] - first[0]
        result["end_to_end_s"] = round(seconds, 2)
        # events of the verdicts committed after the first commit seen, per second
        result["end_to_end_per_s"] = round((published_done[3] - first[1]) / seconds)
        if ledger_done:
            result["publish_lag_after_ledger_s"] = round(published_done[0] - ledger_done[0], 2)
    return result


def _timeline(samples: list, first) -> list:
    if first is None:
        return []
    out, next_t = [], first[0]
    for t, decided, backlog, published in samples:
        if t >= next_t or t == samples[-1][0]:
            out.append([round(t - first[0], 1), decided, backlog, published])
            next_t = t + 1.0
    return out


def _between(samples: list, low: float, high: float) -> float | None:
    """Seconds between the moments ``decided`` crossed ``low`` and ``high`` (interpolated)."""

    def crossing(level: float) -> float | None:
        for (t0, d0, *_), (t1, d1, *_) in zip(samples, samples[1:], strict=False):
            if d0 < level <= d1:
                return t0 + (t1 - t0) * (level - d0) / (d1 - d0)
        return None

    a, b = crossing(low), crossing(high)
    return b - a if a is not None and b is not None and b > a else None


async def run_variant(
    name: str,
    mode: str,
    world: list,
    verdicts_topic: str,
    verdicts: dict,
    *,
    max_batch: int,
    relay_batch: int,
    relay_process: bool,
    limit_s: float,
    replicas: int = 1,
    lanes: int = 1,
    history: int = 0,
    profile_dir: Path | None = None,
    record_ids: bool = False,
    asyncio_loop: bool = False,
    python_gc: bool = False,
) -> dict:
    dsn = await create_db(name)
    out_topic = f"bench.ledger.{RUN}.{name}.punches"
    group = f"bench-ledger-{RUN}-{name}"
    processes: list[subprocess.Popen] = []
    spies: list[subprocess.Popen | None] = []
    try:
        # Seeded and watched as the superuser: punch's tables force row-level security on
        # their owner (COPY is refused, and a count would see no tenant's rows).
        seeded = await seed(support.admin_url(dsn), world, history)
        await ensure_topics_exist(KAFKA, [(out_topic, PARTITIONS, 1, {})])
        common = ["--dsn", dsn, "--out-topic", out_topic]
        common += ["--asyncio-loop"] if asyncio_loop else []
        common += ["--python-gc"] if python_gc else []
        consumer = ["--consumer", mode, "--topic", verdicts_topic, "--group", group]
        consumer += ["--max-batch", str(max_batch), "--lanes", str(lanes)]
        consumer += ["--record-ids"] if record_ids else []
        relay = ["--relay-batch", str(relay_batch)]
        # Each replica is a punch process (consumer, and its relay unless it has its own: then
        # a relay process beside each, as the pod's sidecar).
        TIMINGS.mkdir(exist_ok=True)
        timings = [TIMINGS / f"{name}-{i}.json" for i in range(replicas)]
        for timed in timings:
            timed.unlink(missing_ok=True)
            consumer_process = [*common, *consumer, "--timings", str(timed)]
            if relay_process:
                processes.append(spawn(*consumer_process, "--no-relay"))
            else:
                processes.append(spawn(*consumer_process, *relay))
        if relay_process:
            for _ in range(replicas):
                processes.append(spawn(*common, "--consumer", "none", *relay))
        if profile_dir is not None:
            spies = [
                profile(p.pid, profile_dir / f"{name}-{i}.txt") for i, p in enumerate(processes)
            ]
        result = await watch(
            support.admin_url(dsn),
            group=group,
            topic=verdicts_topic,
            messages=verdicts["messages"],
            expected=verdicts["distinct_attempts"],
            out_topic=out_topic,
            processes=processes,
            limit_s=limit_s,
        )
        support.stop_processes(processes)  # each writes its batches' timings as it stops
        return {
            "variant": name,
            "consumer": mode,
            "max_batch": max_batch if mode == "kit" else 1,
            "replicas": replicas,
            "lanes": lanes,
            "relay_batch": relay_batch,
            "relay": "own process" if relay_process else "same process as the consumer",
            "record_ids": record_ids,
            "event_loop": "asyncio" if asyncio_loop else "uvloop (as the services)",
            "collector": PYTHON_GC if python_gc else AS_THE_SERVICES,
            "seeded": seeded,
            **result,
            **batch_times(timings),
        }
    finally:
        support.stop_processes(processes)
        for spy in spies:
            if spy is not None:
                spy.wait(60)
        await drop_db(dsn)
        await delete_topics([out_topic, f"{group}.dlq"])


def batch_times(timings: list[Path]) -> dict:
    """p50 / p99 of the consumer batches' time (every lane of every process), and their size."""
    batches = [tuple(b) for path in timings if path.exists() for b in json.loads(path.read_text())]
    for path in timings:
        path.unlink(missing_ok=True)
    if not batches:
        return {}
    seconds = [b[0] * 1000 for b in batches]
    sizes = [b[1] for b in batches]
    per_punch = [b[0] * 1e6 / b[1] for b in batches]
    return {
        "batches": len(batches),
        "batch_records_p50": support.pct(sizes, 0.5),
        "batch_ms_p50": round(support.pct(seconds, 0.5), 1),
        "batch_ms_p99": round(support.pct(seconds, 0.99), 1),
        "batch_us_per_punch_p50": round(support.pct(per_punch, 0.5), 1),
        "batch_us_per_punch_p99": round(support.pct(per_punch, 0.99), 1),
    }


# -- the processes under test (``ledger_ingest.py _serve ...``) -----------------------------
async def serve(args: argparse.Namespace) -> None:
    from punchcard_kit.db import create_pool
    from punchcard_kit.messaging.consumer import ConsumerLoop
    from punchcard_kit.messaging.relay import OutboxRelay
    from punchcard_kit.service import freeze_start_up

    configure_logging("bench-ledger-ingest", "WARNING")
    # What punch publishes goes to this run's topic, not the real punches topic.
    verdicts = support.punch_ingest(args.out_topic)
    pool = await create_pool(args.dsn, min_size=1, max_size=3 + args.lanes)
    batches: list[tuple[float, int]] = []  # (seconds, records) of every batch, every lane

    class TimedLoop(ConsumerLoop):
        """The kit's loop, each batch timed as its BATCH_SECONDS histogram times it (decode,
        transaction, handler, commit), for the p50 / p99 the histogram's buckets cannot give."""

        async def _process(self, polled) -> None:
            started = time.perf_counter()
            await super()._process(polled)
            batches.append((time.perf_counter() - started, sum(map(len, polled.values()))))

    loops = []
    if args.consumer == "kit":
        loops.extend(
            TimedLoop(
                group_id=args.group,
                topics=[args.topic],
                handler=verdicts.handler,
                pool=pool,
                bootstrap_servers=KAFKA,
                max_batch=args.max_batch,
                transient=verdicts.transient,
                # i: the loop records every verdict's event id, as before punch declared its
                # handler idempotent (the same run's baseline for that change).
                idempotent_handler=verdicts.idempotent_handler and not args.record_ids,
                # watch() reads progress from the group's committed offsets, so each batch
                # commits its own. As deployed, a batch of 20 records or more commits at once
                # anyway; but the run's last, small batches would wait up to 0.5 s, and the
                # rate read low (~3 % with the 0.5 s alone, 2026-12-04).
                commit_every_s=0,
            )
            for _ in range(args.lanes)  # punch's VERDICT_LANES: consumers of the group
        )
    elif args.consumer == "naive":
        loops.append(NaiveConsumer(args.dsn, args.topic, args.group, args.out_topic))
    if args.relay:
        loops.append(
            OutboxRelay(
                pool=pool,
                dsn=args.dsn,
                bootstrap_servers=KAFKA,
                name="bench-ledger",
                batch_size=args.relay_batch,
            )
        )
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, lambda: [loop.stop() for loop in loops])
    # As punch does once started (the collector's threshold: its GC_GEN0_THRESHOLD default);
    # until 2026-12-05 this bench's processes did neither (``g``: as then).
    if not args.python_gc:
        freeze_start_up(support.punch_gc_threshold())
    try:
        await asyncio.gather(*(loop.run() for loop in loops))
    finally:
        await pool.close()
        if args.timings is not None and batches:
            args.timings.write_text(json.dumps(batches))


class NaiveConsumer:
    """One verdict at a time: its own transaction (lookups, one ledger row, one attempts row,
    one outbox row), then its own Kafka offset commit."""

    def __init__(self, dsn: str, topic: str, group: str, out_topic: str) -> None:
        self.punch = support.punch_ledger_parts()
        PUNCH_COLUMNS, ATTEMPT_COLUMNS = self.punch.PUNCH_COLUMNS, self.punch.ATTEMPT_COLUMNS
        self.dsn, self.topic, self.group, self.out_topic = dsn, topic, group, out_topic
        self._stopping = asyncio.Event()
        self.insert_punch = (
            f"INSERT INTO punches ({', '.join(c for c, _ in PUNCH_COLUMNS)}) VALUES ("
            + ", ".join(f"${i}" for i in range(1, len(PUNCH_COLUMNS) + 1))
            + ")"
        )
        self.punch_columns = [c for c, _ in PUNCH_COLUMNS]
        self.insert_attempt = (
            f"INSERT INTO attempts ({', '.join(c for c, _ in ATTEMPT_COLUMNS)}) VALUES ("
            + ", ".join(f"${i}" for i in range(1, len(ATTEMPT_COLUMNS) + 1))
            + ")"
        )

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(
            self.topic,
            **kafka_options(
                KAFKA, group_id=self.group, enable_auto_commit=False, auto_offset_reset="earliest"
            ),
        )
        await consumer.start()
        conn = await asyncpg.connect(self.dsn)
        try:
            while not self._stopping.is_set():
                batches = await consumer.getmany(timeout_ms=500, max_records=500)
                for tp, records in batches.items():
                    for record in records:
                        await self.handle(conn, record.value)
                        await consumer.commit({tp: record.offset + 1})
                        if self._stopping.is_set():
                            return
        finally:
            await conn.close()
            await consumer.stop()

    async def handle(self, conn: asyncpg.Connection, value: bytes) -> None:
        from punchcard_kit.messaging import add_records, decode_envelope, outbox_record
        from punchcard_kit.messaging.envelope import unpack_payload
        from punchcard_kit.tenancy import enter_tenant

        punch = self.punch
        policy = punch.Policy()
        envelope = decode_envelope(value)
        verdict = unpack_payload(envelope)
        tenant_id = envelope.tenant_id
        context = verdict.context
        attempt_id = str(uuid.UUID(context.attempt_id))
        captured_at = context.captured_at.ToDatetime(tzinfo=UTC)
        received_at = context.received_at.ToDatetime(tzinfo=UTC)
        async with conn.transaction():
            await enter_tenant(conn, punch.APP_ROLE, tenant_id)
            if await conn.fetchval(
                "SELECT 1 FROM attempts WHERE tenant_id = $1 AND attempt_id = $2",
                tenant_id,
                attempt_id,
            ):
                return  # already decided
            row = None
            punch_id = None
            reason = ""
            if isinstance(verdict, identification_pb2.IdentificationRejected):
                decision = punch.Reject(punch.reason_name(verdict.reason))
            else:
                worker = await conn.fetchrow(
                    "SELECT employee_id, display_name, status FROM workers"
                    " WHERE tenant_id = $1 AND id = $2",
                    tenant_id,
                    verdict.worker_id,
                )
                clock = await conn.fetchrow(
                    "SELECT site_id, time_zone FROM clocks WHERE tenant_id = $1 AND id = $2",
                    tenant_id,
                    context.clock_id,
                )
                assigned = await conn.fetchval(
                    "SELECT 1 FROM assignments"
                    " WHERE tenant_id = $1 AND clock_id = $2 AND worker_id = $3",
                    tenant_id,
                    context.clock_id,
                    verdict.worker_id,
                )
                (near,) = await punch.nearby(
                    conn, tenant_id, [(verdict.worker_id, captured_at)], policy.double_tap_window
                )
                previous, following = punch.neighbours(near, captured_at, policy.double_tap_window)
                decision = punch.decide(
                    captured_at=captured_at,
                    received_at=received_at,
                    offline=context.captured_offline,
                    requested=punch.DIRECTION_NAMES.get(context.requested_direction),
                    worker_active=worker["status"] == "Active",
                    assigned=bool(assigned),
                    previous=previous,
                    following=following,
                    policy=policy,
                )
            if isinstance(decision, punch.Reject):
                outcome, reason = "REJECTED", decision.reason
                event = punch_pb2.PunchRejected(
                    attempt_id=attempt_id,
                    clock_id=context.clock_id,
                    method=verdict.method,
                    reason=punch.reason_value(reason),
                    worker_id=verdict.worker_id,
                    captured_offline=context.captured_offline,
                )
                event.captured_at.CopyFrom(context.captured_at)
                event.received_at.CopyFrom(context.received_at)
            elif isinstance(decision, punch.Repeat):
                outcome, punch_id = "REPEATED", decision.earlier.punch_id
                earlier = await conn.fetchrow(
                    "SELECT * FROM punches WHERE tenant_id = $1 AND id = $2", tenant_id, punch_id
                )
                event = punch_pb2.PunchRepeated(
                    attempt_id=attempt_id,
                    clock_id=context.clock_id,
                    earlier=punch.recorded_event(earlier),
                )
            else:
                assert isinstance(decision, punch.Record)
                outcome = "RECORDED"
                row = punch.recorded_row(
                    tenant_id,
                    attempt_id,
                    verdict,
                    worker,
                    clock,
                    decision,
                    captured_at,
                    received_at,
                )
                punch_id = row["id"]
                await conn.execute(self.insert_punch, *(row.get(c) for c in self.punch_columns))
                event = punch.recorded_event(row)
            await conn.execute(
                self.insert_attempt,
                tenant_id,
                attempt_id,
                context.clock_id or None,
                outcome,
                punch_id,
                reason or None,
                event.DESCRIPTOR.full_name,
                event.SerializeToString(),
            )
            out = new_envelope(
                event,
                tenant_id=tenant_id,
                producer="punch",
                correlation_id=envelope.correlation_id or context.attempt_id,
                causation_id=envelope.event_id,
            )
            key = catalogue.PUNCH_PUNCHES.key(
                tenant_id=tenant_id, worker_id=verdict.worker_id or attempt_id
            )
            await add_records(conn, [outbox_record(self.out_topic, key, out)])


def serve_main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(prog="ledger_ingest.py _serve")
    p.add_argument("--dsn", required=True)
    p.add_argument("--out-topic", required=True)
    p.add_argument("--consumer", choices=["kit", "naive", "none"], default="none")
    p.add_argument("--topic")
    p.add_argument("--group")
    p.add_argument("--max-batch", type=int, default=500)
    p.add_argument("--lanes", type=int, default=1)
    p.add_argument("--record-ids", action="store_true")
    p.add_argument("--relay-batch", type=int, default=500)
    p.add_argument("--no-relay", dest="relay", action="store_false")
    p.add_argument("--asyncio-loop", action="store_true")
    p.add_argument("--python-gc", action="store_true")
    p.add_argument("--timings", type=Path, help="write each batch's (seconds, records) here")
    args = p.parse_args(argv)
    # The services run on uvloop (uvicorn's "auto"); asyncio's loop only as a baseline.
    if args.asyncio_loop:
        asyncio.run(serve(args))
    else:
        run_as_service(serve(args))


def batch_p50_p99(r: dict) -> str:
    return f"{r['batch_ms_p50']}/{r['batch_ms_p99']}" if "batch_ms_p50" in r else "-"


def tail_ratio(r: dict) -> str:
    return f"{r['batch_ms_p99'] / r['batch_ms_p50']:.1f}" if r.get("batch_ms_p50") else "-"


# -- the run --------------------------------------------------------------------------------
TARGET_PER_S = 10_000  # punches/s decided by one punch process


DEPLOYED_LANES = int(support.PUNCH_AS_DEPLOYED["VERDICT_LANES"])


def as_deployed(results: list[dict]) -> dict | None:
    """The variant run as punch is deployed (deploy/k8s: VERDICT_LANES, tests.support's
    PUNCH_AS_DEPLOYED; the relay a process of its own, batches of 500, no event ids recorded,
    uvloop), the one the target is judged on."""
    return next(
        (
            r
            for r in results
            if r.get("consumer") == "kit"
            and r.get("max_batch") == 500
            and r.get("replicas") == 1
            and r.get("lanes") == DEPLOYED_LANES
            and r.get("relay") == "own process"
            and not r.get("record_ids")
            and r.get("event_loop") != "asyncio"
            and r.get("collector") == AS_THE_SERVICES
            and r.get("punches_per_s")
        ),
        None,
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--verdicts", type=int, default=100_000, help="for the kit variants")
    parser.add_argument("--naive-verdicts", type=int, default=4_000)
    parser.add_argument(
        "--kit",
        default="500,500/3ri,500/3rg,500/3r,2000x3r",
        help="kit variants, comma-separated: MAX_BATCH[xREPLICAS][/LANES][r][i][a][g]"
        " (processes in the group, consumers of the group in each process; r: each process's"
        " relay a process of its own, as punch is deployed; i: the consumer loop also records"
        " every verdict's event id in processed_events, as before punch's handler was declared"
        " idempotent; a: the processes run on asyncio's own event loop, as this bench ran them"
        " until 2026-12-04, while the services run on uvloop: the same rate, measured; g: the"
        " processes keep Python's collector as it starts, nothing frozen and a collection"
        " every 700 allocations, as this bench ran them until 2026-12-05, while the services"
        " freeze their start-up and punch collects every GC_GEN0_THRESHOLD, 50,000). The"
        " default: punch's old shape (500, relay in process), punch as deployed with its"
        " event ids recorded (500/3ri) and with Python's collector (500/3rg) as the same"
        " run's baselines, as deployed (500/3r), and bigger batches and three replicas",
    )
    parser.add_argument("--relay-batch", type=int, default=500, help="as RELAY_BATCH_SIZE")
    parser.add_argument(
        "--relay-process", action="store_true", help="every variant's relay in its own process"
    )
    parser.add_argument("--tenants", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2000)
    parser.add_argument("--clocks", type=int, default=50)
    parser.add_argument("--sites", type=int, default=5, help="per tenant")
    parser.add_argument(
        "--history", type=int, default=200_000, help="earlier punches already in the ledger"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--only", choices=["kit", "naive"], help="run one path (diagnosis)")
    parser.add_argument("--profile", type=Path, help="py-spy the processes under test into DIR")
    args = support.parse_args(
        parser,
        "ledger_ingest",
        quick={
            "verdicts": 2000,
            "naive_verdicts": 200,
            "kit": "500",
            "workers": 200,
            "clocks": 10,
            "history": 2000,
        },
    )
    kit_variants = []
    for spec in args.kit.split(","):
        shape = spec.rstrip("riag")
        flags = spec[len(shape) :]
        apart = "r" in flags or args.relay_process
        shape, _, lanes = shape.partition("/")
        batch, _, replicas = shape.partition("x")
        kit_variants.append(
            (
                int(batch),
                int(replicas or 1),
                int(lanes or 1),
                apart,
                "i" in flags,
                "a" in flags,
                "g" in flags,
            )
        )
    info = support.machine_info()
    configure_logging("bench-ledger-ingest", "WARNING", json=False)
    logging.getLogger("aiokafka").setLevel(logging.ERROR)  # leader elections of new topics

    rng = random.Random(args.seed)
    world = make_world(rng, args.tenants, args.workers, args.clocks, args.sites)
    kit_topic = f"bench.ledger.{RUN}.verdicts"
    naive_topic = f"bench.ledger.{RUN}.verdicts-naive"
    topics = [kit_topic, naive_topic]
    results: list[dict] = []
    data: dict = {}
    try:
        if args.only != "naive":
            records, data["kit"] = make_verdicts(rng, world, args.verdicts)
            data["kit"]["fill_s"] = round(await fill_topic(kit_topic, records), 1)
            del records
            seen: Counter[str] = Counter()
            for batch, replicas, lanes, apart, record_ids, on_asyncio, python_gc in kit_variants:
                name = f"kit-{batch}x{replicas}l{lanes}" + ("r" if apart else "")
                name += "i" if record_ids else ""
                name += "a" if on_asyncio else ""
                name += "g" if python_gc else ""
                # A variant repeated in one run (to alternate) gets a group, database and
                # topic of its own: the same name's group has already read every verdict.
                seen[name] += 1
                name += f"-{seen[name]}" if seen[name] > 1 else ""
                results.append(
                    await run_variant(
                        name,
                        "kit",
                        world,
                        kit_topic,
                        data["kit"],
                        max_batch=batch,
                        relay_batch=args.relay_batch,
                        relay_process=apart,
                        limit_s=max(120, args.verdicts / 500),
                        replicas=replicas,
                        lanes=lanes,
                        history=args.history,
                        profile_dir=args.profile,
                        record_ids=record_ids,
                        asyncio_loop=on_asyncio,
                        python_gc=python_gc,
                    )
                )
        if args.only != "kit":
            records, data["naive"] = make_verdicts(rng, world, args.naive_verdicts)
            data["naive"]["fill_s"] = round(await fill_topic(naive_topic, records), 1)
            del records
            results.append(
                await run_variant(
                    "naive",
                    "naive",
                    world,
                    naive_topic,
                    data["naive"],
                    max_batch=1,
                    relay_batch=args.relay_batch,
                    relay_process=args.relay_process,
                    limit_s=max(120, args.naive_verdicts / 20),
                    history=args.history,
                    profile_dir=args.profile,
                )
            )
    finally:
        await delete_topics(topics)

    naive = next((r for r in results if r["consumer"] == "naive"), None)
    print(
        f"\nledger ingest: verdicts → ledger → events on Kafka, {info['cores']} cores,"
        f" relay batch {args.relay_batch} (in the consumer's process unless 'relay apart')"
    )
    print(
        f"{'variant':50} {'punches':>8} {'seconds':>8} {'punches/s':>10} {'vs naive':>9}"
        f" {'e2e s':>7} {'e2e/s':>7} {'outbox max':>10} {'cpu us/p':>8} {'box busy':>8}"
        f" {'batch ms p50/p99':>17} {'p99/p50':>7}"
    )
    for r in results:
        label = "naive, 1 per tx"
        if r["consumer"] == "kit":
            label = f"kit, max_batch {r['max_batch']}"
            label += f" x{r['replicas']} procs" if r["replicas"] > 1 else ""
            label += f" {r['lanes']} lanes" if r.get("lanes", 1) > 1 else ""
            label += " relay apart" if r["relay"] == "own process" else ""
            label += " ids kept" if r.get("record_ids") else ""
            label += " asyncio loop" if r.get("event_loop") == "asyncio" else ""
            label += " Python's gc" if r.get("collector") != AS_THE_SERVICES else ""
        ratio = "-"
        if naive and naive.get("punches_per_s") and r.get("punches_per_s"):
            ratio = f"{r['punches_per_s'] / naive['punches_per_s']:.1f}x"
        per_punch = r.get("cpu_us_per_punch", {})
        ours = sum(v for k, v in per_punch.items() if k.startswith(("process_", "postgres_this")))
        busy = r.get("cpu_cores_busy", {}).get("whole_machine", "-")
        print(
            f"{label:50} {r['decided']:>8} {r.get('ledger_s', '-')!s:>8}"
            f" {r.get('punches_per_s', '-')!s:>10} {ratio:>9} {r.get('end_to_end_s', '-')!s:>7}"
            f" {r.get('end_to_end_per_s', '-')!s:>7} {r['outbox_backlog_max']:>10}"
            f" {round(ours) if per_punch else '-'!s:>8} {busy!s:>8}"
            f" {batch_p50_p99(r):>17} {tail_ratio(r):>7}"
        )
    print(
        "punches = verdicts decided (distinct attempts: recorded, double taps answered, rejected);"
        " e2e = until every decision's event is on Kafka;\ncpu us/p = CPU per punch of the"
        " processes under test and their PostgreSQL backends; box busy = cores busy on the whole"
        f" machine meanwhile (of {info['cores']}, other work included)"
    )
    print(
        "batch ms = one consumer batch (poll decoded, transaction, handler, commit), every lane;"
        " p99/p50 of the batch time shows its tail (a batch is mostly max_batch records while a"
        " backlog waits)"
    )
    deployed = as_deployed(results)
    if deployed is None:
        print(
            f"target: >= {TARGET_PER_S:,} punches/s from one punch process as deployed:"
            " not measured"
        )
    else:
        met = deployed["punches_per_s"] >= TARGET_PER_S
        print(
            f"target: >= {TARGET_PER_S:,} punches/s from one punch process as deployed"
            f" (max_batch 500, {DEPLOYED_LANES} lanes, relay apart): {'met' if met else 'NOT met'}"
            f" ({deployed['punches_per_s']:,}/s)"
        )
    for r in results:
        if not r["drained"]:
            print(f"note: {r['variant']} did not finish within its time limit")

    support.write_result(
        args.out,
        {
            "benchmark": "ledger_ingest",
            "machine": info,
            "parameters": {
                "verdicts": args.verdicts,
                "naive_verdicts": args.naive_verdicts,
                "kit_variants": [
                    {
                        "max_batch": b,
                        "replicas": r,
                        "lanes": n,
                        "relay_apart": a,
                        "record_ids": i,
                        "asyncio_loop": loop,
                        "python_gc": g,
                    }
                    for b, r, n, a, i, loop, g in kit_variants
                ],
                "relay_batch": args.relay_batch,
                "tenants": args.tenants,
                "workers": args.workers,
                "clocks": args.clocks,
                "sites_per_tenant": args.sites,
                "history_punches": args.history,
                "partitions": PARTITIONS,
                "seed": args.seed,
            },
            "data": data,
            "results": results,
            "targets": {"punches_per_s": TARGET_PER_S},
            "as_deployed_punches_per_s": deployed["punches_per_s"] if deployed else None,
        },
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["_serve"]:
        serve_main(sys.argv[2:])
    else:
        asyncio.run(main())
