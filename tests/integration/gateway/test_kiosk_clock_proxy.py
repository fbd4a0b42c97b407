"""The kiosk app's clock API through the gateway (same origin as the app): ``GET
/kiosk/v1/whoami``, ``POST /kiosk/v1/sync`` and ``POST /kiosk/v1/acks`` are passed to
device-sync's ``/clock/v1/…`` with the kiosk's own credential. Real identity, device-sync and
gateway processes on the real stack; clocks registered and workers assigned through the admin
API.

- whoami names the clock; no, a malformed, a forged or a revoked credential is a 401
  ``CLOCK_UNAUTHORIZED`` in the one error shape;
- sync answers the clock's commands (an assignment → ``UPSERT_WORKER`` with the profile), a
  held long-poll is answered when a command is queued, acks are recorded (alone or riding on
  the next sync), device-sync's 422 comes back as it is, its 429 with its Retry-After, an
  oversized body is a 413;
- device-sync unreachable → 503 ``UNAVAILABLE`` with Retry-After."""

from __future__ import annotations

import asyncio
import hashlib
import json

import httpx
import pytest

from tests.support.gateway import assign, create_tenant, kiosk, login, register_clock
from tests.support.messaging import wait_for
from tests.support.services import free_port, start_service
from tests.support.stack import unique

PASSWORD = "a long admin password"
EMPTY_DIGEST = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@pytest.fixture(scope="module")
async def system(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kiosk_clock_proxy")
    started = []
    try:
        identity = await start_service("identity", tmp)
        started.append(identity)
        devices = await start_service("device-sync", tmp)
        started.append(devices)
        gateway = await start_service(
            "gateway", tmp, IDENTITY_URL=identity.url, DEVICE_SYNC_URL=devices.url
        )
        started.append(gateway)
        email = f"{unique('admin')}@example.com"
        create_tenant(gateway, email, PASSWORD)
        admin = await login(gateway, email, PASSWORD)
        yield {"gateway": gateway, "devices": devices, "admin": admin, "tmp": tmp}
        await admin.aclose()
    finally:
        for service in reversed(started):
            await service.stop()


def roster_digest(profiles) -> str:
    """docs/device-sync.md's roster digest."""
    lines = sorted(
        json.dumps(p, sort_keys=True, separators=(",", ":"), ensure_ascii=False) for p in profiles
    )
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


async def new_worker(admin: httpx.AsyncClient, name: str = "Ana Pérez") -> dict:
    employee_id = unique("E")[:20]
    created = await admin.post(
        "/workers", json={"employee_id": employee_id, "name": name, "status": "Active"}
    )
    assert created.status_code == 201, created.text
    return created.json()


def sync_body(applied: int = 0, wait_s: float = 0, acks=(), digest: str = EMPTY_DIGEST) -> dict:
    return {
        "applied_sequence": applied,
        "roster_digest": digest,
        "software_version": "kiosk-app test",
        "acks": list(acks),
        "wait_s": wait_s,
    }


async def test_whoami_names_the_clock_and_refuses_bad_credentials(system):
    clock_id, credential = await register_clock(system["admin"], "Lobby tablet")
    async with kiosk(system["gateway"], credential) as http:
        answer = await http.get("/whoami")
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["clock_id"] == clock_id and body["name"] == "Lobby tablet"
    assert body["time_zone"] == "Europe/Madrid"

    for bad in (None, "not-a-clock", f"pcc_{clock_id}_forged"):
        async with kiosk(system["gateway"], bad) as http:
            for response in (
                await http.get("/whoami"),
                await http.post("/sync", json=sync_body()),
                await http.post("/acks", json={"acks": []}),
            ):
                assert response.status_code == 401, (bad, response.text)
                assert response.json()["code"] == "CLOCK_UNAUTHORIZED"
                assert response.headers["www-authenticate"] == "Bearer"

    revoked = await system["admin"].post(f"/clocks/{clock_id}/revoke", json={"reason": "lost"})
    assert revoked.status_code == 200, revoked.text
    async with kiosk(system["gateway"], credential) as http:
        assert (await http.get("/whoami")).status_code == 401
        refused = await http.post("/sync", json=sync_body())
        assert refused.status_code == 401 and refused.json()["code"] == "CLOCK_UNAUTHORIZED"


async def test_sync_delivers_commands_long_polls_and_records_acks(system):
    admin = system["admin"]
    clock_id, credential = await register_clock(admin)
    worker = await new_worker(admin)
    async with kiosk(system["gateway"], credential) as http:
        first = await http.post("/sync", json=sync_body())
        assert first.status_code == 200, first.text
        assert first.headers["cache-control"] == "no-store"
        assert first.json()["clock_id"] == clock_id
        applied = first.json()["last_sequence"]

        # A held long-poll is answered when the assignment queues a command.
        held = asyncio.create_task(http.post("/sync", json=sync_body(applied, wait_s=30)))
        assigned = await assign(admin, clock_id, worker["id"])
        assert assigned.status_code in (200, 201), assigned.text
        answer = await held
        assert answer.status_code == 200, answer.text
        commands = answer.json()["commands"]
        if not commands:  # the long-poll ended before the worker was known: ask again
            answer = await http.post("/sync", json=sync_body(applied, wait_s=30))
            commands = answer.json()["commands"]
        [command] = commands
        assert command["kind"] == "UPSERT_WORKER"
        assert command["worker"]["worker_id"] == worker["id"]
        assert command["worker"]["employee_id"] == worker["employee_id"]
        assert command["worker"]["display_name"] == "Ana Pérez"

        # The ack alone, through /acks; the clock's queue shows it applied.
        ack = {
            "command_id": command["command_id"],
            "sequence": command["sequence"],
            "result_code": 0,
            "detail": "",
        }
        recorded = await http.post("/acks", json={"acks": [ack]})
        assert recorded.status_code == 200, recorded.text

        async def acknowledged():
            queue = await admin.get(f"/clocks/{clock_id}/commands")
            assert queue.status_code == 200, queue.text
            [row] = [r for r in queue.json()["data"] if r["command_id"] == command["command_id"]]
            return row["acked_at"] is not None and row["result_code"] == 0

        await wait_for(acknowledged, timeout=30, what="the ack recorded by device-sync")
        # Riding on a sync is fine too (acknowledging twice is harmless).
        # With the roster digest of what it holds, nothing more comes; a wrong digest (here:
        # an empty roster's) gets a full resync — the digest reached device-sync.
        digest = roster_digest([command["worker"]])
        again = await http.post(
            "/sync", json=sync_body(command["sequence"], acks=[ack], digest=digest)
        )
        assert again.status_code == 200 and again.json()["commands"] == [], again.text
        wrong = await http.post("/sync", json=sync_body(command["sequence"]))
        assert [c["kind"] for c in wrong.json()["commands"]] == ["FULL_RESYNC", "UPSERT_WORKER"]


async def test_device_sync_refusals_and_bounds_come_back_in_the_error_shape(system):
    _, credential = await register_clock(system["admin"])
    async with kiosk(system["gateway"], credential) as http:
        invalid = await http.post("/sync", json=sync_body(wait_s=99))
        assert invalid.status_code == 422, invalid.text
        assert invalid.json()["code"] == "INVALID" and invalid.json()["field"] == "wait_s"
        not_json = await http.post(
            "/sync", content=b"{", headers={"content-type": "application/json"}
        )
        assert not_json.status_code == 422, not_json.text
        huge = json.dumps({**sync_body(), "software_version": "x" * (2 * 1024 * 1024)})
        too_large = await http.post(
            "/sync", content=huge, headers={"content-type": "application/json"}
        )
        assert too_large.status_code == 413 and too_large.json()["code"] == "TOO_LARGE"


async def test_device_sync_down_is_a_503(system):
    nowhere = f"http://127.0.0.1:{free_port()}"
    gateway = await start_service("gateway", system["tmp"], DEVICE_SYNC_URL=nowhere)
    try:
        async with kiosk(gateway, "pcc_00000000-0000-0000-0000-000000000000_secret") as http:
            for response in (
                await http.get("/whoami"),
                await http.post("/sync", json=sync_body()),
                await http.post("/acks", json={"acks": []}),
            ):
                assert response.status_code == 503, response.text
                assert response.json()["code"] == "UNAVAILABLE"
                assert response.headers["retry-after"]
    finally:
        await gateway.stop()


async def test_device_sync_429_comes_back_with_its_retry_after(system):
    """device-sync refuses a third long-poll of a clock (its own bound, per replica) with 429
    and ``Retry-After``; through the edge (whose own bound, here, is looser: Redis away, or a
    setting) the answer comes back as it is, the header too. Failed before: no Retry-After, so
    a kiosk told "429, send it again later" was not told when."""
    gateway = await start_service(
        "gateway",
        system["tmp"],
        IDENTITY_URL=system["gateway"].env["IDENTITY_URL"],
        DEVICE_SYNC_URL=system["devices"].url,
        KIOSK_LIMIT_POLLS_PER_CLOCK="5",
    )
    _, credential = await register_clock(system["admin"])
    try:
        async with kiosk(gateway, credential) as http:
            drained = await http.post("/sync", json=sync_body())
            applied = drained.json()["last_sequence"]
            held = [
                asyncio.create_task(http.post("/sync", json=sync_body(applied, wait_s=3)))
                for _ in range(2)
            ]
            await asyncio.sleep(1)
            refused = await http.post("/sync", json=sync_body(applied, wait_s=3))
            assert refused.status_code == 429, refused.text
            assert refused.json()["code"] == "RATE_LIMITED"
            assert int(refused.headers["retry-after"]) >= 1
            assert [(await poll).status_code for poll in held] == [200, 200]
    finally:
        await gateway.stop()
