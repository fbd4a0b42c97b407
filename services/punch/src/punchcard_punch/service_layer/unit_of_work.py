"""What punch's use cases need from storage: the repositories (as protocols) and the unit of
work — one tenant transaction, under row-level security, with the outbox in it
(``adapters/postgres.py``; ``tests/unit/punch/fakes.py`` in memory). No SQL here.

Batch-shaped on purpose: ingest decides a whole consumer batch of a tenant with a fixed number
of statements (``decided_attempts``, ``workers``, ``clocks``, ``assigned_pairs``, ``nearby``,
``punches_by_id``, ``insert_punches``, ``insert_attempts``), whatever the batch size."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from punchcard_kit import unit_of_work as kit_uow
from punchcard_kit.assignments import AssignmentChange
from punchcard_kit.messaging import Message
from punchcard_kit.messaging.outbox import OutboxRecord

from ..domain.decisions import Nearby

# A row of the ledger, the projections or the parked verdicts, read by column name.
Row = Mapping[str, Any]


class LedgerRepository(Protocol):
    """The ledger (``punches``), the decided attempts and the projections ingest reads."""

    async def decided_attempts(self, ids: Sequence[str]) -> set[str]:
        """Those of ``ids`` decided already, or parked (a verdict of theirs waits): a second
        verdict for such an attempt decides nothing."""

    async def evidence_checks(self, ids: Sequence[str]) -> dict[str, str]:
        """face-match's checks of these attempts' photos that punch holds (attempt id →
        ``FACE_MATCHED`` / ``FACE_NOT_WORKERS`` / ``NO_FACE`` / ``NOT_ENROLLED``)."""

    async def workers(self, ids: Iterable[str]) -> dict[str, Row]:
        """Known workers by id: ``employee_id, display_name, status, site_id``."""

    async def clocks(self, ids: Iterable[str]) -> dict[str, Row]:
        """Known clocks by id: ``name, site_id, time_zone, revoked_at``."""

    async def assigned_pairs(self, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which (clock, worker) pairs are assigned."""

    async def nearby(
        self, queries: Sequence[tuple[str, datetime]], window: timedelta
    ) -> list[list[Nearby]]:
        """For each (worker, time): its last effective punch at or before the time and the
        first one after it within ``window``."""

    async def punches_by_id(self, ids: Iterable[str]) -> dict[str, Row]: ...

    async def void_of(self, punch_id: str) -> str | None:
        """The id of the VOID entry that voided ``punch_id`` (None: not voided)."""

    async def site_time_zone(self, site_id: str) -> str | None:
        """The time zone of a clock of the site (any one), None without a clock there."""

    async def insert_punches(self, rows: Sequence[Row]) -> None: ...

    async def insert_attempts(self, rows: Sequence[Row]) -> None: ...

    async def claim_request(
        self, key: str, fingerprint: str, punch_id: str
    ) -> tuple[str, str] | None:
        """Keep that the correction named ``key`` makes ``punch_id`` (None: the key is new);
        else the (fingerprint, punch id) of the request that used the key first, waiting for
        it when it is still being made (``domain/repeats.py``)."""


class ProjectionsRepository(Protocol):
    """punch's copies of identity's workers, device-sync's clocks and assignments."""

    async def worker_status(self, worker_id: str) -> str | None: ...

    async def upsert_worker(self, worker: Row) -> None: ...

    async def set_worker_status(self, worker_id: str, status: str) -> bool:
        """False when punch has not seen the worker registered."""

    async def upsert_clock(self, clock_id: str, *, name: str, site_id: str, time_zone: str) -> None:
        """``time_zone`` "" is UTC."""

    async def revoke_clock(self, clock_id: str) -> None: ...

    async def apply_assignment(self, change: AssignmentChange) -> None: ...

    async def record_evidence(self, row: Row) -> None:
        """face-match's check of a punch's evidence photo (``attempt_id``, ``worker_id``,
        ``clock_id``, ``method``, ``evidence_check``, ``distance``, ``threshold``); a check
        delivered again changes nothing."""

    async def set_face_enrolled(self, worker_id: str, enrolled: bool) -> None: ...


class ParkedRepository(Protocol):
    """Parked verdicts of the unit of work's tenant (``domain/parking.py``)."""

    async def workers_with_parked(self, worker_ids: Iterable[str]) -> set[str]: ...

    async def park(self, items: Sequence[tuple[str, Message, str, datetime | None]]) -> None:
        """(attempt id, the verdict's message, why, until when it waits for face-match's
        check of its photo or None); one parked twice is kept once."""

    async def remove(self, seqs: Sequence[int]) -> None: ...

    async def dead_letter(
        self, group_id: str, rows: Sequence[Row], letters: Sequence[OutboxRecord]
    ) -> None:
        """Give up on ``rows``: their event ids out of ``group_id``'s processed events (so a
        redrive is decided), ``letters`` into the outbox, the rows removed."""


class PunchSettingsRepository(Protocol):
    """The tenant's own punch rules (off by default)."""

    async def refuse_unmatched_photos(self) -> bool:
        """Refuse PIN and card punches whose photo is not the worker's face."""

    async def set_refuse_unmatched_photos(self, on: bool, admin_id: str | None) -> None: ...


class UnitOfWork(kit_uow.UnitOfWork, Protocol):
    """One transaction for one tenant; what is published commits with the state."""

    tenant_id: Any
    ledger: LedgerRepository
    projections: ProjectionsRepository
    parked: ParkedRepository
    settings: PunchSettingsRepository


# Opens a unit of work for a tenant (an HTTP request's own transaction).
UnitOfWorkFactory = Callable[[str], UnitOfWork]


@dataclass
class Claim:
    """A tenant's oldest parked verdicts, locked for the unparker until the claim's transaction
    ends; ``uow`` works for the tenant in that same transaction."""

    rows: list[Row]
    uow: UnitOfWork


class ParkedVerdicts(Protocol):
    """The parked verdicts across tenants, as the unparker finds its work."""

    async def tenants_with_parked(self) -> list[str]: ...

    async def count(self) -> tuple[int, float]:
        """How many verdicts are parked, and the age in seconds of the oldest (0 when none)."""

    def claim(self, tenant_id: str, limit: int) -> AbstractAsyncContextManager[Claim | None]:
        """A transaction holding the tenant's oldest parked verdicts (None: another replica
        is on this tenant); it commits when the block ends without error."""
