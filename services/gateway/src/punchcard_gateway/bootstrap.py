"""The gateway's composition root: ``bootstrap`` builds every adapter and use case once the
kit's runtime has its pool, and hands back one typed container (``app.state.gateway``).

Resources are opened on the runtime (``runtime.enter`` / ``runtime.on_close``), so the kit
closes them when the service stops, after its loops and jobs; the loops and jobs themselves
are started by ``main.py``'s ``on_started`` from what the container holds."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import httpx
from punchcard_kit.http_errors import status_of
from punchcard_kit.logging import get_logger
from punchcard_kit.messaging.follower import TopicFollower
from punchcard_kit.service import CLIENT_KEEPALIVE_EXPIRY_S, Runtime
from punchcard_kit.tracing import trace_outgoing

from .adapters.edge_limits import EdgeLimiter
from .adapters.kiosk import (
    CachedClocks,
    DeviceSyncClocks,
    FaceMatchEvidencePolicy,
    FaceMatchKioskEnrolments,
    IdentitySealingKeys,
    IdentitySignIns,
    PunchOutcomes,
)
from .adapters.passwords import PasswordHasher
from .adapters.postgres import PostgresKioskAttempts, PostgresRetention, unit_of_work_factory
from .adapters.throttle import RedisLoginThrottle
from .adapters.upstream import Upstream
from .domain.access import DEVICE_SYNC, FACE_MATCH, IDENTITY, PUNCH
from .domain.model import AuditEntry
from .service_layer import audit
from .service_layer.kiosk import CLOCKS, PUNCHES, KioskEdge
from .service_layer.kiosk_elevation import ElevationTokens, KioskElevations
from .service_layer.reconciler import AttemptReconciler
from .service_layer.services import Hasher, Services
from .service_layer.tokens import AccessTokens
from .settings import GatewaySettings

log = get_logger(__name__)

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


@dataclass
class GatewayContainer:
    """Everything the routes and the gateway's own loops use, built once at start-up."""

    # The admin API's use cases (sign-in, users, audit).
    services: Services
    # The services the admin API forwards to, by the names domain.access routes to.
    upstreams: Mapping[str, Upstream]
    # The kiosk-facing edge (entrypoints/kiosk.py).
    kiosk: KioskEdge
    # device-sync for the kiosk apps' held long-polls (``/kiosk/v1/sync``): a client of its
    # own, so that held polls never take the connections the admin API and punches use.
    clock_sync: Upstream
    # The kiosk edge's rate limits, in Redis (shared by every replica).
    edge_limiter: EdgeLimiter
    # Attempts without an outcome: looked at every KIOSK_RECONCILE_EVERY_S.
    reconciler: AttemptReconciler
    # Every replica sees every punch outcome: no consumer group, from the end.
    punch_outcomes: TopicFollower
    # Every replica sees every clock change (update, revocation, new credential): no group.
    clock_changes: TopicFollower
    # Manager / Administrator sign-ins at a kiosk, and their elevations (kiosk_elevation.py).
    elevations: KioskElevations | None = None
    # Kiosk attempt claims, expired refresh tokens and old audit rows: pruned hourly.
    pruners: list[Pruner] = field(default_factory=list)
    # Whether a clock's tenant keeps evidence photos (whoami tells the kiosk app; issue 17).
    evidence_policy: FaceMatchEvidencePolicy | None = None

    async def prune_once(self) -> None:
        await prune_once(self.pruners)


@dataclass(frozen=True)
class AuditRecorder:
    """The audit log for actions taken at a kiosk app (service_layer.audit)."""

    services: Services

    async def record(self, entry: AuditEntry) -> None:
        await audit.record(self.services, entry)


def password_hasher(settings: GatewaySettings) -> PasswordHasher:
    return PasswordHasher(
        max_concurrent=settings.password_hash_concurrency, wait_s=settings.password_hash_wait_s
    )


async def bootstrap(
    settings: GatewaySettings, runtime: Runtime, *, hasher: Hasher | None = None
) -> GatewayContainer:
    """Builds the container on ``runtime.pool``, opening the HTTP clients to the upstream
    services and the Redis clients on the runtime (closed when the service stops).
    ``hasher``: the password hasher (tests pass a cheap one)."""
    assert settings.admin_jwt_secret is not None and settings.redis_url is not None
    assert settings.kafka_bootstrap_servers is not None
    pool = runtime.pool
    timeout = httpx.Timeout(settings.upstream_timeout_s)
    # Idle connections are dropped before the services close them (CLIENT_KEEPALIVE_EXPIRY_S).
    sync_limits = httpx.Limits(
        max_connections=settings.kiosk_sync_max_connections,
        max_keepalive_connections=100,
        keepalive_expiry=CLIENT_KEEPALIVE_EXPIRY_S,
    )
    limits = httpx.Limits(keepalive_expiry=CLIENT_KEEPALIVE_EXPIRY_S)
    # Calls into the services carry the request's trace (punchcard_kit.tracing).
    hooks = {"request": [trace_outgoing]}
    client = await runtime.enter(
        httpx.AsyncClient(timeout=timeout, limits=limits, event_hooks=hooks)
    )
    sync_client = await runtime.enter(
        httpx.AsyncClient(timeout=timeout, limits=sync_limits, event_hooks=hooks)
    )

    passwords = hasher or password_hasher(settings)
    throttle = RedisLoginThrottle.from_url(settings.redis_url)
    runtime.on_close(throttle.close)
    services = Services(
        uow=unit_of_work_factory(pool),
        hasher=passwords,
        access_tokens=AccessTokens(
            settings.admin_jwt_secret.get_secret_value(), ttl_s=settings.access_token_ttl_s
        ),
        throttle=throttle,
        login_policy=settings.login_policy(),
        refresh_ttl_s=settings.refresh_token_ttl_s,
    )
    await passwords.burn("")  # prepares the unknown-e-mail hash before the first login

    signing_key = settings.internal_signing_key()
    upstream_urls = settings.upstream_urls()
    upstreams = {
        name: Upstream(name=name, client=client, base_url=url, signing_key=signing_key)
        for name, url in upstream_urls.items()
    }
    kiosk_timeout = settings.kiosk_upstream_timeout_s
    policy = settings.republish_policy()
    attempts = PostgresKioskAttempts(pool, policy)
    outcomes = PunchOutcomes(upstreams[PUNCH], kiosk_timeout)
    # Who a credential is, kept while the follower of the clocks' changes (below) reads.
    clocks = CachedClocks(
        DeviceSyncClocks(upstreams[DEVICE_SYNC], kiosk_timeout),
        ttl_s=settings.kiosk_clock_cache_s,
        live=lambda: clock_changes.healthy,
    )
    edge = KioskEdge(
        clocks=clocks,
        sealer=IdentitySealingKeys(
            upstreams[IDENTITY],
            refresh_s=settings.pin_sealing_key_refresh_s,
            timeout_s=kiosk_timeout,
        ),
        store=attempts,
        lookup=outcomes,
        wait_s=settings.kiosk_wait_s,
        topics=(
            settings.kiosk_pin_attempts_topic,
            settings.kiosk_face_attempts_topic,
            settings.kiosk_card_attempts_topic,
        ),
    )
    # Every replica follows the clocks' changes (no group, from the end), to forget what it
    # kept of a clock that was updated, revoked or given a new credential.
    clock_changes = TopicFollower(
        topics=[CLOCKS],
        handler=edge.on_clock_event,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        name="gateway.clock-changes",
    )
    edge_limiter = EdgeLimiter.from_url(settings.edge_limits(), settings.redis_url)
    runtime.on_close(edge_limiter.close)
    retention = PostgresRetention(pool)
    return GatewayContainer(
        services=services,
        upstreams=upstreams,
        kiosk=edge,
        clock_sync=Upstream(
            name=DEVICE_SYNC,
            client=sync_client,
            base_url=upstream_urls[DEVICE_SYNC],
            signing_key=signing_key,
        ),
        edge_limiter=edge_limiter,
        elevations=KioskElevations(
            sealer=edge.sealer,
            checker=IdentitySignIns(upstreams[IDENTITY], kiosk_timeout),
            tokens=ElevationTokens(settings.admin_jwt_secret.get_secret_value()),
            enroller=FaceMatchKioskEnrolments(
                upstreams[FACE_MATCH], settings.kiosk_enrolment_timeout_s
            ),
            audit=AuditRecorder(services),
            status_of=status_of,
        ),
        evidence_policy=FaceMatchEvidencePolicy(upstreams[FACE_MATCH], kiosk_timeout),
        reconciler=AttemptReconciler(
            store=attempts,
            lookup=outcomes,
            policy=policy,
            batch=settings.kiosk_reconcile_batch,
        ),
        clock_changes=clock_changes,
        punch_outcomes=TopicFollower(
            topics=[PUNCHES],
            handler=edge.on_outcome,
            bootstrap_servers=settings.kafka_bootstrap_servers,
            name="gateway.punch-outcomes",
        ),
        pruners=[
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
        ],
    )
