"""The kiosk edge with real processes: identity, device-sync and two gateway replicas on one
database (replica A waits long for outcomes, replica B only half a second), on real
PostgreSQL and Kafka. Clocks are registered through the gateway's admin API; the punch
service is played by the test, which publishes outcome events to punchcard.punch.punches.v1.

- no or a bad credential: 401, nothing claimed or published; revoked or rotated: 401 at once
  at the replica the admin used, and at the other once the clock's event reaches it;
- a PIN attempt is published once, sealed to identity's key (no PIN in the record), keyed by
  tenant/Employee ID, with the clock from the credential; the waiting request is answered
  with the outcome, by either replica; sent again (to either replica) the same answer and no
  second record; the same id with other content or from another clock is a 409;
- pending after the bounded wait, then the outcome by GET (only for the clock that sent it);
- face attempts: a frame that is not a JPEG is a 422, one too big a 413; a JPEG is published
  keyed by tenant/clock;
- a card attempt is published once, the number sealed to identity's key, keyed by
  tenant/clock, claimed as CARD and answered with method CARD;
- bad input never echoes a PIN, and no PIN (nor card number) reaches a gateway log."""

from __future__ import annotations

import asyncio
import base64
import re
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from nacl.public import PrivateKey, SealedBox
from prometheus_client.parser import text_string_to_metric_families
from punchcard.v1 import common_pb2, kiosk_pb2, punch_pb2
from punchcard_kit.messaging import (
    catalogue,
    decode_envelope,
    encode_envelope,
    new_envelope,
    unpack_payload,
)
from punchcard_kit.messaging.connection import kafka_options

from tests.support.gateway import create_tenant, kiosk, login, register_clock
from tests.support.messaging import read_topic, wait_for
from tests.support.services import admin_headers, start_service
from tests.support.stack import KAFKA, unique

PIN_ATTEMPTS = catalogue.KIOSK_PIN_ATTEMPTS.name
FACE_ATTEMPTS = catalogue.KIOSK_FACE_ATTEMPTS.name
CARD_ATTEMPTS = catalogue.KIOSK_CARD_ATTEMPTS.name
PUNCHES = catalogue.PUNCH_PUNCHES.name
# Identity's development sealing key (its settings: base64 of these 32 bytes, id "dev-1").
IDENTITY_DEV_PRIVATE_KEY = b"development-only-sealing-key-001"
PASSWORD = "a long admin password"
MAX_FRAME = 4096
MADRID = ZoneInfo("Europe/Madrid")
# Every PIN any test sends: none may reach a gateway log.
PINS_SENT: set[str] = set()


@pytest.fixture(scope="module")
async def system(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kiosk_edge")
    started = []
    try:
        identity = await start_service("identity", tmp)
        started.append(identity)
        devices = await start_service("device-sync", tmp)
        started.append(devices)
        common = {
            "IDENTITY_URL": identity.url,
            "DEVICE_SYNC_URL": devices.url,
            "KIOSK_MAX_FRAME_BYTES": str(MAX_FRAME),
        }
        a = await start_service("gateway", tmp, KIOSK_WAIT_S="15", **common)
        started.append(a)
        a.log_file.rename(tmp / "gateway-a.log")
        a.log_file = tmp / "gateway-a.log"
        # Replica B: the same database, a short wait.
        b = await start_service(
            "gateway", tmp, KIOSK_WAIT_S="0.5", DATABASE_URL=a.database_url, **common
        )
        started.append(b)
        email = f"{unique('admin')}@example.com"
        tenant_id = create_tenant(a, email, PASSWORD)
        admin = await login(a, email, PASSWORD)
        producer = AIOKafkaProducer(**kafka_options(KAFKA))
        await producer.start()
        yield {
            "identity": identity,
            "devices": devices,
            "a": a,
            "b": b,
            "tenant_id": tenant_id,
            "admin": admin,
            "producer": producer,
        }
        await producer.stop()
        await admin.aclose()
    finally:
        dropped = set()
        for service in reversed(started):
            # B shares A's database: dropped once, by the last one stopped.
            last = service is started[0] or service.name != "gateway" or service is a
            await service.stop(drop_database=last and service.database_url not in dropped)
            if last:
                dropped.add(service.database_url)


def pin_attempt(employee_id: str | None = None, pin: str = "604137", **extra) -> dict:
    PINS_SENT.add(pin)
    return {
        "attempt_id": str(uuid.uuid4()),
        "captured_at": datetime.now(UTC).isoformat(),
        "method": "PIN",
        "employee_id": employee_id or unique("E")[:20],
        "pin": pin,
        **extra,
    }


def jpeg(size: int = 600) -> bytes:
    return b"\xff\xd8\xff\xe0" + bytes(range(256)) * (size // 256) + b"\xff\xd9"


async def records_of(topic: str, attempt_id: str) -> list:
    return [
        r
        for r in await read_topic(KAFKA, topic)
        if (dict(r.headers or ()).get("correlation-id") or b"").decode() == attempt_id
    ]


async def published(topic: str, attempt_id: str, count: int = 1) -> list:
    async def found():
        records = await records_of(topic, attempt_id)
        return records if len(records) >= count else None

    return await wait_for(found, timeout=60, interval=0.3, what=f"the attempt on {topic}")


async def claims(system, attempt_id: str) -> int:
    conn = await asyncpg.connect(system["a"].admin_url)
    try:
        return await conn.fetchval(
            "SELECT count(*) FROM kiosk_attempts WHERE attempt_id = $1", uuid.UUID(attempt_id)
        )
    finally:
        await conn.close()


def recorded_event(attempt_id: str, clock_id: str, captured: datetime, **fields):
    event = punch_pb2.PunchRecorded(
        punch_id=str(uuid.uuid4()),
        attempt_id=attempt_id,
        worker_id=str(uuid.uuid4()),
        employee_id=fields.pop("employee_id", "E1"),
        worker_display_name=fields.pop("name", "Ana Pérez"),
        clock_id=clock_id,
        direction=fields.pop("direction", common_pb2.PUNCH_DIRECTION_IN),
        direction_inferred=fields.pop("direction_inferred", True),
        method=fields.pop("method", common_pb2.PUNCH_METHOD_PIN),
    )
    event.captured_at.FromDatetime(captured)
    event.received_at.GetCurrentTime()
    return event


async def publish_outcome(system, event, key: str | None = None) -> None:
    envelope = new_envelope(event, tenant_id=system["tenant_id"], producer="punch")
    key = key or f"{system['tenant_id']}/{getattr(event, 'worker_id', '') or event.attempt_id}"
    await system["producer"].send_and_wait(PUNCHES, encode_envelope(envelope), key=key.encode())


async def test_without_a_valid_credential_nothing_is_claimed_or_published(system):
    clock_id, credential = await register_clock(system["admin"])
    attempt = pin_attempt()
    secret = credential.removeprefix(f"pcc_{clock_id}_")
    for bad in (None, "Basic abc", f"pcc_{clock_id}_not-the-secret", credential[:-2], secret):
        headers = {}
        if bad == "Basic abc":
            headers = {"Authorization": bad}
        elif bad is not None:
            headers = {"Authorization": f"Bearer {bad}"}
        async with httpx.AsyncClient(base_url=system["a"].url, timeout=30) as http:
            response = await http.post("/kiosk/v1/punches", json=attempt, headers=headers)
            fetched = await http.get(f"/kiosk/v1/punches/{attempt['attempt_id']}", headers=headers)
        assert response.status_code == 401, (bad, response.text)
        assert response.json()["code"] == "CLOCK_UNAUTHORIZED"
        assert response.headers["www-authenticate"] == "Bearer"
        assert fetched.status_code == 401
    # Nor does a bad credential with a bad body get further than the credential.
    async with kiosk(system["a"], f"pcc_{clock_id}_x") as http:
        assert (await http.post("/punches", content=b"{")).status_code == 401
    await asyncio.sleep(1)  # what a claim would have published by now
    assert await claims(system, attempt["attempt_id"]) == 0
    assert await records_of(PIN_ATTEMPTS, attempt["attempt_id"]) == []


async def test_a_pin_attempt_is_sealed_published_once_and_answered(system):
    clock_id, credential = await register_clock(system["admin"])
    captured = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
    attempt = pin_attempt(
        "E-100",
        pin="604137",
        captured_at=captured.astimezone(MADRID).isoformat(),
        offline=True,
        direction="IN",
    )
    attempt_id = attempt["attempt_id"]
    async with kiosk(system["a"], credential) as http:
        waiting = asyncio.create_task(http.post("/punches", json=attempt))

        [record] = await published(PIN_ATTEMPTS, attempt_id)
        assert not waiting.done()  # A waits for the outcome
        assert record.key == f"{system['tenant_id']}/E-100".encode()
        assert b"604137" not in record.value and b"604137" not in (record.key or b"")
        envelope = decode_envelope(record.value)
        assert envelope.tenant_id == system["tenant_id"] and envelope.producer == "gateway"
        assert envelope.correlation_id == attempt_id
        event = unpack_payload(envelope)
        assert isinstance(event, kiosk_pb2.PinPunchAttempted)
        context = event.context
        assert context.attempt_id == attempt_id and context.clock_id == clock_id
        assert context.claimed_employee_id == "E-100"
        assert context.captured_at.ToDatetime(tzinfo=UTC) == captured
        assert context.received_at.ToDatetime(tzinfo=UTC) > captured
        assert context.captured_offline is True
        assert context.requested_direction == common_pb2.PUNCH_DIRECTION_IN
        # Sealed to identity's current key; only its private key opens it, bound to the attempt.
        assert event.sealed_pin.recipient_key_id == "dev-1"
        opened = SealedBox(PrivateKey(IDENTITY_DEV_PRIVATE_KEY)).decrypt(
            event.sealed_pin.ciphertext
        )
        assert opened == f"{attempt_id}:604137".encode()

        # Punch decides: the waiting request is answered with the worker and IN/OUT.
        outcome = recorded_event(attempt_id, clock_id, captured, employee_id="E-100")
        await publish_outcome(system, outcome)
        answer = await asyncio.wait_for(waiting, 30)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    local = captured.astimezone(MADRID).strftime("%H:%M")
    assert body == {
        "attempt_id": attempt_id,
        "status": "recorded",
        "punch": {
            "punch_id": outcome.punch_id,
            "worker_id": outcome.worker_id,
            "employee_id": "E-100",
            "display_name": "Ana Pérez",
            "direction": "IN",
            "direction_inferred": True,
            "punched_at": captured.isoformat(),
            "method": "PIN",
            "repeat": False,
        },
        "message": f"Ana Pérez: IN at {local}",
    }

    # The same attempt again, to either replica, and read back: the same answer, at once.
    for gateway in (system["a"], system["b"]):
        async with kiosk(gateway, credential) as http:
            again = await http.post("/punches", json=attempt)
            assert again.status_code == 200 and again.json() == body
            fetched = await http.get(f"/punches/{attempt_id}")
            assert fetched.status_code == 200 and fetched.json() == body
    await asyncio.sleep(1)
    assert len(await records_of(PIN_ATTEMPTS, attempt_id)) == 1
    assert await claims(system, attempt_id) == 1


async def test_the_replica_holding_the_request_answers_and_a_retry_elsewhere_too(system):
    """Sent to A and, while A waits, again to B (a kiosk retrying through another replica):
    one record; both are answered by the outcome, each replica following the topic."""
    clock_id, credential = await register_clock(system["admin"])
    attempt = pin_attempt()
    attempt_id = attempt["attempt_id"]
    async with kiosk(system["a"], credential) as a, kiosk(system["b"], credential) as b:
        on_a = asyncio.create_task(a.post("/punches", json=attempt))
        await published(PIN_ATTEMPTS, attempt_id)
        on_b = await b.post("/punches", json=attempt)  # B gives up after half a second
        assert on_b.status_code == 202 and on_b.json()["status"] == "pending"
        rejected = punch_pb2.PunchRejected(
            attempt_id=attempt_id,
            clock_id=clock_id,
            method=common_pb2.PUNCH_METHOD_PIN,
            reason=common_pb2.REJECT_REASON_NOT_ASSIGNED_TO_CLOCK,
            worker_id=str(uuid.uuid4()),
        )
        await publish_outcome(system, rejected, key=f"{system['tenant_id']}/{attempt_id}")
        answer = await asyncio.wait_for(on_a, 30)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {
            "attempt_id": attempt_id,
            "status": "rejected",
            "reason": "UNKNOWN_USER",
            "message": "Unknown User",
        }
        assert rejected.worker_id not in answer.text

        async def answered_on_b():
            response = await b.get(f"/punches/{attempt_id}")
            return response if response.status_code == 200 else None

        assert (await wait_for(answered_on_b, timeout=30)).json() == answer.json()
    assert len(await records_of(PIN_ATTEMPTS, attempt_id)) == 1


async def test_pending_after_the_wait_then_the_outcome_by_get(system):
    clock_id, credential = await register_clock(system["admin"])
    other_clock, other_credential = await register_clock(system["admin"], "Back door")
    attempt = pin_attempt("E-7", pin="24680")
    attempt_id = attempt["attempt_id"]
    async with kiosk(system["b"], credential) as http:
        first = await http.post("/punches", json=attempt)
        assert first.status_code == 202, first.text
        assert first.json() == {
            "attempt_id": attempt_id,
            "status": "pending",
            "result_url": f"/kiosk/v1/punches/{attempt_id}",
        }
        assert (
            await http.get(first.json()["result_url"].removeprefix("/kiosk/v1"))
        ).status_code == 202
        # Another clock of the tenant neither reads it nor may reuse its id.
        async with kiosk(system["b"], other_credential) as other:
            assert (await other.get(f"/punches/{attempt_id}")).status_code == 404
            reused = await other.post("/punches", json=attempt)
            assert reused.status_code == 409 and reused.json()["code"] == "ATTEMPT_ID_REUSED"
        assert (await http.get(f"/punches/{uuid.uuid4()}")).status_code == 404
        assert (await http.get("/punches/not-a-uuid")).status_code == 404

        locked_until = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=15)
        rejected = punch_pb2.PunchRejected(
            attempt_id=attempt_id,
            clock_id=clock_id,
            method=common_pb2.PUNCH_METHOD_PIN,
            reason=common_pb2.REJECT_REASON_LOCKED_OUT,
        )
        rejected.locked_until.FromDatetime(locked_until)
        await publish_outcome(system, rejected, key=f"{system['tenant_id']}/{attempt_id}")

        async def outcome():
            response = await http.get(f"/punches/{attempt_id}")
            return response if response.status_code == 200 else None

        body = (await wait_for(outcome, timeout=30, what="the outcome by GET")).json()
        assert body == {
            "attempt_id": attempt_id,
            "status": "rejected",
            "reason": "LOCKED_OUT",
            "locked_until": locked_until.isoformat(),
            "message": "PIN locked — ask your manager",
        }
        again = await http.post("/punches", json=attempt)
        assert again.status_code == 200 and again.json() == body
        # The same id with other content (here another Employee ID) is not the same attempt.
        changed = await http.post("/punches", json={**attempt, "employee_id": "E-8"})
        assert changed.status_code == 409 and changed.json()["field"] == "attempt_id"
        # A different PIN is the same attempt (the PIN is no part of the fingerprint): the
        # stored answer, nothing published again.
        PINS_SENT.add("97531")
        same = await http.post("/punches", json={**attempt, "pin": "97531"})
        assert same.status_code == 200 and same.json() == body
    await asyncio.sleep(1)
    assert len(await records_of(PIN_ATTEMPTS, attempt_id)) == 1


async def test_face_attempts(system):
    clock_id, credential = await register_clock(system["admin"])
    async with kiosk(system["b"], credential) as http:

        def face(frame: bytes | str, **extra) -> dict:
            text = frame if isinstance(frame, str) else base64.b64encode(frame).decode()
            return {
                "attempt_id": str(uuid.uuid4()),
                "captured_at": datetime.now(UTC).isoformat(),
                "method": "FACE",
                "frame_jpeg": text,
                **extra,
            }

        not_jpeg = await http.post("/punches", json=face(b"\x89PNG\r\n\x1a\n" + b"0" * 100))
        assert not_jpeg.status_code == 422
        assert not_jpeg.json() == {
            "code": "INVALID",
            "message": "frame_jpeg is not a JPEG image",
            "field": "frame_jpeg",
        }
        not_base64 = await http.post("/punches", json=face("not base64!"))
        assert not_base64.status_code == 422 and not_base64.json()["field"] == "frame_jpeg"
        too_big = await http.post("/punches", json=face(jpeg(MAX_FRAME + 1000)))
        assert too_big.status_code == 413 and too_big.json()["field"] == "frame_jpeg"
        body_too_big = await http.post("/punches", json=face(jpeg(MAX_FRAME * 4)))
        assert body_too_big.status_code == 413 and body_too_big.json()["code"] == "TOO_LARGE"
        PINS_SENT.add("13579")
        with_pin = await http.post("/punches", json=face(jpeg(), pin="13579"))
        assert with_pin.status_code == 422 and with_pin.json()["field"] == "pin"

        frame = jpeg(MAX_FRAME - 300)
        attempt = face(frame, employee_id="E-55", direction="OUT")
        answer = await http.post("/punches", json=attempt)
        assert answer.status_code == 202, answer.text
        [record] = await published(FACE_ATTEMPTS, attempt["attempt_id"])
        assert record.key == f"{system['tenant_id']}/{clock_id}".encode()
        event = unpack_payload(decode_envelope(record.value))
        assert isinstance(event, kiosk_pb2.FacePunchAttempted)
        assert event.frame_jpeg == frame
        assert event.context.clock_id == clock_id
        assert event.context.claimed_employee_id == "E-55"
        assert event.context.requested_direction == common_pb2.PUNCH_DIRECTION_OUT
        # The same frame again: the same attempt. Another frame under its id: not.
        assert (await http.post("/punches", json=attempt)).status_code == 202
        other = {**attempt, "frame_jpeg": base64.b64encode(jpeg(700)).decode()}
        assert (await http.post("/punches", json=other)).status_code == 409
        # A repeat within the double-tap window is answered like the earlier punch.
        earlier = recorded_event(
            str(uuid.uuid4()),
            clock_id,
            datetime.now(UTC) - timedelta(seconds=20),
            method=common_pb2.PUNCH_METHOD_FACE,
            direction=common_pb2.PUNCH_DIRECTION_OUT,
            direction_inferred=False,
        )
        repeated = punch_pb2.PunchRepeated(
            attempt_id=attempt["attempt_id"], clock_id=clock_id, earlier=earlier
        )
        await publish_outcome(system, repeated, key=f"{system['tenant_id']}/{earlier.worker_id}")

        async def outcome():
            response = await http.get(f"/punches/{attempt['attempt_id']}")
            return response if response.status_code == 200 else None

        body = (await wait_for(outcome, timeout=30, what="the repeat")).json()
        assert body["status"] == "recorded" and body["attempt_id"] == attempt["attempt_id"]
        assert body["punch"]["punch_id"] == earlier.punch_id
        assert body["punch"]["repeat"] is True and body["punch"]["method"] == "FACE"
        assert body["punch"]["direction"] == "OUT"
    assert len(await records_of(FACE_ATTEMPTS, attempt["attempt_id"])) == 1


async def whoami(replica, credential: str) -> httpx.Response:
    async with kiosk(replica, credential) as http:
        return await http.get("/whoami")


async def whoami_status(replica, credential: str) -> int:
    return (await whoami(replica, credential)).status_code


async def told(replica, credential: str, check) -> None:
    """``check`` (of the replica's whoami answer) holds once the clock's event reaches the
    replica that did not take the admin's request (the clocks topic, followed by every
    replica). Asked at growing intervals: whoami spends the clock's rate limit."""
    delay, deadline = 0.05, asyncio.get_running_loop().time() + 30
    while not check(answer := await whoami(replica, credential)):
        assert asyncio.get_running_loop().time() < deadline, answer.text
        await asyncio.sleep(delay)
        delay = min(delay * 2, 2.0)


def is_refused(answer: httpx.Response) -> bool:
    return answer.status_code == 401


async def kept_answers(replica) -> float:
    """How many times the replica answered who a credential is from what it kept."""
    async with httpx.AsyncClient() as http:
        text = (await http.get(replica.url + "/metrics")).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "punchcard_kiosk_clock_answers_total"
        and sample.labels.get("source") == "cache"
    )


async def test_revoked_and_rotated_clocks_are_refused_at_once(system):
    """Both replicas keep who a credential is (KIOSK_CLOCK_CACHE_S). The admin's requests go
    through A, which forgets the clock at once; B forgets it on the clock's event."""
    clock_id, credential = await register_clock(system["admin"])
    async with kiosk(system["b"], credential) as http:
        assert (await http.post("/punches", json=pin_attempt())).status_code == 202
    assert await whoami_status(system["a"], credential) == 200
    rotated = await system["admin"].post(f"/clocks/{clock_id}/credential")
    assert rotated.status_code == 200, rotated.text
    new_credential = rotated.json()["credential"]
    assert await whoami_status(system["a"], credential) == 401
    await told(system["b"], credential, is_refused)
    attempt = pin_attempt()
    async with kiosk(system["b"], credential) as http:
        refused = await http.post("/punches", json=attempt)
        assert refused.status_code == 401 and refused.json()["code"] == "CLOCK_UNAUTHORIZED"
    async with kiosk(system["b"], new_credential) as http:
        assert (await http.post("/punches", json=pin_attempt())).status_code == 202
    assert await whoami_status(system["a"], new_credential) == 200
    revoked = await system["admin"].post(f"/clocks/{clock_id}/revoke", json={"reason": "stolen"})
    assert revoked.status_code == 200, revoked.text
    assert await whoami_status(system["a"], new_credential) == 401
    await told(system["b"], new_credential, is_refused)
    async with kiosk(system["b"], new_credential) as http:
        refused = await http.post("/punches", json=attempt)
        assert refused.status_code == 401 and refused.json()["code"] == "CLOCK_UNAUTHORIZED"
    assert await claims(system, attempt["attempt_id"]) == 0


async def test_a_clock_renamed_elsewhere_is_asked_again(system):
    """A change that did not come through this gateway (here: device-sync's own admin API, as
    another replica would forward it) reaches the kept answer by its event alone."""
    clock_id, credential = await register_clock(system["admin"])
    kept = await kept_answers(system["b"])
    for _ in range(2):
        assert (await whoami(system["b"], credential)).json()["name"] != "Back door"
    assert await kept_answers(system["b"]) > kept  # the second answer was B's own
    async with httpx.AsyncClient(base_url=system["devices"].url + "/internal/v1") as http:
        renamed = await http.patch(
            f"/clocks/{clock_id}",
            json={"name": "Back door"},
            headers=admin_headers(system["tenant_id"], service="device-sync"),
        )
        assert renamed.status_code == 200, renamed.text
    await told(system["b"], credential, lambda answer: answer.json().get("name") == "Back door")


BAD_PIN = "918273"


@pytest.mark.parametrize(
    "body",
    [
        {"pin": BAD_PIN + "4"},  # too long
        {"pin": int(BAD_PIN)},  # a number
        {"pin": BAD_PIN[:3]},  # too short
        {"pin": BAD_PIN[:4] + "x"},
        {"employee_id": f"{BAD_PIN} {BAD_PIN}"},
        {"attempt_id": BAD_PIN},
        {"captured_at": BAD_PIN},
        {"direction": BAD_PIN},
        {"method": BAD_PIN},
        {"offline": BAD_PIN},
        {"pin": BAD_PIN, "frame_jpeg": BAD_PIN},
        {"pin": BAD_PIN, "method": "FACE", "frame_jpeg": BAD_PIN},
    ],
)
async def test_bad_input_never_echoes_the_pin(system, body):
    _, credential = await register_clock(system["admin"])
    PINS_SENT.update({BAD_PIN, BAD_PIN + "4"})
    attempt = {**pin_attempt(pin=BAD_PIN), **body}
    async with kiosk(system["a"], credential) as http:
        response = await http.post("/punches", json=attempt)
    assert response.status_code == 422, response.text
    assert set(response.json()) == {"code", "message", "field"}
    assert response.json()["code"] == "INVALID" and response.json()["field"]
    assert BAD_PIN not in response.text and BAD_PIN[:3] not in response.text


async def test_a_body_that_is_not_json_never_echoes_the_pin(system):
    _, credential = await register_clock(system["admin"])
    async with kiosk(system["a"], credential) as http:
        for raw in (
            b'{"pin": "918273", "method": "PIN",',
            b'["918273"]',
            b"918273",
            '{"pin": "918273\u00e9"}'.encode(),
        ):
            response = await http.post(
                "/punches", content=raw, headers={"content-type": "application/json"}
            )
            assert response.status_code == 422, response.text
            assert BAD_PIN not in response.text


async def test_a_card_attempt_is_sealed_keyed_by_the_clock_claimed_and_answered(system):
    clock_id, credential = await register_clock(system["admin"])
    card = "00" + str(uuid.uuid4().int)[:12]
    PINS_SENT.add(card)  # a credential too: in no log line either (the last test)
    attempt = {
        "attempt_id": str(uuid.uuid4()),
        "captured_at": datetime.now(UTC).isoformat(),
        "method": "CARD",
        "card": card,
    }
    attempt_id = attempt["attempt_id"]
    async with kiosk(system["a"], credential) as http:
        waiting = asyncio.create_task(http.post("/punches", json=attempt))
        [record] = await published(CARD_ATTEMPTS, attempt_id)
        # Keyed by the clock, never by the number; the number only sealed.
        assert record.key == f"{system['tenant_id']}/{clock_id}".encode()
        assert card.encode() not in record.value
        event = unpack_payload(decode_envelope(record.value))
        assert isinstance(event, kiosk_pb2.CardPunchAttempted)
        assert event.context.clock_id == clock_id and event.context.claimed_employee_id == ""
        opened = SealedBox(PrivateKey(IDENTITY_DEV_PRIVATE_KEY)).decrypt(
            event.sealed_card.ciphertext
        )
        assert opened == f"{attempt_id}:{card}".encode()
        captured = event.context.captured_at.ToDatetime(tzinfo=UTC)
        outcome = recorded_event(
            attempt_id, clock_id, captured, method=common_pb2.PUNCH_METHOD_CARD
        )
        await publish_outcome(system, outcome)
        answer = await asyncio.wait_for(waiting, 30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["punch"]["method"] == "CARD"
    assert card not in answer.text
    # The claim says CARD (migration 0006), and holds no number.
    conn = await asyncpg.connect(system["a"].admin_url)
    try:
        row = await conn.fetchrow(
            "SELECT method, fingerprint FROM kiosk_attempts WHERE attempt_id = $1",
            uuid.UUID(attempt_id),
        )
    finally:
        await conn.close()
    assert row["method"] == "CARD" and card.encode() not in row["fingerprint"]


async def test_zz_no_pin_in_any_gateway_log(system):
    """Last in this module: every PIN the tests sent (well-formed or not) is in no log line of
    either replica (they log at DEBUG)."""
    await asyncio.sleep(0.5)
    assert all(len(pin) >= 5 for pin in PINS_SENT)  # shorter ones could occur by chance
    for name in ("a", "b"):
        log = system[name].log_file.read_text()
        assert "kiosk punch" in log, name  # the replica did log its answers
        for pin in PINS_SENT:
            assert not re.search(rf"(?<![0-9A-Za-z.]){pin}(?![0-9A-Za-z.])", log), (name, pin)
