"""Entry point: ``punchcard-gateway`` serves HTTP (the admin API and the kiosk edge) and runs
the outbox relay, the follower of punch outcomes, the reconciler of kiosk attempts without an
outcome and the hourly pruning of kiosk claims (periodic jobs: ``punchcard_kit.periodic``);
``punchcard-gateway migrate`` only migrates the database (a deploy job);
``punchcard-gateway create-tenant …`` bootstraps a tenant and its first sysadmin."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from punchcard_kit.logging import get_logger
from punchcard_kit.messaging.follower import TopicFollower
from punchcard_kit.periodic import run_periodically
from punchcard_kit.service import create_service_app, service_main

from .adapters.edge_limits import EdgeLimiter
from .adapters.kiosk import DeviceSyncClocks, IdentitySealingKeys, PunchOutcomes
from .adapters.passwords import PasswordHasher
from .adapters.postgres import PostgresKioskAttempts, PostgresRetention, unit_of_work_factory
from .adapters.throttle import RedisLoginThrottle
from .adapters.upstream import Upstream
from .domain.access import DEVICE_SYNC, IDENTITY, PUNCH
from .entrypoints import audit, auth, kiosk, proxy, users, web
from .entrypoints.cli import create_tenant_main
from .entrypoints.context import RequestContextMiddleware
from .entrypoints.deps import Gateway
from .entrypoints.errors import install_error_handlers
from .service_layer.kiosk import PUNCHES, KioskEdge
from .service_layer.reconciler import AttemptReconciler
from .service_layer.services import Hasher, Services
from .service_layer.tokens import AccessTokens
from .settings import GatewaySettings

log = get_logger(__name__)
PRUNE_EVERY_S = 3600


Pruner = tuple[str, Callable[[], Awaitable[int]]]


async def prune_once(pruners: list[Pruner]) -> None:
    """Each pruner once (every tenant's rows); one failing does not stop the others."""
    for what, prune in pruners:
        try:
            pruned = await prune()
            if pruned:
                log.info("pruned", what=what, pruned=pruned)
        except Exception as error:  # noqa: BLE001 - tried again in an hour
            log.warning("pruning failed", what=what, error=type(error).__name__)


def build_app(settings: GatewaySettings, *, hasher: Hasher | None = None) -> FastAPI:
    """The composition root: adapters are built here; the pool (the kit's lifespan) and the
    one shared HTTP client to the upstream services (ours, around it) are opened at start-up,
    then the kiosk edge and its follower of punch outcomes."""
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
    )
    web.mount(app, settings.web_dist_dir)
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware)
    assert settings.admin_jwt_secret is not None
    upstream_urls = settings.upstream_urls()
    access_tokens = AccessTokens(
        settings.admin_jwt_secret.get_secret_value(), ttl_s=settings.access_token_ttl_s
    )
    passwords = hasher or PasswordHasher(
        max_concurrent=settings.password_hash_concurrency, wait_s=settings.password_hash_wait_s
    )
    assert settings.redis_url is not None
    kit_lifespan = app.router.lifespan_context
    edge_limits = settings.edge_limits()
    # In memory until the lifespan opens the Redis one (an app never started has no Redis).
    app.state.edge_limiter = EdgeLimiter.in_memory(edge_limits)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        timeout = httpx.Timeout(settings.upstream_timeout_s)
        sync_limits = httpx.Limits(
            max_connections=settings.kiosk_sync_max_connections, max_keepalive_connections=100
        )
        async with (
            httpx.AsyncClient(timeout=timeout) as client,
            httpx.AsyncClient(timeout=timeout, limits=sync_limits) as sync_client,
            kit_lifespan(app),
        ):
            throttle = RedisLoginThrottle.from_url(settings.redis_url)
            services = Services(
                uow=unit_of_work_factory(app.state.runtime.pool),
                hasher=passwords,
                access_tokens=access_tokens,
                throttle=throttle,
                login_policy=settings.login_policy(),
                refresh_ttl_s=settings.refresh_token_ttl_s,
            )
            await passwords.burn("")  # prepares the unknown-e-mail hash before the first login
            signing_key = settings.internal_signing_key()
            upstreams = {
                name: Upstream(name=name, client=client, base_url=url, signing_key=signing_key)
                for name, url in upstream_urls.items()
            }
            timeout = settings.kiosk_upstream_timeout_s
            policy = settings.republish_policy()
            attempts = PostgresKioskAttempts(app.state.runtime.pool, policy)
            outcomes = PunchOutcomes(upstreams[PUNCH], timeout)
            edge = KioskEdge(
                clocks=DeviceSyncClocks(upstreams[DEVICE_SYNC], timeout),
                sealer=IdentitySealingKeys(
                    upstreams[IDENTITY],
                    refresh_s=settings.pin_sealing_key_refresh_s,
                    timeout_s=timeout,
                ),
                store=attempts,
                lookup=outcomes,
                wait_s=settings.kiosk_wait_s,
                topics=(settings.kiosk_pin_attempts_topic, settings.kiosk_face_attempts_topic),
            )
            reconciler = AttemptReconciler(
                store=attempts,
                lookup=outcomes,
                policy=policy,
                batch=settings.kiosk_reconcile_batch,
            )
            clock_sync = Upstream(
                name=DEVICE_SYNC,
                client=sync_client,
                base_url=upstream_urls[DEVICE_SYNC],
                signing_key=signing_key,
            )
            # The kiosk edge's rate limits, in Redis (shared by every replica).
            assert settings.redis_url is not None
            app.state.edge_limiter = EdgeLimiter.from_url(edge_limits, settings.redis_url)
            app.state.gateway = Gateway(
                services=services, upstreams=upstreams, kiosk=edge, clock_sync=clock_sync
            )
            # Every replica sees every outcome: no consumer group, from the end.
            assert settings.kafka_bootstrap_servers is not None
            follower = TopicFollower(
                topics=[PUNCHES],
                handler=edge.on_outcome,
                bootstrap_servers=settings.kafka_bootstrap_servers,
                name="gateway.punch-outcomes",
            )
            stopping = asyncio.Event()
            retention = PostgresRetention(app.state.runtime.pool)
            pruners: list[Pruner] = [
                (
                    "kiosk attempt claims",
                    lambda: edge.prune(settings.kiosk_attempt_retention_days),
                ),
                (
                    "expired refresh tokens",
                    lambda: retention.prune_refresh_tokens(
                        settings.expired_refresh_token_retention_days
                    ),
                ),
                (
                    "audit rows",
                    lambda: retention.prune_audit_log(settings.audit_retention_days),
                ),
            ]
            app.state.prune_once = lambda: prune_once(pruners)
            tasks = [
                asyncio.create_task(follower.run()),
                asyncio.create_task(
                    run_periodically(
                        "prune",
                        lambda: prune_once(pruners),
                        every_s=PRUNE_EVERY_S,
                        first_after_s=60.0,
                        stopping=stopping,
                    )
                ),
                asyncio.create_task(
                    run_periodically(
                        "reconcile kiosk attempts",
                        reconciler.run_once,
                        every_s=settings.kiosk_reconcile_every_s,
                        stopping=stopping,
                    )
                ),
            ]
            app.state.reconciler = reconciler
            app.state.punch_outcomes = follower
            # Not ready until it follows the outcomes (else every answer would be "pending").
            app.state.ready_loops = {"follower:punch-outcomes": follower}
            try:
                yield
            finally:
                follower.stop()
                stopping.set()
                await asyncio.wait(tasks, timeout=10)
                await throttle.close()
                await app.state.edge_limiter.close()

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
