"""A service's outbox relay in a process of its own (``punchcard-<service> relay``, the kit's
``create_relay_app``) beside the serving process started with ``RELAY_ENABLED=false``, as the
punch pod runs them (deploy/k8s/base/punch.yaml), against the real stack:

- the relay may start before the service has migrated: it fails, says so, and tries again;
- the serving process publishes nothing; the relay publishes every row and empties the outbox;
- killed (SIGKILL) with rows in hand and started again, nothing is lost;
- it serves /healthz, /readyz and /metrics on its ops port and nothing else; SIGTERM stops it.
"""

import os
import signal
import subprocess
import uuid
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support.databases import drop_database, new_database
from tests.support.messaging import outbox_rows, read_topic, wait_exit, wait_for, write_events
from tests.support.services import free_port
from tests.support.stack import KAFKA, REDIS_URL, VENV_BIN, unique


def _start(args: list[str], env: dict, log_file: Path) -> subprocess.Popen:
    with open(log_file, "ab") as log:
        return subprocess.Popen(
            [str(VENV_BIN / "punchcard-punch"), *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


async def _ready(url: str, child: subprocess.Popen, log_file: Path) -> dict:
    async def answered():
        if child.poll() is not None:
            raise AssertionError(log_file.read_text()[-3000:])
        try:
            async with httpx.AsyncClient() as http:
                response = await http.get(url + "/readyz")
        except httpx.TransportError:
            return None
        return response.json() if response.status_code == 200 else None

    return await wait_for(answered, timeout=90, what=f"{url}/readyz")


async def _published_ids(topic: str) -> set[str]:
    return {dict(record.headers)["event-id"].decode() for record in await read_topic(KAFKA, topic)}


async def test_the_relay_runs_in_its_own_process_and_loses_nothing_when_killed(tmp_path, topic):
    database_url = await new_database("punch", unique("relay_punch"))
    serve_port, relay_port = free_port(), free_port()
    env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": KAFKA,
        "REDIS_URL": REDIS_URL,
        "CONSUMER_GROUP_SUFFIX": "." + uuid.uuid4().hex[:10],
        "CONSUMER_OFFSET_RESET": "latest",
        "LOG_JSON": "false",
    }
    serve_env = {**env, "HTTP_PORT": str(serve_port), "RELAY_ENABLED": "false"}
    # As the pod's sidecar: the shared configuration, its own ops port.
    relay_env = {**env, "HTTP_PORT": str(serve_port), "OPS_PORT": str(relay_port)}
    relay_url = f"http://127.0.0.1:{relay_port}"
    log_file = tmp_path / "relay.log"
    children: list[subprocess.Popen] = []
    try:
        # Started first, on a database not migrated yet: it retries until the outbox exists.
        relay = _start(["relay"], relay_env, log_file)
        children.append(relay)

        async def said_so():
            if relay.poll() is not None:
                raise AssertionError(log_file.read_text()[-3000:])
            return "UndefinedTableError" in log_file.read_text()

        await wait_for(said_so, timeout=60, what="the relay to fail on the missing outbox")
        serve = _start([], serve_env, tmp_path / "punch.log")
        children.append(serve)
        served = await _ready(f"http://127.0.0.1:{serve_port}", serve, tmp_path / "punch.log")
        assert "outbox_relay" not in served["checks"]

        first = await write_events(database_url, topic, [f"a{i}" for i in range(30)])
        checks = (await _ready(relay_url, relay, log_file))["checks"]
        assert checks == {"database": "ok", "outbox_relay": "ok"}

        async def emptied():
            return await outbox_rows(database_url) == 0

        await wait_for(emptied, timeout=60, what="the relay process to empty the outbox")
        published = await _published_ids(topic)
        assert published == set(first)
        async with httpx.AsyncClient(base_url=relay_url) as ops:
            text = (await ops.get("/metrics")).text
            assert (await ops.get("/docs")).status_code == 404
            assert (await ops.get("/internal/v1/punches")).status_code == 404
        (count,) = [
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "punchcard_outbox_published_total"
            and sample.labels == {"service": "punch"}
        ]
        assert count == 30

        # Killed with rows waiting (maybe some sent, not yet deleted): started again, every
        # row reaches Kafka (at least once; consumers deduplicate by event id).
        second = await write_events(database_url, topic, [f"b{i}" for i in range(200)])
        relay.send_signal(signal.SIGKILL)
        await wait_exit(relay)
        relay = _start(["relay"], relay_env, log_file)
        children.append(relay)
        await _ready(relay_url, relay, log_file)
        await wait_for(emptied, timeout=60, what="the restarted relay to empty the outbox")
        assert await _published_ids(topic) == set(first) | set(second)

        relay.send_signal(signal.SIGTERM)
        code = await wait_exit(relay, 40)  # uvicorn re-raises the signal it handled
        assert code in (0, -signal.SIGTERM), log_file.read_text()[-3000:]
        assert "relay stopped" in log_file.read_text()
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
        await drop_database(database_url)
