"""What the kiosk sends for a face punch, seen in the browser (issue 19): a Playwright route on
``/kiosk/v1/punches`` that records each burst (aligned or not, each image's size), answers the
bursts of full frames itself with "No face found" (so that the punch that reaches the system is
one of aligned chips, sent once the in-browser models are ready), passes the aligned ones on
to the gateway and records its answers; the chips are written to ``chips_dir``."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np


def chip(size: tuple[int, int]) -> bool:
    """A chip's size as face-match takes it (square, 150-320 px), not a camera frame's."""
    return size[0] == size[1] and 150 <= size[0] <= 320


@dataclass
class Bursts:
    chips_dir: Path
    sent: list[tuple[bool, list[tuple[int, int]]]] = field(default_factory=list)
    answers: list[dict] = field(default_factory=list)

    async def route(self, route) -> None:
        if route.request.method != "POST":
            await route.continue_()
            return
        body = route.request.post_data_json
        frames = [base64.b64decode(f) for f in [body["frame_jpeg"], *body.get("burst_jpeg", [])]]
        images = [cv2.imdecode(np.frombuffer(f, np.uint8), cv2.IMREAD_COLOR) for f in frames]
        aligned = body.get("aligned") is True
        self.sent.append((aligned, [img.shape[:2] for img in images]))
        if not aligned:
            await route.fulfill(
                status=200,
                json={"attempt_id": body["attempt_id"], "status": "rejected", "reason": "NO_FACE"},
            )
            return
        self.chips_dir.mkdir(parents=True, exist_ok=True)
        for i, jpeg in enumerate(frames):
            (self.chips_dir / f"{len(self.sent)}-{i}.jpg").write_bytes(jpeg)
        response = await route.fetch()
        self.answers.append(await response.json())
        await route.fulfill(response=response)

    def check(self) -> None:
        """Aligned chips were sent, and every burst was all chips or all frames: never a mix."""
        assert self.sent and self.sent[-1][0] is True, self.sent
        for aligned, sizes in self.sent:
            assert all(chip(s) == aligned for s in sizes), self.sent
        assert len(self.sent[-1][1]) >= 2  # the burst's further frames went as chips too


async def chips_only(page, chips_dir: Path) -> Bursts:
    bursts = Bursts(chips_dir)
    await page.route("**/kiosk/v1/punches", bursts.route)
    return bursts


async def models_ready(page) -> bool:
    """Waits until the camera screen's in-browser models are loaded or found unavailable."""
    await page.wait_for_function(
        """() => {
            const s = document.querySelector('section.camera-screen');
            return s && ['ready', 'unavailable'].includes(s.dataset.faceModels);
        }""",
        timeout=180_000,
    )
    state = await page.locator("section.camera-screen").get_attribute("data-face-models")
    return state == "ready"


async def detect_ms(page, mark: str = "punchcard:face-detect") -> list[int]:
    """How long each in-browser look took (the app's User Timing measures): the camera loop's
    ("punchcard:face-detect"), or a burst's further frames' ("punchcard:face-follow")."""
    return await page.evaluate(
        "(mark) => performance.getEntriesByName(mark).map((e) => Math.round(e.duration))", mark
    )


async def chip_fits(page) -> list[float]:
    """How far FaceMesh's five points lay from the chip template after the best similarity
    (RMS, chip pixels), for each frame the kiosk tried to align."""
    return await page.evaluate(
        """() => performance.getEntriesByName('punchcard:face-chip')
            .map((e) => Math.round(e.detail.rms * 100) / 100)"""
    )
