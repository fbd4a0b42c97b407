"""Who a kiosk's credential is, kept by the edge (adapters.kiosk.CachedClocks) on a fake
device-sync and a fake clock: kept for its time, forgotten when its clock changes (the clocks
topic's events, the admin's request), never kept across a change it may predate, nor while
the events are not followed; refusals never kept; the memory bounded."""

import asyncio
import uuid

import pytest
from punchcard.v1 import device_pb2
from punchcard_gateway.adapters.kiosk import CachedClocks
from punchcard_gateway.domain.kiosk import (
    Clock,
    ClockUnauthorized,
    ends_clock_answers,
    request_changes_clock,
)
from punchcard_gateway.service_layer.kiosk import KioskEdge
from punchcard_kit.contract_enums import message_type
from punchcard_kit.messaging import Message, new_envelope

TENANT = str(uuid.uuid4())


class FakeDeviceSync:
    def __init__(self) -> None:
        self.clocks: dict[str, Clock] = {}
        self.asked: list[str] = []
        self.gate: asyncio.Event | None = None  # set: answers wait for it

    def add(self, credential: str, clock_id: str | None = None) -> Clock:
        clock = Clock(TENANT, clock_id or str(uuid.uuid4()), name="Door")
        self.clocks[credential] = clock
        return clock

    async def whoami(self, credential: str) -> Clock:
        self.asked.append(credential)
        if self.gate is not None:
            await self.gate.wait()
        clock = self.clocks.get(credential)
        if clock is None:
            raise ClockUnauthorized()
        return clock

    def forget(self, tenant_id: str, clock_id: str) -> None:
        pass


class Now:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def parts():
    devices, now = FakeDeviceSync(), Now()
    state = {"live": True}
    cache = CachedClocks(devices, ttl_s=60, live=lambda: state["live"], max_entries=3, clock=now)
    return cache, devices, now, state


async def test_an_answer_is_kept_for_its_time(parts):
    cache, devices, now, _ = parts
    clock = devices.add("pcc_a")
    assert await cache.whoami("pcc_a") == clock
    now.t += 59
    assert await cache.whoami("pcc_a") == clock
    assert devices.asked == ["pcc_a"]
    now.t += 2
    assert await cache.whoami("pcc_a") == clock
    assert devices.asked == ["pcc_a", "pcc_a"]


async def test_the_credential_itself_is_not_what_is_kept(parts):
    cache, devices, _, _ = parts
    devices.add("pcc_secret")
    await cache.whoami("pcc_secret")
    assert all(b"pcc_secret" not in key for key in cache._answers)


async def test_a_refusal_is_never_kept(parts):
    cache, devices, _, _ = parts
    for _ in range(2):
        with pytest.raises(ClockUnauthorized):
            await cache.whoami("pcc_forged")
    assert devices.asked == ["pcc_forged", "pcc_forged"] and len(cache) == 0


async def test_a_changed_clock_is_forgotten_with_every_credential_of_it(parts):
    cache, devices, _, _ = parts
    old = devices.add("pcc_old")
    devices.add("pcc_new", clock_id=old.clock_id)
    other = devices.add("pcc_other")
    for credential in ("pcc_old", "pcc_new", "pcc_other"):
        await cache.whoami(credential)
    del devices.clocks["pcc_old"]  # rotated
    cache.forget(TENANT.upper(), old.clock_id.upper())  # as an admin's URL may spell them
    with pytest.raises(ClockUnauthorized):
        await cache.whoami("pcc_old")
    assert await cache.whoami("pcc_other") == other
    assert devices.asked.count("pcc_other") == 1  # another clock's answer stays


async def test_an_answer_asked_before_a_change_and_received_after_it_is_not_kept(parts):
    cache, devices, _, _ = parts
    clock = devices.add("pcc_a")
    devices.gate = asyncio.Event()
    asking = asyncio.create_task(cache.whoami("pcc_a"))
    await asyncio.sleep(0)
    cache.forget(TENANT, clock.clock_id)  # revoked while device-sync was answering
    devices.gate.set()
    assert await asking == clock
    assert len(cache) == 0


async def test_nothing_is_kept_or_used_while_the_changes_are_not_followed(parts):
    cache, devices, _, state = parts
    devices.add("pcc_a")
    await cache.whoami("pcc_a")
    state["live"] = False  # Kafka down: a change may be missed
    await cache.whoami("pcc_a")
    await cache.whoami("pcc_a")
    assert devices.asked == ["pcc_a"] * 3 and len(cache) == 0
    state["live"] = True
    await cache.whoami("pcc_a")
    await cache.whoami("pcc_a")
    assert len(devices.asked) == 4


async def test_off_when_its_time_is_zero():
    devices = FakeDeviceSync()
    devices.add("pcc_a")
    cache = CachedClocks(devices, ttl_s=0, live=lambda: True)
    await cache.whoami("pcc_a")
    await cache.whoami("pcc_a")
    assert len(devices.asked) == 2 and len(cache) == 0


async def test_the_least_recently_used_go_first(parts):
    cache, devices, _, _ = parts
    for name in ("a", "b", "c"):
        devices.add(f"pcc_{name}")
        await cache.whoami(f"pcc_{name}")
    await cache.whoami("pcc_a")  # used again: b is now the oldest
    devices.add("pcc_d")
    await cache.whoami("pcc_d")
    assert len(cache) == 3 and len(cache._of_clock) == 3
    await cache.whoami("pcc_b")
    assert devices.asked.count("pcc_b") == 2 and devices.asked.count("pcc_a") == 1


def event(payload) -> Message:
    envelope = new_envelope(payload, tenant_id=TENANT, producer="device-sync")
    return Message("punchcard.device.clocks.v1", 0, 0, b"k", envelope)


@pytest.mark.parametrize(
    ("payload", "forgets"),
    [
        (device_pb2.ClockUpdated(clock_id="c1", name="Back door"), True),
        (device_pb2.ClockRevoked(clock_id="c1", reason="stolen"), True),
        (device_pb2.ClockCredentialRotated(clock_id="c1"), True),
        (device_pb2.ClockRegistered(clock_id="c1"), False),
        (device_pb2.WorkerAssignedToClock(clock_id="c1", worker_id="w1"), False),
    ],
)
async def test_the_edge_forgets_a_clock_on_its_changes_only(parts, payload, forgets):
    cache, devices, _, _ = parts
    devices.add("pcc_a", clock_id="c1")
    edge = KioskEdge(clocks=cache, sealer=None, store=None, lookup=None)
    await edge.authenticate("pcc_a")
    assert ends_clock_answers(message_type(type(payload))) is forgets
    await edge.on_clock_event(event(payload))
    assert len(cache) == (0 if forgets else 1)


@pytest.mark.parametrize(
    ("method", "template", "status", "changes"),
    [
        ("PATCH", "/api/v1/clocks/{id}", 200, True),
        ("POST", "/api/v1/clocks/{id}/revoke", 200, True),
        ("POST", "/api/v1/clocks/{id}/credential", 200, True),
        ("POST", "/api/v1/clocks/{id}/revoke", 404, False),  # refused: nothing changed
        ("GET", "/api/v1/clocks/{id}", 200, False),
        ("PUT", "/api/v1/clocks/{id}/workers/{worker_id}", 200, False),
        ("POST", "/api/v1/clocks", 201, False),
    ],
)
def test_which_admin_requests_change_a_clock(method, template, status, changes):
    assert request_changes_clock(method, template, status) is changes
