"""A ZK clock's optional Comm Key: the one admission rule (``zk.com_key_admission``), the key
kept only as a digest, set and removed by a sysadmin on ZK clocks only, and the edge refusing
a wrong or missing key while serving the keyed handshake's address (the poll answered from
memory and the ATTLOG fast path never skip the check)."""

from types import SimpleNamespace

import pytest
from punchcard_device_sync.domain import zk
from punchcard_device_sync.service_layer import admin
from punchcard_device_sync.service_layer.admin import RegisterClock
from punchcard_kit.errors import Conflict, Forbidden, Invalid
from punchcard_kit.internal_auth import Caller

from .fakes import Store, factory
from .test_zk_edge import TENANT, edge, zk_clock
from .test_zk_fast_poll import FastPath, _call, _scope

ADMIN = Caller(tenant_id=TENANT, user_id="admin", role="sysadmin")
MANAGER = Caller(tenant_id=TENANT, user_id="boss", role="manager")
CLOCK = "0b8e6a52-5d7c-4f3e-8a19-2c4d6e8f0a1b"
DIGEST = zk.com_key_digest(CLOCK, "808080")


def admission(digest=DIGEST, offered=None, handshake=False, remote="10.0.0.5", keyed=None):
    return zk.com_key_admission(
        clock_id=CLOCK,
        digest=digest,
        offered=offered,
        handshake=handshake,
        remote_addr=remote,
        keyed_address=keyed,
    )


def test_a_clock_without_a_key_admits_everything():
    assert admission(digest=None) == zk.Admission.ADMIT
    assert admission(digest=None, offered="junk", handshake=True) == zk.Admission.ADMIT


def test_the_right_key_admits_and_a_keyed_handshake_binds_its_address():
    assert admission(offered="808080", handshake=True) == zk.Admission.ADMIT_AND_BIND
    assert admission(offered="808080") == zk.Admission.ADMIT


def test_a_wrong_key_is_refused_and_a_handshake_must_carry_the_key():
    assert admission(offered="808081", handshake=True) == zk.Admission.REFUSE
    assert admission(offered="808081", keyed="10.0.0.5") == zk.Admission.REFUSE
    assert admission(handshake=True, keyed="10.0.0.5") == zk.Admission.REFUSE


def test_a_request_without_the_key_is_served_only_from_the_keyed_address():
    assert admission(keyed="10.0.0.5") == zk.Admission.ADMIT
    assert admission(keyed="10.0.0.6") == zk.Admission.REFUSE
    assert admission(keyed=None) == zk.Admission.REFUSE
    assert admission(remote="", keyed="") == zk.Admission.REFUSE


def test_the_digest_is_the_clocks_own_and_never_the_key():
    other = "6f1c2b1e-3a4d-4c5b-9e8f-1a2b3c4d5e6f"
    assert len(DIGEST) == 32 and b"808080" not in DIGEST
    assert zk.com_key_digest(other, "808080") != DIGEST
    assert zk.com_key_digest(CLOCK, "808080") == DIGEST


@pytest.mark.parametrize(
    ("query", "key"),
    [
        ("SN=A1&options=all&pushcommkey=808080", "808080"),
        ("SN=A1&PushCommKey=abc", "abc"),
        ("SN=A1&pushcommkey=", None),
        ("SN=A1", None),
    ],
)
def test_the_key_is_read_from_the_query_as_firmware_spells_it(query, key):
    assert zk.parse_query(query).com_key == key


def test_a_huge_key_is_a_bad_query():
    with pytest.raises(zk.ZkInvalid):
        zk.parse_query("SN=A1&pushcommkey=" + "9" * 65)


async def test_a_sysadmin_sets_and_removes_a_zk_clocks_key_kept_as_a_digest():
    store = Store()
    clock_id = store.add_clock(protocol="ZK_PUSH")
    await admin.set_com_key(ADMIN, clock_id, "808080", factory(store))
    assert store.com_keys[clock_id] == zk.com_key_digest(clock_id, "808080")
    assert clock_id in store.credentials_changed  # every replica drops the cached device
    await admin.set_com_key(ADMIN, clock_id, None, factory(store))
    assert clock_id not in store.com_keys


async def test_only_a_sysadmin_only_on_a_zk_clock_only_a_valid_key():
    store = Store()
    zk_id = store.add_clock(protocol="ZK_PUSH")
    kiosk = store.add_clock()
    with pytest.raises(Forbidden):
        await admin.set_com_key(MANAGER, zk_id, "808080", factory(store))
    with pytest.raises(Conflict) as caught:  # a valid request; the clock is a kiosk app
        await admin.set_com_key(ADMIN, kiosk, "808080", factory(store))
    assert (caught.value.code, caught.value.field) == ("NOT_A_ZK_CLOCK", "com_key")
    with pytest.raises(Invalid) as caught:
        await admin.set_com_key(ADMIN, zk_id, "80 80", factory(store))
    assert caught.value.code == "INVALID_COM_KEY"
    with pytest.raises(Invalid) as caught:
        await admin.register_clock(
            RegisterClock(ADMIN, "SN-K1", "Kiosk", "", "UTC", "KIOSK_APP", "808080"),
            factory(store),
        )
    assert caught.value.code == "NOT_A_ZK_CLOCK"
    assert store.com_keys == {}


async def test_a_zk_clock_registered_with_a_key_keeps_its_digest():
    store = Store()
    registered = await admin.register_clock(
        RegisterClock(ADMIN, "SN-K2", "Door", "", "UTC", "ZK_PUSH", "808080"), factory(store)
    )
    clock_id = registered.clock_id
    assert store.com_keys[clock_id] == zk.com_key_digest(clock_id, "808080")


async def test_the_edge_refuses_a_wrong_key_and_serves_the_keyed_handshakes_address():
    store = Store()
    clock_id = zk_clock(store)
    store.protocols[clock_id] = "ZK_PUSH"
    store.com_keys[clock_id] = zk.com_key_digest(clock_id, "808080")
    e, _ = edge(store)
    serial = f"SN{clock_id[:6]}"
    device = await e.device(serial)
    assert await e.admit(device, None, "10.0.0.5", handshake=True) is None
    assert await e.admit(device, "111111", "10.0.0.5", handshake=True) is None
    assert await e.admit(device, None, "10.0.0.5", handshake=False) is None
    keyed = await e.admit(device, "808080", "10.0.0.5", handshake=True)
    assert keyed is not None and keyed.keyed_address == "10.0.0.5"
    assert store.zk_state[clock_id]["keyed_address"] == "10.0.0.5"
    # Polls and uploads (no key on them) from there are served; from elsewhere, not.
    device = await e.device(serial)
    assert await e.admit(device, None, "10.0.0.5", handshake=False) == device
    assert await e.admit(device, None, "10.0.0.99", handshake=False) is None


async def test_the_fast_path_never_skips_a_keyed_clocks_check():
    store = Store()
    clock_id = zk_clock(store)
    store.com_keys[clock_id] = zk.com_key_digest(clock_id, "808080")
    e, _ = edge(store)
    serial = f"SN{clock_id[:6]}"
    device = await e.device(serial)
    await e.poll(device, None, "")
    app = SimpleNamespace(state=SimpleNamespace(device_sync=SimpleNamespace(zk=e)))
    front = FastPath(None)
    sent, routed = await _call(front, _scope(f"SN={serial}".encode(), app))
    assert sent == [] and routed == ["/iclock/getrequest"]
    # Nor an upload: the route checks the key (here: none sent, no keyed address: refused).
    upload = _scope(f"SN={serial}&table=ATTLOG".encode(), app, "/iclock/cdata", "POST")
    sent, routed = await _call(front, upload, [b"E1\t2026-03-02 09:00:00\t0\t1\t0\n"])
    assert sent == [] and routed == ["/iclock/cdata"]
    assert store.zk_punches == set()
