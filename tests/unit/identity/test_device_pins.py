"""'Hardware clocks may verify PINs' (identity's side, on fakes): the tenant switch is
sysadmin-only and off by default; while it is on a PIN set is also sealed to device-sync on
the device-pins topic (opened only with device-sync's key, bound to the worker, never in the
clear); removal, deactivation and switching off publish tombstones."""

from __future__ import annotations

import uuid

import pytest
from nacl.public import PrivateKey
from punchcard.v1 import identity_pb2
from punchcard_identity.adapters.sealing import DevicePinSealer
from punchcard_identity.domain.model import WorkerStatus
from punchcard_identity.service_layer import workers as uc
from punchcard_kit.errors import Conflict, Forbidden
from punchcard_kit.messaging.envelope import unpack_payload
from punchcard_kit.sealing import SealedOpener, UnsealError, device_pin_binding

from .fakes import FakeCounters, FakeHasher, FakeUnitOfWork, Store
from .test_workers import ADMIN, MANAGER, TENANT

DEVICE_KEY = bytes(range(32))


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture
def s(store) -> uc.Services:
    sealer = DevicePinSealer(bytes(PrivateKey(DEVICE_KEY).public_key), "dp-1")
    return uc.Services(
        uow=lambda tenant: FakeUnitOfWork(store, tenant),
        hasher=FakeHasher(),
        counters=FakeCounters(),
        device_pins=sealer,
    )


def device_pins(store: Store) -> list[tuple[str, object]]:
    return [(key, env) for topic, key, env in store.outbox if topic == uc.DEVICE_PINS_TOPIC]


async def worker(s) -> str:
    command = uc.RegisterWorker(f"E{uuid.uuid4().hex[:6]}", "Ada", status=WorkerStatus.ACTIVE)
    return (await uc.register_worker(s, ADMIN, command)).id


async def test_off_by_default_no_pin_is_sealed(s, store):
    w = await worker(s)
    await uc.set_pin(s, ADMIN, uc.SetPin(w, "8351"))
    assert device_pins(store) == []
    policy = await uc.set_pin_policy(s, ADMIN, uc.SetPinPolicy(None))
    assert policy == uc.PinPolicy(None, False, 0)


async def test_the_switch_is_sysadmin_only(s, store):
    with pytest.raises(Forbidden):
        await uc.set_pin_policy(s, MANAGER, uc.SetPinPolicy(None, True))
    assert store.devices_verify_pins == {}


async def test_switch_on_without_a_device_key_is_a_conflict(store):
    s = uc.Services(lambda t: FakeUnitOfWork(store, t), FakeHasher(), FakeCounters())
    with pytest.raises(Conflict) as caught:
        await uc.set_pin_policy(s, ADMIN, uc.SetPinPolicy(None, True))
    assert caught.value.code == "DEVICE_PINS_NOT_CONFIGURED"
    assert store.devices_verify_pins == {}


async def test_while_on_a_pin_is_sealed_to_device_sync_bound_to_the_worker(s, store):
    w = await worker(s)
    await uc.set_pin(s, ADMIN, uc.SetPin(w, "8351"))  # before: not on devices
    policy = await uc.set_pin_policy(s, ADMIN, uc.SetPinPolicy(180, True))
    assert policy == uc.PinPolicy(180, True, 1)
    await uc.set_pin(s, ADMIN, uc.SetPin(w, "4725"))
    [(key, envelope)] = device_pins(store)
    assert key == f"{TENANT}/{w}"
    assert envelope.type == "punchcard.v1.DevicePinSealed"
    assert b"4725" not in envelope.SerializeToString()
    sealed = unpack_payload(envelope)
    assert isinstance(sealed, identity_pb2.DevicePinSealed)
    assert sealed.worker_id == w and sealed.sealed_pin.recipient_key_id == "dp-1"
    opener = SealedOpener({"dp-1": DEVICE_KEY}, "dp-1")
    box = sealed.sealed_pin.ciphertext
    assert opener.open("dp-1", box, device_pin_binding(TENANT, w)) == "4725"
    with pytest.raises(UnsealError):  # copied to another worker: does not open
        opener.open("dp-1", box, device_pin_binding(TENANT, "someone-else"))
    assert (await uc.set_pin_policy(s, ADMIN, uc.SetPinPolicy(180))).pins_not_on_devices == 0


async def test_removal_deactivation_and_switching_off_publish_tombstones(s, store):
    await uc.set_pin_policy(s, ADMIN, uc.SetPinPolicy(None, True))
    a, b, c = await worker(s), await worker(s), await worker(s)
    for w, pin in ((a, "8351"), (b, "4725"), (c, "9164")):
        await uc.set_pin(s, ADMIN, uc.SetPin(w, pin))
    await uc.remove_pin(s, ADMIN, uc.RemovePin(a))
    assert device_pins(store)[-1] == (f"{TENANT}/{a}", None)
    update = uc.UpdateWorker(b, {"status": WorkerStatus.INACTIVE})
    await uc.update_worker(s, ADMIN, update)
    assert device_pins(store)[-1] == (f"{TENANT}/{b}", None)
    store.outbox.clear()
    off = await uc.set_pin_policy(s, ADMIN, uc.SetPinPolicy(None, False))
    assert off == uc.PinPolicy(None, False, 0)
    assert device_pins(store) == [(f"{TENANT}/{c}", None)]


async def test_a_policy_change_that_leaves_max_age_out_keeps_it(s, store):
    await uc.set_pin_policy(s, ADMIN, uc.SetPinPolicy(90))
    kept = await uc.set_pin_policy(s, ADMIN, uc.SetPinPolicy(None, False, change_max_age=False))
    assert kept.max_age_days == 90
    cleared = await uc.set_pin_policy(s, ADMIN, uc.SetPinPolicy(None))
    assert cleared.max_age_days is None
