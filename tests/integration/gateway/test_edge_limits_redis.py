"""The kiosk edge's moving windows in the real Redis (adapters.edge_limits: one Lua script per
request for the clock's and the tenant's budgets): the same rules as the unit test's in-memory
limiter — the clock's budget first, a refused request spends nothing of its tenant's, budgets
per action and per tenant, Retry-After from the oldest hit in the full window — and the
``limits`` library reads the counts the script wrote (same keys and layout)."""

from __future__ import annotations

import pytest
from limits import RateLimitItemPerSecond
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from punchcard_gateway.adapters.edge_limits import PREFIX, EdgeLimiter
from punchcard_gateway.domain.edge_limits import EdgeLimits, RateLimited

from tests.support.stack import REDIS_URL, unique

LIMITS = EdgeLimits(pin_per_clock=3, pin_per_tenant=5)


@pytest.fixture
async def limiter():
    limiter = EdgeLimiter.from_url(LIMITS, REDIS_URL)
    try:
        yield limiter
    finally:
        await limiter.close()


async def test_a_flooding_clock_is_refused_without_spending_its_tenants_or_anyone_elses(limiter):
    t1, t2 = unique("t1"), unique("t2")
    for _ in range(3):
        await limiter.spend("pin", t1, "flood")
    with pytest.raises(RateLimited) as refused:
        await limiter.spend("pin", t1, "flood")
    assert 1 <= refused.value.retry_after_s <= 60
    assert "this clock" in refused.value.message
    await limiter.spend("pin", t1, "c2")
    await limiter.spend("pin", t1, "c3")
    with pytest.raises(RateLimited) as tenant_refused:
        await limiter.spend("pin", t1, "c4")
    assert "organisation" in tenant_refused.value.message
    for clock in ("a", "b", "c"):
        await limiter.spend("pin", t2, clock)
    await limiter.spend("result", t1, "flood")

    # The library's own view of the same windows (a replica of the previous release).
    storage = RedisStorage(
        "async+" + REDIS_URL, implementation="redispy", key_prefix=f"{PREFIX}:window"
    )
    window = MovingWindowRateLimiter(storage)
    clock_item = RateLimitItemPerSecond(3, 60)
    tenant_item = RateLimitItemPerSecond(5, 60)
    assert (await window.get_window_stats(clock_item, f"pin:clock:{t1}:flood")).remaining == 0
    assert (await window.get_window_stats(tenant_item, f"pin:tenant:{t1}")).remaining == 0
    assert (await window.get_window_stats(tenant_item, f"pin:tenant:{t2}")).remaining == 2
    assert not await window.hit(clock_item, f"pin:clock:{t1}:flood")


async def test_redis_away_lets_the_request_through():
    away = EdgeLimiter.from_url(LIMITS, "redis://127.0.0.1:9/0")
    try:
        for _ in range(5):
            await away.spend("pin", unique("t"), "c1")
    finally:
        await away.close()
