"""Provisioning a service's database as a DBA would, for the local stack and the tests.

In production a DBA (or the platform) creates, per service, a **login role that owns its
database** — not a superuser, no CREATEDB — and the service's NOLOGIN row-level-security roles
(``<database>_app``, and the gateway's ``_lookup`` and ``_retention``; the naming rule is
:data:`punchcard_kit.tenancy.ROLE_NAME`), granted to that login role. ``make run`` and the
test suite do exactly that here, connected as the superuser, so every service runs as it would
in production (docs/deployment.md, "PostgreSQL").

``punchcard-provision-db ADMIN_URL SERVICE DATABASE`` prints the service's ``DATABASE_URL``;
it is idempotent (an existing role and database are kept; a database that belongs to another
role is handed to the service's role with everything in it)."""

from __future__ import annotations

import argparse
import asyncio
import re
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

from .db import with_database
from .tenancy import role_name_sql

# The NOLOGIN roles each service's migrations use (purposes; the role is <database>_<purpose>).
SERVICE_ROLES: dict[str, tuple[str, ...]] = {"gateway": ("app", "lookup", "retention")}
DEFAULT_ROLES = ("app",)

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,50}$")
_PASSWORD = re.compile(r"^[A-Za-z0-9_.~-]{8,100}$")


def service_roles(service: str) -> tuple[str, ...]:
    return SERVICE_ROLES.get(service, DEFAULT_ROLES)


def login_url(admin_url: str, database: str, role: str, password: str | None) -> str:
    """``admin_url``'s server, as ``role`` (with ``password``), on ``database``."""
    parts = urlsplit(with_database(admin_url, database))
    host = parts.netloc.rsplit("@", 1)[-1]
    user = quote(role, safe="") + (":" + quote(password, safe="") if password else "")
    return urlunsplit(parts._replace(netloc=f"{user}@{host}"))


async def provision(
    admin_url: str,
    service: str,
    database: str,
    *,
    password: str | None = None,
    purposes: tuple[str, ...] | None = None,
) -> str:
    """Create (when missing) the login role ``database`` — NOSUPERUSER, NOCREATEDB,
    NOCREATEROLE, NOBYPASSRLS — the database it owns, and the service's NOLOGIN roles granted
    to it; return the service's ``DATABASE_URL``. ``admin_url``: a superuser, any database."""
    if not _NAME.match(database):
        raise ValueError(f"not a plain database name: {database!r}")
    if password is not None and not _PASSWORD.match(password):
        raise ValueError("a password of 8-100 letters, digits or _.~-")
    role = database
    admin = await asyncpg.connect(with_database(admin_url, "postgres"))
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
            await admin.execute(
                f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS'
            )
        if password is not None:
            await admin.execute(f"ALTER ROLE \"{role}\" PASSWORD '{password}'")
        owner = await admin.fetchval(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1", database
        )
        if owner is None:
            await admin.execute(f'CREATE DATABASE "{database}" OWNER "{role}"')
            await admin.execute(f'REVOKE ALL ON DATABASE "{database}" FROM PUBLIC')
        for purpose in purposes if purposes is not None else service_roles(service):
            nologin = await admin.fetchval(
                "SELECT " + role_name_sql("CAST($2 AS text)", database="CAST($1 AS text)"),
                database,
                purpose,
            )
            if not await admin.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", nologin):
                await admin.execute(f'CREATE ROLE "{nologin}" NOLOGIN NOBYPASSRLS')
            await admin.execute(f'GRANT "{nologin}" TO "{role}"')
    finally:
        await admin.close()
    if owner is not None and owner != role:
        await _hand_over(admin_url, database, role)
    return login_url(admin_url, database, role, password)


async def _hand_over(admin_url: str, database: str, role: str) -> None:
    """A database made before services had their own roles (by the superuser): give it, and
    everything of its schema ``public``, to ``role``."""
    conn = await asyncpg.connect(with_database(admin_url, database))
    try:
        await conn.execute(f'ALTER DATABASE "{database}" OWNER TO "{role}"')
        await conn.execute(
            f"""DO $$ DECLARE r record; BEGIN
    FOR r IN SELECT c.relname, c.relkind FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
               AND pg_get_userbyid(c.relowner) <> '{role}'
               AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid
                               AND d.deptype IN ('a', 'i') AND d.classid = 'pg_class'::regclass)
    LOOP
        EXECUTE format('ALTER %s %I OWNER TO %I',
            CASE r.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                           WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
            r.relname, '{role}');
    END LOOP;
    FOR r IN SELECT p.oid::regprocedure AS sig FROM pg_proc p
             JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) IN (
                 SELECT rolname FROM pg_roles WHERE rolsuper)
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO %I', r.sig, '{role}');
    END LOOP;
END $$"""
        )
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Create a service's login role, its database and its NOLOGIN roles "
        "(development and tests; a DBA does this in production). Prints the DATABASE_URL."
    )
    parser.add_argument("admin_url", help="a superuser's URL, e.g. postgresql://postgres@host")
    parser.add_argument("service", help="identity, face-match, punch, device-sync or gateway")
    parser.add_argument("database", help="the database (and its login role) to provision")
    parser.add_argument("--password", default=None, help="set the login role's password")
    args = parser.parse_args(argv)
    print(
        asyncio.run(provision(args.admin_url, args.service, args.database, password=args.password))
    )
