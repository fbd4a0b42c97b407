"""Identity's composition root: ``bootstrap(settings, **overrides)`` builds the adapters and
use cases into one typed container; ``main.build_app`` calls it on the kit's runtime (the
pool), tests hand in fakes as overrides."""

from __future__ import annotations

import base64
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

from .adapters.lockout import FailureCounters, connect_redis
from .adapters.pin_hasher import PinHasher
from .adapters.postgres import PostgresUnitOfWork
from .adapters.sealing import DevicePinSealer, PinOpener
from .domain.pin_attempts import PinLimits
from .service_layer import unit_of_work as ports
from .service_layer.verification import CardIdentifier, PinVerifier
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


def build_opener(settings: IdentitySettings) -> PinOpener:
    return PinOpener(settings.sealing_keys(), settings.pin_sealing_current)


def build_device_pins(settings: IdentitySettings) -> DevicePinSealer | None:
    """device-sync's key for PINs of clocks that verify them; None: not configured."""
    if settings.device_pin_public_key is None:
        return None
    key = base64.b64decode(settings.device_pin_public_key)
    return DevicePinSealer(key, settings.device_pin_key_id)


def time_one_hash(hasher: ports.PinHasher) -> float:
    """Seconds one PIN check takes on this machine (the pace of answers to unknown IDs)."""
    started = time.monotonic()
    hasher.verify("0000", None)
    return time.monotonic() - started


def pin_limits(settings: IdentitySettings) -> PinLimits:
    return PinLimits(
        worker_clock_threshold=settings.pin_lockout_threshold,
        worker_total_threshold=settings.pin_lockout_total_threshold,
        lock_minutes=settings.pin_lockout_minutes,
        clock_failure_limit=settings.pin_device_failure_limit,
    )


@dataclass(frozen=True)
class IdentityContainer:
    """What identity's entrypoints call: the admin use cases' services, the PIN verifier, the
    opener of sealed PINs (its public key is served to the edge), and the Redis client (closed
    by the runtime, pinged by /readyz)."""

    services: Services
    verifier: PinVerifier
    opener: PinOpener
    redis: Any | None = None
    cards: CardIdentifier | None = None  # badge-card attempts (the same opener and counters)


def bootstrap(
    settings: IdentitySettings,
    *,
    pool: Any = None,
    uow: ports.UnitOfWorkFactory | None = None,
    redis: Any = None,
    counters: ports.FailureCounters | None = None,
    hasher: ports.PinHasher | None = None,
    opener: PinOpener | None = None,
) -> IdentityContainer:
    """The container on ``pool`` (the kit's runtime pool), with real adapters unless given.
    The Redis client is only created here (it connects on first use)."""
    if uow is None:
        uow = partial(PostgresUnitOfWork.on_pool, pool)
    if counters is None:
        if redis is None:
            redis = connect_redis(
                settings.redis_url, settings.redis_timeout_s, settings.redis_connect_timeout_s
            )
        counters = FailureCounters(
            redis,
            settings.pin_failure_window_minutes * 60,
            settings.pin_device_window_minutes * 60,
        )
    hasher = hasher if hasher is not None else build_hasher(settings)
    opener = opener if opener is not None else build_opener(settings)
    services = Services(
        uow=uow,
        hasher=hasher,
        counters=counters,
        device_pins=build_device_pins(settings),
        projection_wait_s=settings.projection_wait_s,
    )
    verifier = PinVerifier(
        opener=opener,
        hasher=hasher,
        counters=counters,
        limits=pin_limits(settings),
        hash_s=time_one_hash(hasher),
        hashing=ThreadPoolExecutor(settings.pin_hash_threads, thread_name_prefix="pin-check"),
        assignment_grace_s=settings.assignment_grace_s,
    )
    return IdentityContainer(
        services=services,
        verifier=verifier,
        opener=opener,
        redis=redis,
        cards=CardIdentifier(
            opener=opener, counters=counters, assignment_grace_s=settings.assignment_grace_s
        ),
    )
