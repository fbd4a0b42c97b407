"""A kiosk's aligned crops (``aligned: true``, issue 19) through face-match's real pipeline:
a chip of a face in dlib's geometry (150 px, or 300 px) is found and embedded as its camera
frame is, within a small distance, closer to its own photo than to anyone else's; a chip that
is not an aligned face (turned 30°, noise, a whole frame) is no face or an invalid frame; the
re-capture check still sees a face filmed off a screen in a 300 px chip; and through Kafka an
attempt of chips identifies the enrolled worker."""

import os

import cv2
import numpy as np
import pytest
from punchcard_face_match.adapters.pipeline import INVALID_FRAME, NO_FACE, OK, FacePipeline
from punchcard_face_match.domain import liveness
from punchcard_face_match.domain.liveness import FrameSigns, LivenessPolicy

from tests.support.face import (
    FACES_DIR,
    aligned_chip,
    astronaut,
    astronaut_bgr,
    identities,
    kiosk_jpeg,
    mirrored,
    photo,
    reason,
)
from tests.support.face_match import enrol, known_worker, searchable
from tests.support.spoof import SCREEN_SETUPS, live_burst, screen_recapture, still_burst
from tests.support.stack import REPO

# dlib's ResNet calls two faces the same person under 0.6; the same photo through the two
# paths measured 0.03-0.13 apart (two resamplings and a JPEG more on the chip's way).
SAME_PHOTO = 0.2


@pytest.fixture(scope="module")
def pipeline():
    os.environ.setdefault("DEEPFACE_HOME", str(REPO / ".local" / "deepface"))
    return FacePipeline()


def frames() -> list[tuple[str, bytes]]:
    found = [("astronaut", astronaut(640))]
    if (FACES_DIR / "identities.csv").is_file():
        found += [(person, photo(file)) for file, person in identities()]
    return found


@pytest.mark.parametrize("side", [150, 300])
def test_a_chip_is_embedded_as_its_frame_is(pipeline, side):
    people, from_frames, from_chips = [], [], []
    for person, frame in frames():
        whole = pipeline.analyse([frame])[0]
        assert whole.outcome == OK, person
        chip = pipeline.analyse([aligned_chip(frame, side=side)], [True])[0]
        assert chip.outcome == OK and chip.faces == 1, person
        assert chip.timings.keys() >= {"decode", "detect", "align", "embed"}
        people.append(person)
        from_frames.append(whole.embedding)
        from_chips.append(chip.embedding)
    frames_, chips = np.stack(from_frames), np.stack(from_chips)
    distances = np.linalg.norm(chips[:, None, :] - frames_[None, :, :], axis=2)
    for i, person in enumerate(people):
        assert distances[i, i] < SAME_PHOTO, (person, distances[i, i])
        others = [distances[i, j] for j, p in enumerate(people) if p != person]
        assert all(d > distances[i, i] for d in others), person


def test_what_is_not_an_aligned_face_is_refused(pipeline):
    frame = astronaut(640)
    turned = pipeline.analyse([aligned_chip(frame, turn_deg=30)], [True])[0]
    assert turned.outcome == NO_FACE and turned.embedding is None
    noise = np.random.default_rng(7).integers(0, 255, (150, 150, 3), dtype=np.uint8)
    assert pipeline.analyse([kiosk_jpeg(noise, 150)], [True])[0].outcome == NO_FACE
    # A whole frame said to be a chip: not square and of a chip's size, so never decoded.
    assert pipeline.analyse([frame], [True])[0].outcome == INVALID_FRAME
    assert pipeline.analyse([kiosk_jpeg(astronaut_bgr(), 400)], [True])[0].outcome == (
        INVALID_FRAME
    )
    # The same frame, not said to be a chip, is a face: the flag is per frame.
    whole, chip = pipeline.analyse([frame, aligned_chip(frame)], [False, True])
    assert whole.outcome == OK and chip.outcome == OK


def test_liveness_on_chips_a_still_and_a_screen_are_still_seen(pipeline):
    policy = LivenessPolicy()
    image = cv2.imdecode(np.frombuffer(mirrored(astronaut(640)), np.uint8), cv2.IMREAD_COLOR)

    def judge(burst: list[bytes]):
        found = pipeline.signs(burst, [True] * len(burst))
        assert all(f.outcome == OK for f in found), [f.outcome for f in found]
        return liveness.assess(
            [FrameSigns(f.screen) for f in found],
            liveness.burst_motion([f.grey_chip for f in found]),
            policy,
        )

    live = judge([aligned_chip(f, side=300) for f in live_burst(image, seed=3)])
    assert not live.suspected, live
    still = judge([aligned_chip(f, side=300) for f in still_burst(image)])
    assert still.suspected and still.reasons == (liveness.STILL,)
    head = cv2.resize(astronaut_bgr(), (640, 640), interpolation=cv2.INTER_AREA)[0:400, 80:480]
    for pitch, angle, scale in SCREEN_SETUPS[:3]:
        filmed = screen_recapture(head, pitch=pitch, angle=angle, scale=scale)
        verdict = judge([aligned_chip(filmed, side=300)])
        assert verdict.suspected and liveness.SCREEN in verdict.reasons


async def test_an_attempt_of_chips_identifies_the_worker_through_kafka(feed, face_match, kiosk):
    tenant = feed.tenant_id
    worker = await feed.worker()
    await known_worker(face_match, tenant, worker["id"])
    answer = await enrol(face_match, tenant, worker["id"], astronaut(640))
    assert answer.status_code == 200, answer.text
    await searchable(face_match, tenant, worker["id"])

    image = cv2.imdecode(np.frombuffer(mirrored(astronaut(640)), np.uint8), cv2.IMREAD_COLOR)
    first, *rest = [aligned_chip(f, side=300) for f in live_burst(image, seed=5)]
    verdict = await kiosk.verdict(await kiosk.send(tenant, first, burst=rest, aligned=True))
    assert reason(verdict) == "IDENTIFIED" and verdict.worker_id == worker["id"]
    # A chip whose face is not where the geometry puts it: no face, no one named.
    turned = aligned_chip(astronaut(640), turn_deg=30)
    verdict = await kiosk.verdict(await kiosk.send(tenant, turned, aligned=True))
    assert reason(verdict) == "NO_FACE" and verdict.worker_id == ""
