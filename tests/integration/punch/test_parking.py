"""No verdict blocks a partition for ever (issue 14, finding 1b). A verdict naming a worker
punch never heard of used to be retried for ever, and every later verdict on its partition —
every tenant's — waited behind it. Now it waits a bounded time (PARK_AFTER_S), is parked, the
partition moves on, and it is decided (in order with the worker's later verdicts) once punch
knows the worker; one parked too long goes to the dead-letter topic, and a redrive decides it."""

from __future__ import annotations

import asyncio
import subprocess
import uuid

import asyncpg
import pytest
from punchcard.v1.envelope_pb2 import DeadLetter

from tests.support.messaging import read_topic, wait_for
from tests.support.punch import Feed, ago, known, outcome
from tests.support.services import start_service
from tests.support.stack import KAFKA, VENV_BIN


@pytest.fixture
async def feeds():
    opened = [await Feed.open() for _ in range(2)]
    yield opened
    for feed in opened:
        await feed.close()


async def _parked(punch, tenant_id: str) -> list:
    conn = await asyncpg.connect(punch.database_url)
    try:
        return await conn.fetch(
            "SELECT attempt_id::text, reason FROM parked_verdicts WHERE tenant_id = $1"
            " ORDER BY seq",
            tenant_id,
        )
    finally:
        await conn.close()


async def test_an_unknown_workers_verdict_is_parked_and_decided_in_order_when_known(
    tmp_path, feeds
):
    punch = await start_service("punch", tmp_path, PARK_AFTER_S="1", UNPARK_INTERVAL_S="0.5")
    stranger, other = feeds
    try:
        clock = await stranger.clock()
        worker = await other.worker("Bea Other")
        other_clock = await other.clock()
        await other.assign(other_clock, worker["id"])
        await known(punch, stranger.tenant_id, clocks=[clock])
        await known(
            punch,
            other.tenant_id,
            workers=[worker["id"]],
            clocks=[other_clock],
            pairs=[(other_clock, worker["id"])],
        )
        # A worker punch has never heard of, first on partition 0 ...
        unknown_id = str(uuid.uuid4())
        first = await stranger.identified(
            unknown_id, clock, partition=0, captured_at=ago(minutes=10)
        )
        # ... and another tenant's punch behind it on the same partition: decided all the same.
        behind = await other.identified(worker["id"], other_clock, partition=0)
        answer = await outcome(punch, other.tenant_id, behind, timeout=60)
        assert answer["type"] == "punchcard.v1.PunchRecorded"
        parked = await wait_for(lambda: _parked(punch, stranger.tenant_id), what="parked")
        assert [p["attempt_id"] for p in parked] == [first]
        assert "not known to punch: worker" in parked[0]["reason"]

        # A later verdict of the same worker, while it is still unknown, parks behind the first.
        second = await stranger.identified(
            unknown_id, clock, partition=0, captured_at=ago(minutes=5)
        )

        async def both_parked():
            return len(await _parked(punch, stranger.tenant_id)) == 2

        await wait_for(both_parked, what="the second verdict parked behind the first")

        # The worker becomes known: both are decided, in order (IN, then OUT). The assignment
        # is held first: the worker's and the assignment's events are on different topics, and
        # a verdict unparked between the two would be refused NOT_ASSIGNED_TO_CLOCK.
        await stranger.assign(clock, unknown_id)
        await known(punch, stranger.tenant_id, pairs=[(clock, unknown_id)])
        assert len(await _parked(punch, stranger.tenant_id)) == 2
        await stranger.worker("Late Lee", worker_id=unknown_id)
        one = await outcome(punch, stranger.tenant_id, first, timeout=60)
        two = await outcome(punch, stranger.tenant_id, second, timeout=60)
        assert one["type"] == two["type"] == "punchcard.v1.PunchRecorded"
        assert (one["payload"]["direction"], two["payload"]["direction"]) == (
            "PUNCH_DIRECTION_IN",
            "PUNCH_DIRECTION_OUT",
        )
        assert await _parked(punch, stranger.tenant_id) == []
    finally:
        await punch.stop()


async def test_a_verdict_parked_too_long_is_dead_lettered_and_a_redrive_decides_it(tmp_path, feeds):
    punch = await start_service(
        "punch", tmp_path, PARK_AFTER_S="1", UNPARK_INTERVAL_S="0.5", PARKED_MAX_AGE_H="0.0005"
    )
    feed = feeds[0]
    try:
        clock = await feed.clock()
        await known(punch, feed.tenant_id, clocks=[clock])
        never_id = str(uuid.uuid4())
        attempt = await feed.identified(never_id, clock)
        group = "punch" + punch.env["CONSUMER_GROUP_SUFFIX"]

        async def dead_lettered():
            letters = [
                (r, DeadLetter.FromString(r.value)) for r in await read_topic(KAFKA, f"{group}.dlq")
            ]
            return [(r, d) for r, d in letters if attempt.encode() in d.value]

        [(record, letter)] = await wait_for(dead_lettered, timeout=60, what="a dead letter")
        assert letter.error_type == "NotYetKnown" and "parked since" in letter.error_message
        assert await _parked(punch, feed.tenant_id) == []

        # The cause is fixed (the worker's events arrive); the operator redrives the letter.
        await feed.worker("Found Fay", worker_id=never_id)
        await feed.assign(clock, never_id)
        await known(punch, feed.tenant_id, workers=[never_id], pairs=[(clock, never_id)])
        done = await asyncio.to_thread(
            subprocess.run,
            [
                str(VENV_BIN / "punchcard-dlq"),
                "--bootstrap-servers",
                KAFKA,
                "redrive",
                f"{group}.dlq",
                "--letter",
                f"{record.partition}@{record.offset}",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        answer = await outcome(punch, feed.tenant_id, attempt, timeout=60)
        assert answer["type"] == "punchcard.v1.PunchRecorded"
    finally:
        await punch.stop()
