"""The kiosk edge against the servers it asks, played by stand-ins (tiny apps under uvicorn) so
each can answer, fail or be gone: the real gateway app in process, on a real database.

- device-sync gone: 503 UNAVAILABLE with Retry-After, nothing claimed;
- identity gone before any key: a PIN attempt is a 503 and nothing is claimed (a face attempt
  needs no key); the key is refreshed (rotation), and a failed refresh keeps the key in hand;
- punch's outcome lookup: asked once after the wait with a "clock" caller token, its answer
  (protobuf JSON) becomes the kiosk's answer; 404, garbage, another attempt's outcome, or punch
  gone: pending;
- the claims under row-level security, and their pruning across tenants."""

from __future__ import annotations

import asyncio
import base64
import secrets
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from google.protobuf.json_format import MessageToDict
from nacl.public import PrivateKey, SealedBox
from punchcard.v1 import common_pb2, kiosk_pb2, punch_pb2
from punchcard_gateway.domain.kiosk import Claim
from punchcard_kit.internal_auth import audience_of, verify_internal_token
from punchcard_kit.messaging import decode_envelope, unpack_payload

from tests.support.databases import admin_url, role_of

from .conftest import INTERNAL_PUBLIC_KEY, free_port, running_gateway, serving


class Stand:
    """State the stand-ins answer from; tests change it as they go."""

    def __init__(self) -> None:
        self.clocks: dict[str, dict] = {}  # credential -> whoami body
        self.keys = {"k1": PrivateKey.generate()}
        self.current_key = "k1"
        self.identity_status = 200
        self.outcomes: dict[str, dict | str] = {}  # attempt id -> answer (or raw text)
        self.punch_callers: list = []
        self.key_fetches = 0

    def clock(self, tenant_id: str | None = None) -> tuple[str, str, str]:
        tenant_id = tenant_id or str(uuid.uuid4())
        clock_id = str(uuid.uuid4())
        credential = f"pcc_{clock_id}_{secrets.token_urlsafe(32)}"
        self.clocks[credential] = {
            "tenant_id": tenant_id,
            "clock_id": clock_id,
            "name": "Front door",
            "site_id": "north",
            "time_zone": "Europe/Madrid",
        }
        return tenant_id, clock_id, credential


def stand_in_apps(stand: Stand) -> tuple[FastAPI, FastAPI, FastAPI]:
    devices, identity, punch = FastAPI(), FastAPI(), FastAPI()

    @devices.get("/clock/v1/whoami")
    async def whoami(request: Request) -> JSONResponse:
        credential = request.headers.get("authorization", "").removeprefix("Bearer ")
        clock = stand.clocks.get(credential)
        if clock is None:
            return JSONResponse({"code": "CLOCK_UNAUTHORIZED"}, 401)
        return JSONResponse(clock)

    @identity.get("/internal/v1/pin-sealing-key")
    async def sealing_key() -> JSONResponse:
        stand.key_fetches += 1
        if stand.identity_status != 200:
            return JSONResponse({"code": "UNAVAILABLE"}, stand.identity_status)
        key = stand.keys[stand.current_key].public_key
        return JSONResponse(
            {"key_id": stand.current_key, "public_key": base64.b64encode(bytes(key)).decode()}
        )

    @punch.get("/internal/v1/attempts/{attempt_id}")
    async def outcome(attempt_id: str, request: Request):
        token = request.headers["authorization"].removeprefix("Bearer ")
        stand.punch_callers.append(
            verify_internal_token(token, INTERNAL_PUBLIC_KEY, audience_of("punch"))
        )
        answer = stand.outcomes.get(attempt_id)
        if answer is None:
            return JSONResponse({"code": "ATTEMPT_NOT_FOUND", "message": "", "field": None}, 404)
        if isinstance(answer, str):
            return JSONResponse(content=None, status_code=200, headers={"x": answer})
        return JSONResponse(answer)

    return devices, identity, punch


@pytest.fixture
async def stands():
    stand = Stand()
    devices, identity, punch = stand_in_apps(stand)
    async with serving(devices) as d, serving(identity) as i, serving(punch) as p:
        yield stand, {"device_sync_url": d, "identity_url": i, "punch_url": p}


def pin_attempt(**extra) -> dict:
    return {
        "attempt_id": str(uuid.uuid4()),
        "captured_at": datetime.now(UTC).isoformat(),
        "method": "PIN",
        "employee_id": "E-1",
        "pin": "482913",
        **extra,
    }


def face_attempt() -> dict:
    return {
        "attempt_id": str(uuid.uuid4()),
        "captured_at": datetime.now(UTC).isoformat(),
        "method": "FACE",
        "frame_jpeg": base64.b64encode(b"\xff\xd8\xff\xe0" + b"x" * 64).decode(),
    }


async def claimed(dsn: str, attempt_id: str) -> bool:
    conn = await asyncpg.connect(admin_url(dsn))
    try:
        return bool(
            await conn.fetchval(
                "SELECT count(*) FROM kiosk_attempts WHERE attempt_id = $1", uuid.UUID(attempt_id)
            )
        )
    finally:
        await conn.close()


async def outbox_event(dsn: str, attempt_id: str):
    conn = await asyncpg.connect(admin_url(dsn))
    try:
        rows = await conn.fetch(
            "SELECT topic, key, value FROM outbox WHERE headers @> $1::jsonb",
            f'[["correlation-id", "{attempt_id}"]]',
        )
    finally:
        await conn.close()
    return [
        (r["topic"], bytes(r["key"]).decode(), decode_envelope(bytes(r["value"]))) for r in rows
    ]


def auth(credential: str) -> dict:
    return {"Authorization": f"Bearer {credential}"}


async def test_device_sync_gone_is_503_and_nothing_is_claimed(gateway_dsn, stands, capfd):
    stand, urls = stands
    _, _, credential = stand.clock()
    dead = f"http://127.0.0.1:{free_port()}"
    attempt = pin_attempt()
    async with running_gateway(gateway_dsn, urls["identity_url"], dead) as (_, http):
        response = await http.post("/kiosk/v1/punches", json=attempt, headers=auth(credential))
        fetched = await http.get(
            f"/kiosk/v1/punches/{attempt['attempt_id']}", headers=auth(credential)
        )
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    assert response.json() == {
        "code": "UNAVAILABLE",
        "message": "the device-sync service is unavailable; try again",
        "field": None,
    }
    assert fetched.status_code == 503
    assert not await claimed(gateway_dsn, attempt["attempt_id"])
    err = capfd.readouterr().err
    assert "device-sync unavailable" in err and credential not in err
    assert stand.key_fetches == 0  # nothing about the attempt was done


async def test_identity_gone_refuses_pin_attempts_only(gateway_dsn, stands):
    stand, urls = stands
    _, _, credential = stand.clock()
    dead = f"http://127.0.0.1:{free_port()}"
    overrides = {"punch_url": urls["punch_url"], "kiosk_wait_s": 0.2}
    async with running_gateway(gateway_dsn, dead, urls["device_sync_url"], **overrides) as (
        _,
        http,
    ):
        attempt = pin_attempt()
        response = await http.post("/kiosk/v1/punches", json=attempt, headers=auth(credential))
        assert response.status_code == 503 and response.headers["retry-after"] == "2"
        assert response.json()["code"] == "UNAVAILABLE"
        assert "identity" in response.json()["message"]
        assert not await claimed(gateway_dsn, attempt["attempt_id"])
        face = face_attempt()
        answered = await http.post("/kiosk/v1/punches", json=face, headers=auth(credential))
        assert answered.status_code == 202, answered.text
        assert await claimed(gateway_dsn, face["attempt_id"])


async def test_the_sealing_key_is_refreshed_and_kept_when_identity_fails(gateway_dsn, stands):
    stand, urls = stands
    tenant_id, clock_id, credential = stand.clock()
    overrides = {
        "punch_url": urls["punch_url"],
        "kiosk_wait_s": 0.1,
        "pin_sealing_key_refresh_s": 1,
    }
    async with running_gateway(
        gateway_dsn, urls["identity_url"], urls["device_sync_url"], **overrides
    ) as (app, http):

        async def sealed_with(attempt: dict) -> str:
            response = await http.post("/kiosk/v1/punches", json=attempt, headers=auth(credential))
            assert response.status_code == 202, response.text
            [(topic, key, envelope)] = await outbox_event(gateway_dsn, attempt["attempt_id"])
            assert topic == "punchcard.kiosk.pin-attempts.v1"
            assert key == f"{tenant_id}/E-1"
            event = unpack_payload(envelope)
            assert isinstance(event, kiosk_pb2.PinPunchAttempted)
            assert event.context.clock_id == clock_id
            box = event.sealed_pin
            opened = SealedBox(stand.keys[box.recipient_key_id]).decrypt(box.ciphertext)
            assert opened == f"{attempt['attempt_id']}:482913".encode()
            return box.recipient_key_id

        assert await sealed_with(pin_attempt()) == "k1"
        assert await sealed_with(pin_attempt()) == "k1"
        assert stand.key_fetches == 1  # kept in memory
        stand.keys["k2"] = PrivateKey.generate()
        stand.current_key = "k2"
        await asyncio.sleep(1.1)  # the refresh interval
        assert await sealed_with(pin_attempt()) == "k2"
        assert stand.key_fetches == 2
        # identity answers 503 at the next refresh: the key in hand is used.
        stand.identity_status = 503
        await asyncio.sleep(1.1)
        assert await sealed_with(pin_attempt()) == "k2"
        assert stand.key_fetches == 3


async def test_the_outcome_is_asked_of_punch_once_after_the_wait(gateway_dsn, stands):
    stand, urls = stands
    tenant_id, clock_id, credential = stand.clock()
    overrides = {"punch_url": urls["punch_url"], "kiosk_wait_s": 0.2}
    async with running_gateway(
        gateway_dsn, urls["identity_url"], urls["device_sync_url"], **overrides
    ) as (_, http):
        # 1. Punch knows it: recorded, from its protobuf JSON.
        attempt = pin_attempt()
        attempt_id = attempt["attempt_id"]
        recorded = punch_pb2.PunchRecorded(
            punch_id=str(uuid.uuid4()),
            attempt_id=attempt_id,
            worker_id=str(uuid.uuid4()),
            employee_id="E-1",
            worker_display_name="Bo Li",
            clock_id=clock_id,
            direction=common_pb2.PUNCH_DIRECTION_OUT,
            method=common_pb2.PUNCH_METHOD_PIN,
        )
        recorded.captured_at.FromDatetime(datetime(2026, 3, 2, 16, 30, tzinfo=UTC))
        stand.outcomes[attempt_id] = {
            "type": "punchcard.v1.PunchRecorded",
            "payload": MessageToDict(recorded, preserving_proto_field_name=True),
        }
        response = await http.post("/kiosk/v1/punches", json=attempt, headers=auth(credential))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "recorded" and body["punch"]["display_name"] == "Bo Li"
        assert body["punch"]["direction"] == "OUT" and body["punch"]["repeat"] is False
        assert body["message"] == "Bo Li: OUT at 17:30"  # the clock's time zone (Madrid)
        [caller] = stand.punch_callers
        assert (caller.role, caller.user_id, caller.tenant_id) == ("clock", clock_id, tenant_id)
        # Stored with the claim: asked again, punch is not asked again.
        again = await http.post("/kiosk/v1/punches", json=attempt, headers=auth(credential))
        assert again.json() == body and len(stand.punch_callers) == 1

        # 2. Punch does not know it yet (404), answers garbage, or another attempt: pending.
        for answer in (
            None,
            "not json",
            {"type": "punchcard.v1.Nope", "payload": {}},
            {"type": "punchcard.v1.PunchRejected", "payload": {"attempt_id": "other"}},
            {"type": "punchcard.v1.PunchRejected", "payload": {"reason": 12345678901}},
        ):
            attempt = pin_attempt()
            if answer is not None:
                stand.outcomes[attempt["attempt_id"]] = answer
            response = await http.post("/kiosk/v1/punches", json=attempt, headers=auth(credential))
            assert response.status_code == 202, (answer, response.text)
            assert response.json()["status"] == "pending"

        # 3. A rejection, via GET once punch has decided.
        attempt = pin_attempt()
        pending = await http.post("/kiosk/v1/punches", json=attempt, headers=auth(credential))
        assert pending.status_code == 202
        rejected = punch_pb2.PunchRejected(
            attempt_id=attempt["attempt_id"],
            clock_id=clock_id,
            reason=common_pb2.REJECT_REASON_WRONG_PIN,
            attempts_remaining=1,
        )
        stand.outcomes[attempt["attempt_id"]] = {
            "type": "punchcard.v1.PunchRejected",
            "payload": MessageToDict(rejected, preserving_proto_field_name=True),
        }
        fetched = await http.get(
            f"/kiosk/v1/punches/{attempt['attempt_id']}", headers=auth(credential)
        )
        assert fetched.status_code == 200
        assert fetched.json() == {
            "attempt_id": attempt["attempt_id"],
            "status": "rejected",
            "reason": "WRONG_PIN",
            "attempts_remaining": 1,
            "message": "Wrong PIN — 1 try left",
        }

        metrics = (await http.get("/metrics")).text
        assert "punchcard_kiosk_wait_seconds_bucket" in metrics
        assert 'punchcard_kiosk_answers_total{status="recorded"}' in metrics
        assert 'punchcard_kiosk_answers_total{status="pending"}' in metrics


async def test_punch_gone_is_pending_with_a_warning(gateway_dsn, stands, capfd):
    stand, urls = stands
    _, _, credential = stand.clock()
    overrides = {"punch_url": f"http://127.0.0.1:{free_port()}", "kiosk_wait_s": 0.1}
    async with running_gateway(
        gateway_dsn, urls["identity_url"], urls["device_sync_url"], **overrides
    ) as (_, http):
        attempt = pin_attempt()
        response = await http.post("/kiosk/v1/punches", json=attempt, headers=auth(credential))
        fetched = await http.get(
            f"/kiosk/v1/punches/{attempt['attempt_id']}", headers=auth(credential)
        )
    assert response.status_code == 202 and fetched.status_code == 202
    assert "punch unavailable" in capfd.readouterr().err


async def test_claims_under_row_level_security_and_their_pruning(gateway_dsn, stands):
    stand, urls = stands
    async with running_gateway(gateway_dsn, urls["identity_url"], urls["device_sync_url"]) as (
        app,
        _,
    ):
        store = app.state.gateway.kiosk.store
        tenants = [str(uuid.uuid4()), str(uuid.uuid4())]
        now = datetime.now(UTC)
        made = {}
        for tenant in tenants:
            for age_days in (0, 31, 45):
                attempt_id = str(uuid.uuid4())
                claim = Claim(
                    tenant_id=tenant,
                    attempt_id=attempt_id,
                    clock_id=str(uuid.uuid4()),
                    method="FACE",
                    fingerprint=bytes(32),
                    received_at=now - timedelta(days=age_days),
                )
                assert await store.claim(claim, []) is None
                made[(tenant, age_days)] = attempt_id
        # A claim is made once; the second time it is returned, unchanged.
        again = await store.claim(
            Claim(tenants[0], made[(tenants[0], 0)], "other", "PIN", b"\x01" * 32, now), []
        )
        assert again is not None and again.fingerprint == bytes(32) and again.outcome is None

        conn = await asyncpg.connect(admin_url(gateway_dsn))
        try:
            async with conn.transaction():
                await conn.execute(f"SET LOCAL ROLE {await role_of(conn)}")
                await conn.execute(f"SET LOCAL app.tenant_id = '{tenants[0]}'")
                seen = {
                    str(r[0])
                    for r in await conn.fetch(
                        "SELECT tenant_id FROM kiosk_attempts WHERE tenant_id = ANY($1::uuid[])",
                        tenants,
                    )
                }
                assert seen == {tenants[0]}
                # Only the outcome may change, and the app may not delete.
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    async with conn.transaction():
                        await conn.execute("UPDATE kiosk_attempts SET fingerprint = $1", b"")
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    async with conn.transaction():
                        await conn.execute("DELETE FROM kiosk_attempts")
                # Nor write into another tenant.
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    async with conn.transaction():
                        await conn.execute(
                            "INSERT INTO kiosk_attempts (tenant_id, attempt_id, clock_id,"
                            " method, fingerprint, received_at) VALUES ($1, $2, 'c', 'PIN',"
                            " $3, now())",
                            uuid.UUID(tenants[1]),
                            uuid.uuid4(),
                            bytes(32),
                        )
        finally:
            await conn.close()

        # Pruning: every tenant's claims past 30 days; the rest stay.
        assert await store.prune(30) >= 4
        for (tenant, age_days), attempt_id in made.items():
            kept = await store.get(tenant, attempt_id)
            assert (kept is not None) == (age_days == 0), (tenant, age_days)
