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
    connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK})
    try:
        context.configure(connection=connection, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
    finally:
        connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK})


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


def create_role(role: str) -> str:
    """A NOLOGIN role bound by row-level security (the application's, a lookup's, …); a no-op
    when it exists (roles are cluster-wide: other databases of the cluster may have made it)."""
    return f"""DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
            CREATE ROLE {role} NOLOGIN NOBYPASSRLS;
        END IF;
    END $$"""


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
