"""The kiosk edge's rate limits with real processes (identity, device-sync, gateway) on the real
PostgreSQL, Redis and Kafka; small limits (settings) so that a flood is a few requests.

- one clock's credential flooding PIN attempts gets 429 ``RATE_LIMITED`` with Retry-After in
  the one error shape, while another tenant's clock is still answered;
- a clock holds at most its long-polls at once (1 here): another is a 429, while another
  tenant's clock still long-polls; the slot is free again when the poll ends."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest

from tests.support.gateway import create_tenant, kiosk, login, register_clock
from tests.support.services import start_service
from tests.support.stack import unique

PASSWORD = "a long admin password"
PIN_PER_CLOCK = 4


@pytest.fixture(scope="module")
async def system(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kiosk_rate_limits")
    started = []
    try:
        identity = await start_service("identity", tmp)
        started.append(identity)
        devices = await start_service("device-sync", tmp)
        started.append(devices)
        gateway = await start_service(
            "gateway",
            tmp,
            IDENTITY_URL=identity.url,
            DEVICE_SYNC_URL=devices.url,
            KIOSK_WAIT_S="0.2",
            KIOSK_LIMIT_PIN_PER_CLOCK=str(PIN_PER_CLOCK),
            KIOSK_LIMIT_POLLS_PER_CLOCK="1",
        )
        started.append(gateway)
        clocks = []
        for _ in range(2):  # two tenants, one clock each
            email = f"{unique('admin')}@example.com"
            create_tenant(gateway, email, PASSWORD)
            async with await login(gateway, email, PASSWORD) as admin:
                clocks.append(await register_clock(admin, "Front door"))
        yield {"gateway": gateway, "clocks": clocks}
    finally:
        for service in reversed(started):
            await service.stop()


def pin_attempt() -> dict:
    return {
        "attempt_id": str(uuid.uuid4()),
        "captured_at": datetime.now(UTC).isoformat(),
        "method": "PIN",
        "employee_id": unique("BOGUS")[:20],
        "pin": "604137",
    }


async def test_one_credential_flooding_pin_attempts_gets_429_while_another_tenant_is_answered(
    system,
):
    gateway = system["gateway"]
    (_, flooding), (_, other) = system["clocks"]
    async with kiosk(gateway, flooding) as flood, kiosk(gateway, other) as calm:
        answers = [
            await flood.post("/punches", json=pin_attempt()) for _ in range(PIN_PER_CLOCK + 3)
        ]
        statuses = [a.status_code for a in answers]
        # Failed before: every one was accepted (no limit at all).
        assert statuses[:PIN_PER_CLOCK] == [202] * PIN_PER_CLOCK or all(
            s in (200, 202) for s in statuses[:PIN_PER_CLOCK]
        ), statuses
        assert statuses[PIN_PER_CLOCK:] == [429] * 3, statuses
        refused = answers[-1]
        body = refused.json()
        assert body["code"] == "RATE_LIMITED" and body["message"] and "field" in body
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        # Another tenant's clock is still answered, its attempts accepted.
        for _ in range(PIN_PER_CLOCK):
            answer = await calm.post("/punches", json=pin_attempt())
            assert answer.status_code in (200, 202), answer.text
        # The flooding clock may still ask for its earlier attempts' outcomes.
        first = answers[0].json()["attempt_id"]
        assert (await flood.get(f"/punches/{first}")).status_code in (200, 202)


async def test_a_clock_holds_at_most_its_long_polls_at_once(system):
    gateway = system["gateway"]
    (_, first), (_, second) = system["clocks"]
    body = {"applied_sequence": 0, "wait_s": 30}
    async with kiosk(gateway, first) as a, kiosk(gateway, second) as b:
        # Drain what the clock has queued, so that the next poll is held.
        drained = await a.post("/sync", json={"applied_sequence": 0, "wait_s": 0})
        assert drained.status_code == 200, drained.text
        after = drained.json()["last_sequence"]
        # Two long-polls of one clock at once: one is held (its wait ends with no command),
        # the other refused at once (failed before: both held).
        poll = {**body, "applied_sequence": after, "wait_s": 3}
        answers = await asyncio.gather(a.post("/sync", json=poll), a.post("/sync", json=poll))
        assert sorted(r.status_code for r in answers) == [200, 429], [r.text for r in answers]
        [refused] = [r for r in answers if r.status_code == 429]
        assert refused.json()["code"] == "RATE_LIMITED" and refused.headers["retry-after"]
        # Another tenant's clock still long-polls.
        other = await b.post("/sync", json={"applied_sequence": 0, "wait_s": 0})
        assert other.status_code == 200, other.text
        # Free again once the poll ended.
        again = await a.post("/sync", json={**poll, "wait_s": 0.5})
        assert again.status_code == 200, again.text


async def test_a_sync_that_waits_for_nothing_is_answered_while_the_clock_holds_its_polls(system):
    """``wait_s: 0`` is answered at once and never refused (docs/device-sync.md): through the
    edge too, it takes no long-poll slot. Failed before: 429 while the clock's poll was held."""
    gateway = system["gateway"]
    (_, first), _ = system["clocks"]
    async with kiosk(gateway, first) as a:
        drained = await a.post("/sync", json={"applied_sequence": 0, "wait_s": 0})
        assert drained.status_code == 200, drained.text
        after = drained.json()["last_sequence"]
        held = asyncio.create_task(a.post("/sync", json={"applied_sequence": after, "wait_s": 3}))
        await asyncio.sleep(1)
        assert not held.done()
        now = await a.post("/sync", json={"applied_sequence": after, "wait_s": 0})
        assert now.status_code == 200, now.text
        assert now.json()["commands"] == []
        assert (await held).status_code == 200
