"""The ZK edge's use cases on fakes: a punch recorded once however often it is sent, the
verdict it publishes, commands delivered and redelivered, results recorded, gaps asked for,
the time zone told again, unknown serials recorded."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from punchcard.v1 import common_pb2
from punchcard_device_sync.domain import zk
from punchcard_device_sync.domain.model import Command
from punchcard_device_sync.service_layer import admin
from punchcard_device_sync.service_layer.zk_edge import ZkEdge, ZkSettings
from punchcard_kit.errors import Conflict, Forbidden, NotFound
from punchcard_kit.internal_auth import Caller
from punchcard_kit.messaging import unpack_payload

from .fakes import NoBiometrics, Store, factory

TENANT = "00000000-0000-0000-0000-00000000000a"


class Directory:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def zk_device(self, serial):
        clock_id = self.store.zk_devices.get(serial)
        if clock_id is None or serial in self.store.zk_revoked:
            return None
        return TENANT, clock_id


class Beats:
    def __init__(self) -> None:
        self.beats, self.polls, self.unknown_calls = [], [], []

    def record(self, beat) -> None:
        self.beats.append(beat)

    def poll(self, *args) -> None:
        self.polls.append(args)

    def unknown(self, serial, at, remote_addr, push_version) -> None:
        self.unknown_calls.append(serial)


def edge(store: Store, *, device_pin_opener=None, **settings):
    beats = Beats()
    e = ZkEdge(
        factory(store),
        Directory(store),
        beats,
        beats,
        NoBiometrics(),
        ZkSettings(**settings),
        device_pin_opener=device_pin_opener,
    )
    return e, beats


def zk_clock(store: Store, time_zone: str = "UTC") -> str:
    clock_id = store.add_clock()
    store.clocks[clock_id] = replace(store.clocks[clock_id], time_zone=time_zone)
    store.zk_devices[zk.serial_key(f"SN{clock_id[:6]}")] = clock_id
    return clock_id


def verdicts(store: Store):
    return [unpack_payload(env) for topic, _, env in store.published if "verdicts" in topic]


async def test_a_punch_sent_three_times_is_recorded_once_with_its_verdict():
    store = Store()
    clock_id = zk_clock(store, "Europe/Madrid")
    worker = store.add_worker(employee_id="E77")
    e, _ = edge(store)
    device = await e.device(f"SN{clock_id[:6]}")
    line = "E77\t2026-03-02 09:00:00\t1\t2\t0\t0\t0\n"
    received = datetime(2026, 3, 2, 8, 0, 30, tzinfo=UTC)
    assert await e.attlog(device, line, "100", received) == 1
    assert await e.attlog(device, line, "100", received) == 0
    assert await e.attlog(device, line + line, "100", received) == 0
    [verdict] = verdicts(store)
    assert verdict.worker_id == worker.id
    assert verdict.method == common_pb2.PUNCH_METHOD_CARD
    ctx = verdict.context
    assert ctx.clock_id == clock_id and ctx.claimed_employee_id == "E77"
    assert ctx.requested_direction == common_pb2.PUNCH_DIRECTION_OUT
    assert (ctx.device_verify_mode, ctx.device_state) == (2, 1)
    assert ctx.captured_at.ToDatetime(tzinfo=UTC) == datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    assert not ctx.captured_offline
    assert ctx.attempt_id == zk.attempt_id(clock_id, "E77", datetime(2026, 3, 2, 9), 1)
    assert store.zk_state[clock_id]["ATTLOG"] == "100"


async def test_a_badge_is_its_workers_employee_id_in_any_case():
    """A user entered on the device by hand in capitals (its keypad's) is the worker ``jd77``."""
    store = Store()
    clock_id = zk_clock(store)
    worker = store.add_worker(employee_id="jd77")
    e, _ = edge(store)
    device = await e.device(f"SN{clock_id[:6]}")
    await e.attlog(
        device, "JD77\t2026-03-02 09:00:00\t0\t1\n", None, datetime(2026, 3, 2, 8, tzinfo=UTC)
    )
    [verdict] = verdicts(store)
    assert verdict.worker_id == worker.id
    assert verdict.context.claimed_employee_id == "JD77"  # as the device sent it


async def test_unknown_badges_and_pin_not_allowed_are_rejected_and_bad_lines_skipped():
    store = Store()
    clock_id = zk_clock(store)
    store.add_worker(employee_id="E1", pin_allowed=False)
    e, _ = edge(store)
    device = await e.device(f"SN{clock_id[:6]}")
    body = "NOPE\t2026-03-02 08:00:00\t0\t1\nE1\t2026-03-02 08:00:00\t0\t0\nE1\tbad\t0\t0\n"
    await e.attlog(device, body, None, datetime(2026, 3, 2, 9, tzinfo=UTC))
    reasons = sorted(v.reason for v in verdicts(store))
    assert reasons == [
        common_pb2.REJECT_REASON_UNKNOWN_USER,
        common_pb2.REJECT_REASON_PIN_NOT_ALLOWED,
    ]
    assert all(v.context.captured_offline for v in verdicts(store))
    assert len(store.zk_punches) == 2


async def test_unknown_and_revoked_serials_get_nothing_and_are_recorded():
    store = Store()
    clock_id = zk_clock(store)
    e, beats = edge(store, device_cache_s=0)
    assert await e.device("UNKNOWN1", "10.0.0.9", "2.4.1") is None
    store.zk_revoked.add(zk.serial_key(f"SN{clock_id[:6]}"))
    assert await e.device(f"SN{clock_id[:6]}") is None
    assert beats.unknown_calls == ["UNKNOWN1", f"SN{clock_id[:6]}"]


async def test_poll_delivers_roster_commands_and_results_acknowledge_them():
    store = Store()
    clock_id = zk_clock(store)
    e, beats = edge(store)
    device = await e.device(f"SN{clock_id[:6]}")
    profile = '{"worker_id":"w1","employee_id":"E5","display_name":"Ana","cards":["42"]}'
    async with factory(store)(TENANT) as uow:
        queued = await uow.queue.enqueue(
            [(clock_id, Command.resync("x")), (clock_id, Command.upsert(profile, "w1"))]
        )
    reply = await e.poll(device, "Ver 1,1,0,0,10.0.0.2", "2.4.1")
    upsert = queued[1].sequence
    assert reply == (
        f"C:{upsert}:DATA UPDATE USERINFO PIN=E5\tName=Ana\tPri=0\tPasswd=\tCard=42\tGrp=1"
        "\tTZ=0000000000000000\tVerifyMode=-1\n"
    )
    # FULL_RESYNC has no line of its own on a device: acknowledged at once.
    assert store.results[(clock_id, queued[0].sequence)][0] == 0
    assert beats.polls[-1][4].firmware == "Ver 1"
    # Not acknowledged yet: not sent again before the redelivery timeout.
    assert await e.poll(device, None, "") == "OK"
    assert await e.results(device, f"ID={upsert}&Return=0&CMD=DATA\n") == 1
    assert store.results[(clock_id, upsert)] == (0, "DATA")


async def test_unacknowledged_commands_are_delivered_again_after_the_timeout():
    store = Store()
    clock_id = zk_clock(store)
    e, _ = edge(store, redeliver_after=timedelta(0), recheck_s=0)
    device = await e.device(f"SN{clock_id[:6]}")
    async with factory(store)(TENANT) as uow:
        [q] = await uow.queue.enqueue([(clock_id, Command.remove("w1", "E5"))])
    first = await e.poll(device, None, "")
    assert first == f"C:{q.sequence}:DATA DELETE USERINFO PIN=E5\n"
    assert await e.poll(device, None, "") == first
    assert await e.results(device, f"ID={q.sequence}&Return=-10&CMD=DATA") == 1
    assert store.results[(clock_id, q.sequence)][0] == -10
    assert await e.poll(device, None, "") == "OK"


async def test_a_device_back_after_offline_is_asked_for_the_gap():
    store = Store()
    clock_id = zk_clock(store, "Europe/Madrid")
    e, _ = edge(store, gap_after_offline=timedelta(minutes=10), gap_margin=timedelta(minutes=5))
    device = await e.device(f"SN{clock_id[:6]}")
    t0 = datetime(2026, 3, 2, 8, tzinfo=UTC)
    assert await e.poll(device, None, "", now=t0) == "OK"
    assert await e.poll(device, None, "", now=t0 + timedelta(minutes=5)) == "OK"
    reply = await e.poll(device, None, "", now=t0 + timedelta(hours=2))
    [q] = store.queue
    assert reply == (
        f"C:{q.sequence}:DATA QUERY ATTLOG StartTime=2026-03-02 09:00:00"
        "\tEndTime=2026-03-02 11:00:00\n"
    )


async def test_a_stamp_that_went_back_asks_for_the_range_again():
    store = Store()
    clock_id = zk_clock(store)
    e, _ = edge(store)
    device = await e.device(f"SN{clock_id[:6]}")
    now = datetime(2026, 3, 2, 12, tzinfo=UTC)
    await e.attlog(device, "E1\t2026-03-02 11:00:00\t0\t1\n", "500", now)
    assert store.queue == []
    await e.attlog(device, "E1\t2026-03-02 11:30:00\t0\t1\n", "20", now)
    [q] = store.queue
    assert q.command.punches_range == ("2026-03-02 10:55:00", "2026-03-02 12:00:00")


async def test_handshake_tells_stamps_and_offset_and_a_dst_change_asks_for_check():
    store = Store()
    clock_id = zk_clock(store, "America/New_York")
    e, _ = edge(store)
    device = await e.device(f"SN{clock_id[:6]}")
    winter = datetime(2026, 3, 8, 6, 58, tzinfo=UTC)
    store.zk_state.setdefault(clock_id, {})["ATTLOG"] = "77"
    reply = await e.handshake(device, winter)
    assert "ATTLOGStamp=77" in reply.splitlines() and "TimeZone=-05:00" in reply.splitlines()
    assert store.zk_state[clock_id]["told"] == "-05:00"
    assert await e.poll(device, None, "", now=winter) == "OK"
    summer = datetime(2026, 3, 8, 7, 2, tzinfo=UTC)
    assert await e.poll(device, None, "", now=summer) == f"C:{zk.CHECK_COMMAND_ID}:CHECK\n"
    # Told once per interval, not on every poll; the CHECK's result is not a queue result.
    assert await e.poll(device, None, "", now=summer) == "OK"
    assert await e.results(device, f"ID={zk.CHECK_COMMAND_ID}&Return=0&CMD=CHECK") == 0


async def test_a_handshake_again_with_the_offset_unchanged_writes_nothing():
    store = Store()
    clock_id = zk_clock(store, "Europe/Madrid")
    e, _ = edge(store)
    device = await e.device(f"SN{clock_id[:6]}")
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    await e.handshake(device, now)
    assert store.zk_state[clock_id]["told"] == "+02:00"
    commits = store.commits
    reply = await e.handshake(device, now + timedelta(minutes=5))
    assert "TimeZone=+02:00" in reply.splitlines()
    assert store.commits == commits  # told already: nothing written
    # After the change to winter time the new offset is written.
    await e.handshake(device, datetime(2026, 11, 1, 12, tzinfo=UTC))
    assert store.zk_state[clock_id]["told"] == "+01:00" and store.commits == commits + 1


async def test_a_skewed_clock_is_flagged_and_told_to_check():
    store = Store()
    clock_id = zk_clock(store)
    e, _ = edge(store, max_skew_s=60)
    device = await e.device(f"SN{clock_id[:6]}")
    now = datetime(2026, 3, 2, 12, tzinfo=UTC)
    await polling(e, device, now - zk.BACKLOG_SETTLE, now)
    await e.attlog(device, "E1\t2026-03-02 12:05:00\t0\t1\n", None, now + timedelta(seconds=2))
    assert store.zk_state[clock_id]["skew_flagged"] is True
    assert store.zk_state[clock_id]["skew_s"] == -298
    assert "CHECK" in await e.poll(device, None, "", now=now + timedelta(seconds=10))


async def polling(e, device, start: datetime, end: datetime) -> None:
    """The device polls every 10 s from ``start`` to ``end`` (its Delay), without a break."""
    at = start
    while at <= end:
        await e.poll(device, None, "", now=at)
        at += timedelta(seconds=10)


async def test_a_backlog_sent_by_a_clock_just_back_is_no_skew():
    # Back from a day without power: it polls, then sends what it stored. Before: a skew of a
    # day, flagged, and the clock told to handshake again.
    store = Store()
    clock_id = zk_clock(store)
    e, _ = edge(store, max_skew_s=60)
    device = await e.device(f"SN{clock_id[:6]}")
    now = datetime(2026, 3, 2, 12, tzinfo=UTC)
    await e.poll(device, None, "", now=now)
    backlog = "E1\t2026-03-01 08:00:00\t0\t1\nE1\t2026-03-01 17:00:00\t1\t1\n"
    await e.attlog(device, backlog, None, now + timedelta(seconds=2))
    assert not store.zk_state[clock_id].get("skew_flagged")
    assert "CHECK" not in await e.poll(device, None, "", now=now + timedelta(seconds=10))


# --- the admin side: registering, adopting, revoking ZK clocks ----------------------------


async def test_a_zk_serial_is_unique_across_tenants_and_adoption_registers_it():
    store = Store()
    a, b = (
        Caller(TENANT, "u1", "sysadmin"),
        Caller("00000000-0000-0000-0000-00000000000b", "u2", "sysadmin"),
    )
    zk_cmd = admin.RegisterClock(a, "ZK1", "Door", "", "UTC", "ZK_PUSH")
    registered = await admin.register_clock(zk_cmd, factory(store))
    assert store.zk_devices == {"ZK1": registered.clock_id}
    with pytest.raises(Conflict):
        await admin.register_clock(replace(zk_cmd, caller=b), factory(store))
    # A kiosk app's serial is not a device serial.
    await admin.register_clock(admin.RegisterClock(a, "K1", "Tablet", "", "UTC"), factory(store))
    assert "K1" not in store.zk_devices

    adopt = admin.AdoptDevice(b, "ZK2", "Dock", "", "UTC")
    with pytest.raises(NotFound):
        await admin.adopt_device(adopt, factory(store))
    store.zk_unregistered.add("ZK2")
    with pytest.raises(Forbidden):
        await admin.adopt_device(
            replace(adopt, caller=Caller(TENANT, "u3", "manager")), factory(store)
        )
    adopted = await admin.adopt_device(adopt, factory(store))
    assert store.zk_devices["ZK2"] == adopted.clock_id and "ZK2" not in store.zk_unregistered

    await admin.revoke_clock(admin.RevokeClock(a, registered.clock_id, "stolen"), factory(store))
    assert "ZK1" in store.zk_revoked
    e, _ = edge(store, device_cache_s=0)
    assert await e.device("ZK1") is None


async def test_a_serial_typed_in_small_letters_serves_the_device_that_sends_capitals():
    store = Store()
    a, b = (
        Caller(TENANT, "u1", "sysadmin"),
        Caller("00000000-0000-0000-0000-00000000000b", "u2", "sysadmin"),
    )
    store.zk_unregistered.add("CQZ7232360123")  # it called before it was registered
    typed = admin.RegisterClock(a, "cqz7232360123", "Door", "", "UTC", "ZK_PUSH")
    registered = await admin.register_clock(typed, factory(store))
    assert store.zk_unregistered == set()  # no longer listed as trying to connect
    e, _ = edge(store)
    device = await e.device("CQZ7232360123")  # as the label prints it, as firmware sends it
    assert device is not None and device.clock_id == registered.clock_id
    assert device.serial == "CQZ7232360123"  # answered as the device sent it
    assert (await e.device("cqz7232360123")).clock_id == registered.clock_id
    # The same serial in another case is taken, in this tenant and in another.
    for caller in (a, b):
        with pytest.raises(Conflict):
            await admin.register_clock(
                replace(typed, caller=caller, serial_number="CQZ7232360123"), factory(store)
            )
