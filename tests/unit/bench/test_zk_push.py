"""bench/zk_push.py's own pieces: the punch plan, the verdicts and the table, its arguments, and
the poll-capacity phase against the fake PUSH server of the simulator's tests (the real edge is
measured by running the bench)."""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from punchcard_kiosk_sim import ZkFleet

from tests.unit.kiosk_sim.fake_push_server import FakePushServer

BENCH = Path(__file__).resolve().parents[3] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))  # a bench runs as a script: `import support`

import zk_push  # noqa: E402


def test_no_device_badge_pair_repeats_a_state_within_a_second():
    for rate, devices in ((2500, 1000), (100, 20), (5000, 1000), (10, 1000)):
        workers = zk_push.workers_per_device(rate, devices, 2)
        assert 2 * devices * workers / rate >= 2
        seen: dict[tuple[int, int], list[float]] = {}
        for i in range(int(rate * 10)):
            seen.setdefault(zk_push.punch_plan(i, devices, workers), []).append(i / rate)
        for times in seen.values():  # alternate IN/OUT: the same State every other time
            assert all(b - a >= 2 - 1e-9 for a, b in zip(times, times[2:], strict=False))
    badges = {zk_push.badge(d, s, 4) for d in range(1000) for s in range(4)}
    assert len(badges) == 4000 and all(b.isdigit() for b in badges)


def test_devices_held_is_the_largest_step_meeting_the_target():
    def step(devices, p99, polling=None):
        return {"devices": devices, "polling": polling or devices, "poll": {"p99_ms": p99}}

    assert zk_push.held_devices([step(5000, 12), step(10000, 49.9), step(15000, 70)], 50) == 10000
    assert zk_push.held_devices([step(5000, 80)], 50) == 0
    assert zk_push.held_devices([step(5000, 10, polling=4000)], 50) == 0
    assert zk_push.held_devices([step(5000, None)], 50) == 0
    assert zk_push.intervals(15.0, 10) == 1.5 and zk_push.intervals(None, 10) is None


def test_arguments_and_quick(monkeypatch):
    monkeypatch.setattr(
        "sys.argv",
        [
            "zk_push.py",
            "--quick",
            "--device-sync-env",
            "ZK_DELAY_S=10",
            "--punch-env",
            "VERDICT_LANES=2",
            "--rate",
            "50",
        ],
    )
    args = zk_push.parse()
    assert (args.devices, args.rate, args.poll_steps) == (20, 50, [40, 80])
    assert args.ds_env == {"ZK_DELAY_S": "10"}
    assert args.punch_env == {"VERDICT_LANES": "2"}
    assert args.out.endswith("bench/results/zk_push.quick.json")
    assert (args.warm_up_s, args.cold_statistics) == (1, False)  # analysed after a warm-up
    monkeypatch.setattr("sys.argv", ["zk_push.py", "--poll-steps", "300,100", "--devices", "200"])
    args = zk_push.parse()
    assert args.poll_steps == [200, 300] and args.poll_s == 10 and args.rate == 2500
    assert args.warm_up_s == 5
    assert args.punch_env == {}
    with pytest.raises(Exception, match="KEY=VALUE"):
        zk_push.parse_env(["nope"])
    with pytest.raises(Exception, match="positive"):
        zk_push.steps_of("0,5")


def result(**over) -> dict:
    r = {
        "ingest": {
            "devices": 1000,
            "offered_per_s": 2499.0,
            "acked_per_s": 2400.0,
            "ledger_per_s": 2100.0,
            "device_to_ok": {"p50_ms": 20.0, "p99_ms": 150.0},
            "punches": 50000,
            "acked": 50000,
            "decided": 50000,
            "recorded": 50000,
            "batches": 40000,
            "resent_lines": 0,
            "ledger_lag_s": 0.4,
        },
        "kiosk_baseline": {
            "rate_per_s": 20,
            "recorded_latency": {"p50_ms": 90.0, "p99_ms": 180.0},
            "recorded": 300,
            "punches": 300,
        },
        "fanout": {"devices": 1000, "seconds": 12.5, "intervals": 1.25},
        "poll_capacity": {
            "held": 20000,
            "steps": [
                {
                    "devices": 20000,
                    "poll": {"p50_ms": 3.0, "p99_ms": 31.0},
                    "polls_per_s": 2000.0,
                    "device_sync_cpu_pct": 60.0,
                    "device_sync_rss_mib": 300.0,
                    "scheduler_late_p99_ms": 2.0,
                }
            ],
        },
    }
    for key, value in over.items():
        section, field = key.split("__")
        r[section][field] = value
    return r


def test_verdicts_and_the_table(capsys):
    assert zk_push.verdict(result()) == {"ingest": True, "polls": True, "fanout": True}
    assert not zk_push.verdict(result(ingest__ledger_per_s=1999.0))["ingest"]
    assert not zk_push.verdict(result(ingest__decided=49999))["ingest"]
    assert not zk_push.verdict(result(ingest__device_to_ok={"p99_ms": None}))["ingest"]
    assert not zk_push.verdict(result(poll_capacity__held=19999))["polls"]
    assert not zk_push.verdict(result(fanout__intervals=None))["fanout"]
    rows = dict(zk_push.rows(result(), SimpleNamespace(poll_s=10)))
    assert rows["  device-to-OK p50 / p99 (ms)"] == "20.0/150.0 (x7.5)"
    assert rows["  in poll intervals (10 s)"] == 1.25
    assert rows["20000 devices polling: poll p50 / p99 (ms)"] == "3.0/31.0 (x10.3)"
    assert rows["devices held at p99 poll <= 50 ms"] == 20000


def test_the_p99_is_judged_at_the_target_rate_and_the_throughput_at_the_offered_one():
    at_target = {**result()["ingest"], "rate_per_s": 2000.0, "ledger_per_s": 1999.0}
    r = result(ingest__device_to_ok={"p50_ms": 90.0, "p99_ms": 260.0})
    assert not zk_push.verdict(r)["ingest"]  # no phase at the target rate: the offered one's
    r["ingest_at_target"] = at_target  # 150 ms at 2,000/s (decided 1,999/s: it was offered 2,000)
    assert zk_push.verdict(r)["ingest"]
    r["ingest_at_target"] = {**at_target, "device_to_ok": {"p50_ms": 40.0, "p99_ms": 200.1}}
    assert not zk_push.verdict(r)["ingest"]
    r["ingest_at_target"] = {**at_target, "acked": 49999}
    assert not zk_push.verdict(r)["ingest"]
    r["ingest_at_target"] = at_target
    assert not zk_push.verdict({**r, "ingest": {**r["ingest"], "ledger_per_s": 1999.0}})["ingest"]
    rows = dict(zk_push.rows(r, SimpleNamespace(poll_s=10)))
    assert rows["  device-to-OK p50 / p99 (ms)"] == "90.0/260.0 (x2.9)"
    label = "ATTLOG at the target rate, 2000/s offered: device-to-OK p50 / p99 (ms)"
    assert rows[label] == "20.0/150.0 (x7.5)"
    assert rows["  answered OK / decided per s"] == "2400.0/1999.0"


def test_ingest_only_runs_no_other_phase_and_says_so():
    r = result()
    del r["fanout"], r["poll_capacity"]
    assert zk_push.verdict(r) == {"ingest": True, "polls": None, "fanout": None}
    rows = dict(zk_push.rows(r, SimpleNamespace(poll_s=10)))
    assert not any(label.startswith("roster fan-out") for label in rows)
    assert (zk_push.said(None), zk_push.said(True), zk_push.said(False)) == (
        "not run",
        "met",
        "NOT met",
    )


def test_the_largest_backlog_of_each_stage():
    # t, OK'd so far, rows in device-sync's outbox, decided by punch
    samples = [(0.0, 0, 0, 0), (1.0, 2000, 900, 600), (2.0, 4000, 300, 1500), (3.0, 4000, 0, 4000)]
    assert zk_push.backlog_summary(samples) == {
        "samples": 4,
        "series": [list(sample) for sample in samples],
        "device_sync_outbox_max": 900,
        "punch_undecided_max": 2200,
    }
    assert zk_push.backlog_summary([])["device_sync_outbox_max"] is None
    r = result(ingest__waiting={"device_sync_outbox_max": 900, "punch_undecided_max": 2200})
    rows = dict(zk_push.rows(r, SimpleNamespace(poll_s=10)))
    assert rows["  most waiting: in device-sync's outbox / published, undecided"] == "900/2200"


def test_the_group_commit_means_from_two_scrapes():
    def scrape(wait_sum, waits, took_sum, batches, size_sum):
        return "\n".join(
            [
                "# HELP device_sync_write_batch_seconds A group commit's transaction",
                f'device_sync_write_batch_wait_seconds_sum{{writer="zk_attlog"}} {wait_sum}',
                f'device_sync_write_batch_wait_seconds_count{{writer="zk_attlog"}} {waits}',
                'device_sync_write_batch_wait_seconds_bucket{le="1.0",writer="zk_attlog"} 9',
                f'device_sync_write_batch_seconds_sum{{writer="zk_attlog"}} {took_sum}',
                f'device_sync_write_batch_seconds_count{{writer="zk_attlog"}} {batches}',
                f'device_sync_write_batch_size_sum{{writer="zk_attlog"}} {size_sum}',
                f'device_sync_write_batch_size_count{{writer="zk_attlog"}} {batches}',
                'device_sync_write_batch_seconds_sum{writer="other"} 99.0',
            ]
        )

    before = zk_push.group_commit_series(scrape(1.0, 10, 0.5, 2, 10))
    assert before["device_sync_write_batch_seconds_sum"] == 0.5
    after = zk_push.group_commit_series(scrape(31.0, 110, 2.5, 6, 110))
    assert zk_push.group_commit_means(before, after) == {
        "transactions": 4,
        "mean_wait_ms": 300.0,
        "mean_transaction_ms": 500.0,
        "mean_uploads_per_transaction": 25.0,
    }
    assert zk_push.group_commit_means({}, {})["mean_wait_ms"] is None


async def test_the_poll_capacity_phase_against_a_fake_push_server():
    fake = await FakePushServer(delay=1).start()
    serials = [f"CAP-{i:03d}" for i in range(30)]
    for s in serials:
        fake.add(s)
    args = SimpleNamespace(
        poll_steps=[10, 30], poll_s=0.5, handshakes_per_s=1000, window_s=1.0, stop_above_ms=500
    )
    me = SimpleNamespace(process=SimpleNamespace(pid=os.getpid()))
    try:
        async with ZkFleet(fake.url, serials[:5], poll_s=0.5, ramp_s=0.1) as fleet:
            capacity = await zk_push.poll_capacity(args, fleet, me, serials)
    finally:
        await fake.close()
    assert [s["devices"] for s in capacity["steps"]] == [10, 30]
    assert all(s["polling"] == s["devices"] and s["poll"]["n"] > 0 for s in capacity["steps"])
    assert capacity["held"] == zk_push.held_devices(capacity["steps"], 50)


async def test_the_poll_step_spreads_its_devices_over_simulator_processes():
    fake = await FakePushServer(delay=1).start()
    serials = [f"MP-{i:03d}" for i in range(40)]
    for s in serials:
        fake.add(s)
    args = SimpleNamespace(
        poll_steps=[20, 40],
        poll_s=0.5,
        handshakes_per_s=1000,
        window_s=1.5,
        stop_above_ms=500,
        processes=3,
        connections=100,
        request_timeout_s=5,
        client="http1",
    )
    me = SimpleNamespace(process=SimpleNamespace(pid=os.getpid()))
    try:
        async with ZkFleet(fake.url, serials[:5], poll_s=0.5, ramp_s=0.1) as fleet:
            capacity = await zk_push.poll_capacity(args, fleet, me, serials)
            assert len(fleet) == 5  # the others polled from the worker processes
    finally:
        await fake.close()
    assert [s["devices"] for s in capacity["steps"]] == [20, 40]
    assert all(fake.devices[s].polls for s in serials)
    for step in capacity["steps"]:
        assert step["polling"] == step["devices"] and step["simulator_processes"] == 3
        assert step["poll"]["n"] >= step["devices"]  # every device polled in the window
        assert len(step["scheduler_late_each_p99_ms"]) == 3


class FakeTenant:
    """The admin side of the bench against the fake PUSH server: an assignment queues the
    worker's USERINFO on the clock (its worker id is `w-<badge>`)."""

    def __init__(self, fake: FakePushServer, serial_of: dict[str, str]) -> None:
        self.fake, self.serial_of = fake, serial_of

    async def workers(self, badges: list[str]) -> dict[str, str]:
        return {b: f"w-{b}" for b in badges}

    async def assign(self, pairs: list[tuple[str, str]]) -> float:
        at = time.monotonic()
        for clock_id, worker_id in pairs:
            pin = worker_id.removeprefix("w-")
            self.fake.queue(self.serial_of[clock_id], f"DATA UPDATE USERINFO PIN={pin}\tName=Z")
        return at


class FakeLedger:
    """punch's attempts, as the fake server deduplicated the punches."""

    def __init__(self, fake: FakePushServer) -> None:
        self.fake = fake

    async def fetchrow(self, query: str, *args) -> dict:
        n = sum(len(d.punches) for d in self.fake.devices.values())
        return {"decided": n, "recorded": n, "last": datetime.now(UTC)}


async def test_ingest_and_fanout_phases_against_a_fake_push_server():
    fake = await FakePushServer(delay=1).start()
    serials = [f"ING-{i}" for i in range(5)]
    for s in serials:
        fake.add(s)
    plan = {"clock_ids": [f"c{i}" for i in range(5)], "workers_per_device": 10}
    tenant = FakeTenant(fake, dict(zip(plan["clock_ids"], serials, strict=True)))
    args = SimpleNamespace(devices=5, rate=50, seconds=3, verify_mode=15, drain_s=30, poll_s=0.3)
    acks = zk_push.Acks()
    try:
        async with ZkFleet(
            fake.url, serials, poll_s=0.3, ramp_s=0.1, on_result=acks.on_result
        ) as fleet:
            await fleet.wait_all(lambda d: d.polls > 0, timeout=10)
            ingest = await zk_push.ingest(args, fleet, plan, FakeLedger(fake), "tenant")
            fan = await zk_push.fanout(args, fleet, tenant, plan, acks)
    finally:
        await fake.close()
    # every punch answered OK, and none collided with another on (device, badge, time, state)
    assert ingest["punches"] == ingest["acked"] == ingest["decided"] == 150
    assert ingest["device_to_ok"]["n"] == 150 and ingest["ledger_per_s"] is not None
    lines = [line for d in fake.devices.values() for p in d.attlog_posts for line in p["lines"]]
    assert {line.split("\t")[3] for line in lines} == {"15"}
    assert fan["devices"] == fan["acknowledged"] == 5 and fan["intervals"] is not None
    assert all(d.results[-1]["Return"] == "0" for d in fake.devices.values())
