"""The enrolment use cases on fakes: who may, what an upload changes (templates, kept photos,
events in the same commit) and what a refusal leaves untouched; deletion and deactivation."""

from dataclasses import replace

import numpy as np
import pytest
from punchcard_face_match.domain.gallery import Galleries
from punchcard_face_match.domain.model import (
    Face,
    FaceOutcome,
    FaceSettings,
    Worker,
    WorkerStatus,
)
from punchcard_face_match.domain.quality import QualityPolicy
from punchcard_face_match.service_layer import projection
from punchcard_face_match.service_layer.enrolment import (
    ChangeFaceSettings,
    DeleteFace,
    EnrolFace,
    Enrolment,
    Photo,
)
from punchcard_face_match.views import FaceViews
from punchcard_kit.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable
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
OTHER = "1b2c3d4e-0000-4000-8000-00000000000b"
SITE = "site-1"
A = b"\xff\xd8\xff photo a"
B = b"\xff\xd8\xff photo b"
TEMPLATES = catalogue.FACE_TEMPLATES.name
ENROLMENTS = catalogue.FACE_ENROLMENTS.name


def _size(content: bytes):
    return (640, 480) if content.startswith(b"\xff\xd8\xff") else None


def _setup(faces: FakeFaces | None = None, galleries: Galleries | None = None):
    store = Store()
    data = store.of(TENANT)
    data.workers[WORKER] = Worker(WORKER, "E1", WorkerStatus.ACTIVE, SITE)
    data.workers[OTHER] = Worker(OTHER, "E2", WorkerStatus.ACTIVE, "site-2")
    me = embedding(1)
    faces = faces or FakeFaces({A: good_face(me), B: good_face(me + np.float32(0.01))})
    enrolment = Enrolment(
        uow=uow_factory(store),
        faces=faces,
        image_size=_size,
        policy=QualityPolicy(),
        threshold=0.6,
        max_photo_bytes=1024 * 1024,
        galleries=galleries,
    )
    return store, enrolment


def _enrol(*photos: bytes, role="sysadmin", sites=(), worker=WORKER):
    return EnrolFace(
        caller(role, sites),
        worker,
        [Photo(f"p{i}.jpg", p) for i, p in enumerate(photos)],
        correlation_id="c-1",
    )


async def test_an_upload_replaces_the_templates_and_publishes_both_events_in_its_commit():
    store, enrolment = _setup()
    found = await enrolment.enrol(_enrol(A, B))
    assert (found.worker_id, found.revision, len(found.templates)) == (WORKER, 1, 2)
    assert store.of(TENANT).sets[WORKER] == found
    assert store.of(TENANT).photos == {}  # keep_photos is off
    key = f"{TENANT}/{WORKER}"
    assert [(p.topic, p.key) for p in store.outbox] == [(TEMPLATES, key), (ENROLMENTS, key)]
    flag = store.outbox[1].payload
    assert (flag.enrolled, flag.template_count, flag.model_name) == (True, 2, "Dlib")
    assert store.outbox[0].payload.revision == 1

    again = await enrolment.enrol(_enrol(A))
    assert again.revision == 2 and len(again.templates) == 1


async def test_photos_are_kept_only_when_the_tenant_keeps_them_and_turning_it_off_drops_them():
    store, enrolment = _setup()
    await enrolment.change_settings(ChangeFaceSettings(caller(), FaceSettings(keep_photos=True)))
    found = await enrolment.enrol(_enrol(A, B))
    assert all(t.photo_kept for t in found.templates)
    assert sorted(store.of(TENANT).photos.values()) == [A, B]
    with pytest.raises(Forbidden):
        await enrolment.change_settings(ChangeFaceSettings(caller("manager"), FaceSettings()))
    await enrolment.change_settings(ChangeFaceSettings(caller(), FaceSettings()))
    assert store.of(TENANT).photos == {}


async def test_a_refused_upload_changes_nothing():
    faces = FakeFaces({A: good_face(embedding(1)), B: Face(FaceOutcome.NO_FACE)})
    store, enrolment = _setup(faces)
    with pytest.raises(Invalid) as refused:
        await enrolment.enrol(_enrol(A, B))
    assert refused.value.code == "PHOTO_REFUSED"
    assert WORKER not in store.of(TENANT).sets and store.outbox == []

    differ = FakeFaces({A: good_face(embedding(1)), B: good_face(embedding(2))})
    store, enrolment = _setup(differ)
    with pytest.raises(Invalid) as refused:
        await enrolment.enrol(_enrol(A, B))
    assert refused.value.code == "PHOTOS_DIFFER"
    assert store.outbox == []


async def test_files_are_checked_before_the_model_sees_them():
    store, enrolment = _setup()
    with pytest.raises(Invalid) as refused:
        await enrolment.enrol(_enrol(A, b"%PDF-1.4"))
    assert (refused.value.code, refused.value.field) == ("INVALID_IMAGE", "photos[1]")
    with pytest.raises(Invalid) as none:
        await enrolment.enrol(_enrol())
    assert none.value.field == "photos"
    assert enrolment.faces.calls == []


async def test_who_may_enrol():
    store, enrolment = _setup()
    with pytest.raises(Forbidden) as viewer:
        await enrolment.enrol(_enrol(A, role="viewer"))
    assert viewer.value.message == "only a sysadmin or a manager may change face data"
    with pytest.raises(Forbidden) as elsewhere:
        await enrolment.enrol(_enrol(A, role="manager", sites=("site-9",)))
    assert (elsewhere.value.code, elsewhere.value.field) == ("SITE_NOT_MANAGED", "worker_id")
    await enrolment.enrol(_enrol(A, role="manager", sites=(SITE,)))
    with pytest.raises(NotFound) as unknown:
        await enrolment.enrol(_enrol(A, worker="1b2c3d4e-0000-4000-8000-0000000000ff"))
    assert (unknown.value.code, unknown.value.field) == ("WORKER_NOT_FOUND", "worker_id")


async def test_a_worker_created_a_moment_ago_is_waited_for_then_enrolled():
    store, enrolment = _setup()
    data = store.of(TENANT)
    arriving = data.workers.pop(WORKER)
    base = enrolment.uow
    opened = []

    def uow(tenant_id):
        opened.append(tenant_id)
        if len(opened) == 2:  # identity's event has reached face-match meanwhile
            data.workers[WORKER] = arriving
        return base(tenant_id)

    waiting = replace(enrolment, uow=uow, worker_wait_s=5)
    enrolled = await waiting.enrol(_enrol(A))
    assert enrolled.worker_id == WORKER and enrolment.faces.calls  # analysed once known
    # A worker that never comes: WORKER_NOT_FOUND after the bound, nothing analysed.
    calls = len(enrolment.faces.calls)
    with pytest.raises(NotFound) as unknown:
        await replace(enrolment, worker_wait_s=0.05).enrol(
            _enrol(A, worker="1b2c3d4e-0000-4000-8000-0000000000ff")
        )
    assert unknown.value.code == "WORKER_NOT_FOUND" and len(enrolment.faces.calls) == calls


async def test_an_inactive_worker_and_a_restarted_engine():
    store, enrolment = _setup()
    await projection.change_worker_status(
        projection.ChangeWorkerStatus(TENANT, WORKER, WorkerStatus.INACTIVE),
        FakeUnitOfWork(store, TENANT),
    )
    with pytest.raises(Conflict) as inactive:
        await enrolment.enrol(_enrol(A))
    assert inactive.value.code == "WORKER_INACTIVE"
    assert enrolment.faces.calls == []

    store, enrolment = _setup(FakeFaces(restarts=True))
    with pytest.raises(Unavailable) as restarted:
        await enrolment.enrol(_enrol(A))
    assert restarted.value.message == "the face model restarted; try the enrolment again"


async def test_a_worker_deactivated_while_the_photos_are_analysed_is_not_enrolled():
    store, enrolment = _setup()
    data = store.of(TENANT)

    class Deactivating(FakeFaces):
        async def analyse(self, frames, aligned=()):
            found = await super().analyse(frames, aligned)
            data.workers[WORKER] = replace(data.workers[WORKER], status=WorkerStatus.INACTIVE)
            return found

    faces = Deactivating({A: good_face(embedding(1))})
    with pytest.raises(Conflict) as inactive:
        await replace(enrolment, faces=faces).enrol(_enrol(A))
    assert inactive.value.code == "WORKER_INACTIVE"
    assert WORKER not in data.sets and store.outbox == []
    # The writing transaction held the worker's row before reading them again.
    assert store.locked_workers == [WORKER]


async def test_a_face_already_enrolled_for_another_worker_is_refused():
    galleries = Galleries()
    me = embedding(1)
    galleries.for_tenant(TENANT, "Dlib", 128).upsert(OTHER, me[None, :], 1)
    store, enrolment = _setup(galleries=galleries)
    with pytest.raises(Conflict) as refused:
        await enrolment.enrol(_enrol(A))
    assert refused.value.code == "FACE_ENROLLED_AS_OTHER"
    assert store.outbox == []


async def test_a_sysadmin_confirms_twins_and_both_are_then_verified_one_to_one():
    galleries = Galleries()
    twin = embedding(1)
    store, enrolment = _setup(galleries=galleries)
    store.of(TENANT).workers[OTHER] = Worker(OTHER, "E2", WorkerStatus.ACTIVE, SITE)
    await enrolment.enrol(_enrol(A, worker=OTHER))  # the twin, enrolled first
    galleries.for_tenant(TENANT, "Dlib", 128).upsert(OTHER, twin[None, :], 1)
    store.outbox.clear()

    with pytest.raises(Conflict) as by_manager:
        await enrolment.enrol(_confirmed(B, role="manager", sites=(SITE,)))
    assert by_manager.value.body()["confirmable"] is False
    assert store.outbox == [] and WORKER not in store.of(TENANT).sets

    found = await enrolment.enrol(_confirmed(B))
    assert found.verify_one_to_one is True
    data = store.of(TENANT)
    assert data.sets[OTHER].verify_one_to_one is True and data.sets[OTHER].revision == 2
    published = {p.payload.worker_id: p.payload for p in store.outbox if p.topic == TEMPLATES}
    assert published[WORKER].verify_one_to_one and published[OTHER].verify_one_to_one
    assert published[OTHER].revision == 2

    store.outbox.clear()  # enrolling again as a lookalike does not republish the twin
    await enrolment.enrol(_confirmed(B))
    assert [p.payload.worker_id for p in store.outbox if p.topic == TEMPLATES] == [WORKER]


def _confirmed(*photos: bytes, role="sysadmin", sites=()):
    command = _enrol(*photos, role=role, sites=sites)
    return EnrolFace(
        command.caller, command.worker_id, command.photos, "c-1", confirm_lookalike=True
    )


async def test_deletion_publishes_the_tombstone_and_deactivation_deletes_too():
    store, enrolment = _setup()
    await enrolment.enrol(_enrol(A))
    store.outbox.clear()
    assert await enrolment.delete(DeleteFace(caller(), WORKER, "c-2")) is True
    key = f"{TENANT}/{WORKER}"
    assert [(p.topic, p.key, p.type) for p in store.outbox] == [
        (TEMPLATES, key, None),
        (ENROLMENTS, key, "punchcard.v1.FaceEnrolmentChanged"),
    ]
    assert store.outbox[1].payload.enrolled is False
    assert await enrolment.delete(DeleteFace(caller(), WORKER)) is False
    with pytest.raises(NotFound):
        await enrolment.delete(DeleteFace(caller(), "1b2c3d4e-0000-4000-8000-0000000000ff"))

    await enrolment.enrol(_enrol(A))
    store.outbox.clear()
    await projection.change_worker_status(
        projection.ChangeWorkerStatus(TENANT, WORKER, WorkerStatus.INACTIVE),
        FakeUnitOfWork(store, TENANT),
    )
    assert store.outbox[0].type is None and store.of(TENANT).sets[WORKER].templates == []


async def test_the_status_view_says_whether_this_replica_searches_the_current_templates():
    galleries = Galleries()
    store, enrolment = _setup(galleries=galleries)
    views = FaceViews(uow=uow_factory(store), galleries=galleries)
    found = await enrolment.enrol(_enrol(A))
    status = await views.status(caller(), WORKER)
    assert (status["enrolled"], status["revision"], status["in_gallery"]) == (True, 1, False)
    galleries.for_tenant(TENANT, "Dlib", 128).upsert(WORKER, embedding(1)[None, :], 1)
    assert (await views.status(caller(), WORKER))["in_gallery"] is True
    assert views.enrolment(TENANT, WORKER, found)["template_count"] == 1
    with pytest.raises(NotFound):
        await views.status(caller("manager", ("site-9",)), WORKER)


# --- at a kiosk (a Manager signed in there; the caller is the clock) ------------------------

CLOCK = "9c8b7a65-0000-4000-8000-0000000000cc"
MANAGER = "1b2c3d4e-0000-4000-8000-00000000000c"


def _at_kiosk(employee_id: str, *, by: str = MANAGER, consent: bool = True, role="clock"):
    from punchcard_face_match.service_layer.enrolment import EnrolAtKiosk
    from punchcard_kit.caller import Caller

    return EnrolAtKiosk(
        caller=Caller(TENANT, CLOCK, role),
        employee_id=employee_id,
        enrolled_by=by,
        photo=Photo("kiosk photo", A),
        consent=consent,
    )


async def test_a_clock_enrols_a_worker_assigned_to_it_by_the_portals_rules():
    store, enrolment = _setup()
    data = store.of(TENANT)
    data.assignments.add((CLOCK, WORKER))
    data.workers[MANAGER] = Worker(MANAGER, "M1", WorkerStatus.ACTIVE, SITE)
    worker, found = await enrolment.enrol_at_kiosk(_at_kiosk("E1"))
    assert worker.id == WORKER and found.revision == 1 and len(found.templates) == 1
    assert [p.topic for p in store.outbox] == [TEMPLATES, ENROLMENTS]


async def test_a_kiosk_names_the_worker_by_employee_id_in_any_case():
    """The manager types on a keypad of capitals: "e1" and "E1" are the same worker."""
    store, enrolment = _setup()
    data = store.of(TENANT)
    data.assignments.add((CLOCK, WORKER))
    worker, _ = await enrolment.enrol_at_kiosk(_at_kiosk("e1"))
    assert worker.id == WORKER


@pytest.mark.parametrize(
    ("case", "error", "code"),
    [
        ("not on the clock", NotFound, "WORKER_NOT_FOUND"),
        ("unknown id", NotFound, "WORKER_NOT_FOUND"),
        ("themself", Forbidden, "SELF_ENROLMENT"),
        ("no consent", Invalid, "INVALID"),
        ("an admin caller", Forbidden, "CLOCK_ONLY"),
    ],
)
async def test_a_clock_enrols_nobody_else_and_changes_nothing_when_refused(case, error, code):
    store, enrolment = _setup()
    data = store.of(TENANT)
    data.assignments.add((CLOCK, WORKER))
    employee_id = {"not on the clock": "E2", "unknown id": "E404"}.get(case, "E1")
    command = _at_kiosk(
        employee_id,
        by=WORKER if case == "themself" else MANAGER,
        consent=case != "no consent",
        role="sysadmin" if case == "an admin caller" else "clock",
    )
    with pytest.raises(error) as refused:
        await enrolment.enrol_at_kiosk(command)
    assert refused.value.code == code
    assert store.of(TENANT).sets == {} and store.outbox == []
