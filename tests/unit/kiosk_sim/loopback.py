"""What the simulator's tests share: an aiohttp app served on loopback, and the command line run
as a subprocess."""

from __future__ import annotations

import asyncio
import json
import os
import sys

from aiohttp import web


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    """Serve `app` on 127.0.0.1 at a free port: (runner, base URL)."""
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


async def run_cli(*args: str, timeout: float = 60) -> tuple[int, list[dict], str]:
    """`punchcard-kiosk-sim ARGS`: (exit status, its JSON lines, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "punchcard_kiosk_sim.cli",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    lines = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    return proc.returncode or 0, lines, err.decode()
