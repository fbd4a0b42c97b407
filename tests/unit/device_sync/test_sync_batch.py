"""The group commit keeps clocks apart: when one request makes its tenant's batch fail, each
request is retried alone, and only the one at fault gets the error."""

import asyncio

import asyncpg
import pytest
from punchcard_device_sync.service_layer.sync import AuthenticatedClock, ClockSync, _Job

TENANT = "00000000-0000-4000-8000-000000000001"


class PoisonedSync(ClockSync):
    """The database part replaced: a batch holding the poisoned request fails as PostgreSQL
    would fail it (a value out of range)."""

    def __init__(self, error: Exception) -> None:
        super().__init__(uow=None, directory=None, wakeups=None, heartbeats=None)  # type: ignore[arg-type]
        self.error = error
        self.batches: list[int] = []

    async def _tenant_batch(self, tenant_id, jobs):
        self.batches.append(len(jobs))
        if any(job.after < 0 for job in jobs):
            raise self.error
        return {(j.clock.clock_id, j.after): (j.after, []) for j in jobs if j.fetch}


def job(clock_id: str, after: int) -> _Job:
    future = asyncio.get_running_loop().create_future()
    return _Job(AuthenticatedClock(TENANT, clock_id), after, (), None, True, future)


async def test_one_bad_request_fails_alone():
    sync = PoisonedSync(asyncpg.DataError("bigint out of range"))
    good, bad, other = job("c1", 3), job("c2", -1), job("c3", 5)
    await sync._batch([good, bad, other])
    assert good.future.result() == (3, []) and other.future.result() == (5, [])
    with pytest.raises(asyncpg.DataError):
        bad.future.result()
    assert sync.batches == [3, 1, 1, 1]


async def test_a_database_outage_fails_the_batch_without_retrying_each_request():
    sync = PoisonedSync(ConnectionRefusedError("down"))
    jobs = [job("c1", -1), job("c2", 2)]
    await sync._batch(jobs)
    for j in jobs:
        with pytest.raises(ConnectionRefusedError):
            j.future.result()
    assert sync.batches == [2]
