"""Each test's service database as production has it: a login role of its own that owns the
database (not a superuser, no CREATEDB, no CREATEROLE) and the service's NOLOGIN roles granted
to it, made by the superuser of the test server as a DBA would (punchcard_kit.provisioning).
Tests inspect a database through ``admin_url`` (the superuser, who is not bound by row-level
security); services only ever get the owner's URL."""

from __future__ import annotations

import secrets

import asyncpg
from punchcard_kit.db import database_name, with_database
from punchcard_kit.provisioning import provision
from punchcard_kit.tenancy import role_name_sql

from .stack import PG_URL, unique


async def new_database(service: str, prefix: str | None = None) -> str:
    """A fresh database for ``service`` owned by its own fresh login role; its owner's URL."""
    name = unique(prefix or service.replace("-", "_") + "_test")
    return await provision(PG_URL, service, name, password=secrets.token_hex(16))


def admin_url(database_url: str) -> str:
    """The superuser's URL of the same database (for a test to look inside)."""
    return with_database(PG_URL, database_name(database_url))


async def drop_database(database_url: str) -> None:
    """Drop the database, its login role and the NOLOGIN roles named after it."""
    name = database_name(database_url)
    admin = await asyncpg.connect(with_database(PG_URL, "postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        roles = await admin.fetch(
            "SELECT rolname FROM pg_roles WHERE rolname = $1"
            " OR (starts_with(rolname, $1 || '_') AND NOT rolcanlogin)",
            name,
        )
        for (role,) in sorted(roles, key=lambda r: r[0] == name):
            await admin.execute(f'DROP ROLE IF EXISTS "{role}"')
    finally:
        await admin.close()


async def index_definitions(database_url: str, table: str, like: str) -> dict[str, str]:
    """The table's indexes whose name is ``LIKE like``: name → definition."""
    conn = await asyncpg.connect(admin_url(database_url))
    try:
        rows = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = $1 AND indexname LIKE $2",
            table,
            like,
        )
    finally:
        await conn.close()
    return {r["indexname"]: r["indexdef"] for r in rows}


async def role_of(conn: asyncpg.Connection, purpose: str = "app") -> str:
    """The name of the connected database's own NOLOGIN role for ``purpose``."""
    return await conn.fetchval("SELECT " + role_name_sql("CAST($1 AS text)"), purpose)


async def sessions_waiting_on_a_lock(conn: asyncpg.Connection, kind: str | None = None) -> int:
    """How many other sessions of ``conn``'s database wait on a lock (``kind``: only that
    ``wait_event``, e.g. ``advisory``): how a race test knows its second transaction is
    blocked behind the first."""
    return await conn.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        " AND ($1::text IS NULL OR wait_event = $1)",
        kind,
    )
