"""`punchcard-kiosk-sim zk ...`: hardware clocks speaking ZK PUSH.

    punchcard-kiosk-sim zk register --admin-url URL --token TOKEN --count N --site-id S \
        --out zk.json [--time-zone Europe/Madrid] [--com-key K]
    punchcard-kiosk-sim zk run --url DEVICE_SYNC_URL --devices zk.json [--duration S] \
        [--poll-s 10] [--punch-rate 5]
    punchcard-kiosk-sim zk punch --url URL --serial SN --pin 1001 [--state 0] [--verify-mode 1]
    punchcard-kiosk-sim zk state --url URL --serial SN [--cycles 2]

JSON lines on stdout, like the kiosk commands.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import time
from pathlib import Path
from typing import Any

from punchcard_kiosk_sim.admin import RegistrationError, register_zk_clocks
from punchcard_kiosk_sim.console import (
    add_register_arguments,
    emit,
    first,
    load_list,
    run_until,
    saved,
    stop_on_signals,
)
from punchcard_kiosk_sim.fleet import raise_fd_limit
from punchcard_kiosk_sim.zk import ZkDevice
from punchcard_kiosk_sim.zk_fleet import ZkFleet


def load_serials(path: Path) -> list[str]:
    """Serial numbers from a file written by `zk register` ({"devices": [{"serial_number"}]}),
    or a JSON list of serials / {"serial_number": ...} objects."""
    return load_list(path, "devices", "serial_number")


def register(args: argparse.Namespace) -> int:
    prefix = args.prefix or f"ZK{secrets.token_hex(3).upper()}"
    started = time.monotonic()
    try:
        devices = asyncio.run(
            register_zk_clocks(
                args.admin_url,
                {"Authorization": f"Bearer {args.token}"},
                args.count,
                site_id=args.site_id,
                prefix=prefix,
                concurrency=args.concurrency,
                time_zone=args.time_zone,
                com_key=args.com_key,
            )
        )
    except RegistrationError as exc:
        emit("error", message=str(exc))
        return 1
    document = {
        "admin_url": args.admin_url,
        "site_id": args.site_id,
        "prefix": prefix,
        "protocol": "ZK_PUSH",
        "com_key": args.com_key,
        "devices": [{"clock_id": c, "serial_number": s} for c, s in devices],
    }
    return saved(args.out, document, len(devices), prefix, started)  # a ComKey: private


def run(args: argparse.Namespace) -> int:
    serials = first(load_serials(Path(args.devices)), args.count, "devices")
    if not serials:
        return 1
    com_key = args.com_key
    if com_key is None:
        data = json.loads(Path(args.devices).read_text())
        com_key = data.get("com_key") if isinstance(data, dict) else None
    return asyncio.run(_run(args, serials, com_key))


async def _run(args: argparse.Namespace, serials: list[str], com_key: str | None) -> int:
    raise_fd_limit(args.connections + 1024)
    started = time.monotonic()
    done = stop_on_signals()
    pins = [p for p in (args.pins or "").split(",") if p]
    rng = random.Random(args.seed)
    fleet = ZkFleet(
        args.url,
        serials,
        connections=args.connections,
        ramp_s=args.ramp_s,
        poll_s=args.poll_s,
        com_key=com_key,
        history=False,
        rng=rng,
    )
    await fleet.start()
    emit("started", devices=len(fleet), url=args.url, duration=args.duration)
    punched = 0

    async def puncher() -> None:
        nonlocal punched
        interval = 1 / args.punch_rate
        next_at = time.monotonic()
        while not done.is_set():
            device = fleet[rng.randrange(len(fleet))]
            choices = pins or sorted(device.users)
            if choices and device.handshaken:
                fleet.punch(device, rng.choice(choices), state=rng.choice((0, 1)))
                punched += 1
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    feeder = asyncio.ensure_future(puncher()) if args.punch_rate > 0 else None
    try:
        await run_until(done, started, args.duration, args.stats_every, fleet.stats)
    finally:
        done.set()
        if feeder is not None:
            feeder.cancel()
            await asyncio.gather(feeder, return_exceptions=True)
        await fleet.stop()
    emit(
        "final",
        t=round(time.monotonic() - started, 3),
        **fleet.stats(),
        latencies=fleet.latencies.summaries(),
        punches_offered=punched,
    )
    refused = [d.serial for d in fleet if d.registered is False]
    if refused:
        emit("error", message=f"{len(refused)} devices refused", serials=refused[:20])
    return 1 if refused or fleet.crashed else 0


def _device(args: argparse.Namespace) -> ZkDevice:
    return ZkDevice(
        args.url,
        args.serial,
        com_key=args.com_key,
        error_delay_s=0.5,
        request_timeout_s=args.timeout,
    )


def punch(args: argparse.Namespace) -> int:
    async def go() -> int:
        async with _device(args) as device:
            await device.step()
            if device.registered is not True:
                emit("error", message="handshake refused", last_error=device.last_error)
                return 1
            record = device.punch(args.pin, state=args.state, verify_mode=args.verify_mode)
            await device.upload_now()
            emit(
                "punch",
                serial=device.serial,
                line=record.line(),
                stamp=record.stamp,
                acked=record.acked_at is not None,
                sends=record.sends,
                last_error=device.last_error,
            )
            return 0 if record.acked_at is not None else 2

    return asyncio.run(go())


def state(args: argparse.Namespace) -> int:
    async def go() -> int:
        async with _device(args) as device:
            for i in range(args.cycles):
                if i:
                    await asyncio.sleep(args.interval)
                await device.step()
            print(json.dumps(device.snapshot(), ensure_ascii=False, default=str), flush=True)
            return 0 if device.registered else 1

    return asyncio.run(go())


def add_parser(sub: Any) -> None:
    zk = sub.add_parser(
        "zk",
        help="hardware clocks speaking ZKTeco PUSH (ADMS) to device-sync's /iclock edge",
        description="Simulated ZKTeco-style clocks: register them, run a fleet, punch, look.",
    )
    zsub = zk.add_subparsers(dest="zk_command", required=True)

    reg = zsub.add_parser(
        "register",
        help="register ZK_PUSH clocks through the admin API and save their serial numbers",
    )
    add_register_arguments(reg, "serial numbers", "ZK<6 random hex digits>")
    reg.add_argument("--com-key", default=None, help="a ComKey for every clock (default: none)")

    run_ = zsub.add_parser("run", help="run a fleet of ZK devices; JSON lines on stdout")
    run_.add_argument("--url", required=True, help="the PUSH server (device-sync's base URL)")
    run_.add_argument("--devices", required=True, help="the file 'zk register' wrote")
    run_.add_argument("--count", type=int, default=None, help="only the first COUNT devices")
    run_.add_argument("--duration", type=float, default=None, help="stop after S seconds")
    run_.add_argument("--stats-every", type=float, default=10.0, help="a 'stats' line every S s")
    run_.add_argument(
        "--poll-s",
        type=float,
        default=None,
        help="poll every S seconds whatever Delay the server says (default: the server's Delay)",
    )
    run_.add_argument(
        "--ramp-s",
        type=float,
        default=None,
        help="spread the first handshakes over S seconds (default: one poll interval)",
    )
    run_.add_argument(
        "--connections", type=int, default=1000, help="HTTP connections / cycles in flight"
    )
    run_.add_argument(
        "--punch-rate", type=float, default=0.0, help="punches/s over the fleet (default: 0)"
    )
    run_.add_argument(
        "--pins",
        default=None,
        help="comma-separated PINs (badges) to punch; default: the users each device holds",
    )
    run_.add_argument("--com-key", default=None, help="default: the file's com_key")
    run_.add_argument("--seed", type=int, default=None, help="random seed")

    for name, help_text in (
        ("punch", "one device: handshake, one punch uploaded; prints the record and the answer"),
        ("state", "one device: handshake and a few cycles; prints what it holds (JSON)"),
    ):
        one = zsub.add_parser(name, help=help_text)
        one.add_argument("--url", required=True, help="the PUSH server (device-sync's base URL)")
        one.add_argument("--serial", required=True, help="the device's serial number (SN)")
        one.add_argument("--com-key", default=None)
        one.add_argument("--timeout", type=float, default=20.0, help="per request, seconds")
        if name == "punch":
            one.add_argument("--pin", required=True, help="the badge (the worker's Employee ID)")
            one.add_argument(
                "--state", type=int, default=0, help="0 in, 1 out, 2/3 break, 255 undefined"
            )
            one.add_argument(
                "--verify-mode", type=int, default=1, help="0 PIN, 1 finger, 2 card, 15 face"
            )
        else:
            one.add_argument("--cycles", type=int, default=2, help="poll cycles (default: 2)")
            one.add_argument(
                "--interval", type=float, default=1.0, help="seconds between cycles (default: 1)"
            )


def main(args: argparse.Namespace) -> int:
    handlers = {"register": register, "run": run, "punch": punch, "state": state}
    return handlers[args.zk_command](args)
