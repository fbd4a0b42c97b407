"""Driving the punch service in tests without the services upstream of it: a feed that
publishes, on the real topics, the events identity, device-sync and face-match would publish
(workers, clocks, assignments, verdicts), and helpers to read punch's answers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg
from aiokafka import AIOKafkaProducer
from punchcard.v1 import (
    common_pb2,
    device_pb2,
    identification_pb2,
    identity_pb2,
    kiosk_pb2,
)
from punchcard_kit.messaging import catalogue, encode_envelope, new_envelope
from punchcard_kit.messaging.connection import kafka_options

from .messaging import wait_for
from .services import ServiceProcess
from .stack import KAFKA

WORKERS = catalogue.IDENTITY_WORKERS.name
CLOCKS = catalogue.DEVICE_CLOCKS.name
ASSIGNMENTS = catalogue.DEVICE_CLOCK_ASSIGNMENTS.name
VERDICTS = catalogue.IDENTIFICATION_VERDICTS.name
DIRECTIONS = {None: 0, "IN": common_pb2.PUNCH_DIRECTION_IN, "OUT": common_pb2.PUNCH_DIRECTION_OUT}
STATUS = {
    "Pending": common_pb2.WORKER_STATUS_PENDING,
    "Active": common_pb2.WORKER_STATUS_ACTIVE,
    "Inactive": common_pb2.WORKER_STATUS_INACTIVE,
}


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Feed:
    """Events as the upstream services publish them, for one tenant."""

    producer: AIOKafkaProducer
    tenant_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @classmethod
    async def open(cls) -> Feed:
        producer = AIOKafkaProducer(**kafka_options(KAFKA, acks="all", linger_ms=2))
        await producer.start()
        return cls(producer)

    async def close(self) -> None:
        await self.producer.stop()

    async def publish(
        self, topic: str, key: str, payload, *, wait: bool = True, partition: int | None = None
    ) -> str:
        envelope = new_envelope(payload, tenant_id=self.tenant_id, producer="test")
        sent = self.producer.send(
            topic,
            encode_envelope(envelope),
            key=f"{self.tenant_id}/{key}".encode(),
            partition=partition,
        )
        if wait:
            await (await sent)
        else:
            await sent
        return envelope.event_id

    async def worker(
        self,
        name: str = "Ana Pérez",
        *,
        status: str = "Active",
        worker_id: str | None = None,
        employee_id: str | None = None,
        site_id: str = "site-1",
    ) -> dict:
        worker_id = worker_id or str(uuid.uuid4())
        employee_id = employee_id or "E" + uuid.uuid4().hex[:8]
        details = identity_pb2.WorkerDetails(
            employee_id=employee_id, display_name=name, site_id=site_id
        )
        await self.publish(
            WORKERS,
            worker_id,
            identity_pb2.WorkerRegistered(
                worker_id=worker_id, details=details, status=STATUS[status], pin_allowed=True
            ),
        )
        return {"id": worker_id, "employee_id": employee_id, "name": name, "site_id": site_id}

    async def status(self, worker_id: str, status: str) -> None:
        await self.publish(
            WORKERS,
            worker_id,
            identity_pb2.WorkerStatusChanged(worker_id=worker_id, status=STATUS[status]),
        )

    async def clock(self, *, site_id: str = "site-1", time_zone: str = "Europe/Madrid") -> str:
        clock_id = str(uuid.uuid4())
        await self.publish(
            CLOCKS,
            clock_id,
            device_pb2.ClockRegistered(
                clock_id=clock_id,
                serial_number="SN" + clock_id[:8],
                name="Gate " + clock_id[:4],
                site_id=site_id,
                time_zone=time_zone,
            ),
        )
        return clock_id

    async def assign(self, clock_id: str, worker_id: str) -> None:
        await self.publish(
            ASSIGNMENTS,
            f"{clock_id}/{worker_id}",
            device_pb2.ClockAssignment(
                clock_id=clock_id,
                worker_id=worker_id,
                source=device_pb2.ASSIGNMENT_SOURCE_DIRECT,
            ),
        )

    async def unassign(self, clock_id: str, worker_id: str) -> None:
        await (
            await self.producer.send(
                ASSIGNMENTS,
                None,
                key=f"{self.tenant_id}/{clock_id}/{worker_id}".encode(),
                headers=[
                    ("event-type", b"tombstone"),
                    ("event-id", str(uuid.uuid4()).encode()),
                    ("tenant-id", self.tenant_id.encode()),
                ],
            )
        )

    def context(
        self,
        clock_id: str,
        *,
        captured_at: datetime | None = None,
        received_at: datetime | None = None,
        direction: str | None = None,
        offline: bool = False,
        attempt_id: str | None = None,
        employee_id: str = "",
    ) -> kiosk_pb2.PunchAttemptContext:
        context = kiosk_pb2.PunchAttemptContext(
            attempt_id=attempt_id or str(uuid.uuid4()),
            clock_id=clock_id,
            captured_offline=offline,
            requested_direction=DIRECTIONS[direction],
            claimed_employee_id=employee_id,
        )
        if received_at is None:
            # The edge receives an online attempt as it is taken; an offline one (or one
            # captured "in the future") now.
            future = captured_at is not None and captured_at > now()
            received_at = now() if offline or captured_at is None or future else captured_at
        context.captured_at.FromDatetime(captured_at or now())
        context.received_at.FromDatetime(received_at)
        return context

    async def identified(
        self,
        worker_id: str,
        clock_id: str,
        *,
        method: str = "PIN",
        wait: bool = True,
        partition: int | None = None,
        checked: bool = False,
        **kw,
    ) -> str:
        """A WorkerIdentified verdict; returns its attempt id. ``checked``: the producer
        checked the worker Active and assigned at the attempt, as identity does for a PIN."""
        context = self.context(clock_id, **kw)
        verdict = identification_pb2.WorkerIdentified(
            context=context,
            worker_id=worker_id,
            method=common_pb2.PUNCH_METHOD_FACE
            if method == "FACE"
            else common_pb2.PUNCH_METHOD_PIN,
            checked_active=checked,
            checked_assigned=checked,
        )
        if method == "FACE":
            verdict.face.model_name = "Dlib"
            verdict.face.metric = "euclidean_l2"
            verdict.face.distance = 0.31
            verdict.face.margin = 0.22
            verdict.face.threshold = 0.4
        await self.publish(VERDICTS, worker_id, verdict, wait=wait, partition=partition)
        return context.attempt_id

    async def rejected(
        self, clock_id: str, reason: str, *, worker_id: str = "", remaining: int = 0, **kw
    ) -> str:
        context = self.context(clock_id, **kw)
        verdict = identification_pb2.IdentificationRejected(
            context=context,
            method=common_pb2.PUNCH_METHOD_PIN,
            reason=common_pb2.RejectReason.Value("REJECT_REASON_" + reason),
            worker_id=worker_id,
            attempts_remaining=remaining,
        )
        await self.publish(VERDICTS, worker_id or context.attempt_id, verdict)
        return context.attempt_id


async def outcome(punch: ServiceProcess, tenant_id: str, attempt_id: str, timeout=30) -> dict:
    """punch's answer for an attempt (waits until it is decided)."""
    async with punch.admin(tenant_id) as http:

        async def decided():
            response = await http.get(f"/attempts/{attempt_id}")
            if response.status_code == 404:
                return None
            assert response.status_code == 200, response.text
            return response.json()

        return await wait_for(decided, timeout=timeout, what=f"attempt {attempt_id} decided")


async def known(punch: ServiceProcess, tenant_id: str, *, workers=(), clocks=(), pairs=()) -> None:
    """Wait until punch's projections hold these workers, clocks and assignments."""
    conn = await asyncpg.connect(punch.admin_url)
    try:

        async def ready():
            w = await conn.fetchval(
                "SELECT count(*) FROM workers WHERE tenant_id = $1 AND id = ANY($2::uuid[])",
                tenant_id,
                list(workers),
            )
            c = await conn.fetchval(
                "SELECT count(*) FROM clocks WHERE tenant_id = $1 AND id = ANY($2::uuid[])",
                tenant_id,
                list(clocks),
            )
            a = 0
            for clock_id, worker_id in pairs:
                a += await conn.fetchval(
                    "SELECT count(*) FROM assignments"
                    " WHERE tenant_id = $1 AND clock_id = $2 AND worker_id = $3",
                    tenant_id,
                    clock_id,
                    worker_id,
                )
            return w == len(workers) and c == len(clocks) and a == len(pairs)

        await wait_for(ready, timeout=30, what="punch projections caught up")
    finally:
        await conn.close()


def ago(**kw) -> datetime:
    return now() - timedelta(**kw)
