"""The presentation-attack rule (domain.liveness) and its use in identification: a burst must
agree on one worker; a re-captured screen or a still image is refused, flagged or ignored by
the tenant's policy."""

import asyncio

import numpy as np
import pytest
from punchcard.v1 import common_pb2, kiosk_pb2
from punchcard_face_match.domain import liveness
from punchcard_face_match.domain.decision import MatchPolicy
from punchcard_face_match.domain.gallery import Galleries
from punchcard_face_match.domain.liveness import (
    SCREEN,
    STILL,
    FrameSigns,
    LivenessMode,
    LivenessPolicy,
)
from punchcard_face_match.domain.model import Face, FaceOutcome, FaceSettings, WorkerStatus
from punchcard_face_match.service_layer import projection
from punchcard_face_match.service_layer.gallery_sync import GallerySync, TemplateSetChanged
from punchcard_face_match.service_layer.identification import Identifier, IdentifyFace

from .fakes import TENANT, FakeFaces, FakeUnitOfWork, Store, embedding, good_face, uow_factory

REFUSE = LivenessPolicy(LivenessMode.REFUSE, max_screen=2.2, min_motion=0.25)
LIVE = FrameSigns(screen=1.2)


# -- the pure rule --------------------------------------------------------------------------
def test_a_burst_with_natural_faces_and_motion_is_live():
    verdict = liveness.assess([LIVE, LIVE, LIVE], [1.4, 0.9], REFUSE)
    assert not verdict.suspected and not verdict.refuse and verdict.reasons == ()


def test_a_re_captured_frame_anywhere_in_the_burst_is_suspect():
    verdict = liveness.assess([LIVE, FrameSigns(3.1), LIVE], [1.4, 0.9], REFUSE)
    assert verdict.suspected and verdict.refuse and verdict.reasons == (SCREEN,)
    # At the threshold itself it is not (strictly above is suspect).
    assert not liveness.assess([FrameSigns(2.2)], [], REFUSE).suspected


def test_a_still_image_shows_no_motion_across_the_burst():
    verdict = liveness.assess([LIVE, LIVE, LIVE], [0.0, 0.1], REFUSE)
    assert verdict.reasons == (STILL,) and verdict.refuse
    # One pair with motion is enough: a live face may hold still between two frames.
    assert not liveness.assess([LIVE, LIVE, LIVE], [0.0, 0.6], REFUSE).suspected


def test_a_single_frame_is_judged_on_the_re_capture_sign_alone():
    assert not liveness.assess([LIVE], [], REFUSE).suspected
    assert liveness.assess([FrameSigns(4.0)], [], REFUSE).refuse


def test_an_unmeasured_frame_is_not_suspect_by_itself():
    assert not liveness.assess([FrameSigns(None)], [], REFUSE).suspected


@pytest.mark.parametrize(
    ("mode", "suspected", "refuse"),
    [
        (LivenessMode.OFF, False, False),
        (LivenessMode.FLAG, True, False),
        (LivenessMode.REFUSE, True, True),
    ],
)
def test_the_tenants_policy_decides_what_a_suspect_attempt_becomes(mode, suspected, refuse):
    policy = LivenessPolicy(mode, max_screen=2.2, min_motion=0.25)
    verdict = liveness.assess([FrameSigns(5.0), LIVE], [0.0], policy)
    assert (verdict.suspected, verdict.refuse) == (suspected, refuse)


def test_motion_is_the_mean_absolute_difference_of_the_aligned_faces():
    a = np.full((150, 150), 100, np.uint8)
    b = a.copy()
    b[:75] = 102  # half the face changed by 2 grey levels
    assert liveness.motion(a, a) == 0.0
    assert liveness.motion(a, b) == pytest.approx(1.0)
    assert liveness.burst_motion([a, None, b]) == []  # only consecutive pairs with faces
    assert liveness.burst_motion([a, b, b]) == [pytest.approx(1.0), 0.0]


def test_a_burst_agrees_only_on_one_and_the_same_worker():
    assert liveness.burst_agrees(["w1", "w1", "w1"])
    assert not liveness.burst_agrees(["w1", "w2", "w1"])
    assert not liveness.burst_agrees(["w1", None])
    assert not liveness.burst_agrees([])


# -- in identification -----------------------------------------------------------------------
WORKER = "1b2c3d4e-0000-4000-8000-00000000000a"
OTHER = "1b2c3d4e-0000-4000-8000-00000000000b"
CLOCK = "9c8b7a6d-0000-4000-8000-000000000001"


def _face(vector, *, screen=1.0, chip_level=100) -> Face:
    face = good_face(vector + np.float32(0.001))
    face.screen = screen
    chip = np.full((150, 150), chip_level, np.uint8)
    face.grey_chip = chip
    return face


def _attempt(frame: bytes, burst=(), employee_id: str = "") -> IdentifyFace:
    context = kiosk_pb2.PunchAttemptContext(
        attempt_id="a-1", clock_id=CLOCK, claimed_employee_id=employee_id
    )
    attempt = kiosk_pb2.FacePunchAttempted(
        context=context, frame_jpeg=frame, burst_jpeg=list(burst)
    )
    return IdentifyFace(TENANT, attempt, "c-1", "e-1")


async def _world(mode: LivenessMode = LivenessMode.REFUSE):
    store = Store()
    for worker_id, employee_id in ((WORKER, "E1"), (OTHER, "E2")):
        await projection.register_worker(
            projection.RegisterWorker(TENANT, worker_id, employee_id, WorkerStatus.ACTIVE, "s"),
            FakeUnitOfWork(store, TENANT),
        )
    store.of(TENANT).settings = FaceSettings(liveness_mode=mode)
    galleries = Galleries()
    me, other = embedding(1), embedding(2)
    sync = GallerySync(galleries, "Dlib")
    sync.apply(TemplateSetChanged(TENANT, WORKER, "Dlib", 128, 1, [me.astype("<f4").tobytes()]))
    sync.apply(TemplateSetChanged(TENANT, OTHER, "Dlib", 128, 1, [other.astype("<f4").tobytes()]))
    faces = FakeFaces(
        {
            b"me-1": _face(me, chip_level=100),
            b"me-2": _face(me, chip_level=102),
            b"me-3": _face(me, chip_level=99),
            b"me-still": _face(me, chip_level=100),
            b"me-screen": _face(me, screen=4.2, chip_level=110),
            b"other": _face(other, chip_level=120),
            b"stranger": _face(embedding(3), chip_level=90),
            b"blank": Face(FaceOutcome.NO_FACE),
        }
    )
    ready = asyncio.Event()
    ready.set()
    identifier = Identifier(faces, galleries, MatchPolicy(threshold=0.6, margin=0.05), ready)
    return store, identifier


async def _verdict(attempt, mode=LivenessMode.REFUSE):
    store, identifier = await _world(mode)
    await identifier.identify([attempt], uow_factory(store))
    assert len(store.outbox) == 1
    return store.outbox[0].payload, identifier


async def test_a_live_burst_identifies_the_worker_and_all_its_frames_go_through_the_model():
    verdict, identifier = await _verdict(_attempt(b"me-1", [b"me-2", b"me-3"]))
    assert verdict.worker_id == WORKER and not verdict.face.spoof_suspected
    assert identifier.engine.calls == [[b"me-1", b"me-2", b"me-3"]]


async def test_a_burst_of_the_same_still_image_is_refused_as_a_spoof_naming_no_one():
    verdict, _ = await _verdict(_attempt(b"me-1", [b"me-still", b"me-still"]))
    assert verdict.reason == common_pb2.REJECT_REASON_SPOOF_SUSPECTED
    assert verdict.worker_id == "" and not verdict.HasField("face")


async def test_a_re_captured_screen_is_refused_even_in_a_single_frame():
    verdict, _ = await _verdict(_attempt(b"me-screen"))
    assert verdict.reason == common_pb2.REJECT_REASON_SPOOF_SUSPECTED
    verdict, _ = await _verdict(_attempt(b"me-1", [b"me-screen", b"me-2"], employee_id="E1"))
    assert verdict.reason == common_pb2.REJECT_REASON_SPOOF_SUSPECTED


async def test_policy_flag_identifies_but_marks_the_match_and_off_ignores_it():
    verdict, _ = await _verdict(_attempt(b"me-screen"), LivenessMode.FLAG)
    assert verdict.worker_id == WORKER and verdict.face.spoof_suspected
    verdict, _ = await _verdict(_attempt(b"me-screen"), LivenessMode.OFF)
    assert verdict.worker_id == WORKER and not verdict.face.spoof_suspected


async def test_a_burst_that_disagrees_is_never_a_punch():
    verdict, _ = await _verdict(_attempt(b"me-1", [b"me-2", b"other"]))
    assert verdict.reason == common_pb2.REJECT_REASON_AMBIGUOUS and verdict.worker_id == ""
    verdict, _ = await _verdict(_attempt(b"me-1", [b"stranger"]))
    assert verdict.reason == common_pb2.REJECT_REASON_NO_MATCH
    verdict, _ = await _verdict(_attempt(b"me-1", [b"blank"]))
    assert verdict.reason == common_pb2.REJECT_REASON_NO_FACE
    # 1:1: every frame must be the claimed worker.
    verdict, _ = await _verdict(_attempt(b"me-1", [b"other"], employee_id="E1"))
    assert verdict.reason == common_pb2.REJECT_REASON_NO_MATCH


async def test_frames_beyond_the_burst_limit_are_not_looked_at():
    _, identifier = await _verdict(_attempt(b"me-1", [b"me-2", b"me-3", b"other"]))
    assert identifier.engine.calls == [[b"me-1", b"me-2", b"me-3"]]
