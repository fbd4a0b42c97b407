"""Each service migrates its own database with Alembic. A service's ``migrations/env.py`` is
one call to :func:`run_env`; revisions are plain ``op.execute`` SQL files.

Migrations run under a PostgreSQL advisory lock, so replicas that start together (or a
migration job racing a pod) apply each revision once."""

from __future__ import annotations

import asyncio
from importlib import resources

from alembic import command, context
from alembic.config import Config
from sqlalchemy import pool as sa_pool
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from .logging import get_logger

log = get_logger(__name__)

MIGRATION_LOCK = 0x5043_0002


def _sqlalchemy_url(dsn: str) -> str:
    scheme, rest = dsn.split("://", 1)
    return f"postgresql+asyncpg://{rest}" if scheme in ("postgres", "postgresql") else dsn


def alembic_config(dsn: str, package: str) -> Config:
    location = resources.files(package) / "migrations"
    config = Config()
    config.set_main_option("script_location", str(location))
    config.attributes["dsn"] = dsn
    return config


def upgrade(dsn: str, package: str, revision: str = "head") -> None:
    """Bring the database to ``revision`` (blocking; call from a thread inside a loop)."""
    command.upgrade(alembic_config(dsn, package), revision)


async def upgrade_async(dsn: str, package: str, revision: str = "head") -> None:
    await asyncio.to_thread(upgrade, dsn, package, revision)
    log.info("database migrated", package=package, revision=revision)


def _run(connection: Connection) -> None:
    unlock = text("SELECT pg_advisory_unlock(:k)")
    connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK})
    try:
        context.configure(connection=connection, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
    except BaseException:
        # The failed transaction first, so that the real error is the one raised (the session
        # lock outlives the rollback; it ends with the connection anyway).
        try:
            connection.rollback()
            connection.execute(unlock, {"k": MIGRATION_LOCK})
        except Exception:  # noqa: BLE001 - the migration's own error matters, not this one
            log.warning("migration lock not released; it ends with the connection")
        raise
    connection.execute(unlock, {"k": MIGRATION_LOCK})


async def _run_online(dsn: str) -> None:
    engine = create_async_engine(_sqlalchemy_url(dsn), poolclass=sa_pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def run_env() -> None:
    """The body of every service's ``migrations/env.py``."""
    if context.is_offline_mode():
        raise SystemExit(
            "offline (SQL script) migrations are not supported; run against a database"
        )
    asyncio.run(_run_online(context.config.attributes["dsn"]))


def execute_all(statements: tuple[str, ...]) -> None:
    """Run a frozen tuple of statements (e.g. ``messaging.schema.V1_UP``) inside a revision."""
    from alembic import op

    for statement in statements:
        op.execute(statement)


# The tenant a transaction acts for, as set by ``punchcard_kit.tenancy.enter_tenant`` (no
# tenant: NULL, which matches no row).
TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"


def database_role(purpose: str) -> str:
    """Inside a revision: the name of this database's own NOLOGIN role for ``purpose``
    (``"app"`` → ``<database>_app``; the rule is :data:`punchcard_kit.tenancy.ROLE_NAME`)."""
    from alembic import op

    from .tenancy import role_name_sql

    query = text(f"SELECT {role_name_sql('CAST(:purpose AS text)')}")
    return op.get_bind().execute(query, {"purpose": purpose}).scalar_one()


def own_role(role: str) -> str:
    """A NOLOGIN role bound by row-level security (the application's, a lookup's, …), created
    when missing, and granted to the migrating user (the service's login role, which owns the
    database) so that it may ``SET ROLE`` to it and hand it functions.

    Creating needs CREATEROLE; a role a DBA made beforehand (and granted to the owner) needs
    nothing. PostgreSQL 16+ gives a CREATEROLE creator only ADMIN OPTION on what it creates,
    so the creator then grants the role to itself; a role it neither may SET nor administer
    stops the migration with what to ask the DBA."""
    return f"""DO $$ BEGIN
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN NOBYPASSRLS', '{role}');
        END IF;
    EXCEPTION
        WHEN duplicate_object OR unique_violation THEN NULL;
        WHEN insufficient_privilege THEN
            RAISE EXCEPTION 'role % does not exist and % may not create roles', '{role}',
                current_user
                USING HINT = format('as a DBA: CREATE ROLE %I NOLOGIN; GRANT %I TO %I'
                                    ' (or give %I CREATEROLE)',
                                    '{role}', '{role}', current_user, current_user);
    END;
    IF (CASE WHEN current_setting('server_version_num')::int >= 160000
             THEN pg_has_role(current_user, '{role}', 'SET')
             ELSE pg_has_role(current_user, '{role}', 'MEMBER') END) THEN
        RETURN;
    END IF;
    BEGIN
        EXECUTE format('GRANT %I TO %I', '{role}', current_user);
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE EXCEPTION 'role % may not use role %', current_user, '{role}'
            USING HINT = format('as a DBA: GRANT %I TO %I (or give %I CREATEROLE)',
                                '{role}', current_user, current_user);
    END;
END $$"""


def give_function(signature: str, role: str) -> tuple[str, ...]:
    """Make ``role`` (a NOLOGIN role of this database) own a SECURITY DEFINER function.
    PostgreSQL wants the new owner to hold CREATE on the schema: a non-superuser owner grants
    it for the moment and takes it back, so the role may create nothing afterwards."""
    return (
        f"""DO $$ BEGIN
    IF has_schema_privilege('{role}', 'public', 'CREATE') THEN
        EXECUTE format('ALTER FUNCTION {signature} OWNER TO %I', '{role}');
    ELSE
        EXECUTE format('GRANT CREATE ON SCHEMA public TO %I', '{role}');
        EXECUTE format('ALTER FUNCTION {signature} OWNER TO %I', '{role}');
        EXECUTE format('REVOKE CREATE ON SCHEMA public FROM %I', '{role}');
    END IF;
END $$""",
    )


def tenant_isolation(*tables: str) -> tuple[str, ...]:
    """Row-level security on each table, forced (the owner is bound too): a row is seen and
    written only by a transaction acting for its tenant."""
    return tuple(
        statement
        for table in tables
        for statement in (
            f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
            f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
            f"CREATE POLICY tenant_isolation ON {table} USING (tenant_id = {TENANT})"
            f" WITH CHECK (tenant_id = {TENANT})",
        )
    )
