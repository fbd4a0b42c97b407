"""What the use cases need from storage: the repositories of one tenant's transaction, the
unit of work holding them (commit, and the outbox: events commit with the state), and the
lookups made before a tenant is known. The PostgreSQL implementation is
``adapters.postgres``; unit tests hand in fakes (``tests/unit/device_sync/fakes.py``).
No SQL here."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from punchcard_kit import unit_of_work as kit_uow

from ..domain.model import (
    AckRecorded,
    Clock,
    ClockRole,
    Command,
    Heartbeat,
    Queued,
    WorkerFacts,
)
from ..domain.templates import Kind, Source, Template
from ..domain.zk import AttlogSave

Pair = tuple[str, str]  # (clock id, worker id)


class ClocksRepository(Protocol):
    async def add(
        self, clock: Clock, serial_number: str, credential_hash: bytes, protocol: str = "KIOSK_APP"
    ) -> bool:
        """Register the clock with its credential; False when the tenant already has a clock
        with that serial number (nothing written)."""

    async def get(self, clock_id: str) -> Clock | None: ...

    async def lock(self, clock_id: str) -> Clock:
        """The clock, locked for this transaction (it exists)."""

    async def get_many(self, clock_ids: Sequence[str]) -> dict[str, Clock]: ...

    async def update(self, clock_id: str, name: str, site_id: str, time_zone: str) -> None: ...

    async def revoke(self, clock_id: str, reason: str) -> None:
        """Revoked, and its credential deleted."""

    async def set_credential(self, clock_id: str, credential_hash: bytes) -> None: ...

    async def credentials_changed(self, clock_ids: Sequence[str]) -> None:
        """Tell every replica (at commit) to forget these clocks' cached credentials and
        answer their held requests."""

    async def live_of_site(self, site_id: str) -> list[str]: ...

    async def last_auto_resync(self, clock_id: str) -> datetime | None:
        """When the clock was last resynced automatically; the clock row locked."""

    async def mark_auto_resync(self, clock_id: str) -> None: ...


class WorkersRepository(Protocol):
    async def lock(self, worker_id: str) -> tuple[WorkerFacts | None, str | None]:
        """The worker (None until identity registered them) and the profile clocks hold
        now; the worker is locked either way, so changes of one worker serialise."""

    async def lock_many(self, worker_ids: Sequence[str]) -> dict[str, tuple[WorkerFacts, str]]:
        """Registered workers among ``worker_ids``, locked in id order, with their profiles."""

    async def save(self, worker: WorkerFacts, profile: str) -> None: ...

    async def face_enrolled(self, worker_id: str) -> bool | None:
        """The face flag of a worker (it may arrive before the worker's registration)."""

    async def set_face_enrolled(self, worker_id: str, enrolled: bool) -> None: ...

    async def active_of_site(self, site_id: str) -> list[str]: ...


class AssignmentsRepository(Protocol):
    async def clocks_of_worker(self, worker_id: str) -> dict[str, ClockRole]:
        """The live clocks the worker is assigned to, with the worker's role on each."""

    async def roles_of(self, pairs: Sequence[Pair]) -> dict[Pair, ClockRole]:
        """The role of each pair that is assigned (pairs not assigned are absent)."""

    async def set_roles(self, roles: Mapping[Pair, ClockRole]) -> None:
        """Change the role of assigned pairs."""

    async def add(
        self,
        pairs: Sequence[Pair],
        *,
        site_rule: bool = False,
        roles: Mapping[Pair, ClockRole] | None = None,
    ) -> list[Pair]:
        """Assign pairs (directly, or by the site rule); the pairs not assigned before. A new
        pair gets its role from ``roles`` (USER when absent); a pair assigned already keeps
        its role (``set_roles`` changes it)."""

    async def remove(self, pairs: Sequence[Pair], *, site_rule: bool = False) -> list[Pair]:
        """Drop the direct (or site-rule) reason of each pair; the pairs now unassigned."""

    async def site_rule_pairs(
        self,
        *,
        clock_id: str | None = None,
        worker_id: str | None = None,
        site_id: str | None = None,
    ) -> list[Pair]: ...

    async def roster(self, clock_id: str) -> list[tuple[WorkerFacts, str, ClockRole]]:
        """The workers the clock holds (not Inactive), with their profiles and their role on
        the clock, by Employee ID."""


class SiteRulesRepository(Protocol):
    async def lock(self, site_ids: Iterable[str]) -> None:
        """Take these sites (one after the other, sorted; "" is no site) until the unit of
        work ends. Whatever reads a site's rule to change a roster (a worker's change, a
        clock's registration or move) or sets the rule takes its site first: under READ
        COMMITTED two such transactions would otherwise each miss the other's uncommitted row
        (a worker created as its site's rule is switched on, and on none of its clocks)."""

    async def enabled(self, site_id: str) -> bool: ...

    async def set(self, site_id: str, enabled: bool) -> None: ...


class CommandQueue(Protocol):
    async def enqueue(self, items: Sequence[tuple[str, Command]]) -> list[Queued]:
        """Queue commands on live clocks (revoked ones get nothing) and wake whoever holds
        those clocks' requests, at commit. A worker's unacknowledged commands on a clock are
        replaced by the new one; FULL_RESYNC replaces everything unacknowledged."""

    async def raise_last_sequence(self, clock_id: str, at_least: int) -> None:
        """Number the clock's next commands above ``at_least`` (a sequence it claims)."""

    async def record_acks(
        self, acks: Sequence[tuple[str, str, int, int, str]]
    ) -> list[AckRecorded]:
        """(clock id, command id, sequence, result, detail): the first result counts."""

    async def expected_rosters(self, clock_ids: Sequence[str]) -> dict[str, tuple[int, str]]:
        """Per live clock: (last sequence queued, digest of the roster once all applied)."""

    async def fetch_after(
        self, wanted: Sequence[tuple[str, int]], limit: int
    ) -> dict[tuple[str, int], tuple[int, list[str]]]:
        """Per live clock of (clock id, after): (last sequence, bodies after ``after``)."""

    async def prune_acknowledged(self, older_than_days: int) -> int: ...


class TemplatesRepository(Protocol):
    """Biometric templates uploaded by hardware clocks, sealed (``Sealer``): the repository
    never sees a template in the clear."""

    async def worker_of_badge(self, key: str) -> tuple[str, str] | None:
        """(worker id, Employee ID) of the registered, not Inactive worker whose Employee ID
        has this key (``employee_id_key`` of a device's PIN), or None."""

    async def slots(self, worker_id: str) -> list[tuple[Kind, int, int]]:
        """The (kind, no, index) slots the worker has templates in."""

    async def save(
        self, worker_id: str, template: Template, sealed: bytes, clock_id: str | None
    ) -> None:
        """Store (or replace, in its slot) a template: its description and its sealed data."""

    async def of_worker(self, worker_id: str) -> list[tuple[Template, bytes]]:
        """The worker's templates (described, ``badge`` and ``data`` empty) with their sealed
        data, by slot."""

    async def delete_of_worker(self, worker_id: str) -> list[Source]:
        """Delete every template of the worker; the sources of those deleted."""

    async def with_templates(self, worker_ids: Sequence[str]) -> set[str]:
        """The workers among ``worker_ids`` who have templates."""

    async def zk_clocks(self, clock_ids: Sequence[str]) -> set[str]:
        """The live clocks among ``clock_ids`` that speak ZK PUSH (protocol ZK_PUSH)."""


class Sealer(Protocol):
    """Seals biometric templates at rest (``adapters.sealing``); ``context`` is the
    associated data (whose template it is)."""

    def seal(self, plaintext: bytes, context: bytes) -> bytes: ...

    def open(self, sealed: bytes, context: bytes) -> bytes: ...


@dataclass(frozen=True)
class ZkState:
    """A ZK clock as the edge needs it (its clock row and ``zk_clock_state``)."""

    clock_id: str
    time_zone: str
    revoked: bool
    stamps: dict[str, str | None] = field(default_factory=dict)  # ATTLOG, OPERLOG, ATTPHOTO
    tz_offset_told: str | None = None
    last_poll_at: datetime | None = None
    last_record_at: datetime | None = None
    skew_flagged: bool = False
    verifies_pins: bool = False  # opted in to "device verifies PINs"
    com_key_digest: bytes | None = None  # the clock has a Comm Key (zk.com_key_digest)
    keyed_address: str | None = None  # where its last handshake with the right key came from


@dataclass(frozen=True)
class DevicePunch:
    badge: str
    device_time: datetime  # the device's local time (naive)
    state: int
    verify_mode: int
    attempt_id: str


@dataclass(frozen=True)
class Deliverable:
    sequence: int
    kind: str
    body: str


class ZkRepository(Protocol):
    """A ZK clock's protocol state, its punches' dedup rows and its queue's delivery."""

    async def state(self, clock_id: str) -> ZkState | None: ...

    async def told_offset(self, clock_id: str, offset: str) -> None: ...

    async def workers_by_badge(self, keys: Sequence[str]) -> dict[str, WorkerFacts]:
        """Registered workers by their Employee ID's key (``employee_id_key``), of these keys."""

    async def states(self, clock_ids: Sequence[str]) -> dict[str, ZkState]:
        """``state`` of several clocks in one query (the group commit's)."""

    async def record_attlogs(
        self, uploads: Sequence[tuple[str, Sequence[DevicePunch], datetime]]
    ) -> set[str]:
        """The punches of several uploads (clock, punches, received at) not recorded before, in
        one statement: the attempt ids recorded now (the others are resends: nothing written)."""

    async def save_attlogs(self, saves: Sequence[AttlogSave]) -> None:
        """``save_upload`` of several ATTLOG uploads in two statements (a clock twice: in
        order, as two calls would)."""

    async def save_upload(
        self,
        clock_id: str,
        table: str,
        stamp: str | None,
        last_record_at: datetime | None = None,
        skew_s: float | None = None,
        skew_flagged: bool | None = None,
    ) -> None: ...

    async def deliverable(
        self, clock_id: str, delivered_before: datetime, limit: int
    ) -> tuple[list[Deliverable], datetime | None]:
        """Unacknowledged commands never delivered or delivered before ``delivered_before``,
        in order; and when the earliest one delivered since is due again (None: none)."""

    async def mark_delivered(self, clock_id: str, sequences: Sequence[int]) -> None: ...

    async def record_results(
        self, clock_id: str, results: Sequence[tuple[int, int, str]]
    ) -> list[AckRecorded]:
        """(sequence, return code, detail): the first result of a command counts."""

    async def register_device(self, serial_number: str, clock_id: str) -> bool:
        """False when a ZK clock (of any tenant) has the serial already."""

    async def set_com_key(self, clock_id: str, digest: bytes | None) -> bool:
        """Set (or with None remove) a ZK clock's Comm Key digest, forgetting the bound
        address; False (nothing written) when it is no ZK clock of the tenant."""

    async def keyed_from(self, clock_id: str, remote_addr: str) -> None:
        """A handshake with the right Comm Key came from ``remote_addr``."""

    async def revoke_device(self, clock_id: str) -> None: ...

    async def prune_punches(self, older_than_days: int) -> int: ...

    async def forget_unregistered(self, serial_number: str) -> bool:
        """False when no device with this serial is waiting to be adopted."""


class DevicePinsRepository(Protocol):
    """Workers' PINs sealed to device-sync (as identity sealed them) and the ZK clocks opted
    in to verify PINs themselves."""

    async def put(self, worker_id: str, key_id: str, sealed: bytes) -> bool:
        """Store (or replace) the worker's sealed PIN; False when it was the same already."""

    async def delete(self, worker_id: str) -> bool:
        """False when the worker had none."""

    async def sealed_of(self, worker_ids: Sequence[str]) -> set[str]:
        """Which of these workers have a sealed PIN."""

    async def for_clock(self, clock_id: str, worker_ids: Sequence[str]) -> dict[str, SealedPin]:
        """The sealed PINs of these workers, only when the clock is a live ZK clock that
        verifies PINs ({} otherwise)."""

    async def verifying_clocks(self, clock_ids: Sequence[str]) -> list[str]:
        """Which of these clocks are live ZK clocks that verify PINs (sorted)."""

    async def clock_verifies(self, clock_id: str) -> tuple[str, bool] | None:
        """(protocol, verifies PINs) of the clock; None when there is no such clock."""

    async def set_clock_verifies(self, clock_id: str, on: bool) -> None: ...


@dataclass(frozen=True)
class SealedPin:
    key_id: str
    sealed: bytes = field(repr=False)


class DevicePinOpener(Protocol):
    """Opens a PIN sealed to device-sync (``punchcard_kit.sealing.SealedOpener``); raises
    ``punchcard_kit.sealing.UnsealError`` when it cannot."""

    def open(self, key_id: str, ciphertext: bytes, binding: str) -> str: ...


class UnitOfWork(kit_uow.UnitOfWork, Protocol):
    """One tenant's transaction: commits only on ``commit()``, rolls back otherwise."""

    tenant_id: object
    clocks: ClocksRepository
    workers: WorkersRepository
    assignments: AssignmentsRepository
    site_rules: SiteRulesRepository
    queue: CommandQueue
    templates: TemplatesRepository
    zk: ZkRepository
    device_pins: DevicePinsRepository


# Opens a unit of work for a tenant.
UnitOfWorkFactory = Callable[[str], UnitOfWork]


class Directory(Protocol):
    """The only reads across tenants: which tenant a clock credential belongs to (before the
    tenant is known), and the tenants that have clocks (pruning)."""

    async def credential_of(self, clock_id: str) -> tuple[str, bytes] | None:
        """(tenant, credential hash) of a live clock."""

    async def tenants(self) -> list[str]: ...

    async def zk_device(self, serial_number: str) -> tuple[str, str] | None:
        """(tenant, clock id) of a registered, not revoked ZK clock with this serial."""


class Wakeups(Protocol):
    """Wakes the requests a clock holds when its queue changes (on every replica)."""

    @property
    def stopping(self) -> bool: ...

    def waiter(self, clock_id: str) -> AbstractContextManager[asyncio.Event]:
        """Register before reading the queue, then wait: nothing queued in between is
        missed."""


class Heartbeats(Protocol):
    """Clocks' heartbeats, kept in memory and written in batches."""

    def record(self, beat: Heartbeat) -> None: ...
