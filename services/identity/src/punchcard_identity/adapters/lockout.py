"""Failed PIN attempts, counted in Redis per worker and per clock. Each counter is a set of
attempt ids, so a replayed attempt (a consumer redelivery) is never counted twice."""

from __future__ import annotations

from punchcard_kit.retry import register_transient
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import BusyLoadingError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

# Redis down is an outage, not a bad attempt: the PIN attempt waits and is retried.
register_transient(RedisConnectionError, RedisTimeoutError, BusyLoadingError)


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
    def __init__(self, redis: Redis, worker_window_s: int, clock_window_s: int) -> None:
        self.redis = redis
        self.worker_window_s = worker_window_s
        self.clock_window_s = clock_window_s

    @staticmethod
    def _worker(tenant_id: str, worker_id: str) -> str:
        return f"identity:pinfail:worker:{tenant_id}:{worker_id}"

    @staticmethod
    def _clock(tenant_id: str, clock_id: str) -> str:
        return f"identity:pinfail:clock:{tenant_id}:{clock_id}"

    async def record_failure(
        self, tenant_id: str, worker_id: str | None, clock_id: str, attempt_id: str
    ) -> tuple[int, int]:
        """Count one failed attempt; returns (failures of the worker, failures at the clock)."""
        keys = [(self._clock(tenant_id, clock_id), self.clock_window_s)]
        if worker_id:
            keys.insert(0, (self._worker(tenant_id, worker_id), self.worker_window_s))
        async with self.redis.pipeline(transaction=True) as pipe:
            for key, window_s in keys:
                pipe.sadd(key, attempt_id)
                pipe.expire(key, window_s)
                pipe.scard(key)
            results = await pipe.execute()
        counts = results[2::3]
        return (counts[0], counts[1]) if worker_id else (0, counts[0])

    async def clock_failures(self, tenant_id: str, clock_id: str) -> int:
        return await self.redis.scard(self._clock(tenant_id, clock_id))

    async def reset_worker(self, tenant_id: str, worker_id: str) -> None:
        await self.redis.delete(self._worker(tenant_id, worker_id))
