"""Evidence photos of punches (issue 17) on fakes: the pure rules (retention bounds, what a 1:1
check means), the photo kept only under the tenant's policy, sealed, the check run whichever of
photo and verdict comes second (once), the flag in the outbox, a face punch's frame kept,
reading by role and site, deletion with the worker's biometric data and on request."""

import asyncio
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from punchcard.v1 import evidence_pb2, kiosk_pb2
from punchcard_face_match.adapters.evidence_cipher import EvidenceCipher, PhotoUnreadable
from punchcard_face_match.domain import evidence as rules
from punchcard_face_match.domain.decision import MatchPolicy
from punchcard_face_match.domain.gallery import Galleries
from punchcard_face_match.domain.model import Face, FaceOutcome, FaceSettings, WorkerStatus
from punchcard_face_match.service_layer import projection
from punchcard_face_match.service_layer.enrolment import delete_biometrics
from punchcard_face_match.service_layer.evidence import (
    EvidenceChecker,
    EvidencePhotos,
    KeepEvidencePhoto,
    NoteEvidenceWorker,
)
from punchcard_face_match.service_layer.gallery_sync import GallerySync, TemplateSetChanged
from punchcard_face_match.service_layer.identification import Identifier, IdentifyFace
from punchcard_kit.errors import Forbidden, Invalid, NotFound
from punchcard_kit.messaging import catalogue

from .fakes import (
    TENANT,
    FakeCipher,
    FakeFaces,
    FakeUnitOfWork,
    Store,
    caller,
    embedding,
    good_face,
    uow_factory,
)

WORKER = "1b2c3d4e-0000-4000-8000-00000000000a"
OTHER = "1b2c3d4e-0000-4000-8000-00000000000b"
CLOCK = "9c8b7a6d-0000-4000-8000-000000000001"
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
CHECKS = catalogue.FACE_EVIDENCE_CHECKS.name


# -- the pure rules ------------------------------------------------------------------------------
def test_retention_is_whole_days_from_1_to_365():
    assert rules.check_retention_days(1) == 1
    assert rules.check_retention_days(365) == 365
    for bad in (0, 366, -3, True, 2.5):
        with pytest.raises(Invalid) as refused:
            rules.check_retention_days(bad)
        assert refused.value.field == "evidence_retention_days"
    assert rules.expires_at(NOW, 30) == NOW + timedelta(days=30)


def test_a_check_compares_only_an_enrolled_workers_face():
    ok, none, many = FaceOutcome.OK, FaceOutcome.NO_FACE, FaceOutcome.MULTIPLE_FACES
    assert rules.judge(ok, False, None, 0.5) is rules.EvidenceCheck.NOT_ENROLLED
    assert rules.judge(none, False, None, 0.5) is rules.EvidenceCheck.NOT_ENROLLED
    assert rules.judge(none, True, None, 0.5) is rules.EvidenceCheck.NO_FACE
    assert rules.judge(many, True, None, 0.5) is rules.EvidenceCheck.NO_FACE
    assert rules.judge(FaceOutcome.INVALID_FRAME, True, None, 0.5) is rules.EvidenceCheck.NO_FACE
    assert rules.judge(ok, True, 0.5, 0.5) is rules.EvidenceCheck.FACE_MATCHED
    assert rules.judge(ok, True, 0.5001, 0.5) is rules.EvidenceCheck.FACE_NOT_WORKERS
    assert rules.FLAGS == {rules.EvidenceCheck.FACE_NOT_WORKERS, rules.EvidenceCheck.NO_FACE}
    assert rules.is_checked("PIN") and rules.is_checked("CARD") and not rules.is_checked("FACE")


def test_the_cipher_opens_only_for_its_own_tenant_and_attempt():
    cipher = EvidenceCipher(bytes(range(32)))
    sealed = cipher.seal(TENANT, "a-1", b"\xff\xd8jpeg")
    assert b"jpeg" not in sealed
    assert cipher.open(TENANT, "a-1", sealed) == b"\xff\xd8jpeg"
    with pytest.raises(PhotoUnreadable):
        cipher.open(TENANT, "a-2", sealed)
    with pytest.raises(PhotoUnreadable):
        EvidenceCipher(bytes(32)).open(TENANT, "a-1", sealed)
    assert cipher.seal(TENANT, "a-1", b"x") != cipher.seal(TENANT, "a-1", b"x")  # fresh nonce


# -- the use cases -------------------------------------------------------------------------------
async def _world(evidence_photos: bool = True):
    store = Store()
    for worker, site in ((WORKER, "s1"), (OTHER, "s2")):
        await projection.register_worker(
            projection.RegisterWorker(TENANT, worker, worker[-2:], WorkerStatus.ACTIVE, site),
            FakeUnitOfWork(store, TENANT),
        )
    store.of(TENANT).settings = FaceSettings(evidence_photos=evidence_photos)
    galleries = Galleries()
    me = embedding(1)
    GallerySync(galleries, "Dlib").apply(
        TemplateSetChanged(TENANT, WORKER, "Dlib", 128, 1, [me.astype("<f4").tobytes()])
    )
    faces = FakeFaces(
        {
            b"me": good_face(me + np.float32(0.001)),
            b"stranger": good_face(embedding(7)),
            b"blank": Face(FaceOutcome.NO_FACE),
        }
    )
    ready = asyncio.Event()
    ready.set()
    checker = EvidenceChecker(
        faces,
        galleries,
        FakeCipher(),
        MatchPolicy(threshold=0.6, margin=0.05),
        ready,
        now=lambda: NOW,
    )
    return store, checker


def _photo(attempt: str, frame: bytes) -> KeepEvidencePhoto:
    return KeepEvidencePhoto(TENANT, attempt, CLOCK, "PIN", frame, "c-1")


def _worker(attempt: str, worker: str = WORKER, method: str = "PIN") -> NoteEvidenceWorker:
    return NoteEvidenceWorker(TENANT, attempt, worker, method, CLOCK, "c-1")


async def _run(store, step, command):
    return await step(command, FakeUnitOfWork(store, TENANT))


@pytest.mark.parametrize("photo_first", [True, False])
async def test_a_pin_punch_by_someone_else_is_flagged_whichever_comes_first(photo_first):
    store, checker = await _world()
    steps = [
        (checker.keep_photo, _photo("a-1", b"stranger")),
        (checker.note_worker, _worker("a-1")),
    ]
    if not photo_first:
        steps.reverse()
    outcomes = [await _run(store, step, command) for step, command in steps]
    assert outcomes == [None, "FACE_NOT_WORKERS"]
    kept = store.of(TENANT).evidence["a-1"]
    assert kept.check == "FACE_NOT_WORKERS" and kept.worker_id == WORKER
    assert kept.sealed is not None and b"stranger" not in kept.sealed  # sealed, not the frame
    assert kept.expires_at == NOW + timedelta(days=30)
    [published] = store.outbox
    assert published.topic == CHECKS and published.key == f"{TENANT}/a-1"
    event = published.payload
    assert event.check == evidence_pb2.EVIDENCE_CHECK_FACE_NOT_WORKERS
    assert event.worker_id == WORKER and event.attempt_id == "a-1" and event.clock_id == CLOCK
    assert event.distance > event.threshold
    # Delivered again: checked once, nothing published twice.
    assert await _run(store, checker.note_worker, _worker("a-1")) is None
    assert await _run(store, checker.keep_photo, _photo("a-1", b"stranger")) is None
    assert len(store.outbox) == 1


async def test_the_workers_own_face_nobody_and_a_worker_without_a_face():
    store, checker = await _world()
    for attempt, frame, worker in (
        ("a-1", b"me", WORKER),
        ("a-2", b"blank", WORKER),
        ("a-3", b"stranger", OTHER),
    ):
        await _run(store, checker.keep_photo, _photo(attempt, frame))
        await _run(store, checker.note_worker, _worker(attempt, worker))
    checks = [p.payload.check for p in store.outbox]
    assert checks == [
        evidence_pb2.EVIDENCE_CHECK_FACE_MATCHED,
        evidence_pb2.EVIDENCE_CHECK_NO_FACE,
        evidence_pb2.EVIDENCE_CHECK_NOT_ENROLLED,
    ]
    assert not store.outbox[2].payload.HasField("distance")  # nothing compared
    # A worker without templates: the photo is not even run through the model.
    assert b"stranger" not in [f for call in checker.engine.calls for f in call]


async def test_nothing_is_kept_or_checked_when_the_tenant_keeps_no_evidence():
    store, checker = await _world(evidence_photos=False)
    await _run(store, checker.keep_photo, _photo("a-1", b"stranger"))
    await _run(store, checker.note_worker, _worker("a-1"))
    assert store.of(TENANT).evidence == {} and store.outbox == []
    assert checker.engine.calls == []


async def test_a_photo_over_the_bound_is_dropped_and_a_face_punch_is_not_checked():
    store, checker = await _world()
    await _run(store, checker.keep_photo, _photo("a-1", b"x" * (rules.MAX_PHOTO_BYTES + 1)))
    await _run(store, checker.note_worker, _worker("a-2", method="FACE"))
    assert store.of(TENANT).evidence == {}


async def test_a_face_punch_keeps_its_own_frame_when_the_tenant_keeps_evidence():
    store, checker = await _world()
    identifier = Identifier(checker.engine, checker.galleries, checker.policy, checker.ready)

    async def keep(uow, command, worker_id):
        c = command.attempt.context
        await checker.keep_face_frame(
            uow, command.tenant_id, c.attempt_id, c.clock_id, command.attempt.frame_jpeg, worker_id
        )

    identifier.keep_evidence = keep
    attempts = [
        IdentifyFace(
            TENANT,
            kiosk_pb2.FacePunchAttempted(
                context=kiosk_pb2.PunchAttemptContext(attempt_id=a, clock_id=CLOCK),
                frame_jpeg=frame,
            ),
        )
        for a, frame in (("f-1", b"me"), ("f-2", b"stranger"))
    ]
    await identifier.identify(attempts, uow_factory(store))
    kept = store.of(TENANT).evidence
    assert set(kept) == {"f-1"}  # a rejected attempt is no punch: its frame is not kept
    assert kept["f-1"].worker_id == WORKER and kept["f-1"].method == "FACE"


async def test_reading_a_photo_by_role_and_site_and_deleting_it():
    store, checker = await _world()
    await _run(store, checker.keep_photo, _photo("a-1", b"stranger"))
    await _run(store, checker.note_worker, _worker("a-1"))
    photos = EvidencePhotos(uow=uow_factory(store), cipher=FakeCipher())
    assert await photos.photo(caller("sysadmin"), "a-1") == b"stranger"
    assert await photos.photo(caller("manager", ("s1",)), "a-1") == b"stranger"
    with pytest.raises(NotFound):
        await photos.photo(caller("manager", ("s2",)), "a-1")  # another site's worker
    with pytest.raises(Forbidden):
        await photos.photo(caller("viewer"), "a-1")
    with pytest.raises(NotFound):
        await photos.photo(caller("sysadmin"), "a-404")
    with pytest.raises(Forbidden):
        await photos.delete(caller("manager", ("s1",)), "a-1")
    assert await photos.delete(caller("sysadmin"), "a-1") == 1
    with pytest.raises(NotFound):
        await photos.delete(caller("sysadmin"), "a-1")


async def test_deleted_with_the_workers_biometric_data_and_all_on_request():
    store, checker = await _world()
    for attempt, worker in (("a-1", WORKER), ("a-2", OTHER), ("a-3", WORKER)):
        await _run(store, checker.keep_photo, _photo(attempt, b"me"))
        await _run(store, checker.note_worker, _worker(attempt, worker))
    async with FakeUnitOfWork(store, TENANT) as uow:
        assert await delete_biometrics(uow, TENANT, WORKER, None)
        await uow.commit()
    assert set(store.of(TENANT).evidence) == {"a-2"}
    # OTHER has no templates: their evidence alone still counts as biometric data deleted.
    async with FakeUnitOfWork(store, TENANT) as uow:
        assert await delete_biometrics(uow, TENANT, OTHER, None)
        await uow.commit()
    assert store.of(TENANT).evidence == {}
    await _run(store, checker.keep_photo, _photo("a-4", b"me"))
    photos = EvidencePhotos(uow=uow_factory(store), cipher=FakeCipher())
    assert await photos.delete(caller("sysadmin"), None) == 1
    assert store.of(TENANT).evidence == {}


async def test_changing_the_retention_re_times_kept_photos_and_is_bounded():
    from punchcard_face_match.domain.quality import QualityPolicy
    from punchcard_face_match.service_layer.enrolment import ChangeFaceSettings, Enrolment

    store, checker = await _world()
    await _run(store, checker.keep_photo, _photo("a-1", b"me"))
    enrolment = Enrolment(
        uow=uow_factory(store),
        faces=checker.engine,
        image_size=lambda _: (10, 10),
        policy=QualityPolicy(),
        threshold=0.6,
        max_photo_bytes=1024,
    )
    seven = FaceSettings(evidence_photos=True, evidence_retention_days=7)
    await enrolment.change_settings(ChangeFaceSettings(caller("sysadmin"), seven))
    assert store.of(TENANT).evidence["a-1"].expires_at == NOW + timedelta(days=7)
    with pytest.raises(Invalid) as refused:
        too_long = FaceSettings(evidence_photos=True, evidence_retention_days=400)
        await enrolment.change_settings(ChangeFaceSettings(caller("sysadmin"), too_long))
    assert refused.value.field == "evidence_retention_days"
    with pytest.raises(Forbidden):
        await enrolment.change_settings(ChangeFaceSettings(caller("manager", ("s1",)), seven))
