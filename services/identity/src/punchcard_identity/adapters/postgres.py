"""PostgreSQL for identity: the unit of work (the kit's ``TenantUnitOfWork``: the tenant's
transaction under RLS, with the outbox) and its repositories. Every query runs inside that
transaction, as the RLS-bound application role, and filters by tenant in the SQL as well
(isolation twice). All SQL of identity's writes is here; the read side's lists are in
``views.py``."""

from __future__ import annotations

from datetime import datetime

import asyncpg
from punchcard_kit.assignments import AssignmentChange, apply_assignment
from punchcard_kit.credentials import employee_id_key
from punchcard_kit.unit_of_work import TenantUnitOfWork

from ..domain.cards import Card, DuplicateCard
from ..domain.model import DuplicateEmployeeId, StoredPin, Worker, WorkerStatus

WORKER_COLUMNS = """
    w.id::text, w.tenant_id::text, w.employee_id, w.name, w.job_title, w.site_id, w.status,
    w.pin_allowed, p.set_at AS pin_set_at, p.locked_until AS pin_locked_until,
    w.created_at, w.updated_at
"""
PINS_OF_WORKERS = "LEFT JOIN worker_pins p ON p.worker_id = w.id"
WORKERS_WITH_PINS = f"FROM workers w {PINS_OF_WORKERS}"


def _assigned(clock_id: str, worker_id: str) -> str:
    """SQL: whether the worker is assigned to the clock in this tenant ($1), from identity's
    projection of device-sync's assignments (``clock_assignments.worker_id`` is text)."""
    return (
        "EXISTS (SELECT 1 FROM clock_assignments a WHERE a.tenant_id = $1"
        f" AND a.clock_id = {clock_id} AND a.worker_id = {worker_id})"
    )


# The PIN check's one read: the worker by Employee ID in any case ($2: ``employee_id_key``),
# its PIN and whether it is assigned to the clock ($3). ``employee_key`` (migration 0008), not
# ``upper(employee_id)``: row-level security lets only a leakproof condition use the index.
WORKER_WITH_PIN = (
    f"SELECT {WORKER_COLUMNS}, p.pin_hash, p.pin_key_id,"
    f" {_assigned('$3', 'w.id::text')} AS assigned {WORKERS_WITH_PINS}"
    " WHERE w.tenant_id = $1 AND w.employee_key = $2"
)


def worker_of(row: asyncpg.Record) -> Worker:
    return Worker(
        id=row["id"],
        tenant_id=row["tenant_id"],
        employee_id=row["employee_id"],
        name=row["name"],
        job_title=row["job_title"],
        site_id=row["site_id"],
        status=WorkerStatus(row["status"]),
        pin_allowed=row["pin_allowed"],
        pin_set_at=row["pin_set_at"],
        pin_locked_until=row["pin_locked_until"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _details(worker: Worker) -> tuple[object, ...]:
    """The columns of ``workers`` an admin changes, in the order the writes below bind them."""
    return (
        worker.employee_id,
        worker.name,
        worker.job_title,
        worker.site_id,
        worker.status.value,
        worker.pin_allowed,
    )


class _Repository:
    def __init__(self, conn: asyncpg.Connection, tenant_id: str) -> None:
        self.conn, self.tenant_id = conn, tenant_id


class PostgresWorkers(_Repository):
    async def get(self, worker_id: str, *, for_update: bool = False) -> Worker | None:
        lock = " FOR UPDATE OF w" if for_update else ""
        row = await self.conn.fetchrow(
            f"SELECT {WORKER_COLUMNS} {WORKERS_WITH_PINS}"
            f" WHERE w.tenant_id = $1 AND w.id = $2{lock}",
            self.tenant_id,
            worker_id,
        )
        return worker_of(row) if row else None

    async def get_with_pin(
        self, employee_id: str, clock_id: str
    ) -> tuple[Worker, StoredPin | None, bool] | None:
        """The worker whose Employee ID this is in any case (``employee_id_key``: the column
        ``employee_key`` and its index), its PIN hash and key id (for verification only), and
        whether it is assigned to the clock (identity's projection of device-sync's
        assignments): one round trip. No row lock: the PIN is hashed outside any lock, and a
        lock is then written by ``lock_if_unchanged``."""
        row = await self.conn.fetchrow(
            WORKER_WITH_PIN,
            self.tenant_id,
            employee_id_key(employee_id),
            clock_id,
        )
        if row is None:
            return None
        stored = (
            StoredPin(row["pin_hash"], row["pin_key_id"]) if row["pin_hash"] is not None else None
        )
        return worker_of(row), stored, row["assigned"]

    async def add(self, worker: Worker) -> None:
        try:
            await self.conn.execute(
                "INSERT INTO workers (id, tenant_id, employee_id, name, job_title, site_id,"
                " status, pin_allowed, created_at, updated_at)"
                " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)",
                worker.id,
                worker.tenant_id,
                *_details(worker),
                worker.created_at,
                worker.updated_at,
            )
        except asyncpg.UniqueViolationError:
            raise DuplicateEmployeeId() from None

    async def update(self, worker: Worker) -> None:
        try:
            await self.conn.execute(
                "UPDATE workers SET employee_id=$3, name=$4, job_title=$5, site_id=$6, status=$7,"
                " pin_allowed=$8, updated_at=$9 WHERE tenant_id=$1 AND id=$2",
                worker.tenant_id,
                worker.id,
                *_details(worker),
                worker.updated_at,
            )
        except asyncpg.UniqueViolationError:
            raise DuplicateEmployeeId() from None


class PostgresPins(_Repository):
    async def set(self, worker_id: str, stored: StoredPin, at: datetime) -> None:
        await self.conn.execute(
            "INSERT INTO worker_pins (worker_id, tenant_id, pin_hash, pin_key_id, set_at)"
            " VALUES ($1,$2,$3,$4,$5) ON CONFLICT (worker_id) DO UPDATE SET"
            " pin_hash = excluded.pin_hash, pin_key_id = excluded.pin_key_id,"
            " set_at = excluded.set_at, locked_until = NULL",
            worker_id,
            self.tenant_id,
            stored.hash,
            stored.key_id,
            at,
        )

    async def delete(self, worker_id: str) -> bool:
        status = await self.conn.execute(
            "DELETE FROM worker_pins WHERE tenant_id = $1 AND worker_id = $2",
            self.tenant_id,
            worker_id,
        )
        return status != "DELETE 0"

    async def set_lock(self, worker_id: str, until: datetime | None) -> None:
        await self.conn.execute(
            "UPDATE worker_pins SET locked_until = $3 WHERE tenant_id = $1 AND worker_id = $2",
            self.tenant_id,
            worker_id,
            until,
        )

    async def lock_if_unchanged(self, worker_id: str, pin_hash: str, until: datetime) -> bool:
        """Lock the PIN unless it was changed since it was read (one short conditional update:
        no row lock is held while a PIN is hashed)."""
        status = await self.conn.execute(
            "UPDATE worker_pins SET locked_until = $4 WHERE tenant_id = $1 AND worker_id = $2"
            " AND pin_hash = $3 AND (locked_until IS NULL OR locked_until < $4)",
            self.tenant_id,
            worker_id,
            pin_hash,
            until,
        )
        return status != "UPDATE 0"

    async def max_age_days(self) -> int | None:
        return await self.conn.fetchval(
            "SELECT max_age_days FROM pin_policies WHERE tenant_id = $1", self.tenant_id
        )

    async def set_max_age_days(self, days: int | None) -> None:
        await self.conn.execute(
            "INSERT INTO pin_policies (tenant_id, max_age_days) VALUES ($1, $2)"
            " ON CONFLICT (tenant_id) DO UPDATE SET max_age_days = excluded.max_age_days",
            self.tenant_id,
            days,
        )

    async def devices_verify_pins(self) -> bool:
        return bool(
            await self.conn.fetchval(
                "SELECT devices_verify_pins FROM pin_policies WHERE tenant_id = $1",
                self.tenant_id,
            )
        )

    async def set_devices_verify_pins(self, on: bool) -> None:
        await self.conn.execute(
            "INSERT INTO pin_policies (tenant_id, devices_verify_pins) VALUES ($1, $2)"
            " ON CONFLICT (tenant_id) DO UPDATE SET"
            " devices_verify_pins = excluded.devices_verify_pins",
            self.tenant_id,
            on,
        )

    async def mark_on_devices(self, worker_id: str, on: bool) -> None:
        await self.conn.execute(
            "UPDATE worker_pins SET on_devices = $3 WHERE tenant_id = $1 AND worker_id = $2",
            self.tenant_id,
            worker_id,
            on,
        )

    async def clear_on_devices(self) -> list[str]:
        rows = await self.conn.fetch(
            "UPDATE worker_pins SET on_devices = false WHERE tenant_id = $1 AND on_devices"
            " RETURNING worker_id",
            self.tenant_id,
        )
        return sorted(str(r["worker_id"]) for r in rows)

    async def not_on_devices(self) -> int:
        return await self.conn.fetchval(
            "SELECT count(*) FROM worker_pins WHERE tenant_id = $1 AND NOT on_devices",
            self.tenant_id,
        )


class PostgresCards(_Repository):
    async def of_worker(self, worker_id: str) -> list[Card]:
        rows = await self.conn.fetch(
            "SELECT number, added_at FROM worker_cards WHERE tenant_id = $1 AND worker_id = $2"
            ' ORDER BY number COLLATE "C"',
            self.tenant_id,
            worker_id,
        )
        return [Card(r["number"], r["added_at"]) for r in rows]

    async def add(self, worker_id: str, number: str, at: datetime) -> bool:
        inserted = await self.conn.fetchval(
            "INSERT INTO worker_cards (tenant_id, number, worker_id, added_at)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, number) DO NOTHING RETURNING true",
            self.tenant_id,
            number,
            worker_id,
            at,
        )
        if inserted:
            return True
        if await self.holder(number) != worker_id:
            raise DuplicateCard()
        return False

    async def remove(self, worker_id: str, number: str) -> bool:
        status = await self.conn.execute(
            "DELETE FROM worker_cards WHERE tenant_id = $1 AND worker_id = $2 AND number = $3",
            self.tenant_id,
            worker_id,
            number,
        )
        return status != "DELETE 0"

    async def holder(self, number: str) -> str | None:
        return await self.conn.fetchval(
            "SELECT worker_id::text FROM worker_cards WHERE tenant_id = $1 AND number = $2",
            self.tenant_id,
            number,
        )


class PostgresAssignments(_Repository):
    """Identity's projection of device-sync's clock assignments (the kit's one projection),
    with each pair's clock role."""

    async def is_assigned(self, clock_id: str, worker_id: str) -> bool:
        return await self.conn.fetchval(
            f"SELECT {_assigned('$2', '$3')}",
            self.tenant_id,
            clock_id,
            worker_id,
        )

    async def role_at(self, clock_id: str, worker_id: str) -> str | None:
        return await self.conn.fetchval(
            "SELECT clock_role FROM clock_assignments"
            " WHERE tenant_id = $1 AND clock_id = $2 AND worker_id = $3",
            self.tenant_id,
            clock_id,
            worker_id,
        )

    async def apply(self, change: AssignmentChange) -> None:
        await apply_assignment(self.conn, "clock_assignments", change, role_column="clock_role")


class PostgresClocks(_Repository):
    """Identity's projection of device-sync's clocks: each clock's site."""

    async def site_of(self, clock_id: str) -> str | None:
        return await self.conn.fetchval(
            "SELECT site_id FROM clocks WHERE tenant_id = $1 AND clock_id = $2",
            self.tenant_id,
            clock_id,
        )

    async def record(self, clock_id: str, site_id: str) -> None:
        await self.conn.execute(
            "INSERT INTO clocks (tenant_id, clock_id, site_id) VALUES ($1, $2, $3)"
            " ON CONFLICT (tenant_id, clock_id) DO UPDATE SET site_id = EXCLUDED.site_id",
            self.tenant_id,
            clock_id,
            site_id,
        )


class PostgresUnitOfWork(TenantUnitOfWork):
    """``on_pool(pool, tenant)`` for an HTTP request, ``on_connection(conn, tenant)`` inside a
    consumer's batch transaction."""

    workers: PostgresWorkers
    pins: PostgresPins
    cards: PostgresCards
    assignments: PostgresAssignments
    clocks: PostgresClocks

    def _bind(self, conn: asyncpg.Connection) -> None:
        tenant = str(self.tenant_id)
        self.workers = PostgresWorkers(conn, tenant)
        self.pins = PostgresPins(conn, tenant)
        self.cards = PostgresCards(conn, tenant)
        self.assignments = PostgresAssignments(conn, tenant)
        self.clocks = PostgresClocks(conn, tenant)
