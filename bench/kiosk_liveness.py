"""Benchmark: the kiosk app's in-browser face detection and liveness (@vladmandic/human:
BlazeFace, FaceMesh, anti-spoof and liveness models) per frame on an emulated tablet, the size
of its models and whether a second visit takes them from the browser's cache.

The real gateway, identity, device-sync, punch and face-match (the kiosk's bursts go to
face-match and come back "not recognised", then the camera screen detects again), Debian's
Chromium driven by Playwright, its fake camera playing a face (scikit-image's astronaut, head
and shoulders, with natural jitter) in a loop. The kiosk is paired through its screen and left
on the camera screen; every detection the app runs is timed by the app itself with the User
Timing API ("punchcard:face-detect", around ``human.detect`` of the camera loop's still: every
model, the target's; "punchcard:face-follow", a burst's further frames: FaceMesh following the
face for the chips, reported apart; the models' load: "punchcard:face-models"), read back from
the page.

1. Baseline, same run: the page at the machine's own speed (no CPU slowdown).
2. The tablet: the same with the page's CPU slowed 4x through the DevTools protocol (as
   bench/web_pages.py). WebGL runs in Chromium's GPU process (SwiftShader here, no GPU), which
   the slowdown does not reach: a real tablet's GPU is what the models would use.
3. Threads, at 1x: the kiosk's page is cross-origin isolated, so TensorFlow.js runs its
   WebAssembly kernels on half the logical cores the browser reports (one to eight). The
   DevTools slowdown reaches the page's main thread only, not its workers ("only supported for
   pages, not workers"), so a 4x figure with threads would flatter: sessions 1 and 2 are told
   the browser has 2 logical cores (one thread, on any machine), and this third one, at 1x
   only, 4 (two threads), against session 1 of the same run.
4. Models: bytes fetched on the first visit (the library's chunk and /assets/human-*/), and on
   a second visit in the same browser profile (0: from the cache; the gateway serves /assets/
   as immutable).

Target (issue 17): detection + liveness p95 <= 150 ms per frame at 4x CPU slowdown.
Prints a table and writes bench/results/kiosk_liveness.json.
    .venv/bin/python bench/kiosk_liveness.py [--seconds 60] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from pathlib import Path

import cv2
import support
from kiosk_pin_punch import PASSWORD
from playwright.async_api import async_playwright
from support import pct, summary, unique
from web_pages import CHROMIUM, CHROMIUM_ARGS, CPU_SLOWDOWN

from tests.support.face import astronaut_bgr
from tests.support.fake_camera import write_y4m
from tests.support.gateway import create_tenant, login, register_clock
from tests.support.services import whole_system

TARGET_P95_MS = 150.0
# Each session: (CPU slowdown, the logical cores its browser reports through
# Emulation.setHardwareConcurrencyOverride). TensorFlow.js runs half as many WebAssembly
# threads, which the slowdown would not reach: one thread for the target's two, two beside them.
SESSIONS = ((1, 2), (CPU_SLOWDOWN, 2), (1, 4))
# The browser as bench/web_pages.py launches it (WebGL on SwiftShader), with a fake camera.
FAKE_CAMERA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
MODEL_FILES = "e => e.name.includes('/assets/human')"


VIEW_S = 2.5  # each of the two views, in the looped video


def camera_video(tmp: Path) -> Path:
    """The astronaut's head and shoulders, centred, as a live camera would film them: two views
    (the head turned one way, then the other), VIEW_S seconds each, looped. The kiosk tries a
    face once per view: after a refusal it waits for the view to change (face-gate.js), and one
    unchanging view would give one detection every ten seconds."""
    head = cv2.resize(astronaut_bgr(), (640, 640), interpolation=cv2.INTER_AREA)[0:400, 80:480]
    fps = 10
    views = [
        write_y4m(view, tmp / f"view{i}.y4m", size=(640, 480), frames=int(VIEW_S * fps), fps=fps)
        for i, view in enumerate((cv2.flip(head, 1), head))
    ]
    first, second = (v.read_bytes() for v in views)
    header_end = first.index(b"\n") + 1
    path = tmp / "face.y4m"
    path.write_bytes(first + second[header_end:])  # one header, then every frame of both
    return path


async def a_clock(gateway) -> str:
    email = f"{unique('bench')}@example.com"
    await asyncio.to_thread(create_tenant, gateway, email, PASSWORD)
    admin = await login(gateway, email, PASSWORD)
    async with admin:
        _, credential = await register_clock(admin, "Bench tablet")
        return credential


def timings(ms: list[float]) -> dict:
    """The summary of a list of durations, with its p95 (the target's)."""
    return {**summary(ms), "p95_ms": round(pct(ms, 0.95), 1) if ms else None}


async def session(
    browser, base: str, credential: str, slowdown: int, cores: int, seconds: float
) -> dict:
    """One tablet with ``cores`` logical cores: pair, start, stay on the camera screen for
    ``seconds``; then visit again."""
    context = await browser.new_context(
        base_url=base, viewport={"width": 1280, "height": 800}, permissions=["camera"]
    )
    try:
        page = await context.new_page()
        cdp = await context.new_cdp_session(page)
        await cdp.send("Emulation.setCPUThrottlingRate", {"rate": slowdown})
        await cdp.send("Emulation.setHardwareConcurrencyOverride", {"hardwareConcurrency": cores})
        await page.goto("/kiosk/")
        await page.get_by_label("Clock credential").fill(credential)
        await page.get_by_role("button", name="Pair").click()
        await page.get_by_role("button", name="Start").click()
        await page.get_by_role("button", name="Use PIN Instead").wait_for()
        settled = page.locator("[data-face-models=ready], [data-face-models=unavailable]")
        await settled.first.wait_for(timeout=180_000)
        models_state = await settled.first.get_attribute("data-face-models")
        threads = await settled.first.get_attribute("data-face-threads")
        await asyncio.sleep(seconds)
        detect, follow = [
            await page.evaluate(
                f"() => performance.getEntriesByName('{name}').map(e => e.duration)"
            )
            for name in ("punchcard:face-detect", "punchcard:face-follow")
        ]
        load = await page.evaluate(
            "() => performance.getEntriesByName('punchcard:face-models').map(e => e.duration)"
        )
        first = await page.evaluate(
            f"() => performance.getEntriesByType('resource').filter({MODEL_FILES})"
            ".map(e => [e.name, e.transferSize, e.encodedBodySize])"
        )
        # A second visit, same profile: the models again, from the cache or the network.
        await page.reload()
        start = page.get_by_role("button", name="Start")
        await start.or_(page.get_by_role("button", name="Use PIN Instead")).first.wait_for()
        if await start.is_visible():  # a reloaded kiosk asks to be started again
            await start.click()
        await settled.first.wait_for(timeout=180_000)
        again = await page.evaluate(
            f"() => performance.getEntriesByType('resource').filter({MODEL_FILES})"
            ".map(e => [e.name, e.transferSize, e.encodedBodySize])"
        )
    finally:
        await context.close()
    return {
        "cpu_slowdown": slowdown,
        "logical_cores": cores,
        "models": models_state,
        "wasm_threads": int(threads) if threads else None,
        # The first detection compiles the models' shaders (seconds on a software GPU): apart.
        "first_detect_ms": round(detect[0], 1) if detect else None,
        "detect": timings(detect[1:]),
        # A burst's further frames: FaceMesh following the face, for the chips (liveness.js).
        "follow": timings(follow),
        "models_load_ms": round(load[0], 1) if load else None,
        "model_files": len(first),
        "model_bytes_first_visit": sum(size for _, size, _ in first),
        "model_bytes_encoded": sum(body for _, _, body in first),
        "model_bytes_second_visit": sum(size for _, size, _ in again),
    }


async def run(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-liveness-") as tmp:
        video = camera_video(Path(tmp))
        async with whole_system(Path(tmp), LOG_LEVEL="WARNING") as system:
            gateway = system["gateway"]
            credential = await a_clock(gateway)
            async with async_playwright() as p:
                browser = await p.chromium.launch(
                    executable_path=CHROMIUM,
                    args=[
                        *CHROMIUM_ARGS,
                        *FAKE_CAMERA,
                        f"--use-file-for-fake-video-capture={video}",
                    ],
                )
                try:
                    results = []
                    for slowdown, cores in SESSIONS:
                        results.append(
                            await session(
                                browser, gateway.url, credential, slowdown, cores, args.seconds
                            )
                        )
                        print(f"  {slowdown}x, {cores} logical cores: done", flush=True)
                finally:
                    await browser.close()
    return {"sessions": results}


def report(r: dict) -> bool:
    base, tablet, threaded = r["sessions"]  # in SESSIONS' order
    rows = []
    for s in r["sessions"]:
        d, threads = s["detect"], s["wasm_threads"]
        label = f"{s['cpu_slowdown']}x CPU" + (f", {threads} thr" if threads else "")
        rows += [
            (f"{label}: in-browser models", f"{s['models']} ({s['logical_cores']} cores told)"),
            (f"{label}: first detection (shaders compiled) (ms)", s["first_detect_ms"]),
            (f"{label}: detection + liveness per frame after it, n", d["n"]),
            (f"{label}:   p50 / p95 / p99 (ms)", f"{d['p50_ms']}/{d.get('p95_ms')}/{d['p99_ms']}"),
            (f"{label}:   p99 / p50", support.tail_ratio(d["p50_ms"], d["p99_ms"])),
            (f"{label}: a burst's further frame (FaceMesh follows), n", s["follow"]["n"]),
            (
                f"{label}:   p50 / p95 / p99 (ms)",
                f"{s['follow']['p50_ms']}/{s['follow'].get('p95_ms')}/{s['follow']['p99_ms']}",
            ),
            (f"{label}: models loaded in (ms)", s["models_load_ms"]),
        ]
    if base["detect"]["p50_ms"] and tablet["detect"]["p50_ms"]:
        rows.append(
            ("4x / 1x at p50", round(tablet["detect"]["p50_ms"] / base["detect"]["p50_ms"], 2))
        )
    if base["detect"]["p50_ms"] and threaded["detect"]["p50_ms"]:
        rows.append(
            (
                "1x: one thread / two threads at p50",
                round(base["detect"]["p50_ms"] / threaded["detect"]["p50_ms"], 2),
            )
        )
    rows += [
        ("model files fetched (library chunk not included)", tablet["model_files"]),
        ("models, bytes on the first visit", tablet["model_bytes_first_visit"]),
        ("models, bytes on a second visit (0: cached)", tablet["model_bytes_second_visit"]),
    ]
    support.print_table(f"kiosk in-browser face models, {os.cpu_count()} cores", rows, 56)
    p95 = tablet["detect"].get("p95_ms")
    met = p95 is not None and p95 <= TARGET_P95_MS
    print(
        f"target: detection + liveness p95 <= {TARGET_P95_MS:g} ms at {CPU_SLOWDOWN}x CPU"
        f" slowdown: {'met' if met else 'NOT met'}"
    )
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60, help="on the camera screen")
    args = support.parse_args(parser, "kiosk_liveness", quick={"seconds": 25})
    r = asyncio.run(run(args))
    met = report(r)
    support.write_result(
        args.out,
        {
            "benchmark": "kiosk_liveness",
            "target": {"p95_ms": TARGET_P95_MS, "cpu_slowdown": CPU_SLOWDOWN},
            "met": met,
            **r,
        },
    )


if __name__ == "__main__":
    main()
