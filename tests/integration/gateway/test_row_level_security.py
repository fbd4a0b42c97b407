"""Row-level security, below the application: a raw connection as the app role sees only the
tenant it declared, nothing without one, and cannot write into another tenant."""

import uuid

import asyncpg
import pytest

from tests.support.databases import role_of

TABLES = {
    "tenants": "id",
    "admin_users": "tenant_id",
    "refresh_tokens": "tenant_id",
    "audit_log": "tenant_id",
}


async def _visible(conn, tenant_id: str | None) -> dict[str, set]:
    seen = {}
    async with conn.transaction():
        await conn.execute(f"SET LOCAL ROLE {await role_of(conn)}")
        if tenant_id is not None:
            await conn.execute(f"SET LOCAL app.tenant_id = '{tenant_id}'")
        for table, column in TABLES.items():
            seen[table] = {str(r[0]) for r in await conn.fetch(f"SELECT {column} FROM {table}")}
    return seen


async def test_the_app_role_sees_only_the_declared_tenant(gateway):
    tenant_a = await gateway.new_tenant()
    tenant_b = await gateway.new_tenant()
    await gateway.login(tenant_a.email)  # a refresh token and audit rows in each tenant
    await gateway.login(tenant_b.email)

    conn = await asyncpg.connect(gateway.admin_dsn)  # as postgres, a superuser: RLS is bypassed...
    try:
        everything = {str(r[0]) for r in await conn.fetch("SELECT tenant_id FROM admin_users")}
        assert {tenant_a.tenant_id, tenant_b.tenant_id} <= everything

        # ...until it takes the app's role: only tenant A's rows, in every table.
        seen = await _visible(conn, tenant_a.tenant_id)
        for table, tenants in seen.items():
            assert tenants == {tenant_a.tenant_id}, table

        # No tenant declared: nothing at all (and the setting of the last transaction is gone).
        seen = await _visible(conn, None)
        assert seen == {table: set() for table in TABLES}

        # Writing into another tenant is refused by the policy's WITH CHECK.
        async with conn.transaction():
            await conn.execute(f"SET LOCAL ROLE {await role_of(conn)}")
            await conn.execute(f"SET LOCAL app.tenant_id = '{tenant_a.tenant_id}'")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                async with conn.transaction():
                    await conn.execute(
                        "INSERT INTO audit_log (tenant_id, action, status_code)"
                        " VALUES ($1, 'forged', 200)",
                        uuid.UUID(tenant_b.tenant_id),
                    )
            # Updating B's users changes nothing: they are invisible.
            result = await conn.execute(
                "UPDATE admin_users SET name = 'pwned' WHERE tenant_id = $1",
                uuid.UUID(tenant_b.tenant_id),
            )
            assert result == "UPDATE 0"
            # The audit log is append-only for the app.
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                async with conn.transaction():
                    await conn.execute("DELETE FROM audit_log")
    finally:
        await conn.close()


async def test_the_cross_tenant_lookups_reveal_only_a_tenant_id(gateway):
    admin = await gateway.new_tenant()
    conn = await asyncpg.connect(gateway.admin_dsn)
    try:
        async with conn.transaction():
            await conn.execute(f"SET LOCAL ROLE {await role_of(conn)}")
            found = await conn.fetchval("SELECT gateway_tenant_of_email($1)", admin.email.upper())
            assert str(found) == admin.tenant_id
            assert await conn.fetchval("SELECT gateway_tenant_of_email('no@one.example')") is None
        # The functions' owner may read no more than the two columns they need.
        async with conn.transaction():
            await conn.execute(f"SET LOCAL ROLE {await role_of(conn, 'lookup')}")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetch("SELECT password_hash FROM admin_users")
        async with conn.transaction():
            await conn.execute(f"SET LOCAL ROLE {await role_of(conn, 'lookup')}")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("UPDATE admin_users SET role = 'sysadmin'")
        # Nobody else may call them (a role that exists only inside this rolled-back
        # transaction: roles are cluster-wide).
        tx = conn.transaction()
        await tx.start()
        try:
            stranger = f"gw_stranger_{uuid.uuid4().hex[:10]}"
            await conn.execute(f"CREATE ROLE {stranger} NOLOGIN")
            await conn.execute(f"SET LOCAL ROLE {stranger}")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetchval("SELECT gateway_tenant_of_email('x@y.example')")
        finally:
            await tx.rollback()
    finally:
        await conn.close()


async def test_the_policies_are_forced_and_the_app_role_cannot_bypass_them(gateway):
    conn = await asyncpg.connect(gateway.admin_dsn)
    try:
        rows = await conn.fetch(
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class"
            " WHERE relname = ANY($1::text[])",
            list(TABLES),
        )
        assert {r["relname"] for r in rows} == set(TABLES)
        assert all(r["relrowsecurity"] and r["relforcerowsecurity"] for r in rows)
        role = await conn.fetchrow(
            "SELECT rolbypassrls, rolsuper, rolcanlogin FROM pg_roles WHERE rolname = $1",
            await role_of(conn),
        )
        assert role is not None and not any(role.values())
    finally:
        await conn.close()
