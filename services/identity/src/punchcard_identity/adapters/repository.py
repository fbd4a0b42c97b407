"""PostgreSQL access for identity. Every query runs inside ``tenant_transaction``: as the
RLS-bound application role, with the tenant set for the transaction, and filtered by tenant in
the SQL as well (isolation twice)."""

from __future__ import annotations

from datetime import datetime

import asyncpg
from punchcard_kit import tenancy

from ..domain.model import Worker, WorkerStatus

# The database's own application role, `<database>_app` (punchcard_kit.tenancy.ROLE_NAME).
APP_ROLE = "app"

_WORKER_COLUMNS = """
    w.id::text, w.tenant_id::text, w.employee_id, w.name, w.job_title, w.site_id, w.status,
    w.pin_allowed, p.set_at AS pin_set_at, p.locked_until AS pin_locked_until,
    w.created_at, w.updated_at
"""
_FROM = "FROM workers w LEFT JOIN worker_pins p ON p.worker_id = w.id"


async def enter_tenant(conn: asyncpg.Connection, tenant_id: str) -> None:
    """Inside a transaction: act as the application role for ``tenant_id`` only."""
    await tenancy.enter_tenant(conn, APP_ROLE, tenant_id)


def tenant_transaction(pool: asyncpg.Pool, tenant_id: str):
    return tenancy.tenant_transaction(pool, APP_ROLE, tenant_id)


def _worker(row: asyncpg.Record) -> Worker:
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


async def get_worker(
    conn: asyncpg.Connection, tenant_id: str, worker_id: str, *, for_update: bool = False
) -> Worker | None:
    lock = " FOR UPDATE OF w" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT {_WORKER_COLUMNS} {_FROM} WHERE w.tenant_id = $1 AND w.id = $2{lock}",
        tenant_id,
        worker_id,
    )
    return _worker(row) if row else None


async def get_worker_by_employee_id(
    conn: asyncpg.Connection, tenant_id: str, employee_id: str
) -> tuple[Worker, str | None, str | None] | None:
    """The worker, its PIN hash and key id (for verification only). No row lock: the PIN is
    hashed outside any lock, and a lock is then written by ``lock_pin_if_unchanged``."""
    row = await conn.fetchrow(
        f"SELECT {_WORKER_COLUMNS}, p.pin_hash, p.pin_key_id {_FROM}"
        " WHERE w.tenant_id = $1 AND w.employee_id = $2",
        tenant_id,
        employee_id,
    )
    return (_worker(row), row["pin_hash"], row["pin_key_id"]) if row else None


async def list_workers(
    conn: asyncpg.Connection,
    tenant_id: str,
    *,
    search: str | None,
    status: WorkerStatus | None,
    sites: tuple[str, ...] | None,
    offset: int,
    limit: int,
) -> tuple[list[Worker], int]:
    where = ["w.tenant_id = $1"]
    args: list[object] = [tenant_id]
    if search:
        args.append(f"%{search.lower()}%")
        where.append(f"(lower(w.name) LIKE ${len(args)} OR lower(w.employee_id) LIKE ${len(args)})")
    if status:
        args.append(status.value)
        where.append(f"w.status = ${len(args)}")
    if sites is not None:
        args.append(list(sites))
        where.append(f"w.site_id = ANY(${len(args)}::text[])")
    condition = " AND ".join(where)
    total = await conn.fetchval(f"SELECT count(*) FROM workers w WHERE {condition}", *args)
    rows = await conn.fetch(
        f"SELECT {_WORKER_COLUMNS} {_FROM} WHERE {condition}"
        f" ORDER BY lower(w.name), w.employee_id OFFSET ${len(args) + 1} LIMIT ${len(args) + 2}",
        *args,
        offset,
        limit,
    )
    return [_worker(r) for r in rows], total


async def insert_worker(conn: asyncpg.Connection, worker: Worker) -> None:
    await conn.execute(
        "INSERT INTO workers (id, tenant_id, employee_id, name, job_title, site_id, status,"
        " pin_allowed, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)",
        worker.id,
        worker.tenant_id,
        worker.employee_id,
        worker.name,
        worker.job_title,
        worker.site_id,
        worker.status.value,
        worker.pin_allowed,
        worker.created_at,
        worker.updated_at,
    )


async def update_worker(conn: asyncpg.Connection, worker: Worker) -> None:
    await conn.execute(
        "UPDATE workers SET employee_id=$3, name=$4, job_title=$5, site_id=$6, status=$7,"
        " pin_allowed=$8, updated_at=$9 WHERE tenant_id=$1 AND id=$2",
        worker.tenant_id,
        worker.id,
        worker.employee_id,
        worker.name,
        worker.job_title,
        worker.site_id,
        worker.status.value,
        worker.pin_allowed,
        worker.updated_at,
    )


async def upsert_pin(
    conn: asyncpg.Connection,
    tenant_id: str,
    worker_id: str,
    pin_hash: str,
    key_id: str,
    at: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO worker_pins (worker_id, tenant_id, pin_hash, pin_key_id, set_at)"
        " VALUES ($1,$2,$3,$4,$5) ON CONFLICT (worker_id) DO UPDATE SET"
        " pin_hash = excluded.pin_hash, pin_key_id = excluded.pin_key_id,"
        " set_at = excluded.set_at, locked_until = NULL",
        worker_id,
        tenant_id,
        pin_hash,
        key_id,
        at,
    )


async def delete_pin(conn: asyncpg.Connection, tenant_id: str, worker_id: str) -> bool:
    status = await conn.execute(
        "DELETE FROM worker_pins WHERE tenant_id = $1 AND worker_id = $2", tenant_id, worker_id
    )
    return status != "DELETE 0"


async def set_lock(
    conn: asyncpg.Connection, tenant_id: str, worker_id: str, until: datetime | None
) -> None:
    await conn.execute(
        "UPDATE worker_pins SET locked_until = $3 WHERE tenant_id = $1 AND worker_id = $2",
        tenant_id,
        worker_id,
        until,
    )


async def get_pin_max_age(conn: asyncpg.Connection, tenant_id: str) -> int | None:
    return await conn.fetchval(
        "SELECT max_age_days FROM pin_policies WHERE tenant_id = $1", tenant_id
    )


async def set_pin_max_age(conn: asyncpg.Connection, tenant_id: str, days: int | None) -> None:
    await conn.execute(
        "INSERT INTO pin_policies (tenant_id, max_age_days) VALUES ($1, $2)"
        " ON CONFLICT (tenant_id) DO UPDATE SET max_age_days = excluded.max_age_days",
        tenant_id,
        days,
    )


async def workers_with_pins_older_than(
    conn: asyncpg.Connection, tenant_id: str, days: int, sites: tuple[str, ...] | None
) -> list[Worker]:
    args: list[object] = [tenant_id, days]
    site_filter = ""
    if sites is not None:
        args.append(list(sites))
        site_filter = " AND w.site_id = ANY($3::text[])"
    rows = await conn.fetch(
        f"SELECT {_WORKER_COLUMNS} {_FROM} WHERE w.tenant_id = $1"
        f" AND p.set_at < now() - make_interval(days => $2){site_filter} ORDER BY p.set_at",
        *args,
    )
    return [_worker(r) for r in rows]


async def is_assigned(
    conn: asyncpg.Connection, tenant_id: str, clock_id: str, worker_id: str
) -> bool:
    return await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM clock_assignments"
        " WHERE tenant_id = $1 AND clock_id = $2 AND worker_id = $3)",
        tenant_id,
        clock_id,
        worker_id,
    )


async def lock_pin_if_unchanged(
    conn: asyncpg.Connection, tenant_id: str, worker_id: str, pin_hash: str, until: datetime
) -> bool:
    """Lock the PIN unless it was changed since it was read (one short conditional update: no
    row lock is held while a PIN is hashed)."""
    status = await conn.execute(
        "UPDATE worker_pins SET locked_until = $4 WHERE tenant_id = $1 AND worker_id = $2"
        " AND pin_hash = $3 AND (locked_until IS NULL OR locked_until < $4)",
        tenant_id,
        worker_id,
        pin_hash,
        until,
    )
    return status != "UPDATE 0"
