"""The clock side: authenticate a clock, take its acknowledgements and heartbeat, hand it
its commands after the last sequence it applied — holding the request until one is queued —
and resync its roster by itself when its digest says it drifted."""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
from prometheus_client import Counter, Gauge, Histogram
from punchcard_kit.failpoints import failpoint
from punchcard_kit.http_errors import ApiError
from punchcard_kit.logging import get_logger
from punchcard_kit.tenancy import tenant_transaction

from ..adapters import repository as repo
from ..adapters.heartbeats import Heartbeat, HeartbeatBuffer
from ..adapters.wakeups import ClockWakeups
from ..domain.model import credential_clock_id, credential_hash
from . import roster

log = get_logger(__name__)

COMMANDS_SENT = Counter("device_sync_commands_sent_total", "Commands handed to clocks")
ACKS = Counter("device_sync_acks_total", "Command results from clocks", ["result"])
RESYNCS = Counter("device_sync_auto_resyncs_total", "Automatic full resyncs (digest mismatch)")
HELD = Gauge("device_sync_held_requests", "Clock requests held open, waiting for commands")
SYNC_SECONDS = Histogram(
    "device_sync_sync_seconds", "Time to answer a clock's sync (including the hold)"
)


def unauthorized() -> ApiError:
    return ApiError(401, "CLOCK_UNAUTHORIZED", "unknown, rotated or revoked clock credential")


@dataclass(frozen=True)
class AuthenticatedClock:
    tenant_id: str
    clock_id: str


@dataclass(frozen=True)
class Ack:
    command_id: str
    sequence: int
    result_code: int
    detail: str


class ClockSync:
    def __init__(
        self,
        pool: asyncpg.Pool,
        wakeups: ClockWakeups,
        heartbeats: HeartbeatBuffer,
        *,
        auth_cache_ttl_s: float = 30.0,
        batch_limit: int = 200,
        auto_resync_every: timedelta = timedelta(minutes=5),
    ) -> None:
        self._pool = pool
        self._wakeups = wakeups
        self._heartbeats = heartbeats
        self._auth_ttl = auth_cache_ttl_s
        self._limit = batch_limit
        self._auto_resync_every = auto_resync_every
        # credential hash -> (clock, valid until); dropped on a revoke/rotate notification.
        self._auth: dict[bytes, tuple[AuthenticatedClock, float]] = {}
        # clock id -> (applied sequence, digest) last found right: not checked again.
        self._verified: dict[str, tuple[int, str]] = {}

    def forget_credential(self, clock_id: str) -> None:
        for key, (clock, _) in list(self._auth.items()):
            if clock.clock_id == clock_id:
                del self._auth[key]
        self._verified.pop(clock_id, None)

    async def authenticate(self, credential: str) -> AuthenticatedClock:
        digest = credential_hash(credential)
        cached = self._auth.get(digest)
        now = time.monotonic()
        if cached is not None and cached[1] > now:
            return cached[0]
        clock_id = credential_clock_id(credential)
        if clock_id is None:
            raise unauthorized()
        async with self._pool.acquire() as conn:
            found = await repo.credential_of(conn, clock_id)
        if found is None or not hmac.compare_digest(found[1], digest):
            raise unauthorized()
        clock = AuthenticatedClock(tenant_id=found[0], clock_id=clock_id)
        self._auth[digest] = (clock, now + self._auth_ttl)
        return clock

    def _tx(self, clock: AuthenticatedClock):
        return tenant_transaction(self._pool, repo.APP_ROLE, clock.tenant_id)

    async def acknowledge(self, clock: AuthenticatedClock, acks: Sequence[Ack]) -> int:
        if not acks:
            return 0
        async with self._tx(clock) as conn:
            rows = await repo.record_acks(
                conn,
                clock.tenant_id,
                clock.clock_id,
                [(a.command_id, a.sequence, a.result_code, a.detail[:500]) for a in acks],
            )
        for row in rows:
            ACKS.labels("ok" if row["result_code"] == 0 else "failed").inc()
            if row["result_code"] != 0:
                log.warning(
                    "clock failed a command",
                    clock_id=clock.clock_id,
                    sequence=row["sequence"],
                    kind=row["kind"],
                    worker_id=row["worker_id"],
                    result_code=row["result_code"],
                    detail=row["detail"],
                )
        return len(rows)

    def heartbeat(
        self, clock: AuthenticatedClock, applied: int, digest: str | None, version: str
    ) -> None:
        self._heartbeats.record(
            Heartbeat(
                tenant_id=clock.tenant_id,
                clock_id=clock.clock_id,
                seen_at=datetime.now(UTC),
                software_version=version[:100],
                applied_sequence=applied,
                roster_digest=digest or "",
            )
        )

    async def check_roster(self, clock: AuthenticatedClock, applied: int, digest: str) -> bool:
        """True when a resync was queued: the clock has applied everything queued and still
        holds something else than it should (or claims a sequence never issued)."""
        if self._verified.get(clock.clock_id) == (applied, digest):
            return False
        async with self._tx(clock) as conn:
            expected = await repo.expected_roster(conn, clock.tenant_id, clock.clock_id)
            if expected is None:
                raise unauthorized()
            last_sequence, expected_digest = expected
            if applied < last_sequence:
                return False  # still catching up: compare once it has everything
            if applied == last_sequence and hmac.compare_digest(digest, expected_digest):
                self._verified[clock.clock_id] = (applied, digest)
                return False
            locked = await conn.fetchrow(
                "SELECT last_auto_resync_at FROM clocks WHERE tenant_id = $1 AND id = $2"
                " FOR UPDATE",
                clock.tenant_id,
                clock.clock_id,
            )
            last = locked["last_auto_resync_at"]
            if last is not None and datetime.now(UTC) - last < self._auto_resync_every:
                log.error(
                    "clock roster still differs after an automatic resync; waiting",
                    clock_id=clock.clock_id,
                    applied_sequence=applied,
                )
                return False
            reason = (
                "roster digest mismatch"
                if applied == last_sequence
                else "clock is ahead of the server's queue"
            )
            await repo.mark_auto_resync(conn, clock.tenant_id, clock.clock_id)
            await roster.full_resync(
                conn, clock.tenant_id, clock.clock_id, reason, at_least=applied
            )
        RESYNCS.inc()
        log.warning("clock roster resync queued", clock_id=clock.clock_id, reason=reason)
        return True

    async def commands(self, clock: AuthenticatedClock, after: int, wait_s: float) -> str:
        """The JSON answer: commands after ``after``; waits up to ``wait_s`` for the first."""
        started = time.monotonic()
        deadline = started + wait_s
        with self._wakeups.waiter(clock.clock_id) as woken:
            while True:
                woken.clear()
                async with self._tx(clock) as conn:
                    found = await repo.fetch_commands(
                        conn, clock.tenant_id, clock.clock_id, after, self._limit
                    )
                if found is None:
                    raise unauthorized()
                last_sequence, bodies = found
                remaining = deadline - time.monotonic()
                if bodies or remaining <= 0 or self._wakeups.stopping:
                    break
                HELD.inc()
                try:
                    async with asyncio.timeout(remaining):
                        await woken.wait()
                except TimeoutError:
                    pass
                finally:
                    HELD.dec()
        if bodies:
            failpoint("device_sync.sync.before_answer")
        COMMANDS_SENT.inc(len(bodies))
        SYNC_SECONDS.observe(time.monotonic() - started)
        return (
            f'{{"clock_id":"{clock.clock_id}","last_sequence":{last_sequence},'
            f'"commands":[{",".join(bodies)}]}}'
        )
