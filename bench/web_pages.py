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
    .venv/bin/python bench/web_pages.py [--loads 15] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import statistics
import tempfile
import time
from pathlib import Path

import support
from playwright.async_api import async_playwright
from support import ROOT, pct

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


async def run(loads: int) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        gateway = await support.start_service(
            "gateway", Path(tmp), LOG_LEVEL="WARNING", WEB_DIST_DIR=str(DIST)
        )
        try:
            return await measure(gateway.url, loads)
        finally:
            await gateway.stop()


async def measure(base: str, loads: int) -> list[dict]:
    rows = []
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
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loads", type=int, default=15)
    args = support.parse_args(parser, "web_pages", quick={"loads": 2})
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
    support.write_result(
        args.out,
        {
            "cpu_slowdown": CPU_SLOWDOWN,
            "network": WIFI,
            "target": {"p95_ms": 1000, "script_gzip_kb": 50},
            "rows": rows,
        },
    )


if __name__ == "__main__":
    main()
