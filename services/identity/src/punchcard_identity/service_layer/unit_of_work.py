"""What identity's use cases need from the world, as protocols: the repositories of one tenant
transaction (the unit of work, whose events commit with its state through the outbox), the
Redis failure counters, the PIN hasher and the opener of sealed PINs. The PostgreSQL, Redis,
argon2 and libsodium implementations live in ``adapters/``; unit tests hand in fakes
(``tests/unit/identity/fakes.py``). No SQL here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from punchcard.v1 import common_pb2
from punchcard_kit import unit_of_work as kit_uow

from ..domain.cards import Card
from ..domain.model import StoredPin, Worker

if TYPE_CHECKING:
    from punchcard_kit.assignments import AssignmentChange


class WorkerRepository(Protocol):
    async def get(self, worker_id: str, *, for_update: bool = False) -> Worker | None:
        """``for_update``: the worker's row is locked until the unit of work ends."""

    async def get_with_pin(
        self, employee_id: str, clock_id: str
    ) -> tuple[Worker, StoredPin | None, bool] | None:
        """The worker with this Employee ID, its stored PIN (verification only) and whether it
        is assigned to the clock, in one read; no row lock: a PIN is hashed outside any lock."""

    async def add(self, worker: Worker) -> None:
        """Raises ``DuplicateEmployeeId`` when another worker has its Employee ID."""

    async def update(self, worker: Worker) -> None:
        """Raises ``DuplicateEmployeeId`` when another worker has its Employee ID."""


class PinRepository(Protocol):
    async def set(self, worker_id: str, stored: StoredPin, at: datetime) -> None:
        """Set (or replace) the worker's PIN; a lock everywhere ends with it."""

    async def delete(self, worker_id: str) -> bool:
        """False when the worker had no PIN."""

    async def set_lock(self, worker_id: str, until: datetime | None) -> None: ...

    async def lock_if_unchanged(self, worker_id: str, pin_hash: str, until: datetime) -> bool:
        """Lock the PIN until ``until`` unless it was changed since read (or is locked longer
        already); False when nothing was locked."""

    async def max_age_days(self) -> int | None:
        """The tenant's PIN policy: days after which a PIN is stale (None: never)."""

    async def set_max_age_days(self, days: int | None) -> None: ...

    async def devices_verify_pins(self) -> bool:
        """The tenant's switch "hardware clocks may verify PINs" (off by default)."""

    async def set_devices_verify_pins(self, on: bool) -> None: ...

    async def mark_on_devices(self, worker_id: str, on: bool) -> None:
        """Whether the worker's current PIN was sealed to device-sync."""

    async def clear_on_devices(self) -> list[str]:
        """Unmark every PIN sealed to device-sync; returns their workers."""

    async def not_on_devices(self) -> int:
        """PINs set but not sealed to device-sync (set before the switch was on)."""


class CardRepository(Protocol):
    async def of_worker(self, worker_id: str) -> list[Card]:
        """The worker's cards, by number."""

    async def add(self, worker_id: str, number: str, at: datetime) -> bool:
        """Give the worker the card; False when they hold it already (nothing written).
        Raises ``DuplicateCard`` when another worker of the tenant holds it."""

    async def remove(self, worker_id: str, number: str) -> bool:
        """False when the worker did not hold the card."""

    async def holder(self, number: str) -> str | None:
        """The id of the tenant's worker holding the card (a kiosk's card read), or None."""


class AssignmentRepository(Protocol):
    async def is_assigned(self, clock_id: str, worker_id: str) -> bool: ...

    async def role_at(self, clock_id: str, worker_id: str) -> str | None:
        """The worker's role on the clock (USER, MANAGER, ADMINISTRATOR); None: not assigned."""

    async def apply(self, change: AssignmentChange) -> None: ...


class ClockRepository(Protocol):
    """The tenant's clocks' sites (identity's projection of device-sync's clocks topic)."""

    async def site_of(self, clock_id: str) -> str | None:
        """The clock's site; None: no such clock (not registered, or not learnt yet)."""

    async def record(self, clock_id: str, site_id: str) -> None: ...


class UnitOfWork(kit_uow.UnitOfWork, Protocol):
    """One transaction of one tenant (``on_connection``: the consumer batch's)."""

    workers: WorkerRepository
    pins: PinRepository
    cards: CardRepository
    assignments: AssignmentRepository
    clocks: ClockRepository


#: Opens a unit of work for a tenant (an HTTP request's own transaction).
UnitOfWorkFactory = Callable[[str], UnitOfWork]


class FailureCounters(Protocol):
    """Wrong PINs, unknown Employee IDs and locks at a clock (Redis). Each count is of
    distinct attempt ids, so a redelivered attempt is never counted twice."""

    async def record_unknown(self, tenant_id: str, clock_id: str, attempt_id: str) -> int:
        """Returns the clock's count of unknown Employee IDs in its window."""

    async def forget_unknown(self, tenant_id: str, clock_id: str, attempt_id: str) -> None:
        """Un-count an attempt counted as an unknown ID (its worker was assigned after all)."""

    async def record_failure(
        self, tenant_id: str, worker_id: str, clock_id: str, attempt_id: str
    ) -> tuple[int, int]:
        """Returns (the worker's wrong PINs at this clock, at all clocks)."""

    async def state(
        self, tenant_id: str, worker_id: str, clock_id: str
    ) -> tuple[datetime | None, int, bool]:
        """(until when the worker is locked at this clock, known workers' wrong PINs there,
        whether the worker has wrong PINs counted at this clock or overall)."""

    async def clock_counts(self, tenant_id: str, clock_id: str) -> tuple[int, int]:
        """(unknown Employee IDs, known workers' wrong PINs) at the clock, in its window."""

    async def worker_locks(self, tenant_id: str, worker_id: str) -> dict[str, datetime]:
        """The clocks the worker is locked at (too many wrong PINs there): clock -> until
        (those still in force and some just over: the caller compares with now)."""

    async def lock_at_clock(
        self, tenant_id: str, worker_id: str, clock_id: str, until: datetime
    ) -> None: ...

    async def start_worker_again(self, tenant_id: str, worker_id: str) -> None: ...

    async def reset_worker(
        self, tenant_id: str, worker_id: str, clock_id: str | None = None
    ) -> None: ...

    async def reset_clock(self, tenant_id: str, clock_id: str) -> None: ...


class PinHasher(Protocol):
    """argon2id keyed with a pepper; CPU-bound (the use cases run it in a thread)."""

    def hash(self, pin: str) -> StoredPin: ...

    def verify(self, pin: str, stored: StoredPin | None) -> bool: ...


class DevicePinSealer(Protocol):
    """Seals a worker's PIN to device-sync's public key (``DEVICE_PIN_PUBLIC_KEYS``), bound
    to ``<tenant_id>/<worker_id>``."""

    def seal(self, tenant_id: str, worker_id: str, pin: str) -> common_pb2.SealedBox: ...


class PinOpener(Protocol):
    def open(self, key_id: str, ciphertext: bytes, attempt_id: str) -> str:
        """The PIN sealed to ``key_id`` for this attempt; raises ``UnsealError`` otherwise."""
