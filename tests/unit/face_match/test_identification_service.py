"""Identification, the projections and the gallery sync on fakes: the verdict for each attempt
(keyed by the catalogue's verdict rule), workers and assignments projected, templates applied
to this replica's galleries."""

import asyncio

import numpy as np
import pytest
from punchcard.v1 import common_pb2, kiosk_pb2
from punchcard_face_match.domain.calibration import (
    DEFAULT_FPIR_TARGET,
    DLIB,
    fmr_model_for,
    largest_gallery,
    threshold_for_gallery,
)
from punchcard_face_match.domain.decision import MatchPolicy
from punchcard_face_match.domain.gallery import Galleries
from punchcard_face_match.domain.model import Face, FaceOutcome, FaceSettings, WorkerStatus
from punchcard_face_match.service_layer import projection
from punchcard_face_match.service_layer.gallery_sync import GallerySync, TemplateSetChanged
from punchcard_face_match.service_layer.identification import (
    GalleryNotReady,
    Identifier,
    IdentifyFace,
)
from punchcard_face_match.views import FaceViews
from punchcard_kit.assignments import AssignmentChange
from punchcard_kit.messaging import catalogue

from .fakes import (
    TENANT,
    FakeFaces,
    FakeUnitOfWork,
    Store,
    caller,
    embedding,
    good_face,
    uow_factory,
)

WORKER = "1b2c3d4e-0000-4000-8000-00000000000a"
CLOCK = "9c8b7a6d-0000-4000-8000-000000000001"
VERDICTS = catalogue.IDENTIFICATION_VERDICTS.name


def _attempt(frame: bytes, employee_id: str = "", attempt_id: str = "a-1") -> IdentifyFace:
    context = kiosk_pb2.PunchAttemptContext(
        attempt_id=attempt_id, clock_id=CLOCK, claimed_employee_id=employee_id
    )
    return IdentifyFace(
        TENANT, kiosk_pb2.FacePunchAttempted(context=context, frame_jpeg=frame), "c-1", "e-1"
    )


async def _world():
    store = Store()
    await projection.register_worker(
        projection.RegisterWorker(TENANT, WORKER, "E1", WorkerStatus.ACTIVE, "s"),
        FakeUnitOfWork(store, TENANT),
    )
    galleries = Galleries()
    me = embedding(1)
    GallerySync(galleries, "Dlib").apply(
        TemplateSetChanged(TENANT, WORKER, "Dlib", 128, 1, [me.astype("<f4").tobytes()])
    )
    faces = FakeFaces(
        {b"me": good_face(me + np.float32(0.001)), b"blank": Face(FaceOutcome.NO_FACE)}
    )
    ready = asyncio.Event()
    ready.set()
    identifier = Identifier(faces, galleries, MatchPolicy(threshold=0.6, margin=0.05), ready)
    return store, galleries, identifier


async def test_each_attempt_of_a_batch_gets_one_verdict_keyed_by_the_catalogue_rule():
    store, _, identifier = await _world()
    attempts = [
        _attempt(b"me", attempt_id="a-1"),
        _attempt(b"blank", attempt_id="a-2"),
        _attempt(b"me", employee_id="E404", attempt_id="a-3"),
        _attempt(b"me", employee_id="E1", attempt_id="a-4"),
    ]
    await identifier.identify(attempts, uow_factory(store))
    assert identifier.engine.calls == [[b"me", b"blank", b"me", b"me"]]  # one micro-batch
    assert [p.topic for p in store.outbox] == [VERDICTS] * 4
    assert [p.key for p in store.outbox] == [
        f"{TENANT}/{WORKER}",
        f"{TENANT}/a-2",
        f"{TENANT}/a-3",
        f"{TENANT}/{WORKER}",
    ]
    identified, blank, unknown, one_to_one = (p.payload for p in store.outbox)
    assert identified.worker_id == WORKER and not identified.face.one_to_one
    assert blank.reason == common_pb2.REJECT_REASON_NO_FACE
    assert unknown.reason == common_pb2.REJECT_REASON_UNKNOWN_USER
    assert one_to_one.worker_id == WORKER and one_to_one.face.one_to_one


async def test_an_attempt_of_aligned_chips_has_each_of_its_frames_analysed_as_a_chip():
    store, _, identifier = await _world()
    chips = _attempt(b"me", attempt_id="a-1")
    chips.attempt.burst_jpeg.extend([b"me", b"me"])
    chips.attempt.aligned = True
    frames = _attempt(b"me", attempt_id="a-2")
    await identifier.identify([chips, frames], uow_factory(store))
    assert identifier.engine.calls == [[b"me"] * 4]  # still one micro-batch
    assert identifier.engine.aligned == [[True, True, True, False]]
    assert all(p.payload.worker_id == WORKER for p in store.outbox)


async def test_an_inactive_worker_and_a_clock_that_searches_only_its_workers():
    store, _, identifier = await _world()
    await projection.change_worker_status(
        projection.ChangeWorkerStatus(TENANT, WORKER, WorkerStatus.INACTIVE),
        FakeUnitOfWork(store, TENANT),
    )
    await identifier.identify([_attempt(b"me", employee_id="E1")], uow_factory(store))
    assert store.outbox[-1].payload.reason == common_pb2.REJECT_REASON_INACTIVE

    store, _, identifier = await _world()
    store.of(TENANT).settings = type(store.of(TENANT).settings)(search_assigned_only=True)
    await identifier.identify([_attempt(b"me")], uow_factory(store))
    assert store.outbox[-1].payload.reason == common_pb2.REJECT_REASON_NO_MATCH
    await projection.record_assignment(
        AssignmentChange(TENANT, CLOCK, WORKER, assigned=True), FakeUnitOfWork(store, TENANT)
    )
    await identifier.identify([_attempt(b"me")], uow_factory(store))
    assert store.outbox[-1].payload.worker_id == WORKER
    # Found among the clock's workers only: face-match vouches for the assignment (punch does
    # not refuse it on its own lagging copy), never for the status (it checks Inactive only).
    assert store.outbox[-1].payload.checked_assigned
    assert not store.outbox[-1].payload.checked_active


async def test_a_tenant_wide_or_1_to_1_match_vouches_for_no_assignment():
    store, _, identifier = await _world()
    await identifier.identify([_attempt(b"me")], uow_factory(store))
    await identifier.identify([_attempt(b"me", employee_id="E1")], uow_factory(store))
    assert [p.payload.worker_id for p in store.outbox] == [WORKER, WORKER]
    assert not any(p.payload.checked_assigned or p.payload.checked_active for p in store.outbox)


async def test_no_attempt_is_answered_before_the_galleries_are_loaded():
    store, galleries, identifier = await _world()
    identifier.ready = asyncio.Event()
    identifier.ready_timeout_s = 0.01
    with pytest.raises(GalleryNotReady):
        await identifier.identify([_attempt(b"me")], uow_factory(store))
    assert store.outbox == [] and identifier.engine.calls == []


def test_the_gallery_sync_applies_sets_and_tombstones_and_skips_other_models():
    galleries = Galleries()
    sync = GallerySync(galleries, "Dlib")
    vector = embedding(3).astype("<f4").tobytes()
    sync.apply(TemplateSetChanged(TENANT, WORKER, "Dlib", 128, 4, [vector, vector]))
    assert galleries.get(TENANT, "Dlib").revision_of(WORKER) == 4
    sync.apply(TemplateSetChanged(TENANT, WORKER, "ArcFace", 512, 5, [b"\0" * 2048]))
    assert galleries.get(TENANT, "Dlib").revision_of(WORKER) is None
    sync.apply(TemplateSetChanged(TENANT, WORKER, "Dlib", 128, 6, [vector]))
    sync.apply(TemplateSetChanged(TENANT, WORKER))  # a tombstone
    assert galleries.get(TENANT, "Dlib").revision_of(WORKER) is None


# -- the threshold derived from what is searched (domain.calibration) -------------------------
async def _calibrated(extra_workers: int, *, assign_me: bool = False, **settings):
    """The world above with the Dlib calibration on, ``extra_workers`` more enrolled workers
    (3 templates each, far from the frame) and these face settings."""
    store, galleries, identifier = await _world()
    identifier.fmr_model = fmr_model_for("Dlib", 0.6)
    gallery = galleries.get(TENANT, "Dlib")
    for i in range(extra_workers):
        other = embedding(1000 + i)
        gallery.upsert(f"other-{i}", np.stack([other, other, other]), 1)
    store.of(TENANT).settings = FaceSettings(**settings)
    if assign_me:
        await projection.record_assignment(
            AssignmentChange(TENANT, CLOCK, WORKER, assigned=True), FakeUnitOfWork(store, TENANT)
        )
    return store, gallery, identifier


async def test_the_1_to_n_threshold_falls_as_the_gallery_grows():
    thresholds = []
    for extra in (0, 3, 9):
        store, gallery, identifier = await _calibrated(extra)
        await identifier.identify([_attempt(b"me")], uow_factory(store))
        verdict = store.outbox[-1].payload
        assert verdict.worker_id == WORKER
        _, templates = gallery.size()
        expected = threshold_for_gallery(templates, DEFAULT_FPIR_TARGET, identifier.fmr_model)
        assert verdict.face.threshold == pytest.approx(expected, abs=1e-6)
        thresholds.append(verdict.face.threshold)
    assert thresholds[0] > thresholds[1] > thresholds[2]


async def test_a_gallery_too_large_for_the_target_needs_the_employee_id_first():
    store, gallery, identifier = await _calibrated(20)  # 61 templates > 33
    assert threshold_for_gallery(gallery.size()[1], DEFAULT_FPIR_TARGET, DLIB) is None
    await identifier.identify([_attempt(b"me")], uow_factory(store))
    refused = store.outbox[-1].payload
    assert refused.reason == common_pb2.REJECT_REASON_EMPLOYEE_ID_REQUIRED
    assert not refused.worker_id and not refused.HasField("face")  # names no one
    # 1:1 with the Employee ID: the worker's own template only.
    await identifier.identify([_attempt(b"me", employee_id="E1")], uow_factory(store))
    verified = store.outbox[-1].payload
    assert verified.worker_id == WORKER and verified.face.one_to_one
    assert verified.face.threshold == pytest.approx(
        threshold_for_gallery(1, DEFAULT_FPIR_TARGET, DLIB), abs=1e-6
    )


async def test_a_looser_target_or_a_search_over_the_clocks_workers_keeps_1_to_n():
    store, _, identifier = await _calibrated(20, face_fpir_target=0.01)
    await identifier.identify([_attempt(b"me")], uow_factory(store))
    assert store.outbox[-1].payload.worker_id == WORKER

    store, _, identifier = await _calibrated(20, assign_me=True, search_assigned_only=True)
    await identifier.identify([_attempt(b"me")], uow_factory(store))
    verdict = store.outbox[-1].payload
    assert verdict.worker_id == WORKER  # one template searched: the clock's one worker
    assert verdict.face.threshold == pytest.approx(
        threshold_for_gallery(1, DEFAULT_FPIR_TARGET, DLIB), abs=1e-6
    )


async def test_the_clock_view_says_1_to_1_and_over_how_many_workers():
    store, _, identifier = await _calibrated(20)
    views = FaceViews(
        uow=uow_factory(store),
        galleries=identifier.galleries,
        model_name="Dlib",
        policy=identifier.policy,
        fmr_model=identifier.fmr_model,
    )
    view = await views.clock_search(caller("viewer"), CLOCK)
    assert view["mode"] == "1:1" and view["searches"] == "tenant"
    assert (view["workers"], view["templates"], view["threshold"]) == (21, 61, None)
    assert view["max_templates"] == largest_gallery(DEFAULT_FPIR_TARGET, DLIB) < 61

    store.of(TENANT).settings = FaceSettings(search_assigned_only=True)
    await projection.record_assignment(
        AssignmentChange(TENANT, CLOCK, WORKER, assigned=True), FakeUnitOfWork(store, TENANT)
    )
    view = await views.clock_search(caller("viewer"), CLOCK)
    assert (view["mode"], view["searches"], view["workers"], view["templates"]) == (
        "1:N",
        "assigned",
        1,
        1,
    )
    assert view["threshold"] == pytest.approx(
        threshold_for_gallery(1, DEFAULT_FPIR_TARGET, DLIB), abs=1e-4
    )


async def test_a_confirmed_lookalike_is_asked_for_the_employee_id_then_verified_1_to_1():
    store, galleries, identifier = await _world()
    me = embedding(1)
    GallerySync(galleries, "Dlib").apply(  # the worker's set, now marked by a sysadmin
        TemplateSetChanged(
            TENANT, WORKER, "Dlib", 128, 2, [me.astype("<f4").tobytes()], verify_one_to_one=True
        )
    )
    gallery = galleries.get(TENANT, "Dlib")
    assert WORKER in gallery.one_to_one_only
    await identifier.identify([_attempt(b"me")], uow_factory(store))
    refused = store.outbox[-1].payload
    assert refused.reason == common_pb2.REJECT_REASON_EMPLOYEE_ID_REQUIRED
    assert not refused.worker_id and not refused.HasField("face")
    await identifier.identify([_attempt(b"me", employee_id="E1")], uow_factory(store))
    verified = store.outbox[-1].payload
    assert verified.worker_id == WORKER and verified.face.one_to_one

    # Enrolled again without the mark (a newer revision): 1:N again; deleted: forgotten.
    GallerySync(galleries, "Dlib").apply(
        TemplateSetChanged(TENANT, WORKER, "Dlib", 128, 3, [me.astype("<f4").tobytes()])
    )
    assert WORKER not in gallery.one_to_one_only
    await identifier.identify([_attempt(b"me")], uow_factory(store))
    assert store.outbox[-1].payload.worker_id == WORKER
    gallery.upsert(WORKER, me[None, :], 4, verify_one_to_one=True)
    gallery.remove(WORKER)
    assert WORKER not in gallery.one_to_one_only
