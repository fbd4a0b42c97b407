import asyncio
import os
import signal
import subprocess
import sys

import pytest
from punchcard_kit.db import create_pool
from punchcard_kit.messaging.consumer import ConsumerLoop
from punchcard_kit.messaging.relay import OutboxRelay
from punchcard_kit.messaging.topics import ensure_topics_exist

from tests.support.databases import drop_database
from tests.support.messaging import create_database, record_effects
from tests.support.stack import KAFKA, REPO, VENV_BIN, unique


@pytest.fixture
async def kit_db():
    dsn = await create_database()
    yield dsn
    await drop_database(dsn)


@pytest.fixture
async def topic():
    name = unique("test.kit").replace("_", "-")
    await ensure_topics_exist(KAFKA, [(name, 3, 1, {})])
    return name


class Loops:
    """Relays and consumers run in this test's event loop, all stopped at the end."""

    def __init__(self) -> None:
        self.tasks: list[tuple[object, asyncio.Task]] = []
        self.pools = []

    async def relay(self, dsn: str, bootstrap: str = KAFKA, **options) -> OutboxRelay:
        pool = await create_pool(dsn, min_size=1, max_size=2)
        self.pools.append(pool)
        relay = OutboxRelay(
            pool=pool, dsn=dsn, bootstrap_servers=bootstrap, name=unique("relay"), **options
        )
        self.tasks.append((relay, asyncio.create_task(relay.run())))
        return relay

    async def consumer(
        self,
        dsn: str,
        topic: str,
        group: str | None = None,
        bootstrap: str = KAFKA,
        handler=record_effects,
        **options,
    ) -> ConsumerLoop:
        pool = await create_pool(dsn, min_size=1, max_size=3)
        self.pools.append(pool)
        loop = ConsumerLoop(
            group_id=group or unique("group"),
            topics=[topic],
            handler=handler,
            pool=pool,
            bootstrap_servers=bootstrap,
            **options,
        )
        self.tasks.append((loop, asyncio.create_task(loop.run())))
        return loop

    async def close(self) -> None:
        for loop, _ in self.tasks:
            loop.stop()
        if self.tasks:
            await asyncio.wait([t for _, t in self.tasks], timeout=30)
        for _, task in self.tasks:
            if not task.done():
                task.cancel()
        for pool in self.pools:
            await pool.close()


@pytest.fixture
async def loops():
    running = Loops()
    yield running
    await running.close()


class Processes:
    """Child processes of a test, killed at the end whatever happened."""

    def __init__(self) -> None:
        self.children: list[subprocess.Popen] = []

    def start(self, args: list[str], failpoints: str = "", **env) -> subprocess.Popen:
        environment = {**os.environ, "PUNCHCARD_FAILPOINTS": failpoints, **env}
        child = subprocess.Popen(
            args, cwd=REPO, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self.children.append(child)
        return child

    def relay(self, dsn: str, failpoints: str = "", bootstrap: str = KAFKA) -> subprocess.Popen:
        return self.start(
            [
                str(VENV_BIN / "punchcard-relay"),
                "--database-url",
                dsn,
                "--bootstrap-servers",
                bootstrap,
                "--batch-size",
                "50",
            ],
            failpoints,
        )

    def consumer(
        self, dsn: str, topic: str, group: str, failpoints: str = "", max_batch: int = 50
    ) -> subprocess.Popen:
        return self.start(
            [
                sys.executable,
                "-m",
                "tests.support.effects_consumer",
                "--dsn",
                dsn,
                "--bootstrap",
                KAFKA,
                "--topic",
                topic,
                "--group",
                group,
                "--max-batch",
                str(max_batch),
            ],
            failpoints,
        )

    def close(self) -> None:
        for child in self.children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in self.children:
            try:
                child.wait(20)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


@pytest.fixture
def processes():
    running = Processes()
    yield running
    running.close()
