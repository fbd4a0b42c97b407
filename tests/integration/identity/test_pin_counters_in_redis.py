"""Identity's PIN failure counters on the real Redis: one round trip tells a PIN attempt the
clock's state and whether the worker has wrong PINs counted, so a correct PIN writes to Redis
only when there is something to forget (issue 18: the common path's round trips)."""

import uuid

import pytest
from punchcard_identity.adapters.lockout import FailureCounters, connect_redis

from tests.support.stack import REDIS_URL


@pytest.fixture
async def counters():
    redis = connect_redis(REDIS_URL, timeout_s=2, connect_timeout_s=2)
    yield FailureCounters(redis, worker_window_s=60, clock_window_s=60)
    await redis.aclose()


async def test_state_says_whether_the_worker_has_wrong_pins_counted_here_or_anywhere(counters):
    tenant, worker = str(uuid.uuid4()), str(uuid.uuid4())
    assert await counters.state(tenant, worker, "c1") == (None, 0, False)
    assert await counters.record_failure(tenant, worker, "c1", "a-1") == (1, 1)
    assert await counters.state(tenant, worker, "c1") == (None, 1, True)
    # Counted overall: at another clock too, where that clock's own count is still 0.
    assert await counters.state(tenant, worker, "c2") == (None, 0, True)
    await counters.reset_worker(tenant, worker, "c1")
    # Forgotten: the worker's counts; the clock still remembers a known worker's wrong PIN.
    assert await counters.state(tenant, worker, "c1") == (None, 1, False)
    assert await counters.state(str(uuid.uuid4()), worker, "c1") == (None, 0, False)
