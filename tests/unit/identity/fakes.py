"""In-memory stand-ins for identity's unit of work, failure counters, PIN hasher and opener of
sealed PINs (the protocols of ``punchcard_identity.service_layer.unit_of_work``). Each unit of
work sees only its tenant's rows, as RLS makes the real one do; what it publishes reaches the
store's outbox only when committed."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from punchcard_identity.domain.cards import Card, DuplicateCard
from punchcard_identity.domain.model import DuplicateEmployeeId, StoredPin, Worker
from punchcard_identity.domain.pin_attempts import UnsealError
from punchcard_kit.credentials import employee_id_key


@dataclass
class Pin:
    stored: StoredPin
    set_at: datetime
    locked_until: datetime | None = None
    on_devices: bool = False


@dataclass
class Store:
    workers: dict[str, Worker] = field(default_factory=dict)
    pins: dict[str, Pin] = field(default_factory=dict)
    max_age: dict[str, int | None] = field(default_factory=dict)
    devices_verify_pins: dict[str, bool] = field(default_factory=dict)
    assignments: set[tuple[str, str, str]] = field(default_factory=set)
    roles: dict[tuple[str, str, str], str] = field(default_factory=dict)
    # (tenant, card number) -> (worker id, added at): unique per tenant, as the table's key
    cards: dict[tuple[str, str], tuple[str, datetime]] = field(default_factory=dict)
    # (tenant, clock) -> site
    clocks: dict[tuple[str, str], str] = field(default_factory=dict)
    outbox: list[tuple[str, str, object]] = field(default_factory=list)
    commits: int = 0

    def worker(self, worker_id: str) -> Worker:
        """The worker as the database would return it (with its PIN's columns)."""
        worker = self.workers[worker_id]
        pin = self.pins.get(worker_id)
        return replace(
            worker,
            pin_set_at=pin.set_at if pin else None,
            pin_locked_until=pin.locked_until if pin else None,
        )


class FakeWorkers:
    def __init__(self, store: Store, tenant_id: str) -> None:
        self.store, self.tenant_id = store, tenant_id

    def _mine(self, worker_id: str) -> bool:
        worker = self.store.workers.get(worker_id)
        return worker is not None and worker.tenant_id == self.tenant_id

    async def get(self, worker_id: str, *, for_update: bool = False) -> Worker | None:
        return self.store.worker(worker_id) if self._mine(worker_id) else None

    async def get_with_pin(
        self, employee_id: str, clock_id: str
    ) -> tuple[Worker, StoredPin | None, bool] | None:
        for worker in self.store.workers.values():
            if worker.tenant_id == self.tenant_id and employee_id_key(
                worker.employee_id
            ) == employee_id_key(employee_id):
                pin = self.store.pins.get(worker.id)
                assignments = FakeAssignments(self.store, self.tenant_id)
                assigned = await assignments.is_assigned(clock_id, worker.id)
                return self.store.worker(worker.id), pin.stored if pin else None, assigned
        return None

    def _check_unique(self, worker: Worker) -> None:
        for other in self.store.workers.values():
            if (
                other.id != worker.id
                and other.tenant_id == worker.tenant_id
                and employee_id_key(other.employee_id) == employee_id_key(worker.employee_id)
            ):
                raise DuplicateEmployeeId()

    async def add(self, worker: Worker) -> None:
        assert worker.tenant_id == self.tenant_id
        self._check_unique(worker)
        self.store.workers[worker.id] = worker

    async def update(self, worker: Worker) -> None:
        assert self._mine(worker.id)
        self._check_unique(worker)
        self.store.workers[worker.id] = replace(worker, pin_set_at=None, pin_locked_until=None)


class FakePins:
    def __init__(self, store: Store, tenant_id: str) -> None:
        self.store, self.tenant_id = store, tenant_id

    async def set(self, worker_id: str, stored: StoredPin, at: datetime) -> None:
        self.store.pins[worker_id] = Pin(stored, at)

    async def delete(self, worker_id: str) -> bool:
        return self.store.pins.pop(worker_id, None) is not None

    async def set_lock(self, worker_id: str, until: datetime | None) -> None:
        if worker_id in self.store.pins:
            self.store.pins[worker_id].locked_until = until

    async def lock_if_unchanged(self, worker_id: str, pin_hash: str, until: datetime) -> bool:
        pin = self.store.pins.get(worker_id)
        if pin is None or pin.stored.hash != pin_hash:
            return False
        if pin.locked_until is not None and pin.locked_until >= until:
            return False
        pin.locked_until = until
        return True

    async def max_age_days(self) -> int | None:
        return self.store.max_age.get(self.tenant_id)

    async def set_max_age_days(self, days: int | None) -> None:
        self.store.max_age[self.tenant_id] = days

    async def devices_verify_pins(self) -> bool:
        return self.store.devices_verify_pins.get(self.tenant_id, False)

    async def set_devices_verify_pins(self, on: bool) -> None:
        self.store.devices_verify_pins[self.tenant_id] = on

    async def mark_on_devices(self, worker_id: str, on: bool) -> None:
        if worker_id in self.store.pins:
            self.store.pins[worker_id].on_devices = on

    async def clear_on_devices(self) -> list[str]:
        marked = sorted(w for w, p in self.store.pins.items() if p.on_devices)
        for w in marked:
            self.store.pins[w].on_devices = False
        return marked

    async def not_on_devices(self) -> int:
        return sum(1 for p in self.store.pins.values() if not p.on_devices)


class FakeCards:
    def __init__(self, store: Store, tenant_id: str) -> None:
        self.store, self.tenant_id = store, tenant_id

    async def of_worker(self, worker_id: str) -> list[Card]:
        return sorted(
            (
                Card(number, at)
                for (tenant, number), (holder, at) in self.store.cards.items()
                if tenant == self.tenant_id and holder == worker_id
            ),
            key=lambda c: c.number,
        )

    async def add(self, worker_id: str, number: str, at: datetime) -> bool:
        held = self.store.cards.get((self.tenant_id, number))
        if held is None:
            self.store.cards[(self.tenant_id, number)] = (worker_id, at)
            return True
        if held[0] != worker_id:
            raise DuplicateCard()
        return False

    async def remove(self, worker_id: str, number: str) -> bool:
        held = self.store.cards.get((self.tenant_id, number))
        if held is None or held[0] != worker_id:
            return False
        del self.store.cards[(self.tenant_id, number)]
        return True

    async def holder(self, number: str) -> str | None:
        held = self.store.cards.get((self.tenant_id, number))
        return held[0] if held else None


class FakeAssignments:
    def __init__(self, store: Store, tenant_id: str) -> None:
        self.store, self.tenant_id = store, tenant_id

    async def is_assigned(self, clock_id: str, worker_id: str) -> bool:
        return (self.tenant_id, clock_id, worker_id) in self.store.assignments

    async def role_at(self, clock_id: str, worker_id: str) -> str | None:
        pair = (self.tenant_id, clock_id, worker_id)
        if pair not in self.store.assignments:
            return None
        return self.store.roles.get(pair, "USER")

    async def apply(self, change) -> None:
        pair = (change.tenant_id, change.clock_id, change.worker_id)
        if change.assigned:
            self.store.assignments.add(pair)
            self.store.roles[pair] = change.clock_role or "USER"
        else:
            self.store.assignments.discard(pair)
            self.store.roles.pop(pair, None)


class FakeClocks:
    def __init__(self, store: Store, tenant_id: str) -> None:
        self.store, self.tenant_id = store, tenant_id

    async def site_of(self, clock_id: str) -> str | None:
        return self.store.clocks.get((self.tenant_id, clock_id))

    async def record(self, clock_id: str, site_id: str) -> None:
        self.store.clocks[(self.tenant_id, clock_id)] = site_id


class FakeUnitOfWork:
    """``consumer=True``: a consumer batch's transaction (``commit`` is the loop's)."""

    def __init__(self, store: Store, tenant_id: str, *, consumer: bool = False) -> None:
        self.store, self.tenant_id, self.consumer = store, tenant_id, consumer
        self.workers = FakeWorkers(store, tenant_id)
        self.pins = FakePins(store, tenant_id)
        self.cards = FakeCards(store, tenant_id)
        self.assignments = FakeAssignments(store, tenant_id)
        self.clocks = FakeClocks(store, tenant_id)
        self.published: list[tuple[str, str, object]] = []

    async def __aenter__(self) -> FakeUnitOfWork:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.consumer and exc[0] is None:
            await self.commit()
        self.published = []

    async def commit(self) -> None:
        self.store.outbox.extend(self.published)
        self.store.commits += 1
        self.published = []

    async def publish(self, *items) -> None:
        self.published.extend(items)

    async def publish_records(self, records) -> None:
        """Tombstones: (topic, key, None)."""
        self.published.extend((r.topic, r.key.decode(), None) for r in records)


class FakeCounters:
    """The Redis counters' semantics: sets of attempt ids per key; locks at a clock."""

    def __init__(self) -> None:
        self.sets: dict[tuple, set[str]] = {}
        self.clock_locks: dict[tuple[str, str, str], datetime] = {}
        self.resets = 0  # reset_worker calls (each a Redis write)

    def _add(self, key: tuple, attempt_id: str) -> int:
        self.sets.setdefault(key, set()).add(attempt_id)
        return len(self.sets[key])

    async def record_unknown(self, tenant_id, clock_id, attempt_id) -> int:
        return self._add((tenant_id, "unknown", clock_id), attempt_id)

    async def forget_unknown(self, tenant_id, clock_id, attempt_id) -> None:
        self.sets.get((tenant_id, "unknown", clock_id), set()).discard(attempt_id)

    async def record_failure(self, tenant_id, worker_id, clock_id, attempt_id):
        at_clock = self._add((tenant_id, "wc", worker_id, clock_id), attempt_id)
        total = self._add((tenant_id, "worker", worker_id), attempt_id)
        self._add((tenant_id, "clock", clock_id), attempt_id)
        return at_clock, total

    async def state(self, tenant_id, worker_id, clock_id):
        return (
            self.clock_locks.get((tenant_id, worker_id, clock_id)),
            len(self.sets.get((tenant_id, "clock", clock_id), ())),
            any(
                self.sets.get(key)
                for key in (
                    (tenant_id, "worker", worker_id),
                    (tenant_id, "wc", worker_id, clock_id),
                )
            ),
        )

    async def clock_counts(self, tenant_id, clock_id):
        return (
            len(self.sets.get((tenant_id, "unknown", clock_id), ())),
            len(self.sets.get((tenant_id, "clock", clock_id), ())),
        )

    async def worker_locks(self, tenant_id, worker_id):
        return {
            c: u for (t, w, c), u in self.clock_locks.items() if (t, w) == (tenant_id, worker_id)
        }

    async def lock_at_clock(self, tenant_id, worker_id, clock_id, until) -> None:
        self.clock_locks[(tenant_id, worker_id, clock_id)] = until
        self.sets.pop((tenant_id, "wc", worker_id, clock_id), None)

    async def start_worker_again(self, tenant_id, worker_id) -> None:
        self.sets.pop((tenant_id, "worker", worker_id), None)

    async def reset_worker(self, tenant_id, worker_id, clock_id=None) -> None:
        self.resets += 1
        self.sets.pop((tenant_id, "worker", worker_id), None)
        if clock_id is not None:
            self.sets.pop((tenant_id, "wc", worker_id, clock_id), None)
            return
        for key in [k for k in self.sets if k[:3] == (tenant_id, "wc", worker_id)]:
            del self.sets[key]
        for key in [k for k in self.clock_locks if k[:2] == (tenant_id, worker_id)]:
            del self.clock_locks[key]

    async def reset_clock(self, tenant_id, clock_id) -> None:
        self.sets.pop((tenant_id, "unknown", clock_id), None)
        self.sets.pop((tenant_id, "clock", clock_id), None)


class FakeHasher:
    """Stores ``"h:<pin>"``; counts the (argon2) checks it is asked to do."""

    def __init__(self) -> None:
        self.checks = 0

    def hash(self, pin: str) -> StoredPin:
        return StoredPin(f"h:{pin}", "k1")

    def verify(self, pin: str, stored: StoredPin | None) -> bool:
        self.checks += 1
        return stored is not None and stored.hash == f"h:{pin}"


class FakeOpener:
    """A "sealed" PIN is ``b"<attempt_id>:<pin>"`` under key id ``k1``."""

    def open(self, key_id: str, ciphertext: bytes, attempt_id: str) -> str:
        bound, sep, pin = ciphertext.decode().partition(":")
        if key_id != "k1" or not sep or bound != attempt_id:
            raise UnsealError("cannot open")
        return pin
