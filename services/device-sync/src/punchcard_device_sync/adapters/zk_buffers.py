"""What ZK devices say on every poll, kept in memory and written once a second in one
statement per tenant (as ``heartbeats.py``; ``main.py`` runs ``flush`` every second): each
ZK clock's last poll and its ``INFO`` (firmware, counts, address) — a poll that brings nothing
new once per ``write_every``, as a heartbeat —, and the devices calling
with a serial nobody registered (bounded: at most ``cap`` rows, the oldest pruned). A poll
costs no database write."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import asyncpg
from punchcard_kit.logging import get_logger
from punchcard_kit.tenancy import tenant_transaction

from ..domain.model import status_write_due
from ..domain.zk import DeviceInfo, serial_key
from .postgres import APP_ROLE

log = get_logger(__name__)


@dataclass(frozen=True)
class ZkPoll:
    tenant_id: str
    clock_id: str
    polled_at: datetime
    push_version: str = ""
    info: DeviceInfo | None = None


@dataclass(frozen=True)
class UnknownCall:
    serial_number: str
    first_seen_at: datetime
    last_seen_at: datetime
    requests: int
    remote_addr: str
    push_version: str


class ZkBuffers:
    def __init__(
        self,
        pool: asyncpg.Pool,
        unregistered_cap: int = 1000,
        unregistered_retention: timedelta = timedelta(days=30),
        write_every: timedelta = timedelta(0),
    ) -> None:
        self._pool = pool
        self._write_every = write_every
        self._written: dict[str, ZkPoll] = {}  # each clock's last poll written
        self._cap = unregistered_cap
        self._retention = unregistered_retention
        self._polls: dict[str, ZkPoll] = {}
        self._unknown: dict[str, UnknownCall] = {}

    def poll(
        self,
        tenant_id: str,
        clock_id: str,
        polled_at: datetime,
        push_version: str,
        info: DeviceInfo | None,
    ) -> None:
        beat = ZkPoll(tenant_id, clock_id, polled_at, push_version[:32], info)
        before = self._polls.get(beat.clock_id)
        if beat.info is None and before is not None and before.info is not None:
            beat = replace(beat, info=before.info)  # INFO comes once: keep it for the write
        written = self._written.get(clock_id)
        changed = (
            written is None
            or before is not None  # one is waiting for the next write already
            or beat.push_version != written.push_version
            or (beat.info is not None and beat.info != written.info)
        )
        at = written.polled_at if written is not None else None
        if status_write_due(at, polled_at, changed, self._write_every):
            self._polls[beat.clock_id] = beat

    def unknown(self, serial: str, at: datetime, remote_addr: str, push_version: str) -> None:
        if serial not in self._unknown and len(self._unknown) >= self._cap:
            return  # a flood of invented serials: the cap holds in memory too
        before = self._unknown.get(serial)
        self._unknown[serial] = UnknownCall(
            serial,
            before.first_seen_at if before else at,
            at,
            (before.requests if before else 0) + 1,
            remote_addr[:64],
            push_version[:32] or (before.push_version if before else ""),
        )

    async def flush(self) -> None:
        polls, self._polls = self._polls, {}
        unknown, self._unknown = self._unknown, {}
        by_tenant: dict[str, list[ZkPoll]] = {}
        for beat in polls.values():
            by_tenant.setdefault(beat.tenant_id, []).append(beat)
        for tenant_id, beats in by_tenant.items():
            try:
                async with tenant_transaction(self._pool, APP_ROLE, tenant_id) as conn:
                    await _save_polls(conn, tenant_id, beats)
                for beat in beats:
                    self._written[beat.clock_id] = beat
            except Exception as error:  # noqa: BLE001 - a status write never takes the loop down
                log.warning("cannot save ZK clock polls", error=type(error).__name__)
        if unknown:
            try:
                await self._save_unknown(list(unknown.values()))
            except Exception as error:  # noqa: BLE001
                log.warning("cannot save unregistered devices", error=type(error).__name__)

    async def _save_unknown(self, calls: list[UnknownCall]) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO zk_unregistered AS u (serial_number, first_seen_at, last_seen_at,"
                " requests, remote_addr, push_version)"
                " SELECT v.serial, v.first, v.last, v.n, v.addr, v.ver FROM unnest($1::text[],"
                " $2::timestamptz[], $3::timestamptz[], $4::bigint[], $5::text[], $6::text[],"
                " $7::text[]) AS v(serial, first, last, n, addr, ver, key)"
                " WHERE NOT EXISTS (SELECT 1 FROM zk_devices d WHERE d.serial_number = v.key)"
                " ON CONFLICT (serial_number) DO UPDATE SET"
                " last_seen_at = greatest(u.last_seen_at, EXCLUDED.last_seen_at),"
                " requests = u.requests + EXCLUDED.requests,"
                " remote_addr = EXCLUDED.remote_addr, push_version = CASE"
                " WHEN EXCLUDED.push_version <> '' THEN EXCLUDED.push_version"
                " ELSE u.push_version END",
                [c.serial_number for c in calls],
                [c.first_seen_at for c in calls],
                [c.last_seen_at for c in calls],
                [c.requests for c in calls],
                [c.remote_addr for c in calls],
                [c.push_version for c in calls],
                [serial_key(c.serial_number) for c in calls],
            )
            await self.prune(conn)

    async def prune_unregistered(self) -> None:
        """Hourly (``main.py``): a list nobody calls any more still empties."""
        async with self._pool.acquire() as conn:
            await self.prune(conn)

    async def prune(self, conn: asyncpg.Connection) -> None:
        """Older than the retention, and past the cap (the least recently seen go)."""
        await conn.execute(
            "DELETE FROM zk_unregistered WHERE last_seen_at < now() - $1::interval",
            self._retention,
        )
        await conn.execute(
            "DELETE FROM zk_unregistered WHERE serial_number IN (SELECT serial_number"
            " FROM zk_unregistered ORDER BY last_seen_at DESC OFFSET $1)",
            self._cap,
        )


async def _save_polls(conn: asyncpg.Connection, tenant_id: str, beats: list[ZkPoll]) -> None:
    def info(beat: ZkPoll, name: str):
        return getattr(beat.info, name) if beat.info is not None else None

    await conn.execute(
        "INSERT INTO zk_clock_state AS s (clock_id, tenant_id, last_poll_at, push_version,"
        " firmware, users, fingerprints, faces, punches, ip)"
        " SELECT v.clock_id, $1, v.polled, v.pushver, coalesce(v.firmware, ''), v.users, v.fps,"
        " v.faces, v.punches, coalesce(v.ip, '')"
        " FROM unnest($2::uuid[], $3::timestamptz[], $4::text[], $5::text[], $6::int[],"
        " $7::int[], $8::int[], $9::int[], $10::text[])"
        "   AS v(clock_id, polled, pushver, firmware, users, fps, faces, punches, ip)"
        " WHERE EXISTS (SELECT 1 FROM clocks c WHERE c.id = v.clock_id)"
        " ON CONFLICT (clock_id) DO UPDATE SET"
        " last_poll_at = greatest(s.last_poll_at, EXCLUDED.last_poll_at),"
        " push_version = CASE WHEN EXCLUDED.push_version <> '' THEN EXCLUDED.push_version"
        "   ELSE s.push_version END,"
        " firmware = CASE WHEN EXCLUDED.firmware <> '' THEN EXCLUDED.firmware ELSE s.firmware END,"
        " users = coalesce(EXCLUDED.users, s.users),"
        " fingerprints = coalesce(EXCLUDED.fingerprints, s.fingerprints),"
        " faces = coalesce(EXCLUDED.faces, s.faces),"
        " punches = coalesce(EXCLUDED.punches, s.punches),"
        " ip = CASE WHEN EXCLUDED.ip <> '' THEN EXCLUDED.ip ELSE s.ip END, updated_at = now()",
        tenant_id,
        [b.clock_id for b in beats],
        [b.polled_at for b in beats],
        [b.push_version for b in beats],
        [info(b, "firmware") for b in beats],
        [info(b, "users") for b in beats],
        [info(b, "fingerprints") for b in beats],
        [info(b, "faces") for b in beats],
        [info(b, "punches") for b in beats],
        [info(b, "ip") for b in beats],
    )
