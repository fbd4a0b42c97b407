"""PostgreSQL through asyncpg: a pool that waits for the server with backoff, and database
creation for the local stack."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import asyncpg

from .logging import get_logger
from .retry import retry_transient

log = get_logger(__name__)


def contains_pattern(text: str) -> str:
    """The LIKE pattern of "contains ``text``", case-insensitively and literally (compare it
    with ``folded(column)``): ``_``, ``%`` and ``\\`` are characters an Employee ID, a name or
    a serial number holds (``EMP_001``), not wildcards."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# ICU's root collation, which every PostgreSQL built with ICU has (Debian's, the managed
# services'): its lower() lower-cases every script, whatever the database's own locale. Under
# the C locale (the local stack's; often a managed database's too) lower() changes A-Z only,
# and "Émile" never matched a search for "émile" nor "ÉMILE" one for "Émile". Its order is a
# person's too (``ordered``), where C's is the bytes'.
UNICODE_CASE = '"und-x-icu"'


def folded(column: str) -> str:
    """The SQL expression of ``column`` lower-cased in every script, to compare with
    ``contains_pattern``'s pattern (lower-cased by Python, as Unicode says)."""
    return f"lower({column} COLLATE {UNICODE_CASE})"


def ordered(column: str) -> str:
    """The SQL expression to sort ``column`` by as people read names, in any script: ICU's
    root collation ("Anna", "Åsa", "Bob", "Emile", "émile", "Zoë"; a name's case or accents
    only break ties), where the C locale sorts bytes ("Zoë" before "Åsa" and "Émile"). An
    index ordered the same way names the column with the same collation
    (``(tenant_id, name COLLATE "und-x-icu", ...)``): a page is then read from the index, not
    sorted. Such an index depends on the ICU library's version (docs/deployment.md)."""
    return f"{column} COLLATE {UNICODE_CASE}"


def database_name(dsn: str) -> str:
    return urlsplit(dsn).path.lstrip("/")


def with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + name))


async def reset_nothing_more(conn: asyncpg.Connection) -> None:
    """The pool's reset of a connection given back: nothing beyond what asyncpg always does
    (an open transaction rolled back, listeners and cursors of the client dropped).

    asyncpg's default sends ``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET
    ALL;`` on every release: a round trip of its own after every transaction, ~0.1-0.2 ms of
    Python and ~0.07 ms of the server's CPU, several times per kiosk punch in each service.
    None of that state outlives a transaction here: a tenant and role are entered with
    ``set_config(..., true)`` (transaction-local, tenancy.enter_tenant) or ``SET LOCAL``,
    advisory locks are transaction-level (``pg_advisory_xact_lock``), there are no WITH HOLD
    cursors, and LISTEN runs on connections of their own, never a pool's (the relay's, device-
    sync's wake-ups). tests/unit/architecture/test_session_state.py keeps it so."""


async def create_pool(
    dsn: str,
    *,
    min_size: int = 2,
    max_size: int = 10,
    give_up_after_s: float | None = 120,
    **kwargs,
) -> asyncpg.Pool:
    """Open a pool, waiting (bounded) for PostgreSQL to accept connections. Connections go
    back to the pool without a reset query (``reset_nothing_more``)."""
    kwargs.setdefault("reset", reset_nothing_more)

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
