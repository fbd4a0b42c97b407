"""Tenant transactions under PostgreSQL row-level security.

A service's tables carry ``tenant_id`` and a policy ``tenant_id = current_setting('app.tenant_id')``
(FORCE ROW LEVEL SECURITY, so even the owner is bound). A use case works inside
``tenant_transaction``: the transaction switches to the database's NOLOGIN application role and
sets the tenant, both transaction-local, in one round trip; the SQL filters by tenant as well.

Roles belong to the whole PostgreSQL cluster, so a service's NOLOGIN roles are named after its
**database** (:data:`ROLE_NAME`): ``punchcard_identity`` has ``punchcard_identity_app``, a test
database ``identity_test_1a2b`` has ``identity_test_1a2b_app``. Two databases on one cluster (two
environments, the test suite beside ``make run``) never share a role, so no login role can use
another database's grants, and each database's owner creates and joins only its own roles."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

_ROLE = re.compile(r"^[a-z][a-z0-9_]{0,19}$")

# The one rule naming a database's own role for a purpose (``app``, ``lookup``, …), as SQL
# evaluated in that database: ``<database>_<purpose>``, or, when that is no plain lower-case
# identifier of at most 63 bytes, ``punchcard_<16 hex of md5(database)>_<purpose>``.
ROLE_NAME = (
    "CASE WHEN {database} ~ '^[a-z_][a-z0-9_]*$'"
    " AND octet_length({database}) + 1 + octet_length({purpose}) <= 63"
    " THEN {database} || '_' || {purpose}"
    " ELSE 'punchcard_' || left(md5({database}), 16) || '_' || {purpose} END"
)


def role_name_sql(purpose: str, database: str = "current_database()") -> str:
    """:data:`ROLE_NAME` as SQL, for a purpose (and a database) given as SQL: a parameter, e.g.
    ``CAST($1 AS text)``; by default the database the statement runs in."""
    return ROLE_NAME.format(purpose=purpose, database=database)


_ENTER = (
    f"SELECT set_config('role', {role_name_sql('CAST($1 AS text)')}, true),"
    " set_config('app.tenant_id', $2, true)"
)


async def enter_tenant(conn: asyncpg.Connection, role: str, tenant_id: object | None) -> None:
    """Inside a transaction: act as this database's role for the purpose ``role`` (``"app"``:
    ``<database>_app``, see :data:`ROLE_NAME`) for ``tenant_id`` only (until it ends).
    ``None``: no tenant — the role then sees no tenant-owned row at all."""
    if not _ROLE.match(role):
        raise ValueError(f"not a role purpose: {role!r}")
    if not conn.is_in_transaction():
        raise RuntimeError("enter_tenant needs a transaction (its settings are SET LOCAL)")
    await conn.execute(_ENTER, role, "" if tenant_id is None else str(tenant_id))


@asynccontextmanager
async def tenant_transaction(
    pool: asyncpg.Pool, role: str, tenant_id: object | None
) -> AsyncIterator[asyncpg.Connection]:
    """A transaction under RLS for one tenant; commits when the block ends without error."""
    async with pool.acquire() as conn, conn.transaction():
        await enter_tenant(conn, role, tenant_id)
        yield conn
