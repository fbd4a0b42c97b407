"""Tenant transactions under PostgreSQL row-level security.

A service's tables carry ``tenant_id`` and a policy ``tenant_id = current_setting('app.tenant_id')``
(FORCE ROW LEVEL SECURITY, so even the owner is bound). A use case works inside
``tenant_transaction``: the transaction switches to the service's NOLOGIN application role and
sets the tenant, both transaction-local, in one round trip; the SQL filters by tenant as well."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

_ROLE = re.compile(r"^[a-z_][a-z0-9_]*$")


async def enter_tenant(conn: asyncpg.Connection, role: str, tenant_id: object | None) -> None:
    """Inside a transaction: act as ``role`` for ``tenant_id`` only (until it ends). ``None``:
    no tenant — the role then sees no tenant-owned row at all."""
    if not _ROLE.match(role):
        raise ValueError(f"not a role name: {role!r}")
    if not conn.is_in_transaction():
        raise RuntimeError("enter_tenant needs a transaction (its settings are SET LOCAL)")
    await conn.execute(
        "SELECT set_config('role', $1, true), set_config('app.tenant_id', $2, true)",
        role,
        "" if tenant_id is None else str(tenant_id),
    )


@asynccontextmanager
async def tenant_transaction(
    pool: asyncpg.Pool, role: str, tenant_id: object | None
) -> AsyncIterator[asyncpg.Connection]:
    """A transaction under RLS for one tenant; commits when the block ends without error."""
    async with pool.acquire() as conn, conn.transaction():
        await enter_tenant(conn, role, tenant_id)
        yield conn
