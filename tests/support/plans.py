"""How many rows a statement touches, from PostgreSQL's own EXPLAIN ANALYZE: for tests that hold
a statement's plan to the size of its batch, whatever plan (custom or generic) it gets."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import asyncpg
from punchcard_kit.tenancy import enter_tenant


def rows_touched(node: dict) -> float:
    """Rows every node of an EXPLAIN ANALYZE (JSON) plan produced or filtered away."""
    per_loop = sum(
        node.get(name, 0)
        for name in (
            "Actual Rows",
            "Rows Removed by Filter",
            "Rows Removed by Join Filter",
            "Rows Removed by Index Recheck",
        )
    )
    return per_loop * node.get("Actual Loops", 1) + sum(map(rows_touched, node.get("Plans", [])))


def indexes_read(node: dict) -> set[str]:
    """The indexes every node of an EXPLAIN (JSON) plan reads."""
    own = {node["Index Name"]} if "Index Name" in node else set()
    return own.union(*map(indexes_read, node.get("Plans", [])))


async def touched(
    conn: asyncpg.Connection,
    sql: str,
    types: str,
    args: list,
    mode: str,
    enter: Callable[[asyncpg.Connection], Awaitable[None]] | None = None,
) -> float:
    """Rows the statement touches under ``plan_cache_mode`` ``mode`` (a prepared statement, as
    the services' pools run it), in a transaction rolled back. ``enter``: what the transaction
    does first (a service's tenant and role: ``punchcard_kit.tenancy.enter_tenant``); the
    statement is prepared after it, under that role."""
    return rows_touched(await analysed(conn, sql, types, args, mode, enter))


async def analysed(
    conn: asyncpg.Connection,
    sql: str,
    types: str,
    args: list,
    mode: str,
    enter: Callable[[asyncpg.Connection], Awaitable[None]] | None = None,
) -> dict:
    """The statement's EXPLAIN ANALYZE plan (its top node), run as ``touched`` runs it."""
    await conn.execute(f"SET plan_cache_mode = {mode}")
    await conn.execute("DEALLOCATE ALL")
    await conn.execute("BEGIN")
    try:
        if enter is not None:
            await enter(conn)
        await conn.execute(f"PREPARE under_test({types}) AS {sql}")
        # EXECUTE takes no bound parameters: the arguments as literals, quoted by PostgreSQL.
        literals = [
            await conn.fetchval(f"SELECT quote_nullable($1::{kind})", arg)
            for kind, arg in zip(types.split(", "), args, strict=True)
        ]
        plan = await conn.fetchval(
            f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE under_test({', '.join(literals)})"
        )
    finally:
        await conn.execute("ROLLBACK")  # what the statement wrote, its locks and settings
    return json.loads(plan)[0]["Plan"]


def as_tenant(
    tenant_id: object, role: str = "app"
) -> Callable[[asyncpg.Connection], Awaitable[None]]:
    """``touched``'s ``enter`` for a service's transaction: its role for ``role``, one tenant."""

    async def enter(conn: asyncpg.Connection) -> None:
        await enter_tenant(conn, role, tenant_id)

    return enter


@asynccontextmanager
async def owner_connection(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection as a service's login role (bound by row-level security once a transaction
    enters a tenant, as the service is), with no statement cache: ``touched`` prepares and
    deallocates its own statements."""
    conn = await asyncpg.connect(database_url, statement_cache_size=0)
    try:
        yield conn
    finally:
        await conn.close()
