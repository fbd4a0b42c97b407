"""The composition root: ``bootstrap(settings, pool=...)`` builds device-sync's adapters and
use cases into one typed container (tests pass fakes as overrides). ``main.py`` calls it once
the kit's runtime has the pool, and runs its loops."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg
from punchcard_kit.sealing import SealedOpener

from .adapters.heartbeats import HeartbeatBuffer
from .adapters.postgres import PostgresDirectory, unit_of_work_factory
from .adapters.sealing import AesGcmSealer
from .adapters.wakeups import ClockWakeups
from .adapters.zk_buffers import ZkBuffers
from .domain.model import PollLimits, status_write_every
from .domain.zk import Options
from .service_layer.biometrics import Biometrics, StoredBiometrics
from .service_layer.sync import ClockSync
from .service_layer.unit_of_work import Directory, UnitOfWorkFactory
from .service_layer.zk_edge import ZkEdge, ZkSettings
from .settings import DeviceSyncSettings
from .views import Views


def build_device_pin_opener(settings: DeviceSyncSettings) -> SealedOpener | None:
    """Opens the PINs identity sealed for clocks that verify PINs (None: not configured,
    and no clock ever gets a PIN)."""
    keys = settings.device_pin_keys()
    if not keys:
        return None
    return SealedOpener(keys, sorted(keys)[0])


@dataclass(frozen=True)
class DeviceSyncContainer:
    settings: DeviceSyncSettings
    uow: UnitOfWorkFactory
    directory: Directory
    views: Views
    wakeups: ClockWakeups
    heartbeats: HeartbeatBuffer
    sync: ClockSync
    zk: ZkEdge
    zk_buffers: ZkBuffers
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
    status_every = status_write_every(
        timedelta(seconds=settings.heartbeat_write_every_s),
        timedelta(seconds=settings.clock_offline_after_s),
    )
    heartbeats = overrides.get("heartbeats") or HeartbeatBuffer(
        pool, settings.heartbeat_flush_interval_s, status_every
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
    zk_buffers = overrides.get("zk_buffers") or ZkBuffers(
        pool,
        unregistered_cap=settings.zk_unregistered_cap,
        unregistered_retention=timedelta(days=settings.zk_unregistered_retention_days),
        write_every=status_every,
    )
    biometrics = overrides.get("biometrics") or StoredBiometrics(
        AesGcmSealer(settings.biometric_key_bytes())
    )
    zk = overrides.get("zk") or ZkEdge(
        uow,
        directory,
        heartbeats,
        zk_buffers,
        biometrics,
        device_pin_opener=build_device_pin_opener(settings),
        settings=ZkSettings(
            options=Options(
                delay_s=settings.zk_delay_s,
                error_delay_s=settings.zk_error_delay_s,
                trans_interval_min=settings.zk_trans_interval_min,
            ),
            device_cache_s=settings.zk_device_cache_s,
            gap_after_offline=timedelta(seconds=settings.zk_gap_after_offline_s),
            gap_margin=timedelta(seconds=settings.zk_gap_margin_s),
            max_skew_s=settings.zk_max_skew_s,
            redeliver_after=timedelta(seconds=settings.zk_redeliver_after_s),
            attlog_batch_limit=settings.zk_attlog_batch_limit,
            attlog_concurrency=settings.zk_attlog_concurrency,
        ),
    )
    # A revoked or rotated credential is forgotten at once, on every replica; a changed
    # queue is read again at the ZK clock's next poll.
    wakeups.on_credential_change(sync.forget_credential)
    wakeups.on_credential_change(zk.forget_device)
    wakeups.on_queue_change(zk.forget)
    views = overrides.get("views") or Views(
        pool, offline_after=timedelta(seconds=settings.clock_offline_after_s)
    )
    return DeviceSyncContainer(
        settings=settings,
        uow=uow,
        directory=directory,
        views=views,
        wakeups=wakeups,
        heartbeats=heartbeats,
        sync=sync,
        zk=zk,
        zk_buffers=zk_buffers,
        biometrics=biometrics,
    )
