"""Entry point: ``punchcard-gateway`` serves HTTP (the admin API and the kiosk edge) and runs
the outbox relay, the followers of punch outcomes and of clock changes, the reconciler of kiosk
attempts without an outcome and the hourly pruning of kiosk claims (periodic jobs:
``Runtime.every``);
``punchcard-gateway migrate`` only migrates the database (a deploy job);
``punchcard-gateway create-tenant …`` bootstraps a tenant and its first sysadmin."""

from __future__ import annotations

import sys

from fastapi import FastAPI
from punchcard_kit.service import Runtime, create_service_app, service_main

from .bootstrap import GatewayContainer, bootstrap
from .entrypoints import audit, auth, kiosk, proxy, users, web
from .entrypoints.cli import create_tenant_main
from .entrypoints.context import RequestContextMiddleware
from .entrypoints.openapi import install_openapi
from .service_layer.services import Hasher
from .settings import GatewaySettings

PRUNE_EVERY_S = 3600
PRUNE_FIRST_AFTER_S = 60.0


def build_app(settings: GatewaySettings, *, hasher: Hasher | None = None) -> FastAPI:
    """The kit's app with the gateway's routers; ``on_started`` (its composition root) builds
    the container (bootstrap.py) on the kit's pool, then starts the follower of punch outcomes
    and the periodic jobs on the kit's runtime."""

    async def on_started(runtime: Runtime) -> None:
        gateway = await bootstrap(settings, runtime, hasher=hasher)
        follower = gateway.punch_outcomes
        runtime.supervise("follower:punch-outcomes", follower.run)
        # Not ready until it follows the outcomes (else every answer would be "pending").
        runtime.ready_loops["follower:punch-outcomes"] = follower
        # Not a readiness condition: while it does not read, the edge asks device-sync.
        runtime.supervise("follower:clock-changes", gateway.clock_changes.run)
        runtime.every("prune", PRUNE_EVERY_S, gateway.prune_once, first_after_s=PRUNE_FIRST_AFTER_S)
        runtime.every(
            "reconcile kiosk attempts",
            settings.kiosk_reconcile_every_s,
            gateway.reconciler.run_once,
        )
        app.state.gateway = gateway

    def on_stopping(runtime: Runtime) -> None:
        gateway: GatewayContainer | None = getattr(app.state, "gateway", None)
        if gateway is not None:
            gateway.punch_outcomes.stop()
            gateway.clock_changes.stop()

    app = create_service_app(
        settings,
        package=__package__,
        title="Punchcard Gateway",
        routers=[
            auth.router,
            users.router,
            audit.router,
            proxy.router,
            kiosk.build_router(settings.kiosk_max_frame_bytes),
        ],
        on_started=on_started,
        on_stopping=on_stopping,
    )
    web.mount(app, settings.web_dist_dir)
    app.add_middleware(RequestContextMiddleware)
    install_openapi(app, settings.openapi_dir)
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
