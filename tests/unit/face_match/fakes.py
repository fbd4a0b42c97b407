"""In-memory stand-ins for face-match's unit of work and face engine. A unit of work works on a
copy of its tenant's data and makes it the data only on ``commit()`` (what it published too),
as the PostgreSQL transaction does."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import numpy as np
from punchcard_face_match.domain.model import (
    EvidencePhoto,
    Face,
    FaceOutcome,
    FaceSettings,
    NewTemplate,
    StoredTemplate,
    TemplateSet,
    Worker,
    WorkerStatus,
)
from punchcard_face_match.service_layer.unit_of_work import EngineRestarted
from punchcard_kit.credentials import employee_id_key
from punchcard_kit.internal_auth import Caller
from punchcard_kit.messaging import decode_envelope, unpack_payload

TENANT = "6f1c2a3b-0000-4000-8000-000000000001"


def caller(role: str = "sysadmin", sites: tuple[str, ...] = (), tenant: str = TENANT) -> Caller:
    return Caller(tenant_id=tenant, user_id=str(uuid.uuid4()), role=role, sites=sites)


@dataclass
class TenantData:
    workers: dict[str, Worker] = field(default_factory=dict)
    sets: dict[str, TemplateSet] = field(default_factory=dict)
    photos: dict[str, bytes] = field(default_factory=dict)  # template id -> photo
    assignments: set[tuple[str, str]] = field(default_factory=set)  # (clock, worker)
    settings: FaceSettings = field(default_factory=FaceSettings)
    revisions: dict[str, int] = field(default_factory=dict)
    evidence: dict[str, EvidencePhoto] = field(default_factory=dict)  # attempt id -> photo


@dataclass
class Published:
    topic: str
    key: str
    type: str | None  # None: a tombstone
    payload: object | None


@dataclass
class Store:
    tenants: dict[str, TenantData] = field(default_factory=dict)
    outbox: list[Published] = field(default_factory=list)
    commits: int = 0
    # The workers each unit of work held (workers.lock), committed or not, in order.
    locked_workers: list[str] = field(default_factory=list)

    def of(self, tenant_id: str) -> TenantData:
        return self.tenants.setdefault(tenant_id, TenantData())


class FakeTemplates:
    def __init__(self, data: TenantData) -> None:
        self.data = data

    async def get(self, worker_id: str) -> TemplateSet | None:
        return self.data.sets.get(worker_id)

    async def replace(
        self,
        worker_id: str,
        model_name: str,
        templates: list[NewTemplate],
        *,
        verify_one_to_one: bool = False,
    ) -> TemplateSet:
        revision = self.data.revisions.get(worker_id, 0) + 1
        self.data.revisions[worker_id] = revision
        now = datetime.now(UTC)
        stored = []
        for t in templates:
            template_id = str(uuid.uuid4())
            if t.photo is not None:
                self.data.photos[template_id] = t.photo
            stored.append(
                StoredTemplate(
                    template_id=template_id,
                    embedding=np.asarray(t.embedding, dtype=np.float32),
                    quality=t.quality,
                    face_px=t.face_px,
                    created_at=now,
                    photo_kept=t.photo is not None,
                )
            )
        found = TemplateSet(
            worker_id=worker_id,
            model_name=model_name,
            dims=int(templates[0].embedding.shape[0]),
            revision=revision,
            updated_at=now,
            templates=stored,
            verify_one_to_one=verify_one_to_one,
        )
        self.data.sets[worker_id] = found
        return found

    async def verify_one_to_one(self, worker_id: str) -> TemplateSet | None:
        found = self.data.sets.get(worker_id)
        if found is None or not found.templates or found.verify_one_to_one:
            return None
        revision = self.data.revisions[worker_id] + 1
        self.data.revisions[worker_id] = revision
        marked = replace(found, revision=revision, verify_one_to_one=True)
        self.data.sets[worker_id] = marked
        return marked

    async def delete(self, worker_id: str) -> int | None:
        found = self.data.sets.get(worker_id)
        if found is None or not found.templates:
            return None
        for t in found.templates:
            self.data.photos.pop(t.template_id, None)
        revision = self.data.revisions[worker_id] + 1
        self.data.revisions[worker_id] = revision
        self.data.sets[worker_id] = TemplateSet(
            worker_id, found.model_name, found.dims, revision, datetime.now(UTC), []
        )
        return revision


class FakeWorkers:
    def __init__(self, data: TenantData, locked: list[str] | None = None) -> None:
        self.data = data
        self.locked = [] if locked is None else locked

    async def get(self, worker_id: str) -> Worker | None:
        return self.data.workers.get(worker_id)

    async def lock(self, worker_id: str) -> None:
        self.locked.append(worker_id)

    async def by_employee_id(self, employee_id: str) -> Worker | None:
        # As the adapter: by the key, an exact spelling first.
        key = employee_id_key(employee_id)
        found = [w for w in self.data.workers.values() if employee_id_key(w.employee_id) == key]
        return min(found, key=lambda w: w.employee_id != employee_id, default=None)

    async def upsert(self, worker_id, employee_id, status, site_id=None) -> None:
        known = self.data.workers.get(worker_id)
        self.data.workers[worker_id] = Worker(
            id=worker_id,
            employee_id=employee_id
            if employee_id is not None
            else (known.employee_id if known else ""),
            status=status or (known.status if known else WorkerStatus.PENDING),
            site_id=site_id if site_id is not None else (known.site_id if known else None),
        )


class FakeAssignments:
    def __init__(self, data: TenantData) -> None:
        self.data = data

    async def workers_of(self, clock_id: str) -> set[str]:
        return {w for c, w in self.data.assignments if c == clock_id}

    async def apply(self, change) -> None:
        pair = (change.clock_id, change.worker_id)
        if change.assigned:
            self.data.assignments.add(pair)
        else:
            self.data.assignments.discard(pair)


class FakeSettings:
    def __init__(self, data: TenantData) -> None:
        self.data = data

    async def get(self) -> FaceSettings:
        return self.data.settings

    async def put(self, settings: FaceSettings) -> None:
        self.data.settings = settings

    async def drop_photos(self) -> int:
        dropped = len(self.data.photos)
        self.data.photos.clear()
        return dropped


class FakeEvidence:
    def __init__(self, data: TenantData) -> None:
        self.data = data

    async def get(self, attempt_id: str) -> EvidencePhoto | None:
        return self.data.evidence.get(attempt_id)

    async def put_photo(
        self, attempt_id, clock_id, method, sealed, size, kept_at, expires_at, worker_id=None
    ) -> None:
        known = self.data.evidence.get(attempt_id)
        self.data.evidence[attempt_id] = EvidencePhoto(
            attempt_id=attempt_id,
            clock_id=(known and known.clock_id) or clock_id,
            method=(known and known.method) or method,
            worker_id=(known and known.worker_id) or worker_id,
            sealed=sealed,
            kept_at=kept_at,
            expires_at=expires_at,
            check=known.check if known else None,
        )

    async def note_worker(self, attempt_id, worker_id, method, clock_id, expires_at) -> None:
        known = self.data.evidence.get(attempt_id)
        if known is None:
            self.data.evidence[attempt_id] = EvidencePhoto(
                attempt_id, clock_id, method, worker_id, None, None, expires_at
            )
        else:
            self.data.evidence[attempt_id] = replace(known, worker_id=worker_id, method=method)

    async def record_check(self, attempt_id, check, distance, threshold) -> None:
        known = self.data.evidence[attempt_id]
        self.data.evidence[attempt_id] = replace(
            known, check=check, distance=distance, threshold=threshold
        )

    async def delete(self, attempt_id: str) -> bool:
        return self.data.evidence.pop(attempt_id, None) is not None

    async def delete_worker(self, worker_id: str) -> int:
        gone = [a for a, e in self.data.evidence.items() if e.worker_id == worker_id]
        for attempt_id in gone:
            del self.data.evidence[attempt_id]
        return len(gone)

    async def delete_all(self) -> int:
        count = len(self.data.evidence)
        self.data.evidence.clear()
        return count

    async def retime(self, retention_days: int) -> None:
        from datetime import timedelta

        for attempt_id, e in list(self.data.evidence.items()):
            if e.kept_at is not None:
                self.data.evidence[attempt_id] = replace(
                    e, expires_at=e.kept_at + timedelta(days=retention_days)
                )


class FakeCipher:
    """Reversible and bound to the attempt, like the real one (not encryption)."""

    def seal(self, tenant_id: str, attempt_id: str, photo: bytes) -> bytes:
        return f"{tenant_id}/{attempt_id}|".encode() + photo[::-1]

    def open(self, tenant_id: str, attempt_id: str, sealed: bytes) -> bytes:
        head, _, body = sealed.partition(b"|")
        assert head == f"{tenant_id}/{attempt_id}".encode(), "sealed for another attempt"
        return body[::-1]


class FakeUnitOfWork:
    def __init__(self, store: Store, tenant_id: str) -> None:
        self.store, self.tenant_id = store, tenant_id

    async def __aenter__(self) -> FakeUnitOfWork:
        self._data = copy.deepcopy(self.store.of(self.tenant_id))
        self._outbox: list[Published] = []
        self.templates = FakeTemplates(self._data)
        self.workers = FakeWorkers(self._data, self.store.locked_workers)
        self.assignments = FakeAssignments(self._data)
        self.settings = FakeSettings(self._data)
        self.evidence = FakeEvidence(self._data)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._outbox = []

    async def commit(self) -> None:
        self.store.tenants[self.tenant_id] = self._data
        self.store.outbox.extend(self._outbox)
        self._outbox = []
        self.store.commits += 1

    async def publish(self, *items) -> None:
        for topic, key, envelope in items:
            self._outbox.append(Published(topic, key, envelope.type, unpack_payload(envelope)))

    async def publish_records(self, records) -> None:
        for record in records:
            key = record.key.decode() if isinstance(record.key, bytes) else record.key
            if record.value is None:
                self._outbox.append(Published(record.topic, key, None, None))
            else:
                envelope = decode_envelope(record.value)
                self._outbox.append(
                    Published(record.topic, key, envelope.type, unpack_payload(envelope))
                )


def uow_factory(store: Store):
    return lambda tenant_id: FakeUnitOfWork(store, tenant_id)


def embedding(seed: int, dims: int = 128) -> np.ndarray:
    """A unit vector; two different seeds are far apart (distance about 1.4)."""
    vector = np.random.default_rng(seed).standard_normal(dims).astype(np.float32)
    return vector / np.linalg.norm(vector)


def good_face(vector: np.ndarray) -> Face:
    return Face(
        FaceOutcome.OK,
        faces=1,
        embedding=vector,
        face_px=200,
        sharpness=300.0,
        brightness=120.0,
        timings={"decode": 1.0},
    )


class FakeFaces:
    """The engine: answers each frame with the Face given for its bytes."""

    model_name = "Dlib"

    def __init__(self, faces: dict[bytes, Face] | None = None, *, restarts: bool = False) -> None:
        self.faces = faces or {}
        self.restarts = restarts
        self.calls: list[list[bytes]] = []
        self.aligned: list[list[bool]] = []

    async def analyse(self, frames: Sequence[bytes], aligned: Sequence[bool] = ()) -> list[Face]:
        self.calls.append(list(frames))
        self.aligned.append(list(aligned) or [False] * len(frames))
        if self.restarts:
            raise EngineRestarted("a face model worker died; the workers were restarted")
        return [self.faces.get(frame, Face(FaceOutcome.NO_FACE)) for frame in frames]
