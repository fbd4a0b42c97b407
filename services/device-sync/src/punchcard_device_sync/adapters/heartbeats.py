"""What clocks say in each request (last seen, software version, applied sequence, roster
digest), kept in memory and written in one statement per tenant every second: a heartbeat
costs no database round trip of its own. A clock that only says "still here" is written once
per ``write_every`` (``domain.model.status_write_due``), anything new at once. Losing the last
second of heartbeats in a crash only delays a status change."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

import asyncpg
from punchcard_kit.logging import get_logger
from punchcard_kit.retry import is_transient
from punchcard_kit.tenancy import tenant_transaction

from ..domain.model import Heartbeat, status_write_due
from .postgres import APP_ROLE

log = get_logger(__name__)

__all__ = ["Heartbeat", "HeartbeatBuffer"]


class HeartbeatBuffer:
    def __init__(
        self,
        pool: asyncpg.Pool,
        interval_s: float = 1.0,
        write_every: timedelta = timedelta(0),
    ) -> None:
        self._pool = pool
        self._interval_s = interval_s
        self._write_every = write_every
        self._pending: dict[str, Heartbeat] = {}
        self._written: dict[str, Heartbeat] = {}  # each clock's last heartbeat written
        self._stopping = asyncio.Event()

    def record(self, beat: Heartbeat) -> None:
        written = self._written.get(beat.clock_id)
        changed = written is None or (
            beat.software_version,
            beat.applied_sequence,
            beat.roster_digest,
        ) != (written.software_version, written.applied_sequence, written.roster_digest)
        at = written.seen_at if written is not None else None
        if status_write_due(at, beat.seen_at, changed, self._write_every):
            self._pending[beat.clock_id] = beat

    async def flush(self) -> None:
        """One statement per tenant, each in its own transaction: one tenant's failure never
        holds back another's heartbeats. A tenant whose write fails while PostgreSQL is down
        keeps its heartbeats for the next round; one that fails for what a heartbeat carried
        is written beat by beat, and a beat that still fails is dropped (logged)."""
        pending, self._pending = self._pending, {}
        by_tenant: dict[str, list[Heartbeat]] = {}
        for beat in pending.values():
            by_tenant.setdefault(beat.tenant_id, []).append(beat)
        for tenant_id, beats in by_tenant.items():
            try:
                await self._save(tenant_id, beats)
            except Exception as error:  # noqa: BLE001 - a heartbeat write never takes the loop down
                if is_transient(error):
                    self._keep(beats)
                    log.warning(
                        "cannot save clock heartbeats; retrying", error=type(error).__name__
                    )
                    continue
                await self._save_one_by_one(tenant_id, beats)

    async def _save_one_by_one(self, tenant_id: str, beats: list[Heartbeat]) -> None:
        for beat in beats:
            try:
                await self._save(tenant_id, [beat])
            except Exception as error:  # noqa: BLE001 - see flush
                if is_transient(error):
                    self._keep([beat])
                    continue
                log.error(
                    "clock heartbeat refused by the database; dropped",
                    clock_id=beat.clock_id,
                    error=type(error).__name__,
                )

    def _keep(self, beats: list[Heartbeat]) -> None:
        # Kept for the next round (a newer heartbeat of the same clock wins).
        for beat in beats:
            self._pending.setdefault(beat.clock_id, beat)

    async def _save(self, tenant_id: str, beats: list[Heartbeat]) -> None:
        async with tenant_transaction(self._pool, APP_ROLE, tenant_id) as conn:
            await _save_heartbeats(conn, tenant_id, beats)
        for beat in beats:
            self._written[beat.clock_id] = beat

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await asyncio.wait_for(self._stopping.wait(), self._interval_s)
            except TimeoutError:
                pass
            await self.flush()

    def stop(self) -> None:
        self._stopping.set()


async def _save_heartbeats(
    conn: asyncpg.Connection, tenant_id: str, beats: Sequence[Heartbeat]
) -> None:
    await conn.execute(
        "INSERT INTO clock_heartbeats AS h (clock_id, tenant_id, last_seen_at, software_version,"
        " applied_sequence, roster_digest)"
        " SELECT v.clock_id, $1, v.seen, v.version, v.applied, v.digest"
        " FROM unnest($2::uuid[], $3::timestamptz[], $4::text[], $5::bigint[], $6::text[])"
        "   AS v(clock_id, seen, version, applied, digest)"
        " WHERE EXISTS (SELECT 1 FROM clocks c WHERE c.id = v.clock_id)"
        " ON CONFLICT (clock_id) DO UPDATE SET last_seen_at = greatest(h.last_seen_at,"
        " EXCLUDED.last_seen_at), software_version = EXCLUDED.software_version,"
        " applied_sequence = EXCLUDED.applied_sequence, roster_digest = EXCLUDED.roster_digest",
        tenant_id,
        [b.clock_id for b in beats],
        [b.seen_at for b in beats],
        [b.software_version for b in beats],
        [b.applied_sequence for b in beats],
        [b.roster_digest for b in beats],
    )
