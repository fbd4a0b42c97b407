"""In-memory stand-ins for device-sync's unit of work: one tenant's repositories over a
shared store, with the same answers as the PostgreSQL ones (``adapters/postgres.py``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from punchcard_device_sync.domain.model import (
    DEFAULT_CLOCK_ROLE,
    AckRecorded,
    Clock,
    ClockRole,
    Command,
    CommandKind,
    Queued,
    WorkerFacts,
    WorkerStatus,
    canonical,
)
from punchcard_device_sync.domain.templates import Template
from punchcard_kit.credentials import employee_id_key

Pair = tuple[str, str]


@dataclass
class Assignment:
    direct: bool = False
    site_rule: bool = False
    clock_role: ClockRole = DEFAULT_CLOCK_ROLE


@dataclass
class Store:
    clocks: dict[str, Clock] = field(default_factory=dict)
    serials: dict[str, str] = field(default_factory=dict)  # serial number -> clock id
    credentials: dict[str, bytes] = field(default_factory=dict)
    last_sequence: dict[str, int] = field(default_factory=dict)
    # worker id -> (facts or None until registered, stored profile or None)
    workers: dict[str, tuple[WorkerFacts | None, str | None]] = field(default_factory=dict)
    face_flags: dict[str, bool] = field(default_factory=dict)
    assignments: dict[Pair, Assignment] = field(default_factory=dict)
    site_rules: dict[str, bool] = field(default_factory=dict)
    # What the site-rule repository was asked, in order ("lock", "read", "set"), and the sites
    # each lock took.
    site_rule_calls: list[str] = field(default_factory=list)
    site_locks: list[list[str]] = field(default_factory=list)
    queue: list[Queued] = field(default_factory=list)
    acked: set[str] = field(default_factory=set)  # command ids
    published: list[tuple[str, str, object]] = field(default_factory=list)
    records: list[object] = field(default_factory=list)
    woken: list[str] = field(default_factory=list)
    credentials_changed: list[str] = field(default_factory=list)
    commits: int = 0
    attlog_statements: int = 0  # record_attlogs calls (one per group-commit batch)
    # clock id -> protocol (KIOSK_APP when absent)
    protocols: dict[str, str] = field(default_factory=dict)
    # (worker id, slot) -> (described template, sealed data, source clock)
    templates: dict[tuple, tuple[Template, bytes, str | None]] = field(default_factory=dict)
    # ZK PUSH: serial -> clock id (all tenants), revoked serials, unregistered serials, the
    # per-clock state, the dedup rows, delivery times and results by (clock, sequence).
    zk_devices: dict[str, str] = field(default_factory=dict)
    zk_revoked: set[str] = field(default_factory=set)
    zk_unregistered: set[str] = field(default_factory=set)
    zk_state: dict[str, dict] = field(default_factory=dict)
    zk_punches: set[tuple] = field(default_factory=set)
    delivered: dict[tuple[str, int], object] = field(default_factory=dict)
    results: dict[tuple[str, int], tuple[int, str]] = field(default_factory=dict)
    # PINs on clocks that verify them: worker id -> (key id, sealed box); opted-in clocks.
    device_pins: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    verifying: set[str] = field(default_factory=set)
    com_keys: dict[str, bytes] = field(default_factory=dict)  # clock → Comm Key digest

    # --- set-up helpers for tests --------------------------------------------------------

    def add_clock(
        self, site_id: str = "", *, revoked: bool = False, protocol: str = "KIOSK_APP"
    ) -> str:
        clock_id = str(uuid.uuid4())
        revoked_at = datetime.now(UTC) if revoked else None
        self.clocks[clock_id] = Clock(clock_id, f"Clock {clock_id[:4]}", site_id, "UTC", revoked_at)
        self.last_sequence[clock_id] = 0
        self.protocols[clock_id] = protocol
        return clock_id

    def add_worker(self, site_id: str = "", status: WorkerStatus = WorkerStatus.ACTIVE, **kw):
        worker = WorkerFacts(
            id=str(uuid.uuid4()),
            employee_id=kw.pop("employee_id", f"E{len(self.workers) + 1}"),
            display_name=kw.pop("display_name", "Ana Pérez"),
            status=status,
            site_id=site_id,
            **kw,
        )
        self.workers[worker.id] = (worker, canonical(worker.profile()))
        return worker

    def commands_of(self, clock_id: str) -> list[Command]:
        return [q.command for q in self.queue if q.clock_id == clock_id]


class _Repo:
    def __init__(self, store: Store) -> None:
        self.store = store


class FakeClocks(_Repo):
    async def add(
        self, clock: Clock, serial_number: str, credential_hash: bytes, protocol: str = "KIOSK_APP"
    ) -> bool:
        if serial_number in self.store.serials:
            return False
        self.store.serials[serial_number] = clock.id
        self.store.clocks[clock.id] = clock
        self.store.last_sequence[clock.id] = 0
        self.store.credentials[clock.id] = credential_hash
        self.store.protocols[clock.id] = protocol
        return True

    async def get(self, clock_id: str) -> Clock | None:
        return self.store.clocks.get(clock_id)

    async def lock(self, clock_id: str) -> Clock:
        return self.store.clocks[clock_id]

    async def get_many(self, clock_ids) -> dict[str, Clock]:
        return {c: self.store.clocks[c] for c in clock_ids if c in self.store.clocks}

    async def update(self, clock_id: str, name: str, site_id: str, time_zone: str) -> None:
        clock = self.store.clocks[clock_id]
        self.store.clocks[clock_id] = replace(
            clock, name=name, site_id=site_id, time_zone=time_zone
        )

    async def revoke(self, clock_id: str, reason: str) -> None:
        clock = self.store.clocks[clock_id]
        self.store.clocks[clock_id] = replace(clock, revoked_at=datetime.now(UTC))
        self.store.credentials.pop(clock_id, None)

    async def set_credential(self, clock_id: str, credential_hash: bytes) -> None:
        self.store.credentials[clock_id] = credential_hash

    async def credentials_changed(self, clock_ids) -> None:
        self.store.credentials_changed += list(clock_ids)

    async def live_of_site(self, site_id: str) -> list[str]:
        return [c.id for c in self.store.clocks.values() if c.site_id == site_id and not c.revoked]

    async def last_auto_resync(self, clock_id: str):
        return None

    async def mark_auto_resync(self, clock_id: str) -> None:
        pass


class FakeWorkers(_Repo):
    async def lock(self, worker_id: str):
        return self.store.workers.setdefault(worker_id, (None, None))

    async def lock_many(self, worker_ids):
        found = {}
        for worker_id in sorted(worker_ids):
            facts, profile = self.store.workers.get(worker_id, (None, None))
            if facts is not None and profile is not None:
                found[worker_id] = (facts, profile)
        return found

    async def save(self, worker: WorkerFacts, profile: str) -> None:
        self.store.workers[worker.id] = (worker, profile)

    async def face_enrolled(self, worker_id: str) -> bool | None:
        return self.store.face_flags.get(worker_id)

    async def set_face_enrolled(self, worker_id: str, enrolled: bool) -> None:
        self.store.face_flags[worker_id] = enrolled

    async def active_of_site(self, site_id: str) -> list[str]:
        return [
            w.id
            for w, profile in self.store.workers.values()
            if w is not None
            and profile is not None
            and w.site_id == site_id
            and w.status == WorkerStatus.ACTIVE
        ]


class FakeAssignments(_Repo):
    async def clocks_of_worker(self, worker_id: str) -> dict[str, ClockRole]:
        return {
            c: row.clock_role
            for (c, w), row in self.store.assignments.items()
            if w == worker_id and not self.store.clocks[c].revoked
        }

    async def roles_of(self, pairs) -> dict[Pair, ClockRole]:
        return {
            p: self.store.assignments[p].clock_role for p in pairs if p in self.store.assignments
        }

    async def set_roles(self, roles) -> None:
        for pair, role in roles.items():
            self.store.assignments[pair].clock_role = role

    async def add(self, pairs, *, site_rule: bool = False, roles=None) -> list[Pair]:
        added = []
        for pair in pairs:
            row = self.store.assignments.get(pair)
            if row is None:
                role = (roles or {}).get(pair, DEFAULT_CLOCK_ROLE)
                row = self.store.assignments[pair] = Assignment(clock_role=role)
                added.append(pair)
            if site_rule:
                row.site_rule = True
            else:
                row.direct = True
        return added

    async def remove(self, pairs, *, site_rule: bool = False) -> list[Pair]:
        removed = []
        for pair in pairs:
            row = self.store.assignments.get(pair)
            if row is None:
                continue
            other = row.direct if site_rule else row.site_rule
            if other:
                if site_rule:
                    row.site_rule = False
                else:
                    row.direct = False
            else:
                del self.store.assignments[pair]
                removed.append(pair)
        return removed

    async def site_rule_pairs(self, *, clock_id=None, worker_id=None, site_id=None):
        return [
            (c, w)
            for (c, w), row in self.store.assignments.items()
            if row.site_rule
            and (clock_id is None or c == clock_id)
            and (worker_id is None or w == worker_id)
            and (site_id is None or self.store.clocks[c].site_id == site_id)
        ]

    async def roster(self, clock_id: str):
        held = []
        for (c, w), row in self.store.assignments.items():
            facts, profile = self.store.workers.get(w, (None, None))
            if c == clock_id and facts is not None and profile is not None:
                if facts.status != WorkerStatus.INACTIVE:
                    held.append((facts, profile, row.clock_role))
        return sorted(held, key=lambda held: held[0].employee_id)


class FakeSiteRules(_Repo):
    async def lock(self, site_ids) -> None:
        self.store.site_locks.append(sorted({s for s in site_ids if s}))
        self.store.site_rule_calls.append("lock")

    async def enabled(self, site_id: str) -> bool:
        self.store.site_rule_calls.append("read")
        return bool(site_id) and self.store.site_rules.get(site_id, False)

    async def set(self, site_id: str, enabled: bool) -> None:
        self.store.site_rule_calls.append("set")
        self.store.site_rules[site_id] = enabled


class FakeCommandQueue(_Repo):
    async def enqueue(self, items) -> list[Queued]:
        store = self.store
        items = [(c, cmd) for c, cmd in items if c in store.clocks and not store.clocks[c].revoked]
        if not items:
            return []

        def pending(q: Queued) -> bool:
            return q.command_id not in store.acked

        resync = {c for c, cmd in items if cmd.kind is CommandKind.FULL_RESYNC}
        collapse = {
            (c, cmd.worker_id, kind)
            for c, cmd in items
            if cmd.worker_id is not None
            for kind in cmd.collapses
        }
        store.queue = [
            q
            for q in store.queue
            if not pending(q)
            or (
                q.clock_id not in resync
                and (q.clock_id, q.command.worker_id, q.command.kind) not in collapse
            )
        ]
        queued = []
        for clock_id, command in items:
            store.last_sequence[clock_id] += 1
            queued.append(
                Queued(clock_id, store.last_sequence[clock_id], str(uuid.uuid4()), command)
            )
        store.queue += queued
        store.woken += sorted({q.clock_id for q in queued})
        return queued

    async def raise_last_sequence(self, clock_id: str, at_least: int) -> None:
        self.store.last_sequence[clock_id] = max(self.store.last_sequence[clock_id], at_least)

    async def record_acks(self, acks):
        raise NotImplementedError

    async def expected_rosters(self, clock_ids):
        raise NotImplementedError

    async def fetch_after(self, wanted, limit):
        raise NotImplementedError

    async def prune_acknowledged(self, older_than_days: int) -> int:
        return 0


class FakeTemplates(_Repo):
    async def worker_of_badge(self, key: str):
        for facts, profile in self.store.workers.values():
            if (
                facts is not None
                and profile is not None
                and employee_id_key(facts.employee_id) == key
            ):
                if facts.status != WorkerStatus.INACTIVE:
                    return facts.id, facts.employee_id
        return None

    async def slots(self, worker_id: str):
        return [slot for w, slot in self.store.templates if w == worker_id]

    async def save(self, worker_id, template, sealed, clock_id) -> None:
        assert template.data == "", "the repository never gets a template in the clear"
        self.store.templates[(worker_id, template.slot)] = (template, sealed, clock_id)

    async def of_worker(self, worker_id: str):
        held = [
            (slot, t, sealed)
            for (w, slot), (t, sealed, _) in self.store.templates.items()
            if w == worker_id
        ]
        return [(t, sealed) for _, t, sealed in sorted(held, key=lambda h: h[0])]

    async def delete_of_worker(self, worker_id: str):
        keys = [key for key in self.store.templates if key[0] == worker_id]
        return [self.store.templates.pop(key)[0].source for key in keys]

    async def with_templates(self, worker_ids):
        return {w for w, _ in self.store.templates if w in set(worker_ids)}

    async def zk_clocks(self, clock_ids):
        return {
            c
            for c in clock_ids
            if c in self.store.clocks
            and not self.store.clocks[c].revoked
            and self.store.protocols.get(c) == "ZK_PUSH"
        }


class FakeZk(_Repo):
    async def state(self, clock_id: str):
        from punchcard_device_sync.service_layer.unit_of_work import ZkState

        clock = self.store.clocks.get(clock_id)
        if clock is None:
            return None
        st = self.store.zk_state.get(clock_id, {})
        return ZkState(
            clock_id,
            clock.time_zone,
            clock.revoked,
            stamps={t: st.get(t) for t in ("ATTLOG", "OPERLOG", "ATTPHOTO")},
            tz_offset_told=st.get("told"),
            last_poll_at=st.get("last_poll_at"),
            last_record_at=st.get("last_record_at"),
            skew_flagged=st.get("skew_flagged", False),
            verifies_pins=clock_id in self.store.verifying,
            com_key_digest=self.store.com_keys.get(clock_id),
            keyed_address=st.get("keyed_address"),
        )

    async def told_offset(self, clock_id: str, offset: str) -> None:
        self.store.zk_state.setdefault(clock_id, {})["told"] = offset

    async def states(self, clock_ids):
        found = {c: await self.state(c) for c in clock_ids}
        return {c: st for c, st in found.items() if st is not None}

    async def record_attlogs(self, uploads):
        recorded = set()
        for clock_id, punches, _ in uploads:
            for p in punches:
                key = (clock_id, p.badge, p.device_time, p.state)
                if key not in self.store.zk_punches:
                    self.store.zk_punches.add(key)
                    recorded.add(p.attempt_id)
        self.store.attlog_statements += 1
        return recorded

    async def save_attlogs(self, saves):
        for s in saves:
            await self.save_upload(
                s.clock_id, "ATTLOG", s.stamp, s.last_record_at, s.skew_s, s.skew_flagged
            )

    async def workers_by_badge(self, keys):
        return {
            employee_id_key(facts.employee_id): facts
            for facts, profile in self.store.workers.values()
            if facts is not None
            and profile is not None
            and employee_id_key(facts.employee_id) in keys
        }

    async def save_upload(
        self, clock_id, table, stamp, last_record_at=None, skew_s=None, skew_flagged=None
    ):
        st = self.store.zk_state.setdefault(clock_id, {})
        if stamp is not None:
            st[table] = stamp
        if last_record_at is not None:
            st["last_record_at"] = max(last_record_at, st.get("last_record_at") or last_record_at)
        if skew_s is not None:
            st["skew_s"] = skew_s
        if skew_flagged is not None:
            st["skew_flagged"] = skew_flagged

    def _unacked(self, clock_id):
        return [
            q
            for q in self.store.queue
            if q.clock_id == clock_id and (clock_id, q.sequence) not in self.store.results
        ]

    async def deliverable(self, clock_id, delivered_before, limit):
        from punchcard_device_sync.service_layer.unit_of_work import Deliverable

        rows, due = [], None
        for q in self._unacked(clock_id):
            at = self.store.delivered.get((clock_id, q.sequence))
            if at is None or at < delivered_before:
                body = q.command.body(q.command_id, q.sequence)
                rows.append(Deliverable(q.sequence, str(q.command.kind), body))
            else:
                due = at if due is None else min(due, at)
        return rows[:limit], due

    async def mark_delivered(self, clock_id, sequences):
        from datetime import UTC, datetime

        for seq in sequences:
            self.store.delivered[(clock_id, seq)] = datetime.now(UTC)

    async def record_results(self, clock_id, results):
        recorded = []
        for seq, code, detail in results:
            q = next((q for q in self._unacked(clock_id) if q.sequence == seq), None)
            if q is None:
                continue
            self.store.results[(clock_id, seq)] = (code, detail)
            self.store.acked.add(q.command_id)
            recorded.append(
                AckRecorded(clock_id, seq, str(q.command.kind), q.command.worker_id, code, detail)
            )
        return recorded

    async def register_device(self, serial_number: str, clock_id: str) -> bool:
        if serial_number in self.store.zk_devices:
            return False
        self.store.zk_devices[serial_number] = clock_id
        return True

    async def set_com_key(self, clock_id: str, digest: bytes | None) -> bool:
        if clock_id not in self.store.clocks or self.store.protocols.get(clock_id) != "ZK_PUSH":
            return False
        if digest is None:
            self.store.com_keys.pop(clock_id, None)
        else:
            self.store.com_keys[clock_id] = digest
        self.store.zk_state.setdefault(clock_id, {}).pop("keyed_address", None)
        return True

    async def keyed_from(self, clock_id: str, remote_addr: str) -> None:
        self.store.zk_state.setdefault(clock_id, {})["keyed_address"] = remote_addr

    async def revoke_device(self, clock_id: str) -> None:
        self.store.zk_revoked |= {s for s, c in self.store.zk_devices.items() if c == clock_id}

    async def prune_punches(self, older_than_days: int) -> int:
        return 0

    async def forget_unregistered(self, serial_number: str) -> bool:
        if serial_number not in self.store.zk_unregistered:
            return False
        self.store.zk_unregistered.discard(serial_number)
        return True


class FakeDevicePins(_Repo):
    def _verifying(self, clock_id: str) -> bool:
        clock = self.store.clocks.get(clock_id)
        return (
            clock is not None
            and not clock.revoked
            and self.store.protocols.get(clock_id) == "ZK_PUSH"
            and clock_id in self.store.verifying
        )

    async def put(self, worker_id: str, key_id: str, sealed: bytes) -> bool:
        if self.store.device_pins.get(worker_id) == (key_id, sealed):
            return False
        self.store.device_pins[worker_id] = (key_id, sealed)
        return True

    async def delete(self, worker_id: str) -> bool:
        return self.store.device_pins.pop(worker_id, None) is not None

    async def sealed_of(self, worker_ids) -> set[str]:
        return {w for w in worker_ids if w in self.store.device_pins}

    async def for_clock(self, clock_id: str, worker_ids) -> dict:
        from punchcard_device_sync.service_layer.unit_of_work import SealedPin

        if not self._verifying(clock_id):
            return {}
        return {
            w: SealedPin(*self.store.device_pins[w])
            for w in worker_ids
            if w in self.store.device_pins
        }

    async def verifying_clocks(self, clock_ids) -> list[str]:
        return sorted(c for c in clock_ids if self._verifying(c))

    async def clock_verifies(self, clock_id: str):
        if clock_id not in self.store.clocks:
            return None
        protocol = self.store.protocols.get(clock_id, "KIOSK_APP")
        return protocol, clock_id in self.store.verifying

    async def set_clock_verifies(self, clock_id: str, on: bool) -> None:
        (self.store.verifying.add if on else self.store.verifying.discard)(clock_id)


class FakeUnitOfWork:
    """Writes go straight to the store (tests check ``commits`` and what an error left)."""

    def __init__(self, store: Store, tenant_id: str) -> None:
        self.store = store
        self.tenant_id = tenant_id
        self.clocks = FakeClocks(store)
        self.workers = FakeWorkers(store)
        self.assignments = FakeAssignments(store)
        self.site_rules = FakeSiteRules(store)
        self.queue = FakeCommandQueue(store)
        self.templates = FakeTemplates(store)
        self.zk = FakeZk(store)
        self.device_pins = FakeDevicePins(store)

    async def __aenter__(self) -> FakeUnitOfWork:
        return self

    async def __aexit__(self, *exc: object) -> None:
        pass

    async def commit(self) -> None:
        self.store.commits += 1

    async def publish(self, *items) -> None:
        self.store.published += [(topic, key, envelope) for topic, key, envelope in items]

    async def publish_records(self, records) -> None:
        self.store.records += list(records)


def factory(store: Store):
    return lambda tenant_id: FakeUnitOfWork(store, tenant_id)


class NoBiometrics:
    """The edge's Biometrics seam with no templates: nothing stored, no template commands."""

    async def uploaded(self, uow, clock_id, records) -> None:
        return None

    async def command_lines(self, uow, kind, body) -> list[str]:
        return []
