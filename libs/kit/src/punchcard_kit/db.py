"""PostgreSQL through asyncpg: a pool that waits for the server with backoff, and database
creation for the local stack."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import asyncpg

from .logging import get_logger
from .retry import retry_transient

log = get_logger(__name__)


def database_name(dsn: str) -> str:
    return urlsplit(dsn).path.lstrip("/")


def with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + name))


async def create_pool(
    dsn: str,
    *,
    min_size: int = 2,
    max_size: int = 10,
    give_up_after_s: float | None = 120,
    **kwargs,
) -> asyncpg.Pool:
    """Open a pool, waiting (bounded) for PostgreSQL to accept connections."""

    async def connect() -> asyncpg.Pool:
        return await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, **kwargs)

    pool = await retry_transient(
        f"postgres {database_name(dsn)}", connect, give_up_after_s=give_up_after_s
    )
    assert pool is not None
    return pool


async def ensure_database(dsn: str) -> bool:
    """Create the database named in ``dsn`` if it does not exist (local stack and tests;
    in production databases are provisioned). Returns True when it was created.

    A database that exists is simply connected to, so a service whose login role owns its
    database but may not create databases (as in production, and ``make run`` and the tests)
    passes here; only a missing one needs CREATEDB (the development default ``postgres``)."""
    name = database_name(dsn)

    async def probe() -> bool:
        try:
            conn = await asyncpg.connect(dsn)
        except asyncpg.InvalidCatalogNameError:
            return False
        await conn.close()
        return True

    if await retry_transient(f"postgres {name}", probe, give_up_after_s=120):
        return False
    admin = await retry_transient(
        "postgres (maintenance db)",
        lambda: asyncpg.connect(with_database(dsn, "postgres")),
        give_up_after_s=120,
    )
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists:
            return False
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        except asyncpg.DuplicateDatabaseError:
            return False
        log.info("database created", database=name)
        return True
    finally:
        await admin.close()
