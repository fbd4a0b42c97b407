"""The kiosk edge's rate limits in Redis, shared by every gateway replica: moving windows (the
``limits`` library's, in its key and list layout), and long-poll slots as sorted sets (member =
one held request, score = when its slot lapses, so a replica that dies holding one frees it
when the poll would have ended anyway). Which budgets a request spends is the domain's rule
(``domain.edge_limits``); this only counts.

One round trip per ``spend``: a request's budgets (the clock's, then its tenant's) are spent by
one Lua script (``_SPEND``), the ``limits`` library's moving-window acquire applied to each key
in turn — stopping at the first that is full, which also answers when its oldest entry leaves
the window (Retry-After). The library took a round trip per budget, and another for a refusal's
window (four per kiosk PIN punch; now two). In memory (unit tests) the library itself counts.

Redis down or slow: the request goes through (a warning, a metric): the limits protect the
servers behind the edge, and a punch must not be refused because their counter is away."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from prometheus_client import Counter
from punchcard_kit.logging import get_logger
from redis.asyncio import Redis
from redis.exceptions import RedisError

from ..domain.edge_limits import (
    Action,
    Budget,
    EdgeLimits,
    edge_budgets,
    poll_slots,
    refusal,
)

log = get_logger(__name__)

REFUSED = Counter(
    "punchcard_kiosk_rate_limited_total",
    "Kiosk edge requests refused with 429, by action and by whose budget was spent",
    ["action", "scope"],
)
UNCOUNTED = Counter(
    "punchcard_kiosk_rate_limit_errors_total",
    "Kiosk edge requests let through uncounted because the rate-limit store failed",
)

PREFIX = "gateway:edge"
REDIS_TIMEOUT_S = 0.5

# Take a slot if fewer than ARGV[i] are held in KEYS[i] for every i (lapsed ones dropped first).
_ACQUIRE = """
local now = tonumber(ARGV[1])
local lapse = tonumber(ARGV[2])
local member = ARGV[3]
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  if redis.call('ZCARD', key) >= tonumber(ARGV[3 + i]) then
    return i
  end
end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, lapse, member)
  redis.call('EXPIREAT', key, math.ceil(lapse) + 1)
end
return 0
"""

# The ``limits`` library's moving-window acquire (its acquire_moving_window.lua: a list of hit
# times, newest first, trimmed to the limit) over KEYS in order: ARGV = now, then (limit,
# expiry s) per key. The first key whose window is full: {i, time its oldest entry leaves};
# that key and the ones after it are not spent. All spent: {0}.
_SPEND = """
local now = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 * i])
  local expiry = tonumber(ARGV[2 * i + 1])
  local oldest = redis.call('LINDEX', key, limit - 1)
  if oldest and tonumber(oldest) >= now - expiry then
    return {i, tostring(tonumber(oldest) + expiry)}
  end
  redis.call('LPUSH', key, now)
  redis.call('LTRIM', key, 0, limit - 1)
  redis.call('EXPIRE', key, expiry)
end
return {0}
"""


class EdgeLimiter:
    def __init__(self, limits: EdgeLimits, redis: Redis | None = None) -> None:
        self.limits = limits
        # Without Redis (tests) the library counts in memory; with it, _SPEND does.
        self.window = MovingWindowRateLimiter(MemoryStorage()) if redis is None else None
        self.redis = redis
        self._slots: dict[str, dict[str, float]] = {}  # without Redis (tests): in memory
        self._acquire = redis.register_script(_ACQUIRE) if redis is not None else None
        self._spend = redis.register_script(_SPEND) if redis is not None else None
        self._window_prefix = f"{PREFIX}:window"

    @classmethod
    def from_url(cls, limits: EdgeLimits, redis_url: str) -> EdgeLimiter:
        options = {
            "socket_timeout": REDIS_TIMEOUT_S,
            "socket_connect_timeout": REDIS_TIMEOUT_S,
        }
        return cls(limits, Redis.from_url(redis_url, **options))

    @classmethod
    def in_memory(cls, limits: EdgeLimits) -> EdgeLimiter:
        return cls(limits)

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()

    async def spend(self, action: Action, tenant_id: str, clock_id: str) -> None:
        """Spend one request of ``action`` from the clock's and the tenant's budgets, or raise
        RateLimited (429) naming when to send again. The clock's is checked first: a refused
        request spends nothing of its tenant's budget."""
        budgets = edge_budgets(action, tenant_id, clock_id, self.limits)
        items = [RateLimitItemPerSecond(budget.amount, budget.per_s) for budget in budgets]
        try:
            if self._spend is None:
                refused = await self._spend_in_memory(budgets, items)
            else:
                refused = await self._spend_in_redis(budgets, items)
        except Exception as error:  # the store is down: count nothing, refuse nothing
            UNCOUNTED.inc()
            log.warning("kiosk rate limit not counted", error=type(error).__name__)
            return
        if refused is None:
            return
        budget, reset_at = refused
        REFUSED.labels(action, budget.scope).inc()
        log.info("kiosk request rate limited", action=action, scope=budget.scope)
        raise refusal(budget.scope, reset_at - time.time())

    async def _spend_in_redis(self, budgets, items) -> tuple[Budget, float] | None:
        """One round trip: (the full budget, when its window frees a slot), or None."""
        assert self._spend is not None
        args: list = [time.time()]
        for item in items:
            args += [item.amount, item.get_expiry()]
        answer = await self._spend(
            keys=[
                f"{self._window_prefix}:{item.key_for(budget.key)}"
                for budget, item in zip(budgets, items, strict=True)
            ],
            args=args,
        )
        full = int(answer[0])
        return None if full == 0 else (budgets[full - 1], float(answer[1]))

    async def _spend_in_memory(self, budgets, items) -> tuple[Budget, float] | None:
        assert self.window is not None
        for budget, item in zip(budgets, items, strict=True):
            if not await self.window.hit(item, budget.key):
                stats = await self.window.get_window_stats(item, budget.key)
                return budget, stats.reset_time
        return None

    @asynccontextmanager
    async def long_poll(self, tenant_id: str, clock_id: str, hold_s: float) -> AsyncIterator[None]:
        """Hold one long-poll slot of the clock and of its tenant for the request, or raise
        RateLimited when either has all its slots held."""
        slots = poll_slots(tenant_id, clock_id, self.limits)
        member = uuid.uuid4().hex
        full = await self._take(slots, member, hold_s)
        if full is not None:
            scope = "clock" if full == 0 else "tenant"
            REFUSED.labels("long_poll", scope).inc()
            raise refusal(scope, 1)
        try:
            yield
        finally:
            await self._give_back(slots, member)

    async def _take(self, slots, member: str, hold_s: float) -> int | None:
        now = time.time()
        lapse = now + hold_s
        if self._acquire is None:
            for i, (key, most) in enumerate(slots):
                held = {m: t for m, t in self._slots.get(key, {}).items() if t > now}
                self._slots[key] = held
                if len(held) >= most:
                    return i
            for key, _ in slots:
                self._slots[key][member] = lapse
            return None
        try:
            full = await self._acquire(
                keys=[f"{PREFIX}:{key}" for key, _ in slots],
                args=[now, lapse, member, *[most for _, most in slots]],
            )
        except RedisError as error:
            UNCOUNTED.inc()
            log.warning("kiosk long-poll slot not counted", error=type(error).__name__)
            return None
        return None if int(full) == 0 else int(full) - 1

    async def _give_back(self, slots, member: str) -> None:
        if self.redis is None:
            for key, _ in slots:
                self._slots.get(key, {}).pop(member, None)
            return
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for key, _ in slots:
                    pipe.zrem(f"{PREFIX}:{key}", member)
                await pipe.execute()
        except RedisError as error:  # the slot lapses by itself
            log.warning("kiosk long-poll slot not given back", error=type(error).__name__)
