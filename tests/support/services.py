"""Running a real service in tests: a process of its own on a fresh database, on the real
stack, with a fresh consumer group; admin calls with internal caller tokens. The service logs in
as its database's own non-superuser owner (tests/support/databases.py), as in production."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from punchcard_kit.internal_auth import Caller, audience_of, mint_internal_token
from punchcard_kit.settings import DEVELOPMENT_INTERNAL_PRIVATE_KEY

from . import databases
from .messaging import delete_topics_ending, wait_for
from .stack import DEEPFACE_HOME, KAFKA, REDIS_URL, VENV_BIN


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Every service that verifies the gateway's internal tokens (each is its token's audience).
SERVICES = ("identity", "face-match", "punch", "device-sync")


def admin_headers(
    tenant_id: str,
    role: str = "sysadmin",
    sites: tuple[str, ...] = (),
    service: str | None = None,
) -> dict:
    """An internal caller token as the gateway would mint it, signed with the development key
    (services started by start_service run with ENVIRONMENT=test). For ``service`` only, or
    (a test's convenience, never the gateway's) for every service."""
    caller = Caller(tenant_id=tenant_id, user_id=str(uuid.uuid4()), role=role, sites=sites)
    audience = [audience_of(name) for name in ((service,) if service else SERVICES)]
    token = mint_internal_token(caller, DEVELOPMENT_INTERNAL_PRIVATE_KEY, audience, ttl_s=3600)
    return {"Authorization": f"Bearer {token}"}


@dataclass
class ServiceProcess:
    name: str
    url: str
    database_url: str
    log_file: Path
    env: dict
    process: subprocess.Popen
    starts: int = field(default=1)
    # The command's arguments after ``punchcard-<name>``: ``("relay",)`` runs its outbox relay
    # alone (on another process's database: it never drops it).
    args: tuple[str, ...] = ()

    @property
    def admin_url(self) -> str:
        """The superuser's URL of this service's database, for a test to look inside (the
        service's own role is bound by row-level security)."""
        return databases.admin_url(self.database_url)

    def admin(self, tenant_id: str, role: str = "sysadmin", sites: tuple[str, ...] = ()):
        return httpx.AsyncClient(
            base_url=self.url + "/internal/v1",
            headers=admin_headers(tenant_id, role, sites, service=self.name),
            timeout=30,
        )

    async def start(self, **extra_env: str) -> None:
        """(Re)start the process on the same port, database and consumer group."""
        env = {**self.env, **extra_env}
        with open(self.log_file, "ab") as log:
            self.process = subprocess.Popen(
                [str(VENV_BIN / f"punchcard-{self.name}"), *self.args],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        process = self.process

        async def ready():
            if process.poll() is not None:
                raise AssertionError(f"{self.name} exited:\n" + self.log_file.read_text()[-3000:])
            try:
                async with httpx.AsyncClient() as http:
                    response = await http.get(self.url + "/readyz")
            except httpx.TransportError:
                return False
            return response.status_code == 200

        try:
            await wait_for(ready, timeout=90, what=f"{self.name} ready")
        except BaseException:
            # Never leave a process that did not become ready running past its test.
            if process.poll() is None:
                process.kill()
                process.wait(30)
            raise

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    async def stop(self, drop_database: bool = True) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(60)
        if drop_database and not self.args:
            await databases.drop_database(self.database_url)
            # Its consumers' dead-letter topics, named by its group suffix: each service a test
            # starts makes three to six, and a test stack that kept them all ran out of file
            # descriptors (~6,000 topics after some days of suites and benches).
            suffix = self.env.get("CONSUMER_GROUP_SUFFIX", "")
            if suffix:
                await delete_topics_ending(KAFKA, suffix + ".dlq")


async def start_service(
    name: str, tmp_dir: Path, *, args: tuple[str, ...] = (), **extra_env: str
) -> ServiceProcess:
    port = free_port()
    database_url = extra_env.pop("DATABASE_URL", None) or await databases.new_database(name)
    env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": KAFKA,
        "REDIS_URL": REDIS_URL,
        "HTTP_PORT": str(port),
        "CONSUMER_GROUP_SUFFIX": "." + uuid.uuid4().hex[:8],
        "CONSUMER_OFFSET_RESET": "latest",
        "LOG_LEVEL": "DEBUG",
        "DEEPFACE_HOME": DEEPFACE_HOME,
        **extra_env,
    }
    service = ServiceProcess(
        name=name,
        url=f"http://127.0.0.1:{port}",
        database_url=database_url,
        log_file=tmp_dir / (f"{name}-{'-'.join(args)}.log" if args else f"{name}.log"),
        env=env,
        process=None,  # type: ignore[arg-type]
        args=args,
    )
    await service.start()
    return service


# punch as deploy/k8s/base/punch.yaml runs it: three verdict lanes, its outbox relay beside it.
PUNCH_AS_DEPLOYED = {"RELAY_ENABLED": "false", "VERDICT_LANES": "3"}


async def start_relay(service: ServiceProcess, tmp_dir: Path) -> ServiceProcess:
    """``punchcard-<service> relay`` on ``service``'s database and settings (its sidecar); its
    /readyz on a port of its own."""
    env = {k: v for k, v in service.env.items() if k not in ("HTTP_PORT", "OPS_PORT")}
    return await start_service(service.name, tmp_dir, args=("relay",), **env)


@asynccontextmanager
async def kiosk_system(
    tmp_dir: Path,
    *,
    face_match: bool = False,
    env: dict[str, str] | None = None,
    identity_env: dict[str, str] | None = None,
    **gateway_env: str,
) -> AsyncIterator[dict]:
    """identity, device-sync, punch (as deployed: its relay a process of its own, three verdict
    lanes) (and face-match) and the gateway in front of them, each a process of its own,
    ``env`` given to every one (by name, device-sync also as ``devices``, the relay as
    ``punch-relay``; ``"all"``: every one, in start order); stopped, and their databases
    dropped, on the way out."""
    env = env or {}
    names = ("identity", "device-sync", "punch") + (("face-match",) if face_match else ())
    started: list[ServiceProcess] = []
    try:
        for name in names:
            extra = {**env, **(identity_env or {})} if name == "identity" else env
            if name == "punch":
                extra = {**PUNCH_AS_DEPLOYED, **extra}
            started.append(await start_service(name, tmp_dir, **extra))
            if name == "punch" and extra["RELAY_ENABLED"] == "false":
                started.append(await start_relay(started[-1], tmp_dir))
        by_name = {s.name: s for s in started if not s.args}
        relays = {f"{s.name}-relay": s for s in started if s.args}
        urls = {
            "IDENTITY_URL": by_name["identity"].url,
            "DEVICE_SYNC_URL": by_name["device-sync"].url,
            "PUNCH_URL": by_name["punch"].url,
        }
        if face_match:
            urls["FACE_MATCH_URL"] = by_name["face-match"].url
        gateway = await start_service("gateway", tmp_dir, **urls, **{**env, **gateway_env})
        started.append(gateway)
        by_name["gateway"] = gateway
        yield {**by_name, **relays, "devices": by_name["device-sync"], "all": started}
    finally:
        for service in reversed(started):
            await service.stop()


def whole_system(tmp_dir: Path, **gateway_env: str):
    """identity, device-sync, punch, face-match and the gateway (``kiosk_system``)."""
    return kiosk_system(tmp_dir, face_match=True, **gateway_env)
