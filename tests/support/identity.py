"""Driving the real identity service in tests: a process of its own on a fresh database, admin
calls with internal caller tokens, kiosk PIN attempts sealed and published to Kafka, and the
verdicts read back from Kafka."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer
from punchcard.v1 import common_pb2, device_pb2, identification_pb2, kiosk_pb2
from punchcard_kit.messaging import catalogue, encode_envelope, new_envelope
from punchcard_kit.messaging.connection import kafka_options

from .databases import admin_url
from .messaging import VerdictFeed, wait_for
from .services import ServiceProcess, start_service
from .stack import KAFKA

ATTEMPTS = catalogue.KIOSK_PIN_ATTEMPTS.name
VERDICTS = VerdictFeed.TOPIC
WORKERS = catalogue.IDENTITY_WORKERS.name
ASSIGNMENTS = catalogue.DEVICE_CLOCK_ASSIGNMENTS.name
CLOCKS = catalogue.DEVICE_CLOCKS.name


IdentityProcess = ServiceProcess


async def start_identity(tmp_dir: Path, **extra_env: str) -> ServiceProcess:
    return await start_service("identity", tmp_dir, **extra_env)


class Kiosk:
    """Plays the kiosk edge: seals PINs to identity's key and publishes attempts; reads verdicts."""

    def __init__(self, identity: IdentityProcess) -> None:
        self.identity = identity
        self.producer = AIOKafkaProducer(**kafka_options(KAFKA))
        self.verdicts = VerdictFeed(KAFKA)
        self._assigned: set[tuple[str, str, str]] = set()
        self._log_read = 0  # bytes of identity's log already read for "pin attempt verified"
        self._verified: dict[str, dict] = {}  # attempt id -> its last such log entry

    async def __aenter__(self) -> Kiosk:
        async with httpx.AsyncClient() as http:
            key = (await http.get(self.identity.url + "/internal/v1/pin-sealing-key")).json()
        self.key_id, self.public_key = key["key_id"], base64.b64decode(key["public_key"])
        await self.producer.start()
        await self.verdicts.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.producer.stop()
        await self.verdicts.stop()

    async def punch(
        self,
        tenant_id: str,
        employee_id: str,
        pin: str,
        clock_id: str = "clock-1",
        *,
        assigned: bool = True,
    ):
        """Send one PIN attempt; returns its verdict (WorkerIdentified / IdentificationRejected).
        ``assigned``: first make sure the worker (if there is one) is assigned to the clock, as
        device-sync would say, since identity checks no PIN at any other clock."""
        from punchcard_identity.adapters.sealing import seal_pin

        if assigned:
            await self.assign_employee(tenant_id, employee_id, clock_id)
        attempt_id = await self.send(tenant_id, employee_id, pin, clock_id, seal_pin)
        await self.producer.flush()
        return await self.verdict(attempt_id)

    async def verdict(self, attempt_id: str):
        """The verdict *this* identity gave the attempt. Other identity processes on the shared
        topics (other test runs) may answer it too ("Unknown User": they do not know the
        tenant), so the answer is picked by what this one logged."""

        async def logged():
            self._read_verified()
            return self._verified.get(attempt_id)

        entry = await wait_for(logged, timeout=60, interval=0.05, what="the attempt verified")

        async def matching():
            for verdict in self.verdicts.by_attempt.get(attempt_id, []):
                if type(verdict).__name__ == entry["outcome"] and (
                    entry["reason"] is None
                    or common_pb2.RejectReason.Name(verdict.reason) == entry["reason"]
                ):
                    return verdict
            return None

        return await wait_for(matching, timeout=60, interval=0.02, what="its verdict")

    def _read_verified(self) -> None:
        """Read the log's new complete lines only (a poll stays cheap however long the log)."""
        with open(self.identity.log_file, "rb") as log:
            log.seek(self._log_read)
            chunk = log.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self._log_read += len(complete)
        for line in complete.decode(errors="replace").splitlines():
            if "pin attempt verified" in line:
                entry = json.loads(line)
                self._verified[entry["attempt_id"]] = entry

    async def assign_employee(self, tenant_id: str, employee_id: str, clock_id: str) -> None:
        if (tenant_id, employee_id, clock_id) in self._assigned:
            return
        async with self.identity.admin(tenant_id) as http:
            found = await http.get("/workers", params={"search": employee_id, "limit": 200})
        for worker in found.json().get("data", []) if found.status_code == 200 else []:
            if worker["employee_id"] == employee_id:
                await self.assign(tenant_id, clock_id, worker["id"])
                self._assigned.add((tenant_id, employee_id, clock_id))

    async def assign(self, tenant_id: str, clock_id: str, worker_id: str) -> None:
        """Publish device-sync's assignment of the worker to the clock; wait until identity's
        projection holds it."""
        if (tenant_id, clock_id, worker_id) in self._assigned:
            return
        event = device_pb2.ClockAssignment(clock_id=clock_id, worker_id=worker_id)
        envelope = new_envelope(event, tenant_id=tenant_id, producer="device-sync")
        await self.producer.send_and_wait(
            ASSIGNMENTS,
            encode_envelope(envelope),
            key=catalogue.DEVICE_CLOCK_ASSIGNMENTS.key(
                tenant_id=tenant_id, clock_id=clock_id, worker_id=worker_id
            ).encode(),
        )
        await assignments_known(self.identity, tenant_id, [(clock_id, worker_id)])
        self._assigned.add((tenant_id, clock_id, worker_id))

    async def register_clock(self, tenant_id: str, clock_id: str, site_id: str = "north") -> None:
        """Publish device-sync's registration of the clock at ``site_id``; wait until identity
        knows the clock's site (its PIN counters are shown only to those who see it)."""
        event = device_pb2.ClockRegistered(clock_id=clock_id, site_id=site_id, name=clock_id)
        envelope = new_envelope(event, tenant_id=tenant_id, producer="device-sync")
        await self.producer.send_and_wait(
            CLOCKS,
            encode_envelope(envelope),
            key=catalogue.DEVICE_CLOCKS.key(tenant_id=tenant_id, clock_id=clock_id).encode(),
        )
        conn = await asyncpg.connect(admin_url(self.identity.database_url))
        try:

            async def projected():
                return (
                    await conn.fetchval(
                        "SELECT site_id FROM clocks WHERE tenant_id = $1 AND clock_id = $2",
                        tenant_id,
                        clock_id,
                    )
                    == site_id
                )

            await wait_for(projected, timeout=30, what="identity's clock projection")
        finally:
            await conn.close()

    async def send(
        self, tenant_id: str, employee_id: str, pin: str, clock_id: str, seal_pin, producer=None
    ):
        """Publish one attempt (without waiting for its verdict, nor for its delivery: flush
        the producer); returns its attempt id."""
        attempt_id = str(uuid.uuid4())
        context = kiosk_pb2.PunchAttemptContext(
            attempt_id=attempt_id, clock_id=clock_id, claimed_employee_id=employee_id
        )
        context.captured_at.GetCurrentTime()
        attempt = kiosk_pb2.PinPunchAttempted(context=context)
        attempt.sealed_pin.ciphertext = seal_pin(self.public_key, attempt_id, pin)
        attempt.sealed_pin.recipient_key_id = self.key_id
        envelope = new_envelope(attempt, tenant_id=tenant_id, producer="gateway")
        await (producer or self.producer).send(
            ATTEMPTS,
            encode_envelope(envelope),
            key=catalogue.KIOSK_PIN_ATTEMPTS.key(
                tenant_id=tenant_id, employee_id=employee_id
            ).encode(),
        )
        return attempt_id


async def assignments_known(identity: ServiceProcess, tenant_id: str, pairs) -> None:
    """Wait until identity's projection of device-sync's assignments holds these (clock,
    worker) pairs: identity checks a PIN only at a clock its worker is assigned to."""
    conn = await asyncpg.connect(admin_url(identity.database_url))  # the owner is bound by RLS
    try:

        async def projected():
            found = 0
            for clock_id, worker_id in pairs:
                found += await conn.fetchval(
                    "SELECT count(*) FROM clock_assignments"
                    " WHERE tenant_id = $1 AND clock_id = $2 AND worker_id = $3",
                    tenant_id,
                    clock_id,
                    worker_id,
                )
            return found == len(pairs)

        await wait_for(projected, timeout=30, what="identity's assignment projection")
    finally:
        await conn.close()


async def roles_known(identity: ServiceProcess, tenant_id: str, roles) -> None:
    """Wait until identity's projection holds these (clock, worker, clock role) triples."""
    conn = await asyncpg.connect(admin_url(identity.database_url))
    try:

        async def projected():
            for clock_id, worker_id, role in roles:
                found = await conn.fetchval(
                    "SELECT clock_role FROM clock_assignments"
                    " WHERE tenant_id = $1 AND clock_id = $2 AND worker_id = $3",
                    tenant_id,
                    clock_id,
                    worker_id,
                )
                if found != role:
                    return False
            return True

        await wait_for(projected, timeout=30, what="identity's clock roles")
    finally:
        await conn.close()


def reason(verdict) -> str:
    if isinstance(verdict, identification_pb2.WorkerIdentified):
        return "IDENTIFIED"
    return common_pb2.RejectReason.Name(verdict.reason).removeprefix("REJECT_REASON_")
