"""PINs on hardware clocks that verify them (device-sync's side, on fakes): Passwd= only on
an opted-in ZK clock, only for a worker whose profile allows PIN, opened at delivery (the
queue holds no PIN); a sealed PIN stored, replaced or deleted and a clock opted in or out
re-queue UPSERT_WORKER; the opt-in is sysadmin-only and for ZK clocks only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from nacl.public import PrivateKey
from punchcard_device_sync.domain import zk
from punchcard_device_sync.domain.model import Command, CommandKind
from punchcard_device_sync.service_layer import device_pins
from punchcard_kit.errors import Conflict, Forbidden
from punchcard_kit.internal_auth import Caller
from punchcard_kit.sealing import SealedOpener, UnsealError, device_pin_binding, seal_bound

from .fakes import Assignment, Store, factory
from .test_zk_edge import TENANT, edge, zk_clock

KEY = bytes(range(1, 33))
PUBLIC = bytes(PrivateKey(KEY).public_key)
ADMIN = Caller(tenant_id=TENANT, user_id="admin", role="sysadmin")
MANAGER = Caller(tenant_id=TENANT, user_id="boss", role="manager")


def profile(**kw) -> dict:
    return {"employee_id": "E5", "display_name": "Ana", "allowed_methods": ["PIN"], **kw}


def test_userinfo_carries_the_pin_only_when_given_and_allowed():
    assert "\tPasswd=\t" in zk.userinfo_update(profile())
    assert "\tPasswd=4725\t" in zk.userinfo_update(profile(), "4725")
    assert "\tPasswd=\t" in zk.userinfo_update(profile(allowed_methods=["FACE"]), "4725")
    # never anything that is not a PIN (no tab, no command injection)
    assert "\tPasswd=\t" in zk.userinfo_update(profile(), "47\t25")
    assert "\tPasswd=\t" in zk.userinfo_update(profile(), "123456789")


def test_the_sealed_box_opens_only_for_its_worker():
    opener = SealedOpener({"k1": KEY}, "k1")
    box = seal_bound(PUBLIC, device_pin_binding(TENANT, "w1"), "4725")
    assert opener.open("k1", box, device_pin_binding(TENANT, "w1")) == "4725"
    with pytest.raises(UnsealError):
        opener.open("k1", box, device_pin_binding(TENANT, "w2"))


def setup(store: Store, *, verifying: bool = True):
    clock_id = zk_clock(store)
    store.protocols[clock_id] = "ZK_PUSH"
    if verifying:
        store.verifying.add(clock_id)
    worker = store.add_worker(employee_id="E5", pin_set=True, pin_allowed=True)
    store.assignments[(clock_id, worker.id)] = Assignment(direct=True)
    opener = SealedOpener({"k1": KEY}, "k1")
    e, _ = edge(store, device_pin_opener=opener, redeliver_after=timedelta(0), recheck_s=0)
    return clock_id, worker, e


def sealed(worker_id: str, pin: str) -> bytes:
    return seal_bound(PUBLIC, device_pin_binding(TENANT, worker_id), pin)


async def test_a_sealed_pin_reaches_an_opted_in_clock_at_delivery_only():
    store = Store()
    clock_id, worker, e = setup(store)
    await device_pins.store_sealed(
        factory(store)(TENANT), worker.id, "k1", sealed(worker.id, "4725")
    )
    [cmd] = [c for c in store.commands_of(clock_id)]
    assert cmd.kind is CommandKind.UPSERT_WORKER
    assert "4725" not in cmd.profile_json  # the queue holds no PIN
    device = await e.device(f"SN{clock_id[:6]}")
    reply = await e.poll(device, None, "")
    assert "PIN=E5\tName=Ana Pérez\tPri=0\tPasswd=4725\t" in reply
    # the same box again changes nothing; removal re-queues without the PIN
    await device_pins.store_sealed(
        factory(store)(TENANT), worker.id, "k1", store.device_pins[worker.id][1]
    )
    assert [q.sequence for q in store.queue] == [1]
    await device_pins.forget(factory(store)(TENANT), worker.id)
    assert [q.sequence for q in store.queue] == [2] and store.device_pins == {}
    assert "\tPasswd=\t" in await e.poll(device, None, "")


async def test_a_clock_not_opted_in_gets_no_pin_and_no_command():
    store = Store()
    clock_id, worker, e = setup(store, verifying=False)
    await device_pins.store_sealed(
        factory(store)(TENANT), worker.id, "k1", sealed(worker.id, "4725")
    )
    assert store.commands_of(clock_id) == []
    async with factory(store)(TENANT) as uow:
        _, stored = store.workers[worker.id]
        await uow.queue.enqueue([(clock_id, Command.upsert(stored, worker.id))])
    device = await e.device(f"SN{clock_id[:6]}")
    reply = await e.poll(device, None, "")
    assert "\tPasswd=\t" in reply and "4725" not in reply


async def test_a_box_sealed_for_another_worker_is_not_sent():
    store = Store()
    clock_id, worker, e = setup(store)
    await device_pins.store_sealed(factory(store)(TENANT), worker.id, "k1", sealed("other", "4725"))
    device = await e.device(f"SN{clock_id[:6]}")
    reply = await e.poll(device, None, "")
    assert "\tPasswd=\t" in reply and "4725" not in reply


async def test_opting_a_clock_in_and_out_resends_its_workers_with_pins():
    store = Store()
    clock_id, worker, e = setup(store, verifying=False)
    other = store.add_worker(employee_id="E6")
    store.assignments[(clock_id, other.id)] = Assignment(direct=True)
    store.device_pins[worker.id] = ("k1", sealed(worker.id, "4725"))
    await device_pins.set_clock_verifies_pins(ADMIN, clock_id, True, factory(store))
    assert clock_id in store.verifying
    assert [c.worker_id for c in store.commands_of(clock_id)] == [worker.id]
    device = await e.device(f"SN{clock_id[:6]}")
    assert "\tPasswd=4725\t" in await e.poll(device, None, "")
    await device_pins.set_clock_verifies_pins(ADMIN, clock_id, False, factory(store))
    assert clock_id not in store.verifying
    assert "\tPasswd=\t" in await e.poll(device, None, "")


async def test_the_opt_in_is_sysadmin_only_and_for_zk_clocks_only():
    store = Store()
    clock_id, _, _ = setup(store, verifying=False)
    with pytest.raises(Forbidden):
        await device_pins.set_clock_verifies_pins(MANAGER, clock_id, True, factory(store))
    kiosk = store.add_clock()
    with pytest.raises(Conflict) as caught:  # a valid request; the clock is a kiosk app
        await device_pins.set_clock_verifies_pins(ADMIN, kiosk, True, factory(store))
    assert caught.value.code == "NOT_A_ZK_CLOCK"
    assert store.verifying == set()


async def test_a_pin_punch_on_an_opted_in_clock_identifies_a_worker_whose_pin_is_allowed():
    from punchcard.v1 import common_pb2, identification_pb2

    from .test_zk_edge import verdicts

    store = Store()
    clock_id, worker, e = setup(store)
    refused = store.add_worker(employee_id="E9", pin_set=True, pin_allowed=False)
    device = await e.device(f"SN{clock_id[:6]}")
    body = "E5\t2026-03-02 08:00:00\t0\t0\nE9\t2026-03-02 08:01:00\t0\t0\n"
    await e.attlog(device, body, None, datetime(2026, 3, 2, 8, 2, tzinfo=UTC))
    rejected, identified = sorted(verdicts(store), key=lambda v: v.DESCRIPTOR.name)
    assert isinstance(identified, identification_pb2.WorkerIdentified)
    assert identified.worker_id == worker.id
    assert identified.method == common_pb2.PUNCH_METHOD_PIN
    assert identified.context.device_verify_mode == 0
    assert rejected.worker_id == refused.id
    assert rejected.reason == common_pb2.REJECT_REASON_PIN_NOT_ALLOWED


async def test_a_pin_punch_on_a_clock_not_opted_in_is_refused_though_the_pin_is_allowed():
    from punchcard.v1 import common_pb2

    from .test_zk_edge import verdicts

    store = Store()
    clock_id, worker, e = setup(store, verifying=False)
    device = await e.device(f"SN{clock_id[:6]}")
    body = "E5\t2026-03-02 08:00:00\t0\t0\nE5\t2026-03-02 12:00:00\t1\t2\n"
    await e.attlog(device, body, None, datetime(2026, 3, 2, 12, 1, tzinfo=UTC))
    by_method = {v.method: v for v in verdicts(store)}
    refused = by_method[common_pb2.PUNCH_METHOD_PIN]
    assert refused.DESCRIPTOR.name == "IdentificationRejected"
    assert refused.reason == common_pb2.REJECT_REASON_PIN_NOT_ALLOWED
    assert refused.worker_id == worker.id
    # The same worker's card punch on that clock is the clock's to make.
    assert by_method[common_pb2.PUNCH_METHOD_CARD].DESCRIPTOR.name == "WorkerIdentified"
