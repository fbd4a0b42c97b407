"""Benchmark: how fast the two web apps open on a tablet — the manage portal's sign-in screen and
the kiosk app's first screen — from a cold cache, served by the real gateway, in Debian's
Chromium driven by Playwright.

A tablet is emulated through the DevTools protocol: the CPU slowed 4× (a mid-range tablet
against this machine's core) and the network of a site's Wi-Fi (40 ms round trip, 10 Mbit/s
down, 5 up). Each load is a fresh browser context (nothing cached), timed from navigation to the
moment the first control a person uses is visible and enabled (the Email field; the kiosk's
first screen: the pairing field). Also reported: bytes transferred and the gzip size of the
page's own scripts and styles.

Baseline, same run, same emulation, same server: the same index.html with JavaScript turned
off, timed to DOMContentLoaded — the floor that the network and the server alone impose. The
ratio says what the app itself costs. Target: p95 <= 1000 ms to the first usable control on the
emulated tablet, and <= 50 kB gzip of script per page.

Needs the stack (make bench starts it) and the built apps (make web). Prints a table and writes
bench/results/web_pages.json.
    .venv/bin/python bench/web_pages.py [--loads 15]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import socket
import statistics
import subprocess
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
from playwright.async_api import async_playwright

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "services" / "gateway" / "web" / "dist"
CHROMIUM = os.environ.get("PUNCHCARD_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PG = os.environ.get(
    "PUNCHCARD_PG_URL", os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:55442")
)
KAFKA = os.environ.get("PUNCHCARD_KAFKA", os.environ.get("TEST_KAFKA_BOOTSTRAP", "127.0.0.1:59102"))
CPU_SLOWDOWN = 4
WIFI = {
    "offline": False,
    "latency": 40,
    "downloadThroughput": 10e6 / 8,
    "uploadThroughput": 5e6 / 8,
}
# The first control a person uses on each page.
PAGES = {
    "manage portal (sign-in)": ("/manage/", "input[type=email]"),
    "kiosk app (first screen)": ("/kiosk/", "input, button"),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gateway() -> tuple[subprocess.Popen, str, str]:
    port = free_port()
    database = f"bench_web_{uuid.uuid4().hex[:8]}"
    log = ROOT / ".local" / "logs" / "bench-web-gateway.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "DATABASE_URL": f"{PG}/{database}",
        "KAFKA_BOOTSTRAP_SERVERS": KAFKA,
        "HTTP_PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "WEB_DIST_DIR": str(DIST),
    }
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "punchcard-gateway")], env=env, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the gateway exited; see {log}")
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return process, url, database
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    process.terminate()
    raise SystemExit(f"the gateway was not ready in 90 s; see {log}")


def script_weight(page: str) -> dict:
    """Raw and gzip bytes of the scripts and styles one page loads (from its index.html)."""
    html = (DIST / page.strip("/") / "index.html").read_text()
    files = set()
    for token in html.replace('"', " ").split():
        if token.startswith("/assets/"):
            files.add(token)
    raw = gz = 0
    for name in files:
        content = (DIST / name.lstrip("/")).read_bytes()
        raw += len(content)
        gz += len(gzip.compress(content, 9))
    return {"files": len(files), "raw_bytes": raw, "gzip_bytes": gz}


async def tablet(browser, javascript: bool):
    context = await browser.new_context(
        java_script_enabled=javascript, viewport={"width": 1280, "height": 800}
    )
    page = await context.new_page()
    cdp = await context.new_cdp_session(page)
    await cdp.send("Network.enable")
    await cdp.send("Network.emulateNetworkConditions", WIFI)
    await cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
    return context, page


async def load_app(browser, url: str, selector: str) -> tuple[float, int]:
    context, page = await tablet(browser, javascript=True)
    try:
        started = time.perf_counter()
        await page.goto(url, wait_until="commit")
        await page.locator(selector).first.wait_for(state="visible")
        elapsed = (time.perf_counter() - started) * 1000
        transferred = await page.evaluate(
            "() => performance.getEntriesByType('navigation').concat("
            "performance.getEntriesByType('resource')).reduce((s, e) => s + e.transferSize, 0)"
        )
        return elapsed, int(transferred)
    finally:
        await context.close()


async def load_floor(browser, url: str) -> float:
    context, page = await tablet(browser, javascript=False)
    try:
        started = time.perf_counter()
        await page.goto(url, wait_until="domcontentloaded")
        return (time.perf_counter() - started) * 1000
    finally:
        await context.close()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(loads: int) -> list[dict]:
    process, base, database = start_gateway()
    rows = []
    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                for name, (path, selector) in PAGES.items():
                    await load_app(browser, base + path, selector)  # warm the server
                    app, floor, sizes = [], [], []
                    for _ in range(loads):  # interleaved: both see the same noise
                        elapsed, size = await load_app(browser, base + path, selector)
                        app.append(elapsed)
                        sizes.append(size)
                        floor.append(await load_floor(browser, base + path))
                    rows.append(
                        {
                            "page": name,
                            "path": path,
                            "loads": loads,
                            "app_p50_ms": statistics.median(app),
                            "app_p95_ms": pct(app, 0.95),
                            "floor_p50_ms": statistics.median(floor),
                            "floor_p95_ms": pct(floor, 0.95),
                            "transferred_bytes": statistics.median(sizes),
                            **script_weight(path),
                        }
                    )
            finally:
                await browser.close()
    finally:
        process.terminate()
        process.wait(30)
        admin = await asyncpg.connect(f"{PG}/postgres")
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loads", type=int, default=15)
    args = parser.parse_args()
    if not (DIST / "manage" / "index.html").is_file():
        raise SystemExit(f"the web apps are not built in {DIST}: make web")
    rows = asyncio.run(run(args.loads))
    print(
        f"\nTablet emulation: CPU {CPU_SLOWDOWN}x slower, {WIFI['latency']} ms RTT, "
        f"{WIFI['downloadThroughput'] * 8 / 1e6:.0f} Mbit/s down; cold cache; {args.loads} loads"
    )
    print(
        "| page | to first control p50 ms | p95 ms | floor (HTML, no JS) p50 ms | p95 ms "
        "| transferred kB | script+style kB (gzip) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['page']} | {r['app_p50_ms']:.0f} | {r['app_p95_ms']:.0f} "
            f"| {r['floor_p50_ms']:.0f} | {r['floor_p95_ms']:.0f} "
            f"| {r['transferred_bytes'] / 1024:.1f} | {r['raw_bytes'] / 1024:.1f} "
            f"({r['gzip_bytes'] / 1024:.1f}) |"
        )
    out = ROOT / "bench" / "results" / "web_pages.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "cpu_slowdown": CPU_SLOWDOWN,
                "network": WIFI,
                "target": {"p95_ms": 1000, "script_gzip_kb": 50},
                "rows": rows,
            },
            indent=2,
        )
    )
    print(f"\nwrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
