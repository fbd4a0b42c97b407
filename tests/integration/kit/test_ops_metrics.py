"""The kit's pipeline metrics against the real stack (docs/observability.md, "Metrics"):

- a consumer reports ``punchcard_consumer_lag`` per partition it owns, from aiokafka's own
  highwater and position, while its batch is still in hand; a follower under its own name;
- a service started with ``OPS_PORT`` serves /metrics, /healthz and /readyz there (and not
  its API), with its consumer groups' lag series and its outbox's backlog and oldest row's age.
"""

import asyncio
import os
import signal
import socket
import subprocess
import uuid

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer
from google.protobuf.wrappers_pb2 import StringValue
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from punchcard_kit.messaging import encode_envelope, new_envelope
from punchcard_kit.messaging.connection import kafka_options
from punchcard_kit.messaging.follower import TopicFollower

from tests.support.databases import drop_database, new_database
from tests.support.messaging import record_effects, wait_for, write_events
from tests.support.stack import KAFKA, REDIS_URL, VENV_BIN, unique


def _lag(group: str, topic: str, partition: int) -> float | None:
    labels = {"group": group, "topic": topic, "partition": str(partition)}
    return REGISTRY.get_sample_value("punchcard_consumer_lag", labels)


async def test_a_consumer_reports_its_lag_per_partition_while_its_batch_waits(kit_db, topic, loops):
    await write_events(kit_db, topic, [f"v{i}" for i in range(10)], keys=["one-key"] * 10)
    await loops.relay(kit_db)
    release = asyncio.Event()
    seen: list[int] = []

    async def slow(conn, messages):
        seen.append(len(messages))
        if len(seen) == 1:
            await release.wait()  # the first batch (one record) stays in hand
        await record_effects(conn, messages)

    group = unique("group")
    loop = await loops.consumer(kit_db, topic, group, handler=slow, max_batch=1)

    async def behind():
        lags = {p: _lag(group, topic, p) for p in range(3)}
        return lags if sum(v or 0 for v in lags.values()) == 9 else None

    # Ten records on one partition; one taken: nine behind. Every partition it owns is there.
    lags = await wait_for(behind, what="a lag of 9")
    assert sorted(v for v in lags.values() if v is not None) == [0, 0, 9]
    release.set()

    async def caught_up():
        lags = [_lag(group, topic, p) for p in range(3)]
        return all(v == 0 for v in lags) and lags

    await wait_for(caught_up, what="the lag back to 0")
    loop.stop()
    await wait_for(lambda: _none(group, topic), what="the series gone with the consumer")


async def _none(group: str, topic: str) -> bool:
    return all(_lag(group, topic, p) is None for p in range(3))


async def test_a_follower_reports_its_own_lag_under_its_name(topic):
    """A TopicFollower (no group: every replica reads every partition) reports its lag as
    group ``follower:<name>``."""
    producer = AIOKafkaProducer(**kafka_options(KAFKA))
    await producer.start()
    try:
        for i in range(5):
            env = new_envelope(
                StringValue(value=f"v{i}"), tenant_id=str(uuid.uuid4()), producer="t"
            )
            await producer.send_and_wait(topic, encode_envelope(env), partition=1)
    finally:
        await producer.stop()
    release = asyncio.Event()
    handled: list[str] = []

    async def slow(message):
        handled.append(message.payload.value)
        await release.wait()

    name = unique("f")
    follower = TopicFollower(
        topics=[topic],
        handler=slow,
        bootstrap_servers=KAFKA,
        name=name,
        from_beginning=True,
        max_batch=1,
    )
    task = asyncio.create_task(follower.run())
    try:
        group = f"follower:{name}"

        async def behind():
            return _lag(group, topic, 1) == 4 and {p: _lag(group, topic, p) for p in range(3)}

        lags = await wait_for(behind, what="the follower 4 behind on partition 1")
        assert lags == {0: 0, 1: 4, 2: 0}
        release.set()
        await wait_for(lambda: _caught_up(group, topic, 1), what="the follower caught up")
        assert len(handled) == 5
    finally:
        release.set()
        follower.stop()
        await task
    assert _lag(f"follower:{name}", topic, 1) is None


async def _caught_up(group: str, topic: str, partition: int) -> bool:
    return _lag(group, topic, partition) == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _samples(text: str, name: str) -> list:
    return [
        sample
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


async def test_a_service_serves_lag_and_outbox_age_on_its_ops_port(tmp_path):
    """punch, with its relay off so an old outbox row stays: the ops port shows the row's age
    and its consumer group's lag series; the API stays on the API port."""
    http_port, ops_port = _free_port(), _free_port()
    database_url = await new_database("punch", unique("ops_punch"))
    suffix = "." + uuid.uuid4().hex[:10]
    env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": KAFKA,
        "REDIS_URL": REDIS_URL,
        "HTTP_PORT": str(http_port),
        "OPS_PORT": str(ops_port),
        "RELAY_ENABLED": "false",
        "OUTBOX_METRICS_INTERVAL_S": "0.2",
        "CONSUMER_GROUP_SUFFIX": suffix,
        "CONSUMER_OFFSET_RESET": "latest",
    }
    log_file = tmp_path / "punch.log"
    with open(log_file, "wb") as log:
        child = subprocess.Popen(
            [str(VENV_BIN / "punchcard-punch")], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ops_port}") as ops:

            async def ready():
                if child.poll() is not None:
                    raise AssertionError(log_file.read_text()[-3000:])
                try:
                    response = await ops.get("/readyz")
                except httpx.TransportError:
                    return None
                return response if response.status_code == 200 else None

            await wait_for(ready, timeout=90, what="punch ready on its ops port")
            assert (await ops.get("/healthz")).json() == {"status": "ok"}
            # The API is not served on the ops port.
            assert (await ops.get("/docs")).status_code == 404
            assert (await ops.get("/openapi.json")).status_code == 404

            conn = await asyncpg.connect(database_url)
            try:
                await conn.execute(
                    "INSERT INTO outbox (shard, topic, key, value, event_id, created_at)"
                    " VALUES (0, 'punchcard.test.ops', NULL, 'x', $1, now() - interval '10 min')",
                    uuid.uuid4(),
                )
            finally:
                await conn.close()

            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_port}") as api:
                assert (await api.get("/healthz")).status_code == 200
                assert (await api.get("/no/such/route/123")).status_code == 404
            group = "punch" + suffix

            async def scraped():
                text = (await ops.get("/metrics")).text
                age = _samples(text, "punchcard_outbox_oldest_age_seconds")
                lag = [s for s in _samples(text, "punchcard_consumer_lag")]
                ours = [s for s in lag if s.labels["group"] == group]
                if any(s.value >= 600 for s in age) and ours:
                    return text, age, ours
                return None

            text, age, lag = await wait_for(scraped, timeout=60, what="age and lag series")
            (row,) = [s for s in age if s.labels == {"service": "punch"}]
            assert 600 <= row.value < 3600
            (backlog,) = _samples(text, "punchcard_outbox_backlog")
            assert backlog.labels == {"service": "punch"} and backlog.value == 1
            topics = {s.labels["topic"] for s in lag}
            assert "punchcard.identification.verdicts.v1" in topics
            assert all(s.value >= 0 and s.labels["partition"].isdigit() for s in lag)
            # The API's requests, by route template; never a raw path (ops requests: not counted).
            routes = {s.labels["route"] for s in _samples(text, "punchcard_http_requests_total")}
            assert routes == {"/healthz", "UNMATCHED"}
        # The API port still answers its own /metrics (make run's curl, the benchmarks).
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_port}") as api:
            assert "punchcard_outbox_oldest_age_seconds" in (await api.get("/metrics")).text
        child.send_signal(signal.SIGTERM)
        code = await asyncio.get_running_loop().run_in_executor(None, child.wait, 40)
        assert code in (0, -signal.SIGTERM), log_file.read_text()[-3000:]
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        await drop_database(database_url)
