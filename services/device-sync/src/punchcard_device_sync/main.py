"""Entry point: ``punchcard-device-sync`` serves the admin API (through the gateway) and the
clock API (clocks call it directly), follows identity's and face-match's events, and runs the
outbox relay; ``punchcard-device-sync migrate`` only migrates the database (a deploy job)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from punchcard_kit.service import Runtime, create_service_app, service_main

from .adapters.fleet import sample_fleet
from .bootstrap import DeviceSyncContainer, bootstrap
from .entrypoints import admin_api, clock_api, consumers, iclock
from .service_layer.sync import prune_acknowledged
from .settings import DeviceSyncSettings

PRUNE_EVERY_S = 3600


def build_app(settings: DeviceSyncSettings) -> FastAPI:
    """The app; ``on_started`` builds the container on the kit's pool and starts its loops."""

    async def on_started(runtime: Runtime) -> None:
        container = bootstrap(settings, pool=runtime.pool)
        runtime.supervise("clock-wakeups", container.wakeups.run)
        runtime.supervise("clock-sync", container.sync.run)
        runtime.supervise("clock-heartbeats", container.heartbeats.run)
        runtime.every(
            "ZK clock status", settings.heartbeat_flush_interval_s, container.zk_buffers.flush
        )
        # The heartbeats of the last second, once the loops have stopped.
        runtime.on_close(container.heartbeats.flush)
        runtime.on_close(container.zk_buffers.flush)
        runtime.every(
            "prune acknowledged commands",
            PRUNE_EVERY_S,
            lambda: prune_acknowledged(
                container.uow,
                container.directory,
                settings.command_retention_days,
                settings.zk_punch_retention_days,
            ),
            first_after_s=0,
        )
        runtime.every(
            "prune unregistered devices", PRUNE_EVERY_S, container.zk_buffers.prune_unregistered
        )
        # device_sync_clocks{protocol, status} for /metrics (adapters/fleet.py).
        runtime.every(
            "clock fleet metrics",
            settings.fleet_metrics_interval_s,
            lambda: sample_fleet(runtime.pool, timedelta(seconds=settings.clock_offline_after_s)),
            first_after_s=0,
        )
        # A shutdown signal answers held long-polls at once (before uvicorn waits for them).
        app.state.on_exit.append(container.wakeups.stop)
        app.state.device_sync = container

    def on_stopping(runtime: Runtime) -> None:
        container: DeviceSyncContainer | None = getattr(app.state, "device_sync", None)
        if container is not None:
            container.stop()

    app = create_service_app(
        settings,
        package=__package__,
        title="Punchcard Device Sync",
        routers=[admin_api.router, clock_api.router, iclock.router],
        subscriptions=consumers.subscriptions,
        on_started=on_started,
        on_stopping=on_stopping,
        pool_max_size=settings.db_pool_max_size,
    )
    # The common ZK poll and ATTLOG uploads are handled in front of FastAPI and its
    # middleware (docs/device-sync.md): the kit serves ``FastPath(app)``.
    app.state.front = iclock.FastPath
    return app


def main() -> None:
    service_main(DeviceSyncSettings, build_app, __package__)


if __name__ == "__main__":
    main()
