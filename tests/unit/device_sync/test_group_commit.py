"""Group commit on fakes: concurrent writes of a tenant share one transaction, each caller is
answered only after the commit that holds its writes, a job at fault fails alone, tenants
never share a transaction."""

import asyncio

import pytest
from punchcard_device_sync.service_layer.group_commit import GroupCommit, take_batch


class Uow:
    def __init__(self, log: list, tenant_id: str, fail_commit: bool = False) -> None:
        self.log, self.tenant_id, self.fail_commit = log, tenant_id, fail_commit
        self.writes: list[str] = []

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc) -> None:
        if not self.writes or ("commit", self.tenant_id, self.writes) not in self.log:
            self.log.append(("rollback", self.tenant_id, list(self.writes)))

    async def commit(self) -> None:
        if self.fail_commit:
            raise ConnectionError("the database went away")
        self.log.append(("commit", self.tenant_id, self.writes))


async def apply(uow, works):
    """The handler: each item is a coroutine function writing into the unit of work."""
    return [await work(uow) for work in works]


def group(log: list, **kw) -> GroupCommit:
    fail_commit = kw.pop("fail_commit", False)
    return GroupCommit(lambda tenant_id: Uow(log, tenant_id, fail_commit), apply, **kw)


def writer(name: str):
    async def work(uow):
        uow.writes.append(name)
        await asyncio.sleep(0)
        return name.upper()

    return work


def test_a_batch_is_the_oldest_jobs_in_key_order():
    jobs = [type("J", (), {"key": k})() for k in "dcbae"]
    batch, rest = take_batch(jobs, 4)
    assert [j.key for j in batch] == ["a", "b", "c", "d"]
    assert [j.key for j in rest] == ["e"]


async def test_concurrent_writes_of_a_tenant_commit_together_and_are_answered_after():
    log: list = []
    g = group(log, max_batch=64, concurrency=1)
    results = await asyncio.gather(*(g.run("t1", f"c{i}", writer(f"w{i}")) for i in range(10)))
    assert results == [f"W{i}" for i in range(10)]
    commits = [entry for entry in log if entry[0] == "commit"]
    # The first job opens a batch alone; the nine that queued meanwhile share the next.
    assert len(commits) < 10
    assert sorted(w for _, _, writes in commits for w in writes) == sorted(
        f"w{i}" for i in range(10)
    )
    assert g.batches == len(commits)


async def test_a_batch_holds_at_most_max_batch_jobs():
    log: list = []
    g = group(log, max_batch=3, concurrency=1)
    await asyncio.gather(*(g.run("t1", f"c{i}", writer(f"w{i}")) for i in range(10)))
    assert all(len(writes) <= 3 for kind, _, writes in log if kind == "commit")


async def test_tenants_never_share_a_transaction():
    log: list = []
    g = group(log, concurrency=2)
    await asyncio.gather(*(g.run(f"t{i % 2}", f"c{i}", writer(f"t{i % 2}-w{i}")) for i in range(8)))
    for kind, tenant_id, writes in log:
        if kind == "commit":
            assert all(w.startswith(f"{tenant_id}-") for w in writes)


async def test_a_job_at_fault_fails_alone_and_the_others_commit():
    log: list = []
    g = group(log, concurrency=1)

    async def bad(uow):
        uow.writes.append("bad")
        raise ValueError("a line the database refused")

    outcomes = await asyncio.gather(
        g.run("t1", "a", writer("w1")),
        g.run("t1", "b", writer("w2")),
        g.run("t1", "c", bad),
        g.run("t1", "d", writer("w3")),
        return_exceptions=True,
    )
    assert outcomes[0] == "W1" and outcomes[1] == "W2" and outcomes[3] == "W3"
    assert isinstance(outcomes[2], ValueError)
    committed = [w for kind, _, writes in log if kind == "commit" for w in writes]
    assert "bad" not in committed
    assert sorted(committed) == ["w1", "w2", "w3"]


async def test_a_server_down_fails_every_caller_of_the_batch_and_none_is_answered_ok():
    log: list = []
    g = group(log, concurrency=1, fail_commit=True)
    outcomes = await asyncio.gather(
        *(g.run("t1", f"c{i}", writer(f"w{i}")) for i in range(4)), return_exceptions=True
    )
    assert all(isinstance(o, ConnectionError) for o in outcomes)
    assert not [entry for entry in log if entry[0] == "commit"]


async def test_a_caller_that_goes_away_does_not_cancel_the_batch():
    log: list = []
    g = group(log, concurrency=1)
    gate = asyncio.Event()

    async def slow(uow):
        uow.writes.append("slow")
        await gate.wait()
        return "SLOW"

    first = asyncio.create_task(g.run("t1", "a", slow))
    await asyncio.sleep(0)
    second = asyncio.create_task(g.run("t1", "b", writer("w2")))
    await asyncio.sleep(0)
    first.cancel()
    gate.set()
    assert await second == "W2"
    with pytest.raises(asyncio.CancelledError):
        await first
    committed = [w for kind, _, writes in log if kind == "commit" for w in writes]
    assert "slow" in committed and "w2" in committed


async def test_each_committed_batch_is_measured_under_its_writers_name():
    from prometheus_client import REGISTRY

    def sample(metric: str) -> float:
        return REGISTRY.get_sample_value(metric, {"writer": "unit_measured"}) or 0.0

    before = {
        m: sample(m)
        for m in (
            "device_sync_write_batch_size_sum",
            "device_sync_write_batch_size_count",
            "device_sync_write_batch_seconds_count",
            "device_sync_write_batch_wait_seconds_count",
        )
    }
    log: list = []
    g = group(log, max_batch=64, concurrency=1, name="unit_measured")
    await asyncio.gather(*(g.run("t1", f"c{i}", writer(f"w{i}")) for i in range(6)))
    batches = (
        sample("device_sync_write_batch_seconds_count")
        - before["device_sync_write_batch_seconds_count"]
    )
    assert batches == g.batches >= 1
    assert (
        sample("device_sync_write_batch_size_sum") - before["device_sync_write_batch_size_sum"] == 6
    )  # every write in some committed batch
    assert (
        sample("device_sync_write_batch_wait_seconds_count")
        - before["device_sync_write_batch_wait_seconds_count"]
        == 6
    )  # each write's wait, once
