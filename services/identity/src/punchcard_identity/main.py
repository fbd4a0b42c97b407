"""Entry point: ``punchcard-identity`` serves the internal API and verifies kiosk PIN attempts;
``punchcard-identity migrate`` only migrates the database (a deploy job)."""

import time

from fastapi import FastAPI
from punchcard_kit.service import Runtime, Subscription, create_service_app, service_main

from .adapters.lockout import FailureCounters, connect_redis
from .adapters.pin_hasher import PinHasher
from .adapters.sealing import PinOpener
from .domain.pin_attempts import PinLimits
from .entrypoints.api import build_router
from .service_layer import assignments
from .service_layer.verification import PinVerifier
from .service_layer.workers import Services
from .settings import IdentitySettings


def build_hasher(settings: IdentitySettings) -> PinHasher:
    """The PIN hasher with the configured peppers and argon2id cost (also the benches' floor)."""
    return PinHasher(
        settings.peppers(),
        settings.pin_pepper_current,
        memory_kib=settings.argon2_memory_kib,
        time_cost=settings.argon2_time_cost,
        parallelism=settings.argon2_parallelism,
    )


def time_one_hash(hasher: PinHasher) -> float:
    """Seconds one PIN check takes on this machine (the pace of answers to unknown IDs)."""
    started = time.monotonic()
    hasher.verify("0000", None)
    return time.monotonic() - started


def build_app(settings: IdentitySettings) -> FastAPI:
    """The composition root: adapters are built here, connections opened in the lifespan."""
    hasher = build_hasher(settings)
    opener = PinOpener(settings.sealing_keys(), settings.pin_sealing_current)
    holder: dict = {}

    def subscriptions(runtime: Runtime):
        redis = connect_redis(
            settings.redis_url, settings.redis_timeout_s, settings.redis_connect_timeout_s
        )
        holder["redis"] = redis
        app.state.ready_checks = {"redis": redis.ping}
        counters = FailureCounters(
            redis, settings.pin_failure_window_minutes * 60, settings.pin_device_window_minutes * 60
        )
        services = Services(pool=runtime.pool, hasher=hasher, counters=counters)
        holder["services"] = services
        verifier = PinVerifier(
            services,
            opener,
            PinLimits(
                worker_clock_threshold=settings.pin_lockout_threshold,
                worker_total_threshold=settings.pin_lockout_total_threshold,
                lock_minutes=settings.pin_lockout_minutes,
                clock_failure_limit=settings.pin_device_failure_limit,
            ),
            hash_s=time_one_hash(hasher),
        )
        # The attempts carry sealed PINs: a dead-lettered one is kept 7 days (1-day segments,
        # so gone within 8), time for someone to redrive it; docs/events.md argues it.
        return [
            Subscription(
                "identity.pin-attempts",
                [settings.pin_attempts_topic],
                verifier.handle,
                dlq_config={"retention.ms": "604800000", "segment.ms": "86400000"},
                lanes=settings.pin_verify_lanes,
            ),
            Subscription(
                "identity.assignments", [assignments.ASSIGNMENTS_TOPIC], assignments.handle
            ),
        ]

    async def on_started(runtime: Runtime) -> None:
        app.state.identity = holder["services"]

    async def on_stopped(runtime: Runtime) -> None:
        await holder["redis"].aclose()

    app = create_service_app(
        settings,
        package=__package__,
        title="Punchcard Identity",
        routers=[build_router()],
        subscriptions=subscriptions,
        on_started=on_started,
        on_stopped=on_stopped,
    )
    app.state.pin_opener = opener
    return app


def main() -> None:
    service_main(IdentitySettings, build_app, __package__)


if __name__ == "__main__":
    main()
