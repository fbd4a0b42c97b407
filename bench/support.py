"""What every benchmark in bench/ shares, written once: where the test stack is, statistics and
tables, result files, CPU accounting, processes, databases and topics, setting a tenant up
through the services' public HTTP APIs — and the few service components a micro-benchmark runs
in its own process.

The benchmarks drive the services through their public interfaces: HTTP APIs, Kafka topics
with ``punchcard.v1`` envelopes (``punchcard_kit.messaging``) and the ``punchcard-*`` console
scripts (started with ``tests.support.services``). This module is the ONLY file of bench/ that
imports a service's own modules (``punchcard_identity``, ``punchcard_face_match``,
``punchcard_punch``), each in one small function below "In-process components", imported when
called: when a service moves one of them, this is the one file to change
(tests/unit/bench/test_bench_imports.py keeps it so).

A benchmark is run as a script (``.venv/bin/python bench/<name>.py``), so bench/ is first on
its path: ``import support``.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the test support library starts and drives the services

import asyncpg  # noqa: E402
import httpx  # noqa: E402
from aiokafka.admin import AIOKafkaAdminClient  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402
from punchcard_kit.messaging.connection import kafka_options  # noqa: E402

from tests.support import stack as _stack  # noqa: E402
from tests.support.databases import admin_url, drop_database, new_database  # noqa: E402, F401
from tests.support.messaging import wait_for  # noqa: E402, F401
from tests.support.services import (  # noqa: E402, F401
    PUNCH_AS_DEPLOYED,
    ServiceProcess,
    admin_headers,
    free_port,
    start_service,
)
from tests.support.stack import unique  # noqa: E402, F401

RESULTS = ROOT / "bench" / "results"

# -- the stack: the tests' own (PUNCHCARD_STACK=test; TEST_POSTGRES_URL, TEST_KAFKA_BOOTSTRAP,
# TEST_REDIS_URL), never the one `make run` uses --------------------------------------------
PG = _stack.PG_URL
KAFKA = _stack.KAFKA
REDIS_URL = _stack.REDIS_URL
VENV_BIN = _stack.VENV_BIN


# -- statistics and tables --------------------------------------------------------------------
def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) by nearest rank: a value that was measured."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def percentile(values: list[float], p: float) -> float:
    """The ``p`` percentile (0..100), linearly interpolated as numpy.percentile does; NaN for
    no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (k - low))


def tail_ratio(p50: float | None, p99: float | None) -> float | None:
    """p99 / p50, the tail in one number (issue 18: at half load, <= 3 on every hop)."""
    if not p50 or p99 is None:
        return None
    return round(p99 / p50, 1)


def summary(latencies_ms: list[float]) -> dict:
    """n, p50, p90, p99, max and mean of latencies in ms (rounded to 0.1 ms), and p99/p50."""
    if not latencies_ms:
        return {"n": 0, "p50_ms": None, "p99_ms": None, "max_ms": None, "p99_over_p50": None}
    p50 = round(percentile(latencies_ms, 50), 1)
    p99 = round(pct(latencies_ms, 0.99), 1)
    return {
        "n": len(latencies_ms),
        "p50_ms": p50,
        "p90_ms": round(pct(latencies_ms, 0.90), 1),
        "p99_ms": p99,
        "max_ms": round(max(latencies_ms), 1),
        "mean_ms": round(sum(latencies_ms) / len(latencies_ms), 1),
        "p99_over_p50": tail_ratio(p50, p99),
    }


def p50_p99(p50: float | None, p99: float | None) -> str:
    """``p50/p99 (xR)`` as the tables print a latency: R = p99/p50, so tails are visible."""
    ratio = tail_ratio(p50, p99)
    return f"{p50}/{p99}" + (f" (x{ratio:g})" if ratio is not None else "")


def table(rows: list[tuple[str, Any]], width: int, value_width: int = 12) -> str:
    """A two-column table (metric, value) with its header, as every bench prints it."""
    lines = [f"{'metric':{width}} {'value':>{value_width}}"]
    lines += [f"{label:{width}} {value!s:>{value_width}}" for label, value in rows]
    return "\n".join(lines)


def print_table(title: str, rows: list[tuple[str, Any]], width: int, value_width: int = 12):
    print(f"\n{title}")
    print(table(rows, width, value_width))


def write_result(out: str | Path, result: dict) -> Path:
    """Write a bench's JSON result (bench/results/<name>.json by default) and say where."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")
    return out


def result_path(name: str) -> str:
    return str(RESULTS / f"{name}.json")


def parse_args(parser, name: str, quick: dict[str, Any]):
    """The bench's arguments, with ``--out`` (default bench/results/<name>.json) and
    ``--quick``: a small run (the ``quick`` values, for arguments left at their defaults) that
    checks the bench works end to end; its numbers mean little and it writes
    bench/results/<name>.quick.json."""
    parser.add_argument("--out", default=result_path(name))
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a small run that checks the bench works: "
        + ", ".join(f"--{k.replace('_', '-')} {v}" for k, v in quick.items()),
    )
    args = parser.parse_args()
    if args.quick:
        for key, value in quick.items():
            if getattr(args, key) == parser.get_default(key):
                setattr(args, key, value)
        if args.out == result_path(name):
            args.out = str(RESULTS / f"{name}.quick.json")
    return args


# -- the machine: CPU accounting, processes ---------------------------------------------------
def machine_info() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot (every process, every core;
    busy = all but idle and iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    total = sum(fields) / os.sysconf("SC_CLK_TCK")
    return total - (fields[3] + fields[4]) / os.sysconf("SC_CLK_TCK"), total


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy (all processes, every core)."""
    return machine_cpu()[0]


def busy_pct_since(before: tuple[float, float]) -> float:
    """How busy the whole machine was (%) since ``before = machine_cpu()``."""
    busy0, total0 = before
    busy1, total1 = machine_cpu()
    return round(100 * (busy1 - busy0) / max(total1 - total0, 1e-9), 1)


async def busy_pct(seconds: float) -> float:
    """How busy the whole machine is over the next ``seconds`` (%)."""
    before = machine_cpu()
    await asyncio.sleep(seconds)
    return busy_pct_since(before)


def server_cpu() -> dict[str, float]:
    """CPU seconds so far of every live PostgreSQL process and every JVM (Kafka) on the
    machine — the servers are shared, so other work on them counts too (and processes that
    exit in between take their CPU with them)."""
    totals = {"postgres": 0.0, "kafka": 0.0}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if comm == "postgres":
            totals["postgres"] += cpu_seconds(int(entry.name))
        elif comm == "java":
            totals["kafka"] += cpu_seconds(int(entry.name))
    return totals


async def metric_samples(url: str, *names: str) -> list[tuple[str, dict[str, str], float]]:
    """A service's samples of the named metrics from its /metrics: (sample, labels, value)."""
    async with httpx.AsyncClient() as http:
        text = (await http.get(url + "/metrics")).text
    return [
        (sample.name, sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        if family.name in names
        for sample in family.samples
    ]


async def consumer_batch_seconds(url: str) -> dict[str, tuple[float, float]]:
    """A service's consumer batches so far, from its /metrics: group -> (batches, seconds)."""
    name = "punchcard_consumer_batch_seconds"
    out: dict[str, list[float]] = {}
    for sample, labels, value in await metric_samples(url, name):
        slot = {f"{name}_count": 0, f"{name}_sum": 1}.get(sample)
        if slot is not None:
            out.setdefault(labels["group"], [0.0, 0.0])[slot] = value
    return {group: (count, seconds) for group, (count, seconds) in out.items()}


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def stop_processes(processes: list[subprocess.Popen], timeout_s: float = 30) -> None:
    """SIGTERM each process still running, wait, SIGKILL what does not exit in time."""
    for p in processes:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in processes:
        try:
            p.wait(timeout_s)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


async def open_loop(rate: float, total: int, one) -> tuple[list, float, float]:
    """Fire ``one(i)`` at start + i / rate whatever the earlier calls are doing (slow answers
    do not lower the offered load); returns (results, offered rate, the scheduler's worst
    lateness in ms). ``one`` may be a plain function (it only starts the work, e.g. a
    simulated device's punch): called in place, no task each."""
    tasks = []
    worst_late = 0.0
    start = time.monotonic()
    for i in range(total):
        due = start + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        worst_late = max(worst_late, time.monotonic() - due)
        started = one(i)
        tasks.append(asyncio.create_task(started) if inspect.isawaitable(started) else started)
    offered = total / max(time.monotonic() - start, 1e-9) if total > 1 else rate
    results = [await t if isinstance(t, asyncio.Task) else t for t in tasks]
    return results, offered, 1000 * worst_late


# -- topics of a run ---------------------------------------------------------------------------
async def delete_topics(topics: list[str], client_id: str = "bench") -> None:
    """Delete those of ``topics`` that exist."""
    admin = AIOKafkaAdminClient(**kafka_options(KAFKA, client_id=client_id))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        doomed = [t for t in topics if t in existing]
        if doomed:
            await admin.delete_topics(doomed)
    finally:
        await admin.close()


# -- the services' databases ------------------------------------------------------------------
async def analyze(*services: ServiceProcess) -> float:
    """ANALYZE every table of each service's database (as its superuser); the seconds it took.

    A benchmark's databases are new: autovacuum has not yet analysed their tables (it first
    looks ``autovacuum_naptime``, a minute, after their first 50 rows), so PostgreSQL plans
    every statement with its default selectivities: ``tenant_id = $1`` is 0.5 % of a table that
    in fact holds nothing but that tenant. The prepared statements' generic plans, made then,
    are kept until the table is first analysed; punch's ledger lookups then scanned the
    tenant's whole ledger for every punch of every batch. A service that has run for a minute
    has statistics; a window measured before that measures the first minute of a new install.
    A benchmark calls this once its setup has written rows, before its measured window."""
    t0 = time.monotonic()
    for service in services:
        conn = await asyncpg.connect(service.admin_url)
        try:
            await conn.execute("ANALYZE")
        finally:
            await conn.close()
    return time.monotonic() - t0


# -- a tenant through the public HTTP APIs ----------------------------------------------------
async def add_worker_with_pin(
    admin: httpx.AsyncClient, employee_id: str, name: str, pin: str
) -> dict:
    """An Active worker with ``pin`` through the admin API (the gateway's ``/api/v1`` or
    identity's ``/internal/v1``: the same paths); where the PIN policy refuses ``pin``,
    identity chooses one. ``{"id", "employee_id", "pin"}``."""
    created = await admin.post(
        "/workers", json={"employee_id": employee_id, "name": name, "status": "Active"}
    )
    assert created.status_code == 201, created.text
    worker_id = created.json()["id"]
    answer = await admin.put(f"/workers/{worker_id}/pin", json={"pin": pin})
    if answer.status_code != 200:  # the policy refused it: let identity choose
        answer = await admin.post(f"/workers/{worker_id}/pin/generate")
        assert answer.status_code in (200, 201), answer.text
        pin = answer.json()["pin"]
    return {"id": worker_id, "employee_id": employee_id, "pin": pin}


# -- In-process components: the only imports of a service's own modules in bench/ --------------
def identity_pin_hasher(peppers: dict[str, bytes], current: str):
    """identity's PIN hasher (argon2id at its chosen parameters + HMAC pepper)."""
    from punchcard_identity.adapters.pin_hasher import PinHasher

    return PinHasher(peppers, current)


def identity_default_hasher() -> tuple[Any, dict]:
    """identity's PIN hasher as the service builds it with its default settings (the
    production argon2id cost), and those parameters."""
    from punchcard_identity.main import build_hasher
    from punchcard_identity.settings import IdentitySettings

    settings = IdentitySettings(environment="test")
    return build_hasher(settings), {
        "memory_kib": settings.argon2_memory_kib,
        "time_cost": settings.argon2_time_cost,
        "parallelism": settings.argon2_parallelism,
    }


def identity_accepts_pin(pin: str, employee_id: str) -> bool:
    """Whether identity's PIN policy accepts ``pin`` for the worker."""
    from punchcard_identity.domain.pin_policy import check_pin

    return check_pin(pin, employee_id) is None


def face_pipeline(model_name: str = "Dlib"):
    """face-match's in-process pipeline (decode, detect, align, embed)."""
    from punchcard_face_match.adapters.pipeline import FacePipeline

    return FacePipeline(model_name)


def face_found(face) -> bool:
    """Whether the pipeline found one usable face (its outcome OK)."""
    from punchcard_face_match.adapters.pipeline import OK

    return face.outcome == OK


def face_weights_folder() -> Path:
    """Where face-match finds its weights ($DEEPFACE_HOME/.deepface/weights, `make weights`)."""
    from punchcard_face_match.adapters.pipeline import weights_folder

    return weights_folder()


def face_dlib_keras():
    """face-match's Keras rebuild of dlib's ResNet (FACE_MODEL=DlibKeras): its embedder, from
    the weights `punchcard-face-weights convert` wrote (``make weights``)."""
    from punchcard_face_match.adapters.dlib_keras import WEIGHTS_NAME, DlibKerasEmbedder

    path = face_weights_folder() / WEIGHTS_NAME
    if not path.is_file():
        raise SystemExit(f"{path} is missing: run `make weights` (punchcard-face-weights convert)")
    return DlibKerasEmbedder(path)


def face_engine(**options):
    """face-match's engine: the pipeline in model worker processes, as deployed."""
    from punchcard_face_match.adapters.engine import FaceEngine

    return FaceEngine(**options)


def face_calibration() -> SimpleNamespace:
    """face-match's calibration of the 1:N threshold (domain.calibration) and its match
    decision (domain.decision), for bench/face_accuracy.py."""
    from punchcard_face_match.domain import calibration, decision

    return SimpleNamespace(calibration=calibration, decision=decision)


def face_gallery(model_name: str, dims: int):
    """face-match's in-memory 1:N gallery of one tenant."""
    from punchcard_face_match.domain.gallery import Gallery

    return Gallery(model_name, dims)


def punch_ingest(out_topic: str) -> Any:
    """punch's verdicts subscription (``Subscription``: its ConsumerLoop handler over
    ``Ingest(Policy())``, the errors it declares transient, whether the loop records event
    ids) with what it publishes sent to ``out_topic`` instead of the real punches topic. In
    process because punch's topics are fixed: a punch process would read the shared verdicts
    topic (every punch on the test stack would decide the bench's verdicts) and publish onto
    the real punches topic."""
    from punchcard_punch.adapters.postgres import PunchUnitOfWork
    from punchcard_punch.domain.decisions import Policy
    from punchcard_punch.entrypoints.consumers import VERDICTS_GROUP, subscriptions
    from punchcard_punch.service_layer.ingest import Ingest

    ingest = Ingest(Policy(), punches_topic=out_topic)
    (verdicts,) = (
        s
        for s in subscriptions(ingest, PunchUnitOfWork.on_connection)
        if s.group_id == VERDICTS_GROUP
    )
    return verdicts


def punch_gc_threshold() -> int:
    """punch's GC_GEN0_THRESHOLD by default (its settings): what the bench's processes that
    run punch's subscription collect at, as punch does."""
    from punchcard_punch.settings import PunchSettings

    return PunchSettings.model_fields["gc_gen0_threshold"].default


def punch_decide_parts() -> SimpleNamespace:
    """What ``ledger_decide.py`` runs of punch, on a fake connection: the verdicts' consumer
    handler (the batch split by tenant) and the use case it calls, its policy and neighbour
    type, the ledger adapter whose writes it builds, and the kit's envelope decoding and outbox
    insert; ``source``: where punch's ingest was imported from (the tree measured)."""
    from punchcard_kit.messaging import add_records, decode_envelope
    from punchcard_kit.messaging.envelope import Message
    from punchcard_punch.adapters.ledger import PostgresLedger
    from punchcard_punch.domain.decisions import Nearby, Policy
    from punchcard_punch.entrypoints.consumers import verdicts_handler
    from punchcard_punch.service_layer import ingest

    return SimpleNamespace(
        verdicts_handler=verdicts_handler,
        Ingest=ingest.Ingest,
        Policy=Policy,
        Nearby=Nearby,
        PostgresLedger=PostgresLedger,
        Message=Message,
        decode_envelope=decode_envelope,
        add_records=add_records,
        source=ingest.__file__,
    )


def punch_ledger_parts() -> SimpleNamespace:
    """What the naive ingest baseline reuses of punch so that it decides exactly as punch
    does (the rule, the rows, the events): its database role, ledger columns and neighbour
    lookup, the decision rule, and the event builders."""
    from punchcard_punch.adapters import ledger
    from punchcard_punch.adapters.postgres import PunchUnitOfWork
    from punchcard_punch.domain import decisions
    from punchcard_punch.service_layer import events, ingest

    async def nearby(conn, tenant_id, queries, window):
        return await ledger.PostgresLedger(conn, tenant_id).nearby(queries, window)

    extra = {"APP_ROLE": PunchUnitOfWork.role, "nearby": nearby}
    used = {
        ledger: ("PUNCH_COLUMNS", "ATTEMPT_COLUMNS"),
        decisions: ("Policy", "Record", "Reject", "Repeat", "decide", "neighbours"),
        events: ("DIRECTION_NAMES", "reason_name", "reason_value", "recorded_event"),
        ingest: ("recorded_row",),
    }
    parts = {n: getattr(m, n) for m, names in used.items() for n in names}
    return SimpleNamespace(**parts, **extra)


def gateway_edge_parts() -> SimpleNamespace:
    """The kiosk edge's adapters that bench/kiosk_pin_round_trips.py measures in process: its
    rate limiter and its store of claims (with their value types)."""
    from punchcard_gateway.adapters.edge_limits import EdgeLimiter
    from punchcard_gateway.adapters.postgres import PostgresKioskAttempts
    from punchcard_gateway.domain.edge_limits import EdgeLimits
    from punchcard_gateway.domain.kiosk import Claim, RepublishPolicy

    return SimpleNamespace(
        EdgeLimiter=EdgeLimiter,
        EdgeLimits=EdgeLimits,
        PostgresKioskAttempts=PostgresKioskAttempts,
        Claim=Claim,
        RepublishPolicy=RepublishPolicy,
    )
