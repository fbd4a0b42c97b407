"""retry.until_projected: a request naming something another service's event has not brought
yet is tried again for a bounded time, then answered 404; any other error at once."""

from __future__ import annotations

import asyncio
import time

import pytest
from punchcard_kit.errors import Invalid, NotFound, NotProjectedYet
from punchcard_kit.retry import until_projected


async def test_it_is_answered_once_the_event_has_arrived():
    calls = []

    async def assign():
        calls.append(1)
        if len(calls) < 3:
            raise NotProjectedYet("worker not known yet", "worker_id", code="WORKER_NOT_FOUND")
        return "assigned"

    assert await until_projected("worker", assign, within_s=5, initial=0.001) == "assigned"
    assert len(calls) == 3


async def test_still_missing_after_the_bound_is_a_404_with_the_rules_code():
    calls = []

    async def assign():
        calls.append(1)
        raise NotProjectedYet("worker not known yet", "worker_id", code="WORKER_NOT_FOUND")

    started = time.monotonic()
    with pytest.raises(NotFound) as error:
        await until_projected("worker", assign, within_s=0.1, initial=0.005, maximum=0.02)
    assert error.value.code == "WORKER_NOT_FOUND" and error.value.field == "worker_id"
    assert 0.1 <= time.monotonic() - started < 5 and len(calls) > 1


@pytest.mark.parametrize("error", [NotFound("clock not found"), Invalid("bad"), ValueError()])
async def test_any_other_error_is_not_waited_for(error):
    calls = []

    async def assign():
        calls.append(1)
        raise error

    with pytest.raises(type(error)):
        await until_projected("worker", assign, within_s=5)
    assert len(calls) == 1


async def test_no_wait_at_all_when_the_bound_is_zero():
    calls = []

    async def assign():
        calls.append(1)
        raise NotProjectedYet("worker not known yet")

    with pytest.raises(NotProjectedYet):
        await asyncio.wait_for(until_projected("worker", assign, within_s=0), timeout=1)
    assert len(calls) == 1
