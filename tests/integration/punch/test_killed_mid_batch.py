"""Chaos: the punch process is SIGKILLed inside a consumer batch, after the ledger rows were
inserted and before the transaction commits. After a restart every attempt is decided exactly
once: one ledger row per recorded attempt, whatever was redelivered."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from tests.support.messaging import wait_for
from tests.support.punch import Feed, ago, known
from tests.support.services import start_service

pytestmark = pytest.mark.chaos

WORKERS = 40
ATTEMPTS_PER_WORKER = 5


async def test_punch_killed_mid_batch_records_each_attempt_once(tmp_path):
    punch = await start_service(
        "punch", tmp_path, PUNCHCARD_FAILPOINTS="punch.ingest.before_commit=kill@2"
    )
    feed = await Feed.open()
    try:
        clock = await feed.clock()
        workers = [await feed.worker(f"Worker {i}") for i in range(WORKERS)]
        for worker in workers:
            await feed.assign(clock, worker["id"])
        ids = [w["id"] for w in workers]
        await known(
            punch, feed.tenant_id, workers=ids, clocks=[clock], pairs=[(clock, w) for w in ids]
        )
        attempts = []
        sends = []
        for n in range(ATTEMPTS_PER_WORKER):
            for worker_id in ids:
                context = feed.context(clock, captured_at=ago(hours=10 - n))
                attempts.append(context.attempt_id)
                # Each verdict twice (a redelivery), published without waiting one by one.
                for _ in range(2):
                    sends.append(
                        feed.identified(
                            worker_id,
                            clock,
                            attempt_id=context.attempt_id,
                            captured_at=ago(hours=10 - n),
                            wait=False,
                        )
                    )
        await asyncio.gather(*sends)
        await feed.producer.flush()

        async def killed():
            return punch.process.poll() is not None

        await wait_for(killed, timeout=60, what="punch killed at the failpoint")
        assert punch.process.returncode == -9  # SIGKILL, from the failpoint
        await punch.start(PUNCHCARD_FAILPOINTS="")

        conn = await asyncpg.connect(punch.admin_url)
        try:

            async def all_decided():
                return await conn.fetchval(
                    "SELECT count(*) FROM attempts WHERE tenant_id = $1", feed.tenant_id
                ) == len(attempts)

            await wait_for(all_decided, timeout=60, what="every attempt decided")
            rows = await conn.fetch(
                "SELECT attempt_id::text, count(*) FROM punches WHERE tenant_id = $1"
                " GROUP BY attempt_id",
                feed.tenant_id,
            )
            outcomes = await conn.fetch(
                "SELECT outcome, count(*) FROM attempts WHERE tenant_id = $1 GROUP BY outcome",
                feed.tenant_id,
            )
        finally:
            await conn.close()
        assert {r[0] for r in rows} == set(attempts)
        assert all(r[1] == 1 for r in rows)
        assert dict((o[0], o[1]) for o in outcomes) == {"RECORDED": len(attempts)}
    finally:
        await feed.close()
        await punch.stop()
