"""An identity outage longer than the PIN-attempt topic keeps its records loses no punch.

Real identity, device-sync, punch and gateway processes on real PostgreSQL, Redis and Kafka.
The PIN attempts go to a topic of this test's own, created with a retention of one second and
one-second segments (Kafka deletes whole segments, so they must be small), so "longer than
the retention" is a matter of seconds here instead of a day. The broker applies retention when
its retention check runs (every 5 s on the local stack of scripts/stack, every 5 min on a
broker with Kafka's default); if that has not happened within 15 seconds, the test does
what the check would do — DeleteRecords up to the end of the log — rather than wait.

With identity stopped, a kiosk's PIN attempt is answered "pending" (the kiosk shows "Punch
received"); the test waits until Kafka has deleted that record, then starts identity again.
Before the reconciler, the attempt was gone for good: identity resumed past the deleted
record and the claim stayed without an outcome forever. Now the gateway, which held the
attempt's record (the PIN sealed), publishes it again, identity verifies it, punch records
it — once — and the held copy is deleted with the outcome."""

from __future__ import annotations

import asyncio
import re
import uuid

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic, RecordsToDelete
from punchcard_kit.assignments import ASSIGNMENTS_TOPIC
from punchcard_kit.messaging.catalogue import KIOSK_CARD_ATTEMPTS
from punchcard_kit.messaging.connection import kafka_options

from tests.support.gateway import assign, create_tenant, kiosk, login, pin_attempt, register_clock
from tests.support.identity import assignments_known
from tests.support.messaging import start_groups_at_the_end, wait_for
from tests.support.punch import known
from tests.support.services import start_service
from tests.support.stack import KAFKA, unique

PIN = "604137"
PASSWORD = "a long admin password"


async def create_short_lived_topic() -> str:
    topic = unique("punchcard.test.pin-attempts")
    admin = AIOKafkaAdminClient(**kafka_options(KAFKA))
    await admin.start()
    try:
        await admin.create_topics(
            [
                NewTopic(
                    topic,
                    num_partitions=1,
                    replication_factor=1,
                    topic_configs={
                        "cleanup.policy": "delete",
                        "retention.ms": "1000",
                        "segment.ms": "1000",
                        "message.timestamp.type": "LogAppendTime",
                    },
                )
            ]
        )
    finally:
        await admin.close()
    return topic


async def delete_topic(topic: str) -> None:
    admin = AIOKafkaAdminClient(**kafka_options(KAFKA))
    await admin.start()
    try:
        await admin.delete_topics([topic])
    finally:
        await admin.close()


@pytest.fixture(scope="module")
async def system(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kiosk_outage")
    topic = await create_short_lived_topic()
    started = []
    try:
        # The three behind the gateway start side by side.
        # identity reads its attempts topic from the beginning (earliest), and, with groups
        # of its own, the shared topics from their current end: not the stack's whole history.
        suffix = "." + uuid.uuid4().hex[:8]
        await start_groups_at_the_end(
            KAFKA,
            {
                "identity.assignments" + suffix: ASSIGNMENTS_TOPIC,
                "identity.card-attempts" + suffix: KIOSK_CARD_ATTEMPTS.name,
            },
        )
        starting = [
            start_service(
                "identity",
                tmp,
                PIN_ATTEMPTS_TOPIC=topic,
                CONSUMER_OFFSET_RESET="earliest",
                CONSUMER_GROUP_SUFFIX=suffix,
            ),
            start_service("device-sync", tmp),
            start_service("punch", tmp),
        ]
        for result in await asyncio.gather(*starting, return_exceptions=True):
            if isinstance(result, BaseException):
                raise result
            started.append(result)
        identity, devices, punch = started
        gateway = await start_service(
            "gateway",
            tmp,
            IDENTITY_URL=identity.url,
            DEVICE_SYNC_URL=devices.url,
            PUNCH_URL=punch.url,
            KIOSK_PIN_ATTEMPTS_TOPIC=topic,
            KIOSK_WAIT_S="1",
            # Look at an attempt without an outcome after 2 s, then every 2-4 s.
            KIOSK_RECONCILE_AFTER_S="2",
            KIOSK_RECONCILE_MAX_INTERVAL_S="4",
            KIOSK_RECONCILE_EVERY_S="1",
        )
        started.append(gateway)
        yield {
            "identity": identity,
            "devices": devices,
            "punch": punch,
            "gateway": gateway,
            "topic": topic,
        }
    finally:
        for service in reversed(started):
            await service.stop()
        await delete_topic(topic)


async def new_worker(admin: httpx.AsyncClient, name: str) -> tuple[str, str]:
    employee_id = unique("E")[:20]
    created = await admin.post(
        "/workers", json={"employee_id": employee_id, "name": name, "status": "Active"}
    )
    assert created.status_code == 201, created.text
    worker_id = created.json()["id"]
    assert (await admin.put(f"/workers/{worker_id}/pin", json={"pin": PIN})).status_code == 200
    return worker_id, employee_id


async def punches_of(admin: httpx.AsyncClient, worker_id: str) -> list[dict]:
    response = await admin.get("/punches", params={"worker_id": worker_id})
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def offsets(topic: str) -> tuple[int, int]:
    """(log start offset, end offset) of the topic's one partition."""
    consumer = AIOKafkaConsumer(**kafka_options(KAFKA))
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        start = (await consumer.beginning_offsets([tp]))[tp]
        end = (await consumer.end_offsets([tp]))[tp]
        return start, end
    finally:
        await consumer.stop()


async def expire(topic: str, before: int) -> None:
    """What the broker's retention check does to this topic, once its records are older than
    its retention: the log now starts at ``before``."""
    admin = AIOKafkaAdminClient(**kafka_options(KAFKA))
    await admin.start()
    try:
        await admin.delete_records({TopicPartition(topic, 0): RecordsToDelete(before)})
    finally:
        await admin.close()


async def gateway_metric(gateway, name: str) -> float:
    async with httpx.AsyncClient() as http:
        text = (await http.get(gateway.url + "/metrics")).text
    found = re.search(rf"^{re.escape(name)} ([0-9.e+]+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def test_an_outage_longer_than_the_attempt_retention_loses_no_punch(system):
    gateway, identity, topic = system["gateway"], system["identity"], system["topic"]
    email = f"{unique('admin')}@example.com"
    tenant_id = create_tenant(gateway, email, PASSWORD)
    admin = await login(gateway, email, PASSWORD)
    async with admin:
        early, early_id = await new_worker(admin, "Early Bird")
        late, late_id = await new_worker(admin, "Ana Pérez")
        clock_id, credential = await register_clock(admin)
        for worker_id in (early, late):
            assigned = await assign(admin, clock_id, worker_id)
            assert assigned.status_code in (200, 201), assigned.text
        await known(
            system["punch"],
            tenant_id,
            workers=[early, late],
            clocks=[clock_id],
            pairs=[(clock_id, early), (clock_id, late)],
        )
        # A PIN attempt before identity has projected the pairs would be UNKNOWN_USER.
        await assignments_known(identity, tenant_id, [(clock_id, early), (clock_id, late)])

        async with kiosk(gateway, credential) as http:
            # Everything up: recorded (identity has read the topic and committed its offset).
            async def recorded(attempt_id: str):
                answer = await http.get(f"/punches/{attempt_id}")
                assert answer.status_code in (200, 202), answer.text
                return answer.json() if answer.json()["status"] == "recorded" else None

            first = pin_attempt(early_id, PIN)
            answer = await http.post("/punches", json=first)
            assert answer.status_code in (200, 202), answer.text
            # Asked once a second, as the kiosk app does: the edge's per-clock budget for
            # outcome questions (240 a minute) is not this test's subject.
            await wait_for(
                lambda: recorded(first["attempt_id"]), timeout=60, interval=1, what="1st punch"
            )

            # identity goes down; a worker punches: "pending" — the kiosk says it was received.
            identity.process.terminate()
            identity.process.wait(60)
            _, end_before = await offsets(topic)
            attempt = pin_attempt(late_id, PIN)
            answer = await http.post("/punches", json=attempt)
            assert answer.status_code == 202, answer.text
            assert answer.json()["status"] == "pending"

            # The attempt reached its topic, then Kafka deleted it (retention), identity still
            # down: the outage has outlasted the topic's retention.
            async def published():
                return (await offsets(topic))[1] > end_before

            await wait_for(published, timeout=60, what="the attempt published")

            async def deleted():
                return (await offsets(topic))[0] > end_before

            try:
                await wait_for(deleted, timeout=15, interval=1, what="retention deleting it")
            except AssertionError:  # the broker's retention check has not run yet
                await expire(topic, (await offsets(topic))[1])
            assert await deleted()

            # identity comes back: the attempt is recorded, by the reconciler's republishing.
            await identity.start()
            body = await wait_for(
                lambda: recorded(attempt["attempt_id"]),
                timeout=120,
                interval=1,
                what="the late punch",
            )
            assert body["punch"]["display_name"] == "Ana Pérez"

        # Exactly once, though it was published more than once.
        [punch] = await punches_of(admin, late)
        assert punch["id"] == body["punch"]["punch_id"]
        assert len(await punches_of(admin, early)) == 1
        republished = 'punchcard_kiosk_attempts_reconciled_total{action="republished"}'
        assert await gateway_metric(gateway, republished) >= 1

        # The held copy (the sealed PIN) is gone with the outcome; nothing is left unresolved.
        async def nothing_held():
            return await gateway_metric(gateway, "punchcard_kiosk_unresolved_attempts") == 0

        await wait_for(nothing_held, timeout=60, what="no attempt held")
