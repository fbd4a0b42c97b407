"""Identification, the projections and the gallery sync on fakes: the verdict for each attempt
(keyed by the catalogue's verdict rule), workers and assignments projected, templates applied
to this replica's galleries."""

import asyncio

import numpy as np
import pytest
from punchcard.v1 import common_pb2, kiosk_pb2
from punchcard_face_match.domain.decision import MatchPolicy
from punchcard_face_match.domain.gallery import Galleries
from punchcard_face_match.domain.model import Face, FaceOutcome, WorkerStatus
from punchcard_face_match.service_layer import projection
from punchcard_face_match.service_layer.gallery_sync import GallerySync, TemplateSetChanged
from punchcard_face_match.service_layer.identification import (
    GalleryNotReady,
    Identifier,
    IdentifyFace,
)
from punchcard_kit.assignments import AssignmentChange
from punchcard_kit.messaging import catalogue

from .fakes import TENANT, FakeFaces, FakeUnitOfWork, Store, embedding, good_face, uow_factory

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
