"""Chaos: the punch process is SIGKILLed inside a consumer batch, after the ledger rows were
inserted and before the transaction commits. After a restart every attempt is decided exactly
once: one ledger row per recorded attempt, whatever was redelivered.

The process decides on two consumers of the group (VERDICT_LANES=2), each with its own partitions:
the kill lands in one lane's batch while the other lane may have committed its own. A warm-up
(one verdict on every partition, then a clean stop) first gives every partition of the
test's group a committed offset: tests start a fresh group at the topic's end
(CONSUMER_OFFSET_RESET=latest, the verdicts topic is shared), so a partition without one would
be re-read from its end after the kill, not from the killed batch (in service the reset is
``earliest``)."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest

from tests.support.messaging import wait_for
from tests.support.punch import VERDICTS, Feed, ago, known
from tests.support.services import start_service

pytestmark = pytest.mark.chaos

WORKERS = 40
ATTEMPTS_PER_WORKER = 5


async def _all_decided(conn: asyncpg.Connection, tenant_id: str, attempts: list, what: str):
    async def decided():
        return await conn.fetchval(
            "SELECT count(*) FROM attempts WHERE tenant_id = $1", tenant_id
        ) == len(attempts)

    await wait_for(decided, timeout=60, what=what)


async def test_punch_killed_mid_batch_records_each_attempt_once(tmp_path):
    punch = await start_service("punch", tmp_path, VERDICT_LANES="2")
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
        # Warm-up: a verdict on every partition, decided and committed, then a clean stop
        # (SIGTERM drains and commits), the verdicts published, and a start with the
        # failpoint armed: the first batch after it is killed (which lane takes it, and how
        # the two split the verdicts, is up to timing).
        partitions = sorted(await feed.producer.partitions_for(VERDICTS))
        for p in partitions:
            context = feed.context(clock, captured_at=ago(hours=40 - p))
            attempts.append(context.attempt_id)
            await feed.identified(
                ids[0],
                clock,
                attempt_id=context.attempt_id,
                captured_at=ago(hours=40 - p),
                partition=p,
            )
        conn = await asyncpg.connect(punch.admin_url)
        try:
            await _all_decided(conn, feed.tenant_id, attempts, "the warm-up verdicts decided")
        finally:
            await conn.close()
        async with httpx.AsyncClient() as http:
            checks = (await http.get(punch.url + "/readyz")).json()["checks"]
        lanes = [n for n in checks if n.startswith("consumer:punch.") and n.count(".") == 1]
        assert len(lanes) == 2, checks  # the verdicts group's two lanes (not projections')
        await punch.stop(drop_database=False)
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
        # Published while punch was down: its first batch after the start is (mostly) them.
        try:
            await punch.start(PUNCHCARD_FAILPOINTS="punch.ingest.before_commit=kill@1")
        except AssertionError:
            pass  # killed before it answered ready; SIGKILL is asserted below

        async def killed():
            return punch.process.poll() is not None

        await wait_for(killed, timeout=60, what="punch killed at the failpoint")
        assert punch.process.returncode == -9  # SIGKILL, from the failpoint
        await punch.start(PUNCHCARD_FAILPOINTS="")

        conn = await asyncpg.connect(punch.admin_url)
        try:
            await _all_decided(conn, feed.tenant_id, attempts, "every attempt decided")
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
