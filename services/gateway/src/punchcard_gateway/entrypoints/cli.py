"""``punchcard-gateway create-tenant``: bootstrap a tenant and its first sysadmin.

    punchcard-gateway create-tenant --name "Acme" --admin-email ops@acme.example \\
        --admin-password '…'
    {"tenant_id": "…", "admin_id": "…"}

The password may instead come from the environment (PUNCHCARD_ADMIN_PASSWORD) or, on a
terminal, a prompt, so that it need not sit in the shell history or the process list. The
database is brought to the latest revision first."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys

from punchcard_kit.db import create_pool, ensure_database
from punchcard_kit.logging import configure_logging
from punchcard_kit.migrations import upgrade_async
from punchcard_kit.settings import load_settings
from pydantic import ValidationError

from ..adapters.passwords import PasswordHasher
from ..adapters.postgres import unit_of_work_factory
from ..domain.model import DomainError
from ..service_layer.services import Services
from ..service_layer.tokens import AccessTokens
from ..service_layer.users import CreateTenant, create_tenant
from ..settings import GatewaySettings
from .schemas import TenantCreate

PASSWORD_ENV = "PUNCHCARD_ADMIN_PASSWORD"


def create_tenant_main(argv: list[str], package: str) -> None:
    parser = argparse.ArgumentParser(
        prog="punchcard-gateway create-tenant",
        description="Create a tenant and its first sysadmin; prints their ids as JSON",
    )
    parser.add_argument("--name", required=True, help="the tenant's (company's) name")
    parser.add_argument("--admin-email", required=True)
    parser.add_argument(
        "--admin-password", help=f"default: ${PASSWORD_ENV}, else asked on the terminal"
    )
    parser.add_argument("--admin-name", default="Administrator")
    args = parser.parse_args(argv)
    password = args.admin_password or os.environ.get(PASSWORD_ENV)
    if password is None:
        if not sys.stdin.isatty():
            parser.error(f"--admin-password or ${PASSWORD_ENV} is required")
        password = getpass.getpass("admin password: ")
    try:
        command = TenantCreate(
            name=args.name,
            admin_email=args.admin_email,
            admin_password=password,
            admin_name=args.admin_name,
        )
    except ValidationError as error:
        for item in error.errors():
            print(f"--{str(item['loc'][0]).replace('_', '-')}: {item['msg']}", file=sys.stderr)
        raise SystemExit(2) from None
    settings = load_settings(GatewaySettings)
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    try:
        tenant_id, admin_id = asyncio.run(_create(settings, package, command))
    except DomainError as error:
        print(f"create-tenant: {error.message}", file=sys.stderr)
        raise SystemExit(1) from None
    print(json.dumps({"tenant_id": tenant_id, "admin_id": admin_id}))


async def _create(settings: GatewaySettings, package: str, command: TenantCreate):
    dsn = settings.database_url
    assert dsn is not None and settings.admin_jwt_secret is not None
    if settings.environment in ("development", "test"):
        await ensure_database(dsn)
    await upgrade_async(dsn, package)
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        services = Services(
            uow=unit_of_work_factory(pool),
            hasher=PasswordHasher(),
            access_tokens=AccessTokens(settings.admin_jwt_secret.get_secret_value()),
        )
        tenant, admin = await create_tenant(
            services,
            CreateTenant(
                name=command.name,
                admin_email=command.admin_email,
                admin_password=command.admin_password,
                admin_name=command.admin_name,
            ),
        )
    finally:
        await pool.close()
    return str(tenant.id), str(admin.id)
