"""In-memory stand-ins for punch's unit of work: the ledger, the projections and the parked
verdicts of one tenant (as row-level security makes the real ones see), and the outbox."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import asynccontextmanager
from copy import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from punchcard_punch.domain.decisions import Nearby
from punchcard_punch.service_layer.ingest import DecideVerdicts
from punchcard_punch.service_layer.unit_of_work import Claim


@dataclass
class Store:
    """Every tenant's rows; a unit of work sees one tenant's."""

    punches: list[dict[str, Any]] = field(default_factory=list)
    # (tenant, idempotency key) → (fingerprint, punch id): the keyed corrections
    requests: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    attempts: list[dict[str, Any]] = field(default_factory=list)
    workers: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    clocks: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    assignments: set[tuple[str, str, str]] = field(default_factory=set)
    parked: list[dict[str, Any]] = field(default_factory=list)
    evidence: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    face_enrolled: dict[tuple[str, str], bool] = field(default_factory=dict)
    # Tenants whose evidence policy refuses PIN/card punches whose photo is not the worker's.
    refuse_unmatched_photos: set[str] = field(default_factory=set)
    published: list[tuple[str, Any, Any]] = field(default_factory=list)
    commits: int = 0

    def worker(self, tenant_id: str, worker_id: str, *, site_id: str = "site-1", **kw) -> None:
        self.workers[(tenant_id, worker_id)] = {
            "id": worker_id,
            "employee_id": kw.get("employee_id", "E" + worker_id[:4]),
            "display_name": kw.get("display_name", "Ana"),
            "status": kw.get("status", "Active"),
            "site_id": site_id,
        }

    def clock(self, tenant_id: str, clock_id: str, *, site_id: str, time_zone: str) -> None:
        self.clocks[(tenant_id, clock_id)] = {
            "id": clock_id,
            "name": "Gate",
            "site_id": site_id,
            "time_zone": time_zone,
            "revoked_at": None,
        }


class FakeLedger:
    def __init__(self, store: Store, tenant_id: str) -> None:
        self.store, self.tenant_id = store, tenant_id
        # When the transaction began: PostgreSQL's now(), the attempts' decided_at default.
        self.began: datetime | None = None

    def _punches(self) -> list[dict[str, Any]]:
        return [p for p in self.store.punches if p["tenant_id"] == self.tenant_id]

    async def decided_attempts(self, ids: Sequence[str]) -> set[str]:
        mine = {a["attempt_id"] for a in self.store.attempts if a["tenant_id"] == self.tenant_id}
        mine |= {p.get("attempt_id") for p in self.store.parked if p["tenant_id"] == self.tenant_id}
        return set(ids) & mine

    async def evidence_checks(self, ids: Sequence[str]) -> dict[str, str]:
        found = ((i, self.store.evidence.get((self.tenant_id, i))) for i in ids)
        return {i: e["evidence_check"] for i, e in found if e is not None}

    async def workers(self, ids: Iterable[str]) -> dict:
        found = (self.store.workers.get((self.tenant_id, i)) for i in ids)
        return {w["id"]: w for w in found if w is not None}

    async def clocks(self, ids: Iterable[str]) -> dict:
        found = (self.store.clocks.get((self.tenant_id, i)) for i in ids)
        return {c["id"]: c for c in found if c is not None}

    async def assigned_pairs(self, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        return {(c, w) for c, w in pairs if (self.tenant_id, c, w) in self.store.assignments}

    def _effective(self) -> list[dict[str, Any]]:
        voided = {p["refers_to"] for p in self._punches() if p["kind"] == "VOID"}
        return [p for p in self._punches() if p["kind"] != "VOID" and p["id"] not in voided]

    async def nearby(
        self, queries: Sequence[tuple[str, datetime]], window: timedelta
    ) -> list[list[Nearby]]:
        found = []
        for worker_id, at in queries:
            mine = sorted(
                (p for p in self._effective() if p["worker_id"] == worker_id),
                key=lambda p: p["punched_at"],
            )
            before = [p for p in mine if p["punched_at"] <= at][-1:]
            after = [p for p in mine if at < p["punched_at"] <= at + window][:1]
            found.append([Nearby(p["id"], p["direction"], p["punched_at"]) for p in before + after])
        return found

    async def punches_by_id(self, ids: Iterable[str]) -> dict:
        wanted = set(ids)
        return {p["id"]: p for p in self._punches() if p["id"] in wanted}

    async def void_of(self, punch_id: str) -> str | None:
        return next(
            (
                p["id"]
                for p in self._punches()
                if p["kind"] == "VOID" and p["refers_to"] == punch_id
            ),
            None,
        )

    async def site_time_zone(self, site_id: str) -> str | None:
        return next(
            (
                c["time_zone"]
                for (t, _), c in self.store.clocks.items()
                if t == self.tenant_id and c["site_id"] == site_id
            ),
            None,
        )

    async def insert_punches(self, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            assert row["tenant_id"] == self.tenant_id
            self.store.punches.append({"refers_to": None, "direction": None, **row})

    async def claim_request(
        self, key: str, fingerprint: str, punch_id: str
    ) -> tuple[str, str] | None:
        first = self.store.requests.get((self.tenant_id, key))
        if first is None:
            self.store.requests[(self.tenant_id, key)] = (fingerprint, punch_id)
        return first

    async def insert_attempts(self, rows: Sequence[dict[str, Any]]) -> None:
        self.store.attempts.extend({"decided_at": self.began, **r} for r in rows)


class FakeProjections:
    def __init__(self, store: Store, tenant_id: str) -> None:
        self.store, self.tenant_id = store, tenant_id

    async def worker_status(self, worker_id: str) -> str | None:
        worker = self.store.workers.get((self.tenant_id, worker_id))
        return worker["status"] if worker else None

    async def upsert_worker(self, worker) -> None:
        self.store.workers[(self.tenant_id, worker["id"])] = dict(worker)

    async def set_worker_status(self, worker_id: str, status: str) -> bool:
        worker = self.store.workers.get((self.tenant_id, worker_id))
        if worker is None:
            return False
        worker["status"] = status
        return True

    async def upsert_clock(self, clock_id: str, *, name: str, site_id: str, time_zone: str) -> None:
        self.store.clock(self.tenant_id, clock_id, site_id=site_id, time_zone=time_zone or "UTC")

    async def revoke_clock(self, clock_id: str) -> None:
        self.store.clocks[(self.tenant_id, clock_id)]["revoked_at"] = "now"

    async def apply_assignment(self, change) -> None:
        pair = (change.tenant_id, change.clock_id, change.worker_id)
        if change.assigned:
            self.store.assignments.add(pair)
        else:
            self.store.assignments.discard(pair)

    async def record_evidence(self, row) -> None:
        self.store.evidence.setdefault((self.tenant_id, row["attempt_id"]), dict(row))

    async def set_face_enrolled(self, worker_id: str, enrolled: bool) -> None:
        self.store.face_enrolled[(self.tenant_id, worker_id)] = enrolled


class FakeParked:
    def __init__(self, store: Store, tenant_id: str) -> None:
        self.store, self.tenant_id = store, tenant_id

    async def workers_with_parked(self, worker_ids: Iterable[str]) -> set[str]:
        mine = {p["worker_id"] for p in self.store.parked if p["tenant_id"] == self.tenant_id}
        return set(worker_ids) & mine

    async def park(self, items) -> None:
        for attempt_id, message, reason, evidence_due in items:
            self.store.parked.append(
                {
                    "tenant_id": self.tenant_id,
                    "seq": len(self.store.parked) + 1,
                    "attempt_id": attempt_id,
                    "worker_id": message.payload.worker_id,
                    "clock_id": message.payload.context.clock_id,
                    "event_id": message.event_id,
                    "topic": message.topic,
                    "kafka_partition": message.partition,
                    "kafka_offset": message.offset,
                    "record_key": message.key,
                    "envelope": message.envelope.SerializeToString(),
                    "reason": reason,
                    "parked_at": datetime.now(UTC),
                    "evidence_due": evidence_due,
                }
            )

    async def remove(self, seqs: Sequence[int]) -> None:
        self.store.parked = [p for p in self.store.parked if p["seq"] not in set(seqs)]

    async def dead_letter(self, group_id, rows, letters) -> None:
        self.store.published.extend((letter.topic, None, letter) for letter in letters)
        await self.remove([r["seq"] for r in rows])


class FakeSettings:
    def __init__(self, store: Store, tenant_id: str) -> None:
        self.store, self.tenant_id = store, tenant_id

    async def refuse_unmatched_photos(self) -> bool:
        return self.tenant_id in self.store.refuse_unmatched_photos

    async def set_refuse_unmatched_photos(self, on: bool, admin_id: str | None) -> None:
        (
            self.store.refuse_unmatched_photos.add
            if on
            else self.store.refuse_unmatched_photos.discard
        )(self.tenant_id)


_ROLLED_BACK = ("punches", "attempts", "parked", "published", "requests")


class FakeUnitOfWork:
    """A unit of work for one tenant: what is published is kept only when committed."""

    def __init__(self, store: Store, tenant_id: str) -> None:
        self.store = store
        self.tenant_id = tenant_id
        self.ledger = FakeLedger(store, tenant_id)
        self.projections = FakeProjections(store, tenant_id)
        self.parked = FakeParked(store, tenant_id)
        self.settings = FakeSettings(store, tenant_id)
        self._snapshot: dict[str, Any] | None = None
        self.committed = False

    async def __aenter__(self) -> FakeUnitOfWork:
        self.ledger.began = self.ledger.began or datetime.now(UTC)
        self._snapshot = {name: copy(getattr(self.store, name)) for name in _ROLLED_BACK}
        self.committed = False
        return self

    async def __aexit__(self, *exc: object) -> None:
        if not self.committed and self._snapshot is not None:  # roll back
            for name, rows in self._snapshot.items():
                setattr(self.store, name, rows)

    async def commit(self) -> None:
        self.committed = True
        self.store.commits += 1

    async def publish(self, *items) -> None:
        self.store.published.extend(items)

    async def publish_records(self, records) -> None:
        self.store.published.extend((r.topic, r.key, r) for r in records)


class FakeParkedVerdicts:
    """The parked verdicts across tenants (the unparker's side); a claim's unit of work is
    committed with the claim."""

    def __init__(
        self, store: Store, locked: frozenset[str] = frozenset(), clock=lambda: datetime.now(UTC)
    ) -> None:
        self.store = store
        self.locked = locked  # tenants another replica is on
        self.clock = clock  # read when a claim's transaction begins

    async def tenants_with_parked(self) -> list[str]:
        return list(dict.fromkeys(p["tenant_id"] for p in self.store.parked))

    async def count(self) -> tuple[int, float]:
        return len(self.store.parked), 0.0

    @asynccontextmanager
    async def claim(self, tenant_id: str, limit: int):
        if tenant_id in self.locked:
            yield None
            return
        rows = [p for p in self.store.parked if p["tenant_id"] == tenant_id][:limit]
        uow = FakeUnitOfWork(self.store, tenant_id)
        uow.ledger.began = self.clock()
        yield Claim(rows, uow)


def assigned_store(tenant_id: str, worker_id: str, clock_id: str) -> Store:
    """A store where the worker is Active and assigned to the clock (site-1, UTC)."""
    store = Store()
    store.worker(tenant_id, worker_id)
    store.clock(tenant_id, clock_id, site_id="site-1", time_zone="UTC")
    store.assignments.add((tenant_id, clock_id, worker_id))
    return store


async def decide_verdicts(store: Store, tenant_id: str, messages, ingest) -> None:
    """``ingest`` decides the tenant's verdicts in one unit of work, committed as the
    consumer loop commits its batch."""
    async with FakeUnitOfWork(store, tenant_id) as uow:
        await ingest.decide(DecideVerdicts(tenant_id, messages), uow)
        await uow.commit()
