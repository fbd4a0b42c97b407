"""The composition root: ``bootstrap(settings, pool=...)`` builds device-sync's adapters and
use cases into one typed container (tests pass fakes as overrides). ``main.py`` calls it once
the kit's runtime has the pool, and runs its loops."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg

from .adapters.heartbeats import HeartbeatBuffer
from .adapters.postgres import PostgresDirectory, unit_of_work_factory
from .adapters.sealing import AesGcmSealer
from .adapters.wakeups import ClockWakeups
from .domain.model import PollLimits
from .service_layer.biometrics import Biometrics, StoredBiometrics
from .service_layer.sync import ClockSync
from .service_layer.unit_of_work import Directory, UnitOfWorkFactory
from .settings import DeviceSyncSettings
from .views import Views


@dataclass(frozen=True)
class DeviceSyncContainer:
    settings: DeviceSyncSettings
    uow: UnitOfWorkFactory
    directory: Directory
    views: Views
    wakeups: ClockWakeups
    heartbeats: HeartbeatBuffer
    sync: ClockSync
    # Templates from hardware clocks (the device edge's seam: uploads and their commands).
    biometrics: Biometrics

    def stop(self) -> None:
        """Shutdown: held long-polls are answered, the loops end."""
        self.wakeups.stop()
        self.heartbeats.stop()
        self.sync.stop()


def bootstrap(
    settings: DeviceSyncSettings, *, pool: asyncpg.Pool, **overrides: Any
) -> DeviceSyncContainer:
    assert settings.database_url is not None
    uow = overrides.get("uow") or unit_of_work_factory(pool)
    directory = overrides.get("directory") or PostgresDirectory(pool)
    wakeups = overrides.get("wakeups") or ClockWakeups(settings.database_url)
    heartbeats = overrides.get("heartbeats") or HeartbeatBuffer(
        pool, settings.heartbeat_flush_interval_s
    )
    sync = overrides.get("sync") or ClockSync(
        uow,
        directory,
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
    # A revoked or rotated credential is forgotten at once, on every replica.
    wakeups.on_credential_change(sync.forget_credential)
    views = overrides.get("views") or Views(
        pool, offline_after=timedelta(seconds=settings.clock_offline_after_s)
    )
    biometrics = overrides.get("biometrics") or StoredBiometrics(
        AesGcmSealer(settings.biometric_key_bytes())
    )
    return DeviceSyncContainer(
        settings=settings,
        uow=uow,
        directory=directory,
        views=views,
        wakeups=wakeups,
        heartbeats=heartbeats,
        sync=sync,
        biometrics=biometrics,
    )
