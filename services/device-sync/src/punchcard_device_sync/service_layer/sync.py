"""The clock side: authenticate a clock, take its acknowledgements and heartbeat, hand it
its commands after the last sequence it applied — holding the request until one is queued —
and resync its roster by itself when its digest says it drifted."""

from __future__ import annotations

import asyncio
import hmac
import time
from collections import Counter as Tally
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from prometheus_client import Counter, Gauge, Histogram
from punchcard_kit.failpoints import failpoint
from punchcard_kit.logging import get_logger
from punchcard_kit.retry import is_transient

from ..domain.errors import clock_unauthorized, polls_held
from ..domain.model import (
    Ack,
    AckRecorded,
    Heartbeat,
    PollLimits,
    RosterCheck,
    check_roster,
    credential_clock_id,
    credential_hash,
    may_auto_resync,
    may_hold_poll,
)
from . import roster
from .unit_of_work import Directory, Heartbeats, UnitOfWork, UnitOfWorkFactory, Wakeups

log = get_logger(__name__)

COMMANDS_SENT = Counter("device_sync_commands_sent_total", "Commands handed to clocks")
ACKS = Counter("device_sync_acks_total", "Command results from clocks", ["result"])
RESYNCS = Counter("device_sync_auto_resyncs_total", "Automatic full resyncs (digest mismatch)")
POLLS_REFUSED = Counter(
    "device_sync_polls_refused_total",
    "Long-polls refused (429) because the clock or its tenant held its limit already",
)
HELD = Gauge("device_sync_held_requests", "Clock requests held open, waiting for commands")
SYNC_SECONDS = Histogram(
    "device_sync_sync_seconds", "Time to answer a clock's sync (including the hold)"
)


@dataclass(frozen=True)
class AuthenticatedClock:
    tenant_id: str
    clock_id: str


@dataclass
class _Job:
    """One clock request's database work, done together with every other request that
    arrived meanwhile (one transaction per tenant per batch: a group commit)."""

    clock: AuthenticatedClock
    after: int
    acks: Sequence[Ack]
    digest: str | None
    fetch: bool
    future: asyncio.Future
    recorded: int = 0


class ClockSync:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        directory: Directory,
        wakeups: Wakeups,
        heartbeats: Heartbeats,
        *,
        auth_cache_ttl_s: float = 30.0,
        batch_limit: int = 200,
        auto_resync_every: timedelta = timedelta(minutes=5),
        concurrency: int = 4,
        poll_limits: PollLimits | None = None,
    ) -> None:
        self._poll_limits = poll_limits or PollLimits()
        # Long-polls held now, by (tenant, clock) and by tenant.
        self._polls_by_clock: Tally[tuple[str, str]] = Tally()
        self._polls_by_tenant: Tally[str] = Tally()
        self._uow = uow
        self._directory = directory
        self._wakeups = wakeups
        self._heartbeats = heartbeats
        self._auth_ttl = auth_cache_ttl_s
        self._limit = batch_limit
        self._auto_resync_every = auto_resync_every
        # credential hash -> (clock, valid until); dropped on a revoke/rotate notification.
        self._auth: dict[bytes, tuple[AuthenticatedClock, float]] = {}
        # clock id -> (applied sequence, digest) last found right: not checked again.
        self._verified: dict[str, tuple[int, str]] = {}
        self._jobs: list[_Job] = []
        self._has_jobs = asyncio.Event()
        self._slots = asyncio.Semaphore(concurrency)
        self._stopping = asyncio.Event()
        self._running: set[asyncio.Task] = set()

    def forget_credential(self, clock_id: str) -> None:
        for key, (clock, _) in list(self._auth.items()):
            if clock.clock_id == clock_id:
                del self._auth[key]
        self._verified.pop(clock_id, None)

    async def authenticate(self, credential: str) -> AuthenticatedClock:
        digest = credential_hash(credential)
        cached = self._auth.get(digest)
        now = time.monotonic()
        if cached is not None and cached[1] > now:
            return cached[0]
        clock_id = credential_clock_id(credential)
        if clock_id is None:
            raise clock_unauthorized()
        found = await self._directory.credential_of(clock_id)
        if found is None or not hmac.compare_digest(found[1], digest):
            raise clock_unauthorized()
        clock = AuthenticatedClock(tenant_id=found[0], clock_id=clock_id)
        self._auth[digest] = (clock, now + self._auth_ttl)
        return clock

    def heartbeat(
        self, clock: AuthenticatedClock, applied: int, digest: str | None, version: str
    ) -> None:
        self._heartbeats.record(
            Heartbeat(
                tenant_id=clock.tenant_id,
                clock_id=clock.clock_id,
                seen_at=datetime.now(UTC),
                software_version=version[:100],
                applied_sequence=applied,
                roster_digest=digest or "",
            )
        )

    # --- the requests -------------------------------------------------------------------

    async def acknowledge(self, clock: AuthenticatedClock, acks: Sequence[Ack]) -> int:
        if not acks:
            return 0
        job = await self._submit(clock, 0, acks, None, fetch=False)
        return job.recorded

    async def sync(
        self,
        clock: AuthenticatedClock,
        after: int,
        acks: Sequence[Ack],
        digest: str | None,
        wait_s: float,
    ) -> str:
        """Record the acks, check the roster digest, and answer the commands after
        ``after`` — waiting up to ``wait_s`` for the first to be queued. A clock (or tenant)
        already holding its long-polls gets a 429 with Retry-After, before any work."""
        if wait_s <= 0:
            return await self._sync(clock, after, acks, digest, wait_s)
        key = (clock.tenant_id, clock.clock_id)
        if not may_hold_poll(
            self._polls_by_clock[key], self._polls_by_tenant[clock.tenant_id], self._poll_limits
        ):
            POLLS_REFUSED.inc()
            raise polls_held()
        self._polls_by_clock[key] += 1
        self._polls_by_tenant[clock.tenant_id] += 1
        try:
            return await self._sync(clock, after, acks, digest, wait_s)
        finally:
            for counter, name in ((self._polls_by_clock, key), (self._polls_by_tenant, key[0])):
                counter[name] -= 1
                if counter[name] <= 0:
                    del counter[name]

    async def _sync(
        self,
        clock: AuthenticatedClock,
        after: int,
        acks: Sequence[Ack],
        digest: str | None,
        wait_s: float,
    ) -> str:
        started = time.monotonic()
        deadline = started + wait_s
        with self._wakeups.waiter(clock.clock_id) as woken:
            job = await self._submit(clock, after, acks, digest, fetch=True)
            last_sequence, bodies = job.future.result()
            while not bodies and not self._wakeups.stopping:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                woken.clear()
                HELD.inc()
                try:
                    async with asyncio.timeout(remaining):
                        await woken.wait()
                except TimeoutError:
                    break
                finally:
                    HELD.dec()
                job = await self._submit(clock, after, (), None, fetch=True)
                last_sequence, bodies = job.future.result()
        if bodies:
            failpoint("device_sync.sync.before_answer")
        COMMANDS_SENT.inc(len(bodies))
        SYNC_SECONDS.observe(time.monotonic() - started)
        return (
            f'{{"clock_id":"{clock.clock_id}","last_sequence":{last_sequence},'
            f'"commands":[{",".join(bodies)}]}}'
        )

    async def _submit(
        self,
        clock: AuthenticatedClock,
        after: int,
        acks: Sequence[Ack],
        digest: str | None,
        *,
        fetch: bool,
    ) -> _Job:
        job = _Job(clock, after, acks, digest, fetch, asyncio.get_running_loop().create_future())
        self._jobs.append(job)
        self._has_jobs.set()
        await asyncio.shield(job.future)
        return job

    # --- the batches --------------------------------------------------------------------

    async def run(self) -> None:
        """Take every request waiting, in batches; while a batch is in the database the next
        one gathers (at most ``concurrency`` batches at once)."""
        while not self._stopping.is_set():
            await self._has_jobs.wait()
            await self._slots.acquire()
            jobs, self._jobs = self._jobs, []
            self._has_jobs.clear()
            if not jobs:
                self._slots.release()
                continue
            task = asyncio.create_task(self._batch(jobs))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    def stop(self) -> None:
        self._stopping.set()
        self._has_jobs.set()

    async def _batch(self, jobs: list[_Job]) -> None:
        try:
            by_tenant: dict[str, list[_Job]] = {}
            for job in jobs:
                by_tenant.setdefault(job.clock.tenant_id, []).append(job)
            for tenant_id, group in by_tenant.items():
                await self._run_group(tenant_id, group)
        finally:
            self._slots.release()

    async def _run_group(self, tenant_id: str, group: list[_Job]) -> None:
        """One tenant's requests in one transaction. Should it fail for a reason that is not a
        server being down (something one request carried), each request is retried alone, so
        only the request at fault gets the error — never the tenant's other clocks."""
        try:
            results = await self._tenant_batch(tenant_id, group)
        except Exception as error:  # noqa: BLE001 - every request gets an answer
            if len(group) > 1 and not is_transient(error):
                log.warning(
                    "clock batch failed; retrying each request alone",
                    error=type(error).__name__,
                    requests=len(group),
                )
                for job in group:
                    await self._run_group(tenant_id, [job])
                return
            for job in group:
                if not job.future.done():
                    job.future.set_exception(error)
            return
        for job in group:
            if job.future.done():
                continue
            if not job.fetch:
                job.future.set_result(None)
                continue
            found = results.get((job.clock.clock_id, job.after))
            if found is None:
                job.future.set_exception(clock_unauthorized())
            else:
                job.future.set_result(found)

    async def _tenant_batch(
        self, tenant_id: str, jobs: list[_Job]
    ) -> dict[tuple[str, int], tuple[int, list[str]]]:
        async with self._uow(tenant_id) as uow:
            acks = [
                (j.clock.clock_id, a.command_id, a.sequence, a.result_code, a.detail[:500])
                for j in jobs
                for a in j.acks
            ]
            if acks:
                rows = await uow.queue.record_acks(acks)
                self._count_acks(jobs, rows)
            to_check = {
                j.clock.clock_id: j
                for j in jobs
                if j.digest is not None
                and self._verified.get(j.clock.clock_id) != (j.after, j.digest)
            }
            if to_check:
                expected = await uow.queue.expected_rosters(list(to_check))
                for clock_id, job in to_check.items():
                    if clock_id in expected:
                        await self._check_roster(uow, job, *expected[clock_id])
            wanted = sorted({(j.clock.clock_id, j.after) for j in jobs if j.fetch})
            found = await uow.queue.fetch_after(wanted, self._limit) if wanted else {}
            await uow.commit()
        return found

    def _count_acks(self, jobs: list[_Job], rows: list[AckRecorded]) -> None:
        per_clock: dict[str, int] = {}
        for row in rows:
            per_clock[row.clock_id] = per_clock.get(row.clock_id, 0) + 1
            ACKS.labels("ok" if row.result_code == 0 else "failed").inc()
            log_failure(row)
        for job in jobs:
            if job.acks:
                job.recorded = per_clock.pop(job.clock.clock_id, 0)

    async def _check_roster(
        self, uow: UnitOfWork, job: _Job, last_sequence: int, expected_digest: str
    ) -> None:
        """Resync the clock when it has applied everything queued and still holds something
        else than it should (or claims a sequence never issued)."""
        clock, applied, digest = job.clock, job.after, job.digest
        assert digest is not None
        check = check_roster(applied, digest, last_sequence, expected_digest)
        if check is RosterCheck.IN_SYNC:
            self._verified[clock.clock_id] = (applied, digest)
        if not check.needs_resync:
            return  # in sync, or still catching up: compare once it has everything
        last = await uow.clocks.last_auto_resync(clock.clock_id)
        if not may_auto_resync(last, datetime.now(UTC), self._auto_resync_every):
            log.error(
                "clock roster still differs after an automatic resync; waiting",
                clock_id=clock.clock_id,
                applied_sequence=applied,
            )
            return
        reason = str(check)
        await uow.clocks.mark_auto_resync(clock.clock_id)
        await roster.full_resync(uow, clock.clock_id, reason, at_least=applied)
        RESYNCS.inc()
        log.warning("clock roster resync queued", clock_id=clock.clock_id, reason=reason)


def log_failure(row: AckRecorded) -> None:
    """A clock answered a command with an error code (shown per command in the portal)."""
    if row.result_code != 0:
        log.warning(
            "clock failed a command",
            clock_id=row.clock_id,
            sequence=row.sequence,
            kind=row.kind,
            worker_id=row.worker_id,
            result_code=row.result_code,
            detail=row.detail,
        )


async def prune_acknowledged(
    uow: UnitOfWorkFactory, directory: Directory, days: int, punch_days: int = 90
) -> None:
    """Delete acknowledged commands past retention, and ZK punches' dedup rows past theirs
    (a record resent later still carries the same attempt id: punch records it once), tenant
    by tenant (hourly)."""
    try:
        for tenant_id in await directory.tenants():
            async with uow(tenant_id) as tx:
                await tx.queue.prune_acknowledged(days)
                await tx.zk.prune_punches(punch_days)
                await tx.commit()
    except Exception as error:  # noqa: BLE001 - tried again at the next turn
        log.warning("pruning acknowledged commands failed", error=type(error).__name__)
