"""Failed PIN attempts and PIN locks at a clock, in Redis. Each counter is a set of attempt ids,
so a replayed attempt (a consumer redelivery) is never counted twice. The rule that reads them
is ``domain.pin_attempts.decide_pin_attempt``; this only stores.

Keys (all per tenant):
- ``unknown:clock:<clock>``: attempts at the clock with an unknown Employee ID (or one not
  assigned there) — counted apart from known workers' failures;
- ``fail:clock:<clock>``: wrong PINs of known workers at the clock;
- ``fail:wc:<worker>:<clock>`` and ``fail:worker:<worker>``: a worker's wrong PINs at one
  clock and at all clocks;
- ``lock:<worker>``: a hash clock → epoch seconds until which the worker is locked there."""

from __future__ import annotations

from datetime import UTC, datetime

from punchcard_kit.logging import get_logger
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import BusyLoadingError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

# Redis down is an outage, not a bad attempt: the PIN attempt waits and is retried, an HTTP
# call answers 503 (declared by the composition root: ``Subscription(transient=...)`` and
# ``create_service_app(transient=...)``).
REDIS_TRANSIENT: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    BusyLoadingError,
)

_PREFIX = "identity:pin"
log = get_logger(__name__)


def connect_redis(url: str, timeout_s: float, connect_timeout_s: float) -> Redis:
    """A client whose every command fails within about twice ``timeout_s`` when Redis does not
    answer (one quick retry, for a dropped connection), instead of waiting for ever; the
    failure is transient: the PIN attempt is retried with backoff, an HTTP call answers 503."""
    return Redis.from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=connect_timeout_s,
        retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), retries=1),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )


class FailureCounters:
    """The service layer's ``FailureCounters`` protocol, in Redis."""

    def __init__(self, redis: Redis, worker_window_s: int, clock_window_s: int) -> None:
        self.redis = redis
        self.worker_window_s = worker_window_s
        self.clock_window_s = clock_window_s

    @staticmethod
    def _key(tenant_id: str, *parts: str) -> str:
        return ":".join((_PREFIX, tenant_id, *parts))

    async def _add(self, keys: list[tuple[str, int]], attempt_id: str) -> list[int]:
        async with self.redis.pipeline(transaction=True) as pipe:
            for key, window_s in keys:
                pipe.sadd(key, attempt_id)
                pipe.expire(key, window_s)
                pipe.scard(key)
            results = await pipe.execute()
        return list(results[2::3])

    async def record_unknown(self, tenant_id: str, clock_id: str, attempt_id: str) -> int:
        """Count an attempt with an unknown Employee ID at the clock; returns the clock's count."""
        [count] = await self._add(
            [(self._key(tenant_id, "unknown", "clock", clock_id), self.clock_window_s)],
            attempt_id,
        )
        return count

    async def forget_unknown(self, tenant_id: str, clock_id: str, attempt_id: str) -> None:
        await self.redis.srem(self._key(tenant_id, "unknown", "clock", clock_id), attempt_id)

    async def record_failure(
        self, tenant_id: str, worker_id: str, clock_id: str, attempt_id: str
    ) -> tuple[int, int]:
        """Count a known worker's wrong PIN; returns (failures of the worker at this clock,
        failures of the worker at all clocks)."""
        at_clock, total, _ = await self._add(
            [
                (self._key(tenant_id, "fail", "wc", worker_id, clock_id), self.worker_window_s),
                (self._key(tenant_id, "fail", "worker", worker_id), self.worker_window_s),
                (self._key(tenant_id, "fail", "clock", clock_id), self.clock_window_s),
            ],
            attempt_id,
        )
        return at_clock, total

    async def state(
        self, tenant_id: str, worker_id: str, clock_id: str
    ) -> tuple[datetime | None, int, bool]:
        """(until when the worker is locked at this clock, wrong PINs of known workers there,
        whether the worker has wrong PINs counted here or overall), in one round trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hget(self._key(tenant_id, "lock", worker_id), clock_id)
            pipe.scard(self._key(tenant_id, "fail", "clock", clock_id))
            pipe.exists(
                self._key(tenant_id, "fail", "worker", worker_id),
                self._key(tenant_id, "fail", "wc", worker_id, clock_id),
            )
            until, failures, counted = await pipe.execute()
        locked = datetime.fromtimestamp(float(until), UTC) if until is not None else None
        return locked, failures, counted > 0

    async def clock_counts(self, tenant_id: str, clock_id: str) -> tuple[int, int]:
        """(unknown Employee IDs, known workers' wrong PINs) at the clock, in its window."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.scard(self._key(tenant_id, "unknown", "clock", clock_id))
            pipe.scard(self._key(tenant_id, "fail", "clock", clock_id))
            unknown, failures = await pipe.execute()
        return unknown, failures

    async def worker_locks(self, tenant_id: str, worker_id: str) -> dict[str, datetime]:
        """Shown on a worker's page only: with Redis down the page is served without them (a
        warning), not refused."""
        try:
            found = await self.redis.hgetall(self._key(tenant_id, "lock", worker_id))
        except REDIS_TRANSIENT as error:
            log.warning(
                "pin locks at clocks not read: redis unavailable",
                worker_id=worker_id,
                error=f"{type(error).__name__}: {error}",
            )
            return {}
        return {
            (clock.decode() if isinstance(clock, bytes) else clock): datetime.fromtimestamp(
                float(until), UTC
            )
            for clock, until in found.items()
        }

    async def lock_at_clock(
        self, tenant_id: str, worker_id: str, clock_id: str, until: datetime
    ) -> None:
        """Lock the worker at this clock; its failure count there starts again."""
        key = self._key(tenant_id, "lock", worker_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, clock_id, str(until.timestamp()))
            pipe.expireat(key, int(until.timestamp()) + 1, gt=True)
            pipe.expireat(key, int(until.timestamp()) + 1, nx=True)
            pipe.delete(self._key(tenant_id, "fail", "wc", worker_id, clock_id))
            await pipe.execute()

    async def start_worker_again(self, tenant_id: str, worker_id: str) -> None:
        """After a lock everywhere: the worker's overall count starts again."""
        await self.redis.delete(self._key(tenant_id, "fail", "worker", worker_id))

    async def reset_worker(
        self, tenant_id: str, worker_id: str, clock_id: str | None = None
    ) -> None:
        """A correct PIN (at ``clock_id``) or an admin's unlock (every clock): the worker's
        failures and locks are forgotten."""
        keys = [self._key(tenant_id, "fail", "worker", worker_id)]
        if clock_id is not None:
            keys.append(self._key(tenant_id, "fail", "wc", worker_id, clock_id))
            await self.redis.delete(*keys)
            return
        keys.append(self._key(tenant_id, "lock", worker_id))
        pattern = self._key(tenant_id, "fail", "wc", worker_id, "*")
        keys.extend([key async for key in self.redis.scan_iter(match=pattern, count=500)])
        await self.redis.delete(*keys)

    async def reset_clock(self, tenant_id: str, clock_id: str) -> None:
        """An admin's reset of a clock: its unknown-ID and wrong-PIN counts start again."""
        await self.redis.delete(
            self._key(tenant_id, "unknown", "clock", clock_id),
            self._key(tenant_id, "fail", "clock", clock_id),
        )
