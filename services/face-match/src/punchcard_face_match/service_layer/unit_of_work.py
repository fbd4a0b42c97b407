"""What the use cases need, as protocols: the repositories of one tenant's transaction (the
unit of work: commits only when told to, and carries the outbox so events commit with the
state), and the face engine that turns photos and frames into faces. The PostgreSQL unit of
work (adapters.repository) and the engine (adapters.engine) implement them; unit tests hand
in fakes (tests/unit/face_match/fakes.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from punchcard_kit import unit_of_work as kit_uow
from punchcard_kit.assignments import AssignmentChange

from ..domain.model import (
    EvidencePhoto,
    Face,
    FaceSettings,
    NewTemplate,
    TemplateSet,
    Worker,
    WorkerStatus,
)


class TemplatesRepository(Protocol):
    async def get(self, worker_id: str) -> TemplateSet | None: ...

    async def replace(
        self,
        worker_id: str,
        model_name: str,
        templates: list[NewTemplate],
        *,
        verify_one_to_one: bool = False,
    ) -> TemplateSet:
        """The worker's whole set becomes ``templates`` (photos included where given);
        ``verify_one_to_one``: an admin confirmed the face matches another worker's."""

    async def verify_one_to_one(self, worker_id: str) -> TemplateSet | None:
        """Marks the worker's set as a confirmed lookalike's (new revision); None when they
        hold no templates or were marked already."""

    async def delete(self, worker_id: str) -> int | None:
        """Removes the worker's templates and photos: the set's new revision, or None when
        the worker had none (nothing to delete, nothing to publish)."""


class WorkersRepository(Protocol):
    async def get(self, worker_id: str) -> Worker | None: ...

    async def lock(self, worker_id: str) -> None:
        """Hold the worker's row (shared) until the unit of work ends: a change of the worker
        from identity's events (deactivated: the face data deleted) waits for this one, or
        this one waits for it and reads what it wrote."""

    async def by_employee_id(self, employee_id: str) -> Worker | None: ...

    async def upsert(
        self,
        worker_id: str,
        employee_id: str | None,
        status: WorkerStatus | None,
        site_id: str | None = None,
    ) -> None:
        """``None`` keeps what is known (an update without that field)."""


class AssignmentsRepository(Protocol):
    async def workers_of(self, clock_id: str) -> set[str]: ...

    async def apply(self, change: AssignmentChange) -> None: ...


class SettingsRepository(Protocol):
    async def get(self) -> FaceSettings: ...

    async def put(self, settings: FaceSettings) -> None: ...

    async def drop_photos(self) -> int:
        """Deletes the photos kept so far; how many."""


class EvidenceRepository(Protocol):
    """Evidence photos (sealed: ``PhotoCipher``), keyed by attempt id."""

    async def get(self, attempt_id: str) -> EvidencePhoto | None: ...

    async def put_photo(
        self,
        attempt_id: str,
        clock_id: str,
        method: str,
        sealed: bytes,
        size: int,
        kept_at: datetime,
        expires_at: datetime,
        worker_id: str | None = None,
    ) -> None:
        """Keeps the photo (the row may exist already, holding the worker: it keeps it)."""

    async def note_worker(
        self, attempt_id: str, worker_id: str, method: str, clock_id: str, expires_at: datetime
    ) -> None:
        """The punch's worker; a row without a photo yet expires at ``expires_at``."""

    async def record_check(
        self, attempt_id: str, check: str, distance: float | None, threshold: float | None
    ) -> None: ...

    async def delete(self, attempt_id: str) -> bool: ...

    async def delete_worker(self, worker_id: str) -> int:
        """Every evidence photo of the worker; how many."""

    async def delete_all(self) -> int: ...

    async def retime(self, retention_days: int) -> None:
        """Kept photos expire ``retention_days`` after they were kept."""


class PhotoCipher(Protocol):
    def seal(self, tenant_id: str, attempt_id: str, photo: bytes) -> bytes: ...

    def open(self, tenant_id: str, attempt_id: str, sealed: bytes) -> bytes: ...


class UnitOfWork(kit_uow.UnitOfWork, Protocol):
    templates: TemplatesRepository
    workers: WorkersRepository
    assignments: AssignmentsRepository
    settings: SettingsRepository
    evidence: EvidenceRepository


#: Opens a unit of work for a tenant (an HTTP request: a transaction of its own).
UnitOfWorkFactory = Callable[[str], UnitOfWork]
#: A unit of work for a tenant inside a consumer's batch transaction (the connection).
ConnectionUnitOfWork = Callable[[Any, str], UnitOfWork]


class EngineRestarted(RuntimeError):
    """A model worker died during the call; the pool was rebuilt. The call may be retried, a
    bounded number of times (the frame itself may be what kills the worker)."""


class FaceAnalyser(Protocol):
    """The face pipeline (decode, detect, align, embed) behind the engine's worker processes."""

    model_name: str

    async def analyse(self, frames: Sequence[bytes], aligned: Sequence[bool] = ()) -> list[Face]:
        """What each frame shows, in order; ``aligned[i]``: frame i is a kiosk's aligned face
        chip, not a camera frame (none given: all are frames). Raises EngineRestarted if a
        worker died."""


#: (width, height) an image's header declares, read without decoding; None: not an image.
ImageSize = Callable[[bytes], tuple[int, int] | None]
