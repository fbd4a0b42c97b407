"""Driving the real identity service in tests: a process of its own on a fresh database, admin
calls with internal caller tokens, kiosk PIN attempts sealed and published to Kafka, and the
verdicts read back from Kafka."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path

import httpx
from aiokafka import AIOKafkaProducer
from punchcard.v1 import common_pb2, identification_pb2, kiosk_pb2
from punchcard_kit.messaging import encode_envelope, new_envelope

from .messaging import VerdictFeed
from .services import ServiceProcess, start_service
from .stack import KAFKA

ATTEMPTS = "punchcard.kiosk.pin-attempts.v1"
VERDICTS = VerdictFeed.TOPIC
WORKERS = "punchcard.identity.workers.v1"


IdentityProcess = ServiceProcess


async def start_identity(tmp_dir: Path, **extra_env: str) -> ServiceProcess:
    return await start_service("identity", tmp_dir, **extra_env)


class Kiosk:
    """Plays the kiosk edge: seals PINs to identity's key and publishes attempts; reads verdicts."""

    def __init__(self, identity: IdentityProcess) -> None:
        self.identity = identity
        self.producer = AIOKafkaProducer(bootstrap_servers=KAFKA)
        self.verdicts = VerdictFeed(KAFKA)

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

    async def punch(self, tenant_id: str, employee_id: str, pin: str, clock_id: str = "clock-1"):
        """Send one PIN attempt; returns its verdict (WorkerIdentified / IdentificationRejected)."""
        from punchcard_identity.adapters.sealing import seal_pin

        attempt_id = str(uuid.uuid4())
        context = kiosk_pb2.PunchAttemptContext(
            attempt_id=attempt_id, clock_id=clock_id, claimed_employee_id=employee_id
        )
        context.captured_at.GetCurrentTime()
        attempt = kiosk_pb2.PinPunchAttempted(context=context)
        attempt.sealed_pin.ciphertext = seal_pin(self.public_key, attempt_id, pin)
        attempt.sealed_pin.recipient_key_id = self.key_id
        envelope = new_envelope(attempt, tenant_id=tenant_id, producer="gateway")
        await self.producer.send_and_wait(
            ATTEMPTS, encode_envelope(envelope), key=f"{tenant_id}/{employee_id}".encode()
        )
        return await self.verdicts.first(attempt_id)


def reason(verdict) -> str:
    if isinstance(verdict, identification_pb2.WorkerIdentified):
        return "IDENTIFIED"
    return common_pb2.RejectReason.Name(verdict.reason).removeprefix("REJECT_REASON_")
