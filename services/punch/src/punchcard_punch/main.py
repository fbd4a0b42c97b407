"""Entry point: ``punchcard-punch`` decides kiosk attempts into the ledger (consumer of the
identification verdicts), keeps its projections of workers, clocks and assignments, and serves
the ledger's internal API; ``punchcard-punch migrate`` only migrates the database."""

from __future__ import annotations

from fastapi import FastAPI
from punchcard_kit.service import Runtime, create_service_app, service_main

from .adapters.postgres import PunchUnitOfWork
from .bootstrap import PunchContainer, bootstrap, policy_from
from .entrypoints import api, consumers
from .settings import PunchSettings

__all__ = ["build_app", "main", "policy_from"]


def build_app(settings: PunchSettings) -> FastAPI:
    """The app on the kit's lifespan: ``on_started`` builds the container (bootstrap.py) on the
    kit's pool and runs the unparker; the consumers, built after it, hand their verdicts to
    its ingest use case."""

    async def on_started(runtime: Runtime) -> None:
        container = bootstrap(settings, runtime.pool)
        runtime.every("unpark verdicts", settings.unpark_interval_s, container.unparker.run_once)
        app.state.punch = container

    def subscriptions(runtime: Runtime):
        container: PunchContainer = app.state.punch
        return consumers.subscriptions(
            container.ingest, PunchUnitOfWork.on_connection, settings.verdict_lanes
        )

    app = create_service_app(
        settings,
        package=__package__,
        title="Punchcard Punch",
        routers=[api.router],
        on_started=on_started,
        subscriptions=subscriptions,
        pool_max_size=settings.db_pool_max_size,
    )
    return app


def main() -> None:
    service_main(PunchSettings, build_app, __package__)


if __name__ == "__main__":
    main()
