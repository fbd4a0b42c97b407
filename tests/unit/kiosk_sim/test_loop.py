"""The client loop against an in-process fake of the clock API (aiohttp.web on loopback): long-poll
wake-up, acks on the next sync, retries with backoff, 401, offline, a fleet, registration and the
command line."""

import asyncio
import json
import socket
import time
from pathlib import Path

import pytest
from punchcard_kiosk_sim import (
    ClockFleet,
    RegistrationError,
    SimulatedClock,
    make_session,
    register_clocks,
    roster_digest,
)

from .fake_device_sync import FakeDeviceSync
from .loopback import run_cli

FAST = {"backoff_base_s": 0.01, "backoff_cap_s": 0.05}


def worker(wid: str, name: str = "Ana Pérez") -> dict:
    return {
        "worker_id": wid,
        "employee_id": f"E-{wid}",
        "display_name": name,
        "status": "Active",
        "allowed_methods": ["FACE", "PIN"],
        "pin_set": True,
    }


@pytest.fixture
async def server():
    fake = await FakeDeviceSync().start()
    yield fake
    await fake.close()


@pytest.fixture
async def session():
    http = make_session()
    yield http
    await http.close()


async def test_long_poll_wakes_on_a_new_command_and_acks_ride_on_the_next_sync(server, session):
    fake = server.add_clock()
    first = server.push(fake, "UPSERT_WORKER", worker("w1"))
    clock = SimulatedClock(server.url, fake.credential, session, wait_s=10, **FAST)
    clock.start()
    try:
        await clock.wait_until(lambda c: "w1" in c.roster, timeout=5)
        assert clock.clock_id == fake.clock_id
        # the clock now holds a long-poll; a new command is answered at once, not after 10 s
        await asyncio.sleep(0.1)
        pushed_at = time.monotonic()
        second = server.push(fake, "UPSERT_WORKER", worker("w2", "Bo"))
        await clock.wait_until(lambda c: "w2" in c.roster, timeout=5)
        received_at = next(
            at for at, cmd in clock.received if cmd["sequence"] == second["sequence"]
        )
        assert received_at - pushed_at < 1.0
        # acks went out on the sync that followed each application
        await clock.wait_until(lambda c: len(fake.acks) == 2, timeout=5)
        assert [(a["command_id"], a["result_code"]) for a in fake.acks] == [
            (first["command_id"], 0),
            (second["command_id"], 0),
        ]
        last = fake.syncs[-1]
        assert last["applied_sequence"] == second["sequence"]
        assert last["roster_digest"] == roster_digest([worker("w1"), worker("w2", "Bo")])
        assert last["wait_s"] == 10
        assert clock.caught_up and clock.pending_acks == []
    finally:
        await clock.wait_stopped(timeout=5)
    assert clock.state == "stopped"


async def test_server_errors_are_retried_with_backoff(server, session):
    fake = server.add_clock()
    server.push(fake, "UPSERT_WORKER", worker("w1"))
    server.fail_next = 3
    clock = SimulatedClock(server.url, fake.credential, session, wait_s=1, **FAST)
    clock.start()
    try:
        await clock.wait_until(lambda c: "w1" in c.roster, timeout=5)
        assert clock.errors == 3
        assert "503" in (clock.last_error or "")
        assert clock.consecutive_errors == 0
    finally:
        await clock.wait_stopped(timeout=5)


async def test_acks_refused_as_malformed_are_dropped_not_resent_forever(server, session):
    fake = server.add_clock()
    server.push(fake, "UPSERT_WORKER", worker("w1"))
    clock = SimulatedClock(server.url, fake.credential, session, wait_s=1, **FAST)
    await clock.sync_once(wait_s=0)
    assert len(clock.pending_acks) == 1
    server.fail_next, server.fail_status = 1, 422
    clock.start()
    try:
        await clock.wait_until(lambda c: c.responses >= 2, timeout=5)
        assert clock.rejected_acks == 1 and clock.errors == 1
        assert fake.acks == [] and "w1" in clock.roster
    finally:
        await clock.wait_stopped(timeout=5)


def test_backoff_grows_with_jitter_and_is_capped():
    clock = SimulatedClock("http://unused", "pcc_a_b", None, backoff_base_s=0.2, backoff_cap_s=5)  # type: ignore[arg-type]
    for attempt, ceiling in [(1, 0.2), (2, 0.4), (3, 0.8), (6, 5.0), (40, 5.0)]:
        delays = [clock.backoff_delay(attempt) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1  # jitter


async def test_connection_errors_keep_the_clock_going(session):
    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    clock = SimulatedClock(f"http://127.0.0.1:{port}", "pcc_a_b", session, wait_s=1, **FAST)
    clock.start()
    await clock.wait_until(lambda c: c.errors >= 3, timeout=5)
    assert clock.state == "running" and not clock.unauthorized
    await clock.wait_stopped(timeout=2)


async def test_401_stops_the_clock_with_a_clear_state(server, session):
    fake = server.add_clock()
    fake.revoked = True
    clock = SimulatedClock(server.url, fake.credential, session, wait_s=1, **FAST)
    await asyncio.wait_for(clock.run(), 5)
    assert clock.unauthorized
    assert clock.state == "unauthorized"
    assert "clock_unauthorized" in (clock.error or "")


async def test_offline_drops_the_long_poll_and_catches_up_when_back(server, session):
    fake = server.add_clock()
    clock = SimulatedClock(server.url, fake.credential, session, wait_s=10, **FAST)
    clock.start()
    try:
        await clock.wait_until(lambda c: c.responses == 0 and len(fake.syncs) == 1, timeout=5)
        clock.offline = True
        assert clock.state == "offline"
        await asyncio.sleep(0.05)
        server.push(fake, "UPSERT_WORKER", worker("w1"))
        server.push(fake, "UPSERT_WORKER", worker("w2"))
        await asyncio.sleep(0.3)
        assert clock.roster == {} and clock.commands_received == 0
        syncs_while_offline = len(fake.syncs)
        await asyncio.sleep(0.2)
        assert len(fake.syncs) == syncs_while_offline  # no requests while offline
        clock.offline = False
        await clock.wait_until(lambda c: set(c.roster) == {"w1", "w2"}, timeout=5)
        assert clock.went_offline == 1
    finally:
        await clock.wait_stopped(timeout=5)


async def test_duplicates_redelivered_are_counted_not_reapplied(server, session):
    server.redeliver = True
    fake = server.add_clock()
    server.push(fake, "UPSERT_WORKER", worker("w1"))
    server.push(fake, "REMOVE_WORKER", {"worker_id": "w1", "employee_id": "E-w1"})
    clock = SimulatedClock(server.url, fake.credential, session, wait_s=0, idle_delay_s=0.02)
    clock.start()
    try:
        await clock.wait_until(lambda c: c.duplicates >= 4, timeout=5)
        assert clock.roster == {}
        assert clock.applied == [(1, "UPSERT_WORKER", "w1"), (2, "REMOVE_WORKER", "w1")]
        assert sorted({a["sequence"] for a in fake.acks}) == [1, 2]
    finally:
        await clock.wait_stopped(timeout=5)


async def test_stop_flushes_pending_acks(server, session):
    fake = server.add_clock()
    command = server.push(fake, "FULL_RESYNC")
    clock = SimulatedClock(server.url, fake.credential, session, wait_s=10, **FAST)
    await clock.sync_once(wait_s=0)
    assert len(clock.pending_acks) == 1 and fake.acks == []
    clock.stop()
    await asyncio.wait_for(clock.run(), 5)  # stopped before its first sync: flushes alone
    assert clock.pending_acks == []
    assert [(a["command_id"], a["result_code"]) for a in fake.acks] == [(command["command_id"], 0)]
    assert len(fake.syncs) == 1


async def test_acks_of_a_dropped_long_poll_are_sent_again(server, session):
    fake = server.add_clock()
    command = server.push(fake, "FULL_RESYNC")
    clock = SimulatedClock(server.url, fake.credential, session, wait_s=10, **FAST)
    await clock.sync_once(wait_s=0)
    clock.start()
    await clock.wait_until(lambda c: len(c.unconfirmed_acks) == 1, timeout=5)
    assert clock.pending_acks == []
    await asyncio.sleep(0.1)  # the server has them now, but the clock cannot know
    await clock.wait_stopped(timeout=5)
    assert clock.pending_acks == [] and clock.unconfirmed_acks == []
    assert {a["command_id"] for a in fake.acks} == {command["command_id"]}
    assert len(fake.acks) == 2  # at least once: on the long-poll, then on the flush


async def test_a_fleet_of_clocks_on_one_session(server):
    fakes = [server.add_clock() for _ in range(200)]
    creds = [(f.clock_id, f.credential) for f in fakes]
    async with ClockFleet(server.url, creds, wait_s=10, ramp_s=0.2, **FAST) as fleet:
        assert len(fleet) == 200
        await fleet.wait_until(lambda f: all(len(x.syncs) >= 1 for x in fakes), timeout=10)
        for f in fakes:  # every clock is holding a long-poll now
            server.push(f, "UPSERT_WORKER", worker("w1"))
        await fleet.wait_all(lambda c: "w1" in c.roster, timeout=10)
        await fleet.wait_caught_up(timeout=5)
        stats = fleet.stats()
        assert stats["clocks"] == 200
        assert stats["commands_applied"] == 200
        assert stats["states"] == {"running": 200}
        assert fleet.by_clock_id(fakes[7].clock_id) is fleet[7]
        # the acks ride on the next long-poll
        await fleet.wait_until(lambda f: all(len(x.acks) == 1 for x in fakes), timeout=5)
        fleet[0].offline = True
        fakes[1].revoked = True
        server.push(fakes[1], "FULL_RESYNC")
        await fleet.wait_until(lambda f: f.stats()["states"].get("unauthorized") == 1, timeout=5)
        with pytest.raises(TimeoutError, match="2/200 clocks"):
            await fleet.wait_all(lambda c: c.state == "running", timeout=0.1)
    assert fleet.session is None  # its own session is closed


async def test_register_clocks(server):
    creds = await register_clocks(
        f"{server.url}/internal/v1",
        {"Authorization": "Bearer admin-token"},
        5,
        site_id="site-1",
        prefix="T",
        concurrency=2,
    )
    assert len(creds) == 5
    assert [server.clocks[c].clock_id for _, c in creds] == [i for i, _ in creds]
    assert sorted(r["serial_number"] for r in server.registrations) == [
        f"T-00000{i}" for i in range(5)
    ]
    assert {(r["site_id"], r["time_zone"]) for r in server.registrations} == {("site-1", "UTC")}
    with pytest.raises(RegistrationError, match="401"):
        await register_clocks(f"{server.url}/internal/v1", {}, 1, site_id="s", prefix="X")


async def test_the_command_line_registers_then_runs(server, tmp_path: Path):
    creds_file = tmp_path / "creds.json"
    rc, lines, err = await run_cli(
        "register",
        "--admin-url",
        f"{server.url}/internal/v1",
        "--token",
        "admin-token",
        "--count",
        "3",
        "--site-id",
        "site-1",
        "--out",
        str(creds_file),
    )
    assert rc == 0, err
    assert lines[-1]["event"] == "registered" and lines[-1]["count"] == 3
    saved = json.loads(creds_file.read_text())
    assert len(saved["clocks"]) == 3 and saved["clocks"][0]["serial_number"].endswith("-000000")

    for cred in saved["clocks"]:
        fake = server.clocks[cred["credential"]]
        server.push(fake, "UPSERT_WORKER", worker("w1"))
        server.push(fake, "UPSERT_WORKER", worker("w2"))
    rc, lines, err = await run_cli(
        "run",
        "--url",
        server.url,
        "--credentials",
        str(creds_file),
        "--wait-s",
        "1",
        "--duration",
        "1.5",
        "--stats-every",
        "0.5",
        "--print-every",
        "2",
    )
    assert rc == 0, err
    events = [line["event"] for line in lines]
    assert events[0] == "started" and events[-1] == "final"
    assert events.count("commands") == 3
    assert "stats" in events
    final = lines[-1]
    assert final["clocks"] == 3 and final["commands_applied"] == 6 and final["pending_acks"] == 0
    assert all(len(server.clocks[c["credential"]].acks) == 2 for c in saved["clocks"])
