"""Every service starts alone from its own command: migrates its own database, reports healthy
and ready (database and outbox relay connected), exposes metrics, and stops cleanly on SIGTERM."""

import asyncio
import os
import signal
import socket
import subprocess

import asyncpg
import httpx
import pytest

from tests.support.databases import drop_database, new_database
from tests.support.messaging import wait_for
from tests.support.stack import DEEPFACE_HOME, KAFKA, REDIS_URL, VENV_BIN, unique

SERVICES = ["identity", "face-match", "punch", "device-sync", "gateway"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("service", SERVICES)
async def test_service_starts_alone_is_ready_and_stops_on_sigterm(service, tmp_path):
    port = _free_port()
    # As in production: the service logs in as its own non-superuser role that owns its database.
    database_url = await new_database(service, unique("e2e_" + service.replace("-", "_")))
    log_file = tmp_path / f"{service}.log"
    env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": KAFKA,
        "REDIS_URL": REDIS_URL,
        "HTTP_PORT": str(port),
        "DEEPFACE_HOME": DEEPFACE_HOME,
    }
    with open(log_file, "wb") as log:
        child = subprocess.Popen(
            [str(VENV_BIN / f"punchcard-{service}")], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:

            async def ready():
                if child.poll() is not None:
                    raise AssertionError(
                        f"{service} exited with {child.returncode}:\n"
                        + log_file.read_text()[-3000:]
                    )
                try:
                    response = await http.get("/readyz")
                except httpx.TransportError:
                    return None
                return response if response.status_code == 200 else None

            response = await wait_for(ready, timeout=90, what=f"{service} ready")
            checks = response.json()["checks"]
            assert checks["database"] == "ok" and checks["outbox_relay"] == "ok"
            assert set(checks.values()) == {"ok"}
            assert (await http.get("/healthz")).json() == {"status": "ok"}
            assert "punchcard_outbox_published_total" in (await http.get("/metrics")).text

        # It migrated its own database: the outbox and processed-events tables exist.
        conn = await asyncpg.connect(database_url)
        try:
            tables = {
                r[0]
                for r in await conn.fetch(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                )
            }
        finally:
            await conn.close()
        assert {"outbox", "processed_events", "alembic_version"} <= tables

        child.send_signal(signal.SIGTERM)
        code = await asyncio.get_running_loop().run_in_executor(None, child.wait, 40)
        # uvicorn drains, then re-raises SIGTERM to end as a signalled process would.
        assert code in (0, -signal.SIGTERM), log_file.read_text()[-3000:]
        assert '"service stopped"' in log_file.read_text()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        await drop_database(database_url)


def test_service_refuses_to_start_without_its_settings_and_names_them():
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")
    }
    env["ENVIRONMENT"] = "production"
    done = subprocess.run(
        [str(VENV_BIN / "punchcard-identity")], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "DATABASE_URL" in done.stderr and "KAFKA_BOOTSTRAP_SERVERS" in done.stderr
