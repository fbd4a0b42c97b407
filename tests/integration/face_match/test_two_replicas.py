"""Two face-match replicas at once, as operators scale it: one database, one consumer group for
the attempts, each replica with its own gallery built from the compacted templates topic.

- an enrolment made while both run is found by both;
- every attempt is answered exactly once, whichever replica takes it;
- a replica killed (SIGKILL) mid-stream loses nothing: the other takes its partitions over and
  every attempt is still answered exactly once."""

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from punchcard_kit.messaging import catalogue
from punchcard_kit.messaging.connection import kafka_options

from tests.support.face import astronaut, mirrored, reason
from tests.support.face_match import enrol, known_worker, searchable
from tests.support.services import start_service
from tests.support.stack import KAFKA

pytestmark = pytest.mark.chaos
ATTEMPTS = catalogue.KIOSK_FACE_ATTEMPTS.name


async def start_group_at_the_end(group_id: str) -> None:
    """Commit the group's offsets at the end of every partition before it starts: a partition
    taken over from the killed replica then resumes where that replica's commits left it (as in
    production, where groups start from the earliest offset), instead of at "latest"."""
    consumer = AIOKafkaConsumer(**kafka_options(KAFKA, group_id=group_id))
    await consumer.start()
    try:
        partitions = [TopicPartition(ATTEMPTS, p) for p in range(12)]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        await consumer.commit({tp: await consumer.position(tp) for tp in partitions})
    finally:
        await consumer.stop()


async def test_two_replicas_share_the_attempts_and_lose_nothing_when_one_is_killed(
    tmp_path, feed, kiosk
):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    suffix = "." + uuid.uuid4().hex[:8]
    await start_group_at_the_end("face-match" + suffix)
    first = await start_service("face-match", tmp_path / "a", CONSUMER_GROUP_SUFFIX=suffix)
    second = await start_service(
        "face-match",
        tmp_path / "b",
        DATABASE_URL=first.database_url,
        CONSUMER_GROUP_SUFFIX=suffix,
    )
    try:
        worker = await feed.worker()
        tenant, worker_id = feed.tenant_id, worker["id"]
        await known_worker(first, tenant, worker_id)
        answer = await enrol(first, tenant, worker_id, astronaut(640))
        assert answer.status_code == 200, answer.text
        # Made through the first replica, searchable on both.
        for replica in (first, second):
            status = await searchable(replica, tenant, worker_id)
            assert status["in_gallery"] is True

        frames = [astronaut(640), mirrored(astronaut(640))]
        attempts = [await kiosk.send(tenant, frames[i % 2]) for i in range(12)]
        for attempt_id in attempts:
            verdict = await kiosk.verdict(attempt_id)
            assert reason(verdict) == "IDENTIFIED" and verdict.worker_id == worker_id

        # Mid-stream: attempts in flight, one replica killed.
        in_flight = [await kiosk.send(tenant, frames[i % 2]) for i in range(8)]
        second.kill()
        in_flight += [await kiosk.send(tenant, frames[i % 2]) for i in range(8)]
        for attempt_id in in_flight:
            verdict = await kiosk.verdict(attempt_id, timeout=120)
            assert reason(verdict) == "IDENTIFIED" and verdict.worker_id == worker_id

        await asyncio.sleep(3)  # time for a duplicate verdict to show, if there were one
        for attempt_id in attempts + in_flight:
            assert len(kiosk.verdicts[attempt_id]) == 1, attempt_id
    finally:
        await second.stop(drop_database=False)
        await first.stop()
