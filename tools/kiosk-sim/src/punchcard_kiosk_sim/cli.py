"""`punchcard-kiosk-sim`: register simulated clocks, and run a fleet of them.

    punchcard-kiosk-sim register --admin-url URL --token TOKEN --count N --site-id S \
        --out creds.json
    punchcard-kiosk-sim run --url DEVICE_SYNC_URL --credentials creds.json [--duration S]
    punchcard-kiosk-sim punch --gateway-url URL --credential pcc_… --employee-id E1 \
        [--direction IN|OUT]   (asks for the PIN; or PUNCHCARD_PIN in the environment)
    punchcard-kiosk-sim punch --gateway-url URL --credential pcc_… --card \
        [--direction IN|OUT]   (a badge card read at the kiosk: asks for the number; or
                                PUNCHCARD_CARD in the environment)
    punchcard-kiosk-sim zk register|run|punch|state ...   (ZKTeco PUSH clocks: zk_cli.py)

`run` writes JSON lines on stdout: `started`, `commands` (every --print-every commands),
`stats` (every --stats-every seconds) and `final`.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import os
import secrets
import sys
import time
from pathlib import Path

import aiohttp

from punchcard_kiosk_sim import zk_cli
from punchcard_kiosk_sim.admin import RegistrationError, register_clocks, serial_number
from punchcard_kiosk_sim.clock import DEFAULT_SOFTWARE_VERSION, Command, SimulatedClock
from punchcard_kiosk_sim.console import (
    add_register_arguments,
    emit,
    first,
    load_list,
    run_until,
    saved,
    stop_on_signals,
)
from punchcard_kiosk_sim.fleet import ClockFleet, raise_fd_limit
from punchcard_kiosk_sim.punch import punch as kiosk_punch


def load_credentials(path: Path) -> list[str]:
    """Credentials from a file written by `register` ({"clocks": [{"credential": ...}]}), or a
    JSON list of credentials / {"credential": ...} objects / [clock_id, credential] pairs."""
    return load_list(path, "clocks", "credential", pairs=True)


async def _register(args: argparse.Namespace, prefix: str) -> list[tuple[str, str]]:
    return await register_clocks(
        args.admin_url,
        {"Authorization": f"Bearer {args.token}"},
        args.count,
        site_id=args.site_id,
        prefix=prefix,
        concurrency=args.concurrency,
        time_zone=args.time_zone,
    )


def register(args: argparse.Namespace) -> int:
    prefix = args.prefix or f"sim-{secrets.token_hex(3)}"
    started = time.monotonic()
    try:
        clocks = asyncio.run(_register(args, prefix))
    except RegistrationError as exc:
        emit("error", message=str(exc))
        return 1
    document = {
        "admin_url": args.admin_url,
        "site_id": args.site_id,
        "prefix": prefix,
        "clocks": [
            {
                "clock_id": clock_id,
                "credential": credential,
                "serial_number": serial_number(prefix, i),
            }
            for i, (clock_id, credential) in enumerate(clocks)
        ],
    }
    return saved(args.out, document, len(clocks), prefix, started)  # credentials: private


def run(args: argparse.Namespace) -> int:
    credentials = first(load_credentials(Path(args.credentials)), args.count, "credentials")
    if not credentials:
        return 1
    return asyncio.run(_run(args, credentials))


async def _run(args: argparse.Namespace, credentials: list[str]) -> int:
    raise_fd_limit(len(credentials) + 1024)
    started = time.monotonic()
    received = 0

    def on_command(clock: SimulatedClock, command: Command, received_at: float) -> None:
        nonlocal received
        received += 1
        if args.print_every and received % args.print_every == 0:
            emit(
                "commands",
                t=round(received_at - started, 3),
                commands_received=received,
                clock_id=clock.clock_id,
                sequence=command.get("sequence"),
                kind=command.get("kind"),
            )

    done = stop_on_signals()
    fleet = ClockFleet(
        args.url,
        credentials,
        wait_s=args.wait_s,
        on_command=on_command,
        software_version=args.software_version,
        limit=args.limit,
        history=False,
        ramp_s=args.ramp_s,
    )
    await fleet.start()
    emit("started", clocks=len(fleet), url=args.url, wait_s=args.wait_s, duration=args.duration)
    try:
        await run_until(
            done,
            started,
            args.duration,
            args.stats_every,
            fleet.stats,
            lambda: all(c.unauthorized for c in fleet),
        )
    finally:
        await fleet.stop()
    stats = fleet.stats()
    emit("final", t=round(time.monotonic() - started, 3), **stats)
    unauthorized = [c.clock_id for c in fleet if c.unauthorized]
    if unauthorized:
        emit(
            "error", message=f"{len(unauthorized)} clocks unauthorized", clock_ids=unauthorized[:20]
        )
    return 1 if unauthorized or fleet.crashed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="punchcard-kiosk-sim",
        description="Simulated Punchcard clocks speaking device-sync's clock API.",
    )
    parser.add_argument(
        "--log-level",
        default="WARNING",
        help="Python log level for the simulator's own log on stderr (default: WARNING)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    reg = sub.add_parser(
        "register",
        help="register clocks through the admin API and save their credentials",
        description="Register N clocks (POST {admin-url}/clocks) and write their credentials.",
    )
    add_register_arguments(reg, "credentials", "sim-<6 random hex digits>")

    run = sub.add_parser(
        "run",
        help="run a fleet of clocks against device-sync",
        description="Run one simulated clock per credential; JSON lines on stdout.",
    )
    run.add_argument(
        "--url", required=True, help="device-sync's base URL, e.g. http://127.0.0.1:8104"
    )
    run.add_argument(
        "--credentials",
        required=True,
        help="credentials file written by 'register' (or a JSON list of credentials)",
    )
    run.add_argument(
        "--count", type=int, default=None, help="run only the first COUNT clocks of the file"
    )
    run.add_argument(
        "--wait-s",
        type=float,
        default=25,
        help="long-poll wait sent with each sync, 0-55 s (default: 25)",
    )
    run.add_argument(
        "--duration",
        type=float,
        default=None,
        help="stop after this many seconds (default: run until SIGINT/SIGTERM)",
    )
    run.add_argument(
        "--stats-every",
        type=float,
        default=10.0,
        help="print a 'stats' line every this many seconds; 0: only the final one (default: 10)",
    )
    run.add_argument(
        "--print-every",
        type=int,
        default=1000,
        help="print a 'commands' line every this many commands received; 0: never (default: 1000)",
    )
    run.add_argument(
        "--ramp-s",
        type=float,
        default=0.0,
        help="spread the clocks' first requests over this many seconds (default: 0)",
    )
    run.add_argument(
        "--limit",
        type=int,
        default=None,
        help="'limit' sent with each sync: commands per answer (default: not sent; the "
        "server's default is 200, and a server may ignore it)",
    )
    run.add_argument(
        "--software-version",
        default=DEFAULT_SOFTWARE_VERSION,
        help=f"software_version the clocks report (default: {DEFAULT_SOFTWARE_VERSION!r})",
    )

    one = sub.add_parser(
        "punch",
        help="punch by PIN or badge card at a kiosk, through the gateway's kiosk edge",
        description=(
            "One PIN punch (--employee-id) or badge-card punch (--card) as the kiosk app makes"
            " it; prints the answer (JSON)."
        ),
    )
    one.add_argument("--gateway-url", default="http://127.0.0.1:8000", help="the gateway")
    one.add_argument("--credential", required=True, help="the clock's credential (pcc_...)")
    how = one.add_mutually_exclusive_group(required=True)
    how.add_argument("--employee-id", help="the worker's Employee ID (then the PIN is asked)")
    how.add_argument(
        "--card",
        action="store_true",
        help="a badge card read by the kiosk's card reader (the number is asked, or"
        " PUNCHCARD_CARD; never on the command line)",
    )
    one.add_argument("--direction", choices=("IN", "OUT"), default=None)
    zk_cli.add_parser(sub)
    return parser


def punch_once(args: argparse.Namespace) -> int:
    # Never on the command line (shell history, ps): from the environment or typed.
    if args.card:
        credential = {"card": os.environ.get("PUNCHCARD_CARD") or getpass.getpass("Card: ")}
    else:
        pin = os.environ.get("PUNCHCARD_PIN") or getpass.getpass("PIN: ")
        credential = {"employee_id": args.employee_id, "pin": pin}

    async def go() -> dict:
        async with aiohttp.ClientSession() as session:
            return await kiosk_punch(
                session,
                args.gateway_url,
                args.credential,
                direction=args.direction,
                **credential,
            )

    try:
        answer = asyncio.run(go())
    except aiohttp.ClientResponseError as error:
        emit("error", status=error.status, message=error.message)
        return 1
    print(json.dumps(answer, ensure_ascii=False), flush=True)
    return 0 if answer.get("status") == "recorded" else 2


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "run" and not 0 <= args.wait_s <= 55:
        parser.error("--wait-s must be between 0 and 55")
    if args.command == "punch":
        return punch_once(args)
    if args.command == "zk":
        return zk_cli.main(args)
    return register(args) if args.command == "register" else run(args)


if __name__ == "__main__":
    sys.exit(main())
