"""Group commit: concurrent writes of one tenant (e.g. ZK devices' ATTLOG uploads) done in one
transaction, so a thousand devices uploading at once cost a few commits, not a thousand.

``await group.run(tenant_id, key, item)`` queues ``item``; a drainer per tenant takes every
queued item (at most ``max_batch``) as soon as one of ``concurrency`` slots is free, hands
them to ``handler(uow, items)`` in one unit of work (ordered by ``key``, so two batches take
row locks in the same order) and commits. Each caller gets its item's result (the handler's
list, in the items' order) only after the commit that holds its writes: durable before the
answer. Should the batch fail for something other than a server being down, each item is
handled again alone, so only the item at fault gets the error. ``handler`` must not commit
and must keep its side effects to the unit of work (it may run twice for an item: in the
batch that failed, then alone)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from prometheus_client import Histogram
from punchcard_kit.logging import get_logger
from punchcard_kit.retry import is_transient

from .unit_of_work import UnitOfWork, UnitOfWorkFactory

log = get_logger(__name__)

# Where a write waits: queued for a free transaction, then the transaction itself (its handler's
# statements and the commit), and how many writes shared it. ``writer``: the GroupCommit's name.
WRITE_WAIT_SECONDS = Histogram(
    "device_sync_write_batch_wait_seconds",
    "Time a write waited in its group commit's queue before its transaction began",
    ["writer"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
WRITE_BATCH_SECONDS = Histogram(
    "device_sync_write_batch_seconds",
    "A group commit's transaction, begin to commit (committed batches)",
    ["writer"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
WRITE_BATCH_SIZE = Histogram(
    "device_sync_write_batch_size",
    "Writes committed together in one group commit transaction",
    ["writer"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
)

I = TypeVar("I")  # noqa: E741 - an item
R = TypeVar("R")
Handler = Callable[[UnitOfWork, list[I]], Awaitable[list[R]]]


@dataclass
class _Job(Generic[I]):
    key: str
    item: I
    future: asyncio.Future = field(repr=False)
    queued_at: float = field(default_factory=time.monotonic, repr=False)


def take_batch(pending: list[_Job], max_batch: int) -> tuple[list[_Job], list[_Job]]:
    """The next batch (the oldest ``max_batch`` jobs, ordered by key for the lock order) and
    the jobs left waiting."""
    batch, rest = pending[:max_batch], pending[max_batch:]
    return sorted(batch, key=lambda j: j.key), rest


class GroupCommit(Generic[I, R]):
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        handler: Handler,
        max_batch: int = 64,
        concurrency: int = 4,
        name: str = "writes",
    ) -> None:
        self._uow = uow
        self._handler = handler
        self._max_batch = max(1, max_batch)
        self._slots = asyncio.Semaphore(max(1, concurrency))
        self._pending: dict[str, list[_Job]] = {}
        self._draining: set[str] = set()
        self._tasks: set[asyncio.Task] = set()
        self.batches = 0  # committed transactions (tests, metrics)
        self._waited = WRITE_WAIT_SECONDS.labels(name)
        self._took = WRITE_BATCH_SECONDS.labels(name)
        self._size = WRITE_BATCH_SIZE.labels(name)

    async def run(self, tenant_id: str, key: str, item: I) -> R:
        job: _Job[I] = _Job(key, item, asyncio.get_running_loop().create_future())
        self._pending.setdefault(tenant_id, []).append(job)
        if tenant_id not in self._draining:
            self._draining.add(tenant_id)
            self._spawn(self._drain(tenant_id))
        # A caller that goes away (the device hung up) does not cancel the others' batch.
        return await asyncio.shield(job.future)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drain(self, tenant_id: str) -> None:
        try:
            while self._pending.get(tenant_id):
                await self._slots.acquire()
                batch, rest = take_batch(self._pending.get(tenant_id, []), self._max_batch)
                if rest:
                    self._pending[tenant_id] = rest
                else:
                    self._pending.pop(tenant_id, None)
                if not batch:
                    self._slots.release()
                    break
                self._spawn(self._commit_then_release(tenant_id, batch))
        finally:
            self._draining.discard(tenant_id)

    async def _commit_then_release(self, tenant_id: str, batch: list[_Job]) -> None:
        began = time.monotonic()
        for job in batch:  # once per write: a retry of the batch alone is not a second wait
            self._waited.observe(began - job.queued_at)
        try:
            await self._commit(tenant_id, batch)
        finally:
            self._slots.release()
            for job in batch:  # cancelled (shutdown): no caller waits for ever
                if not job.future.done():
                    job.future.set_exception(RuntimeError("the write batch was cancelled"))

    async def _commit(self, tenant_id: str, batch: list[_Job]) -> None:
        began = time.monotonic()
        try:
            async with self._uow(tenant_id) as uow:
                results = await self._handler(uow, [job.item for job in batch])
                await uow.commit()
        except Exception as error:  # noqa: BLE001 - every caller gets an answer
            if len(batch) > 1 and not is_transient(error):
                log.warning(
                    "write batch failed; retrying each alone",
                    error=type(error).__name__,
                    jobs=len(batch),
                )
                for job in batch:
                    await self._commit(tenant_id, [job])
                return
            for job in batch:
                if not job.future.done():
                    job.future.set_exception(error)
            return
        self.batches += 1
        self._took.observe(time.monotonic() - began)
        self._size.observe(len(batch))
        for job, result in zip(batch, results, strict=True):
            if not job.future.done():
                job.future.set_result(result)
