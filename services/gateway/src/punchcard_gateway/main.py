"""Entry point: ``punchcard-gateway`` serves HTTP (the admin API) and runs the outbox relay
and consumers; ``punchcard-gateway migrate`` only migrates the database (a deploy job);
``punchcard-gateway create-tenant …`` bootstraps a tenant and its first sysadmin."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from punchcard_kit.service import create_service_app, service_main

from .adapters.passwords import PasswordHasher
from .adapters.postgres import unit_of_work_factory
from .adapters.upstream import Upstream
from .entrypoints import audit, auth, proxy, users
from .entrypoints.cli import create_tenant_main
from .entrypoints.context import RequestContextMiddleware
from .entrypoints.deps import Gateway
from .entrypoints.errors import install_error_handlers
from .service_layer.services import Hasher, Services
from .service_layer.tokens import AccessTokens
from .settings import GatewaySettings


def build_app(settings: GatewaySettings, *, hasher: Hasher | None = None) -> FastAPI:
    """The composition root: adapters are built here; the pool (the kit's lifespan) and the
    one shared HTTP client to the upstream services (ours, around it) are opened at start-up."""
    app = create_service_app(
        settings,
        package=__package__,
        title="Punchcard Gateway",
        routers=[auth.router, users.router, audit.router, proxy.router],
    )
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware)
    assert settings.admin_jwt_secret is not None and settings.internal_token_secret is not None
    upstream_urls = settings.upstream_urls()
    access_tokens = AccessTokens(
        settings.admin_jwt_secret.get_secret_value(), ttl_s=settings.access_token_ttl_s
    )
    passwords = hasher or PasswordHasher()
    kit_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        timeout = httpx.Timeout(settings.upstream_timeout_s)
        async with httpx.AsyncClient(timeout=timeout) as client, kit_lifespan(app):
            services = Services(
                uow=unit_of_work_factory(app.state.runtime.pool),
                hasher=passwords,
                access_tokens=access_tokens,
                refresh_ttl_s=settings.refresh_token_ttl_s,
            )
            await passwords.burn("")  # prepares the unknown-e-mail hash before the first login
            internal_secret = settings.internal_token_secret.get_secret_value()
            app.state.gateway = Gateway(
                services=services,
                upstreams={
                    name: Upstream(
                        name=name, client=client, base_url=url, internal_secret=internal_secret
                    )
                    for name, url in upstream_urls.items()
                },
            )
            yield

    app.router.lifespan_context = lifespan
    return app


def main(argv: list[str] | None = None) -> None:
    """The kit's ``service_main`` knows ``serve`` and ``migrate``; ``create-tenant`` is ours."""
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "create-tenant":
        create_tenant_main(args[1:], __package__)
        return
    service_main(GatewaySettings, build_app, __package__, args)


if __name__ == "__main__":
    main()
