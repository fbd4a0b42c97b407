"""What clocks say in each request (last seen, software version, applied sequence, roster
digest), kept in memory and written in one statement per tenant every second: a heartbeat
costs no database round trip of its own. Losing the last second of heartbeats in a crash only
delays a status change."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from punchcard_kit.logging import get_logger
from punchcard_kit.tenancy import tenant_transaction

from . import repository as repo

log = get_logger(__name__)


@dataclass(frozen=True)
class Heartbeat:
    tenant_id: str
    clock_id: str
    seen_at: datetime
    software_version: str
    applied_sequence: int
    roster_digest: str


class HeartbeatBuffer:
    def __init__(self, pool: asyncpg.Pool, interval_s: float = 1.0) -> None:
        self._pool = pool
        self._interval_s = interval_s
        self._pending: dict[str, Heartbeat] = {}
        self._stopping = asyncio.Event()

    def record(self, beat: Heartbeat) -> None:
        self._pending[beat.clock_id] = beat

    async def flush(self) -> None:
        pending, self._pending = self._pending, {}
        by_tenant: dict[str, list[Heartbeat]] = {}
        for beat in pending.values():
            by_tenant.setdefault(beat.tenant_id, []).append(beat)
        try:
            for tenant_id, beats in by_tenant.items():
                async with tenant_transaction(self._pool, repo.APP_ROLE, tenant_id) as conn:
                    await repo.save_heartbeats(
                        conn,
                        tenant_id,
                        [
                            (
                                b.clock_id,
                                b.seen_at,
                                b.software_version,
                                b.applied_sequence,
                                b.roster_digest,
                            )
                            for b in beats
                        ],
                    )
        except Exception as error:  # noqa: BLE001 - a heartbeat write never takes the loop down
            # Keep them for the next round (newer heartbeats of the same clock win).
            for clock_id, beat in pending.items():
                self._pending.setdefault(clock_id, beat)
            log.warning("cannot save clock heartbeats; retrying", error=type(error).__name__)

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await asyncio.wait_for(self._stopping.wait(), self._interval_s)
            except TimeoutError:
                pass
            await self.flush()

    def stop(self) -> None:
        self._stopping.set()
