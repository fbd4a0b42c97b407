"""Many ZK devices in one process against the fake PUSH server: one scheduler (no task per
device), polls spread over the interval, punches uploaded as they happen, a roster command fanned
out and acknowledged; registration and the `zk` command line."""

import asyncio
import json
import random
from pathlib import Path

import pytest
from punchcard_kiosk_sim import RegistrationError, ZkFleet, register_zk_clocks
from punchcard_kiosk_sim.zk_fleet import Latencies, percentile

from .fake_push_server import FakePushServer
from .loopback import run_cli


@pytest.fixture
async def server():
    fake = await FakePushServer(delay=1).start()
    yield fake
    await fake.close()


def client_tasks() -> list[asyncio.Task]:
    """The loop's tasks but the stand-in server's own (aiohttp's request handlers, one per
    connection and request, run in this loop too)."""
    return [
        t
        for t in asyncio.all_tasks()
        if not getattr(t.get_coro(), "__qualname__", "").startswith("RequestHandler.")
    ]


async def test_a_fleet_polls_on_one_scheduler_spread_over_the_interval(server):
    serials = [f"F-{i:04d}" for i in range(200)]
    for s in serials:
        server.add(s)
    tasks_before = len(client_tasks())
    fleet = ZkFleet(
        server.url, serials, poll_s=1.0, connections=50, error_delay_s=0.2, rng=random.Random(7)
    )
    async with fleet:
        # the first cycles (handshakes) are spread over one poll interval, not all at once
        dues = sorted(due for due, *_ in fleet._heap)
        assert len(dues) == 200 and dues[-1] - dues[0] > 0.5 and dues[-1] - dues[0] <= 1.0
        await fleet.wait_all(lambda d: d.polls >= 1, timeout=20, what="every device polled")
        # one scheduler and the cycles in flight (at most `connections`), never one per device
        assert len(client_tasks()) - tasks_before <= 1 + 50
        ids = {
            s: server.queue(s, "DATA UPDATE USERINFO PIN=1001\tName=Fan Out")[0] for s in serials
        }
        await fleet.wait_all(lambda d: "1001" in d.users, timeout=20)
        await fleet.wait_until(
            lambda f: all(not server.devices[s].queue for s in serials), timeout=20
        )
        assert all(server.devices[s].results[-1]["ID"] == ids[s] for s in serials)
        for i, device in enumerate(fleet):
            fleet.punch(device, "1001", state=i % 2)
        await fleet.wait_all(lambda d: d.punches_acked == 1, timeout=20)
        assert sum(len(server.devices[s].punches) for s in serials) == 200
        stats = fleet.stats()
        assert stats["devices"] == 200 and stats["states"] == {"online": 200}
        assert stats["punches_acked"] == 200 and stats["crashed"] == 0
        polls = fleet.latencies.summary("poll")
        assert polls["n"] >= 200 and polls["statuses"] == {"200": polls["n"]}
        assert len(fleet.punch_ok_ms) == 200
    assert fleet.stats()["states"] == {"stopped": 200}


async def test_a_fleet_grows_and_its_devices_go_offline_and_come_back(server):
    for s in ("A", "B", "C"):
        server.add(s)
    async with ZkFleet(server.url, ["A"], poll_s=0.2, ramp_s=0, error_delay_s=0.1) as fleet:
        fleet.add(["B", "C"], ramp_s=0.1)
        await fleet.wait_all(lambda d: d.polls >= 2, timeout=10)
        b = fleet.by_serial("B")
        b.offline = True
        fleet.punch(b, "7")
        fleet.punch(b, "8", state=1)
        await asyncio.sleep(0.5)
        assert len(b.pending_punches) == 2 and server.devices["B"].punches == {}
        b.offline = False
        await b.wait_until(lambda d: not d.pending_punches, timeout=10)
        assert len(server.devices["B"].punches) == 2 and b.handshakes == 2
        fleet.reset_measurements()
        await fleet.wait_until(lambda f: f.latencies.summary("poll")["n"] >= 3, timeout=10)
    with pytest.raises(ValueError):
        fleet.punch(type(b)("http://x", "other"), "1")


def test_latency_summaries():
    lat = Latencies()
    for ms in range(1, 101):
        lat.record("poll", float(ms), 200)
    lat.record("poll", 500.0, 0)
    s = lat.summary("poll")
    assert s["n"] == 101 and s["p50_ms"] == 51.0 and s["p99_ms"] == 100.0 and s["max_ms"] == 500
    assert s["statuses"] == {"0": 1, "200": 100}
    assert lat.summary("attlog") == {
        "n": 0,
        "p50_ms": None,
        "p99_ms": None,
        "max_ms": None,
        "statuses": {},
    }
    assert percentile([], 0.5) is None
    lat.reset()
    assert lat.summaries() == {}


async def test_registration_of_zk_clocks(server):
    devices = await register_zk_clocks(
        f"{server.url}/internal/v1",
        {"Authorization": "Bearer admin-token"},
        3,
        site_id="site-1",
        prefix="ZKT",
        time_zone="America/New_York",
        com_key="secret",
    )
    assert [serial for _, serial in devices] == ["ZKT-000000", "ZKT-000001", "ZKT-000002"]
    assert sorted(clock_id for clock_id, _ in devices) == ["clock-1", "clock-2", "clock-3"]
    assert {r["protocol"] for r in server.registrations} == {"ZK_PUSH"}
    assert {r["com_key"] for r in server.registrations} == {"secret"}
    assert {r["time_zone"] for r in server.registrations} == {"America/New_York"}
    with pytest.raises(RegistrationError, match="401"):
        await register_zk_clocks(f"{server.url}/internal/v1", {}, 1, site_id="s", prefix="X")


async def test_the_zk_command_line_registers_runs_punches_and_shows_state(server, tmp_path: Path):
    out = tmp_path / "zk.json"
    rc, lines, err = await run_cli(
        "zk", "register", "--admin-url", f"{server.url}/internal/v1", "--token", "admin-token",
        "--count", "3", "--site-id", "site-1", "--out", str(out), "--prefix", "CLI",
    )  # fmt: skip
    assert rc == 0, err
    assert lines[-1]["event"] == "registered" and lines[-1]["count"] == 3
    saved = json.loads(out.read_text())
    assert [d["serial_number"] for d in saved["devices"]] == [
        "CLI-000000",
        "CLI-000001",
        "CLI-000002",
    ]
    for d in saved["devices"]:
        server.queue(d["serial_number"], "DATA UPDATE USERINFO PIN=42\tName=Ana")

    rc, lines, err = await run_cli(
        "zk", "run", "--url", server.url, "--devices", str(out), "--duration", "2.5",
        "--stats-every", "1", "--poll-s", "0.5", "--ramp-s", "0.2", "--punch-rate", "4",
    )  # fmt: skip
    assert rc == 0, err
    events = [line["event"] for line in lines]
    assert events[0] == "started" and events[-1] == "final" and "stats" in events
    final = lines[-1]
    assert final["devices"] == 3 and final["users"] == 3 and final["results_delivered"] == 3
    assert final["punches_acked"] >= 1 and final["latencies"]["poll"]["n"] >= 3
    assert sum(len(server.devices[d["serial_number"]].punches) for d in saved["devices"]) >= 1

    rc, lines, err = await run_cli(
        "zk", "punch", "--url", server.url, "--serial", "CLI-000000", "--pin", "42",
        "--state", "1", "--verify-mode", "2",
    )  # fmt: skip
    assert rc == 0, err
    assert lines[0]["acked"] is True and lines[0]["line"].startswith("42\t")
    assert lines[0]["line"].endswith("\t1\t2\t0\t0\t0")

    server.queue("CLI-000001", "DATA UPDATE USERINFO PIN=43\tName=Bo")
    rc, lines, err = await run_cli(
        "zk", "state", "--url", server.url, "--serial", "CLI-000001", "--cycles", "1"
    )
    assert rc == 0, err
    assert set(lines[0]["users"]) == {"43"} and lines[0]["options"]["Delay"] == "1"

    rc, lines, _ = await run_cli(
        "zk", "state", "--url", server.url, "--serial", "NOPE", "--cycles", "1"
    )
    assert rc == 1 and lines[0]["stats"]["state"] == "refused"
