"""The failed-login throttle on Redis: one sorted set per counter (member: one attempt's
slot, score: its time), under ``gateway:login:<key>``.

``domain.login.sliding_window`` is the rule; the Lua script below runs it atomically across
all the attempt's counters (every replica shares them): drop what left the window, and if any
counter is full answer the wait and take nothing, else add the slot to each. A success
removes its slot (``ZREM``), so only failures count — a refund the ``limits`` library's
moving window cannot do (it keeps anonymous timestamps), hence the sorted sets.

Redis down or slow (2 s timeouts) is ``Unavailable`` (503 with Retry-After): login fails
closed rather than unthrottled."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ..domain.login import ThrottleKey
from ..domain.model import Unavailable

PREFIX = "gateway:login:"

# KEYS: the counters; ARGV: now (ms), window (ms), slot, then one limit per key.
_TAKE = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local wait = 0
for i, key in ipairs(KEYS) do
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
    local limit = tonumber(ARGV[3 + i])
    local count = redis.call('ZCARD', key)
    if count >= limit then
        local oldest = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
        local w = tonumber(oldest[2]) + window - now
        if w > wait then wait = w end
    end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
    redis.call('ZADD', key, now, ARGV[3])
    redis.call('PEXPIRE', key, window)
end
return 0
"""


class RedisLoginThrottle:
    def __init__(self, redis: Redis, clock=time.time) -> None:
        self.redis = redis
        self.clock = clock
        self._take = redis.register_script(_TAKE)

    @classmethod
    def from_url(cls, url: str) -> RedisLoginThrottle:
        return cls(
            Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2, retry_on_timeout=False)
        )

    async def take(self, keys: Sequence[ThrottleKey], window_s: int) -> tuple[float, str]:
        slot = uuid.uuid4().hex
        now_ms = int(self.clock() * 1000)
        try:
            wait_ms = await self._take(
                keys=[PREFIX + k.key for k in keys],
                args=[now_ms, window_s * 1000, slot, *(k.limit for k in keys)],
            )
        except (RedisError, OSError) as error:
            raise Unavailable("sign-in is unavailable; try again") from error
        wait_ms = int(wait_ms)
        return (wait_ms / 1000, "") if wait_ms > 0 else (0.0, slot)

    async def give_back(self, keys: Sequence[ThrottleKey], slot: str) -> None:
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for k in keys:
                    pipe.zrem(PREFIX + k.key, slot)
                await pipe.execute()
        except (RedisError, OSError):
            pass  # the slot expires with the window: a success counted once, at worst

    async def clear(self, key: str) -> None:
        try:
            await self.redis.delete(PREFIX + key)
        except (RedisError, OSError) as error:
            raise Unavailable("Redis is unavailable; try again") from error

    async def close(self) -> None:
        await self.redis.aclose()
