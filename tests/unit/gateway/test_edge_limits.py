"""The kiosk edge's rate limits: which budgets a request spends (domain.edge_limits) and the
limiter over them (the ``limits`` library's moving window, in memory here; Redis in the
integration test)."""

from __future__ import annotations

import pytest
from punchcard_gateway.adapters.edge_limits import EdgeLimiter
from punchcard_gateway.domain.edge_limits import (
    Budget,
    EdgeLimits,
    RateLimited,
    edge_budgets,
    holds_poll,
    poll_slots,
    refusal,
)

LIMITS = EdgeLimits(pin_per_clock=3, pin_per_tenant=5, polls_per_clock=2, polls_per_tenant=3)


def test_every_budget_is_per_clock_then_per_tenant_never_global():
    assert edge_budgets("pin", "t1", "c1", LIMITS) == [
        Budget("pin:clock:t1:c1", 3, 60, "clock"),
        Budget("pin:tenant:t1", 5, 60, "tenant"),
    ]
    for action in ("punch", "pin", "face", "result", "sync"):
        keys = [b.key for b in edge_budgets(action, "t1", "c1", EdgeLimits())]
        assert all("t1" in key for key in keys)
    assert poll_slots("t1", "c1", LIMITS) == [("polls:clock:t1:c1", 2), ("polls:tenant:t1", 3)]


def test_only_a_sync_that_may_be_held_takes_a_long_poll_slot():
    # wait_s 0 is answered at once: device-sync never refuses it, nor may the edge.
    assert holds_poll(0.0) is False
    assert holds_poll(0.5) is True
    assert holds_poll(25.0) is True


def test_a_refusal_says_whose_budget_and_when_to_send_again():
    clock = refusal("clock", 12.2)
    assert (clock.code, clock.retry_after_s) == ("RATE_LIMITED", 13)
    assert "this clock" in clock.message
    assert refusal("tenant", 0.01).retry_after_s == 1


async def test_a_flooding_clock_is_refused_without_spending_its_tenants_or_anyone_elses():
    limiter = EdgeLimiter.in_memory(LIMITS)
    for _ in range(3):
        await limiter.spend("pin", "t1", "flood")
    with pytest.raises(RateLimited) as refused:
        await limiter.spend("pin", "t1", "flood")
    assert refused.value.retry_after_s >= 1
    # The refused attempts spent nothing of tenant t1's budget (5): two more clocks of t1 ...
    await limiter.spend("pin", "t1", "c2")
    await limiter.spend("pin", "t1", "c3")
    # ... and then t1 as a whole is at its limit, while another tenant is untouched.
    with pytest.raises(RateLimited) as tenant_refused:
        await limiter.spend("pin", "t1", "c4")
    assert "organisation" in tenant_refused.value.message
    for clock in ("a", "b", "c"):
        await limiter.spend("pin", "t2", clock)
    # Budgets are per action: the flooding clock may still ask for its results.
    await limiter.spend("result", "t1", "flood")


async def test_long_polls_held_at_once_per_clock_and_per_tenant():
    limiter = EdgeLimiter.in_memory(LIMITS)
    async with limiter.long_poll("t1", "c1", 30), limiter.long_poll("t1", "c1", 30):
        with pytest.raises(RateLimited):
            async with limiter.long_poll("t1", "c1", 30):
                pass
        async with limiter.long_poll("t1", "c2", 30):
            with pytest.raises(RateLimited):  # the tenant's 3 are held
                async with limiter.long_poll("t1", "c3", 30):
                    pass
            async with limiter.long_poll("t2", "c1", 30):  # another tenant: its own
                pass
    # Given back when the polls end.
    async with limiter.long_poll("t1", "c1", 30), limiter.long_poll("t1", "c1", 30):
        pass


async def test_a_lapsed_slot_is_free_again():
    limiter = EdgeLimiter.in_memory(EdgeLimits(polls_per_clock=1))
    async with limiter.long_poll("t1", "c1", -1):  # lapses at once (a replica that died)
        async with limiter.long_poll("t1", "c1", 30):
            pass
