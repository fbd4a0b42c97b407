"""The kiosk app against photos held up to the camera (issue 17), on the whole system: Chromium's
fake camera plays (a) one still photo of the enrolled worker, the same frame over and over, and
(b) the worker's face filmed off a synthetic screen (pixel grid, bezel). The kiosk sends its
burst; face-match's own liveness check refuses both, and the kiosk says "Please look at the
camera — or use your PIN"; nothing is punched. The live case (the same photo with natural
jitter) punching is test_kiosk_face / the integration tests. scikit-image's astronaut: anyone
can run it."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.support.face import astronaut, astronaut_bgr
from tests.support.face_match import enrol_at_gateway
from tests.support.fake_camera import write_y4m
from tests.support.spoof import screen_recapture

from .conftest import ARTIFACTS, fake_camera_page, save_screenshot
from .kiosk_bursts import chip_fits, chips_only, models_ready
from .test_kiosk_pin import pair, worker_on_clock

SPOOF = "Please look at the camera — or use your PIN"


def _head() -> np.ndarray:
    """The astronaut's head and shoulders, the face in the middle of the frame."""
    return cv2.resize(astronaut_bgr(), (640, 640), interpolation=cv2.INTER_AREA)[0:400, 80:480]


def _still_photo() -> np.ndarray:
    return cv2.flip(_head(), 1)


def _on_a_screen() -> np.ndarray:
    jpeg = screen_recapture(cv2.flip(_head(), 1), pitch=3, angle=1.5, scale=0.5, side=640)
    return cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)


@pytest.mark.parametrize(
    ("what", "image", "live"),
    [("still-photo", _still_photo, False), ("screen", _on_a_screen, True)],
)
async def test_a_photo_held_up_is_refused_and_the_pin_offered(
    playwright, system, admin_api, tmp_path, request, what, image, live
):
    # The screen's video moves a little, as a hand-held phone would; the photo stands still.
    video = write_y4m(image(), tmp_path / f"{what}.y4m", size=(640, 480), live=live)
    w = await worker_on_clock(admin_api, name="Eileen Collins", pin=None)

    await enrol_at_gateway(admin_api, w["worker_id"], ("portrait.jpg", astronaut(640)))

    async with fake_camera_page(playwright, system, video, request) as page:
        await pair(page, w["credential"])
        await page.get_by_text(SPOOF).first.wait_for(timeout=120_000)
        await save_screenshot(page, request)
        await page.get_by_role("button", name="Use PIN Instead").wait_for()
    punches = (await admin_api.get("/punches", params={"worker_id": w["worker_id"]})).json()
    assert punches["data"] == []


@pytest.mark.parametrize(
    ("what", "image", "live"),
    [("still-photo", _still_photo, False), ("screen", _on_a_screen, True)],
)
async def test_a_photo_held_up_is_refused_when_sent_as_aligned_chips_too(
    playwright, system, admin_api, tmp_path, request, what, image, live
):
    """Issue 19: with the in-browser models ready, the kiosk sends aligned face chips rather
    than frames; the same photo and screen must be refused from the chips alone (the bursts of
    full frames sent before the models were ready are answered in the browser, "No face
    found", so only chips reach face-match). Skips where this Chromium cannot run the models."""
    video = write_y4m(image(), tmp_path / f"{what}.y4m", size=(640, 480), live=live)
    w = await worker_on_clock(admin_api, name="Eileen Collins", pin=None)
    await enrol_at_gateway(admin_api, w["worker_id"], ("portrait.jpg", astronaut(640)))

    async with fake_camera_page(playwright, system, video, request) as page:
        bursts = await chips_only(page, ARTIFACTS / f"{request.node.name}-chips")
        await pair(page, w["credential"])
        if not await models_ready(page):
            pytest.skip("this Chromium cannot run the in-browser face models")
        await page.get_by_text(SPOOF).first.wait_for(timeout=180_000)
        await save_screenshot(page, request)
        print(f"\n{what}: bursts sent (aligned, sizes): {bursts.sent}; answers {bursts.answers}")
        print(f"chip fits RMS px: {await chip_fits(page)}")
    bursts.check()
    assert bursts.answers[-1].get("reason") == "SPOOF_SUSPECTED", bursts.answers
    punches = (await admin_api.get("/punches", params={"worker_id": w["worker_id"]})).json()
    assert punches["data"] == []


async def test_the_in_browser_models_come_from_the_gateway_or_the_kiosk_does_without(
    playwright, system, admin_api, tmp_path, request
):
    """The kiosk loads @vladmandic/human's models from this origin only (/assets/human-…/,
    copied there by the build); where this Chromium cannot run them it says so on the camera
    screen ("unavailable") and works as before. The test prints which it was. The page is
    cross-origin isolated, so on WebAssembly the models run on threads: two on a tablet with
    four logical cores (TensorFlow.js takes half), which this browser is told it has."""
    video = write_y4m(_head(), tmp_path / "camera.y4m", size=(640, 480))
    w = await worker_on_clock(admin_api, name="Eileen Collins", pin=None)
    async with fake_camera_page(playwright, system, video, request) as page:
        cdp = await page.context.new_cdp_session(page)
        await cdp.send("Emulation.setHardwareConcurrencyOverride", {"hardwareConcurrency": 4})
        origin = system["gateway"].url.rstrip("/")
        elsewhere: list[str] = []
        models: list[str] = []

        def seen(req) -> None:
            if req.url.startswith(("data:", "blob:")):
                return
            if not req.url.startswith(origin):
                elsewhere.append(req.url)
            elif "/assets/human-" in req.url:
                models.append(req.url.removeprefix(origin))

        page.on("request", seen)
        await pair(page, w["credential"])
        screen = page.locator("section.camera-screen")
        await page.wait_for_function(
            """() => {
                const s = document.querySelector('section.camera-screen');
                return s && ['ready', 'unavailable'].includes(s.dataset.faceModels);
            }""",
            timeout=180_000,
        )
        state = await screen.get_attribute("data-face-models")
        backend = await screen.get_attribute("data-face-backend")
        threads = await screen.get_attribute("data-face-threads")
        await save_screenshot(page, request)
        print(
            f"\nin-browser face models: {state} (backend {backend!r}, threads {threads!r});"
            f" fetched {sorted(models)}"
        )
        assert elsewhere == []
        assert await page.evaluate("crossOriginIsolated") is True
        if state == "ready":
            assert any(m.endswith("/blazeface.json") for m in models)
            assert any(m.endswith("/antispoof.bin") for m in models)
            if backend == "wasm":
                assert threads == "2"
        await page.get_by_role("button", name="Use PIN Instead").wait_for()
