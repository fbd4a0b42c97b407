"""Entry point: ``punchcard-device-sync`` serves the admin API (through the gateway) and the
clock API (clocks call it directly), follows identity's and face-match's events, and runs the
outbox relay; ``punchcard-device-sync migrate`` only migrates the database (a deploy job)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from fastapi import FastAPI
from punchcard_kit.logging import get_logger
from punchcard_kit.service import Runtime, Subscription, create_service_app, service_main
from punchcard_kit.tenancy import tenant_transaction

from .adapters import repository as repo
from .adapters.heartbeats import HeartbeatBuffer
from .adapters.wakeups import ClockWakeups
from .domain.model import PollLimits
from .entrypoints import admin_api, clock_api
from .service_layer import projection
from .service_layer.admin import Admin
from .service_layer.sync import ClockSync
from .settings import DeviceSyncSettings

log = get_logger(__name__)


async def prune_forever(runtime: Runtime, days: int, stopping: asyncio.Event) -> None:
    """Hourly: delete acknowledged commands past retention, tenant by tenant (RLS)."""
    while not stopping.is_set():
        try:
            tenants = await runtime.pool.fetch(
                "SELECT DISTINCT tenant_id::text FROM clock_credentials"
            )
            for row in tenants:
                async with tenant_transaction(runtime.pool, repo.APP_ROLE, row[0]) as conn:
                    await repo.prune_acknowledged(conn, days)
        except Exception as error:  # noqa: BLE001
            log.warning("pruning acknowledged commands failed", error=type(error).__name__)
        try:
            await asyncio.wait_for(stopping.wait(), 3600)
        except TimeoutError:
            pass


def build_app(settings: DeviceSyncSettings) -> FastAPI:
    """The composition root: adapters are built here, connections opened in the lifespan."""
    state: dict = {}

    def subscriptions(runtime: Runtime):
        return [Subscription("device-sync.workers", projection.TOPICS, projection.handle)]

    async def on_started(runtime: Runtime) -> None:
        assert settings.database_url is not None
        heartbeats = HeartbeatBuffer(runtime.pool, settings.heartbeat_flush_interval_s)
        holder: dict = {}
        wakeups = ClockWakeups(
            settings.database_url, lambda clock_id: holder["sync"].forget_credential(clock_id)
        )
        sync = ClockSync(
            runtime.pool,
            wakeups,
            heartbeats,
            auth_cache_ttl_s=settings.clock_auth_cache_s,
            batch_limit=settings.sync_batch_limit,
            auto_resync_every=timedelta(seconds=settings.auto_resync_min_interval_s),
            poll_limits=PollLimits(
                per_clock=settings.sync_polls_per_clock,
                per_tenant=settings.sync_polls_per_tenant,
            ),
        )
        holder["sync"] = sync
        stopping = asyncio.Event()
        state.update(wakeups=wakeups, heartbeats=heartbeats, stopping=stopping, sync=sync)
        state["tasks"] = [
            asyncio.create_task(wakeups.run()),
            asyncio.create_task(sync.run()),
            asyncio.create_task(heartbeats.run()),
            asyncio.create_task(prune_forever(runtime, settings.command_retention_days, stopping)),
        ]
        app.state.clock_sync = sync
        app.state.admin = Admin(
            pool=runtime.pool, offline_after=timedelta(seconds=settings.clock_offline_after_s)
        )
        app.state.on_exit.append(wakeups.stop)

    async def on_stopped(runtime: Runtime) -> None:
        state["wakeups"].stop()
        state["heartbeats"].stop()
        state["sync"].stop()
        state["stopping"].set()
        await asyncio.wait(state["tasks"], timeout=5)
        await state["heartbeats"].flush()

    app = create_service_app(
        settings,
        package=__package__,
        title="Punchcard Device Sync",
        routers=[admin_api.build_router(), clock_api.build_router()],
        subscriptions=subscriptions,
        on_started=on_started,
        on_stopped=on_stopped,
        pool_max_size=settings.db_pool_max_size,
    )
    return app


def main() -> None:
    service_main(DeviceSyncSettings, build_app, __package__)


if __name__ == "__main__":
    main()
