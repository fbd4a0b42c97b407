"""Identity's read side: lists of workers, one worker, a worker's cards, the PIN policy, the
stale-PIN report and a clock's PIN counters, apart from the write use cases
(``service_layer``). Read-only SQL runs in the tenant's transaction (the unit of work's
connection, under RLS)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from punchcard_kit.access import require_role
from punchcard_kit.caller import Caller
from punchcard_kit.db import contains_pattern, folded, ordered

from .adapters.postgres import (
    PINS_OF_WORKERS,
    WORKER_COLUMNS,
    WORKERS_WITH_PINS,
    PostgresUnitOfWork,
    worker_of,
)
from .domain.cards import Card
from .domain.model import Worker, WorkerStatus
from .service_layer.workers import PinPolicy, Services, load_worker, pin_policy_of, require_clock


def _uow(s: Services, caller: Caller) -> PostgresUnitOfWork:
    return s.uow(caller.tenant_id)  # type: ignore[return-value]  # the Postgres one here


async def get_worker(s: Services, caller: Caller, worker_id: str) -> Worker:
    async with s.uow(caller.tenant_id) as uow:
        return await load_worker(uow, caller, worker_id)


async def clock_locks(s: Services, caller: Caller, worker: Worker) -> dict[str, datetime]:
    """The clocks ``worker`` (one the caller may see) is locked at now, by too many wrong PINs
    there (clock -> until): the kiosk tells them to ask their manager, who unlocks the PIN."""
    now = s.clock()
    locks = await s.counters.worker_locks(caller.tenant_id, worker.id)
    return {clock: until for clock, until in sorted(locks.items()) if until > now}


async def list_cards(s: Services, caller: Caller, worker_id: str) -> list[Card]:
    """The worker's badge / proximity cards, by number (any role that may see the worker)."""
    async with s.uow(caller.tenant_id) as uow:
        worker = await load_worker(uow, caller, worker_id)
        return await uow.cards.of_worker(worker.id)


def worker_filter(
    tenant_id: object,
    search: str | None,
    status: WorkerStatus | None,
    sites: Iterable[str] | None,
    ids: Sequence[str] | None = None,
) -> tuple[str, list[object]]:
    """The workers list's condition and arguments: only the filters given. A manager's list
    (their sites) is served by ``workers_tenant_site_name_icu``, in the page's order; the
    tenant's by ``workers_tenant_name_icu``; given ``ids`` (a page of names to show, up to a
    page), by the primary key."""
    where = ["w.tenant_id = $1"]
    args: list[object] = [tenant_id]
    if ids is not None:
        args.append(list(ids))
        where.append(f"w.id = ANY(${len(args)}::uuid[])")
    if search:
        args.append(contains_pattern(search))
        n = len(args)
        where.append(f"({folded('w.name')} LIKE ${n} OR {folded('w.employee_id')} LIKE ${n})")
    if status:
        args.append(status.value)
        where.append(f"w.status = ${len(args)}")
    if sites is not None:
        args.append(list(sites))
        where.append(f"w.site_id = ANY(${len(args)}::text[])")
    return " AND ".join(where), args


# The list's order (the page's and each site's), as the indexes of migration 0010 hold it.
WORKER_ORDER = f"ORDER BY {ordered('w.name')}, w.employee_id"


def workers_page(condition: str, given: int, *, per_site: bool = False) -> str:
    """A page of the list, by name as people read names (``punchcard_kit.db.ordered``: "Anna",
    "Åsa", "Bob", "Émile", "Zoë", in any case), then Employee ID: ``given`` arguments, then the
    offset and the limit. The order is the indexes' (migration 0010), so a page is read from
    them, not sorted.

    ``per_site``: the last given argument is the manager's sites. Each site's first (offset +
    limit) workers by name are read from ``workers_tenant_site_name_icu``, then the page is taken
    from those. With ``site_id = ANY($n)`` alone, a generic plan (which cannot know how many
    sites there are) priced a walk of the tenant's workers by name within a percent of the
    site index, and took it on a suite's statistics: 12,676 rows for a page of 25."""
    page = f"{WORKER_ORDER} OFFSET ${given + 1} LIMIT ${given + 2}"
    if not per_site:
        return f"SELECT {WORKER_COLUMNS} {WORKERS_WITH_PINS} WHERE {condition} {page}"
    return (
        f"SELECT {WORKER_COLUMNS} FROM (SELECT DISTINCT unnest(${given}::text[]) AS site_id) s"
        f" CROSS JOIN LATERAL (SELECT w.* FROM workers w WHERE {condition}"
        f" AND w.site_id = s.site_id {WORKER_ORDER}"
        f" LIMIT ${given + 1}::bigint + ${given + 2}::bigint) w"
        f" {PINS_OF_WORKERS} {page}"
    )


async def list_workers(
    s: Services,
    caller: Caller,
    *,
    search: str | None,
    status: WorkerStatus | None,
    offset: int,
    limit: int,
    ids: Sequence[str] | None = None,
) -> tuple[list[Worker], int]:
    """Managers see the workers of their sites only (the kit's one rule). ``ids``: of those
    workers only (each a probe of the primary key, whatever the sites)."""
    sites = caller.site_scope()
    condition, args = worker_filter(caller.tenant_id, search, status, sites, ids)
    async with _uow(s, caller) as uow:
        conn = uow.connection
        total = await conn.fetchval(f"SELECT count(*) FROM workers w WHERE {condition}", *args)
        page = workers_page(condition, len(args), per_site=sites is not None and ids is None)
        rows = await conn.fetch(page, *args, offset, limit)
    return [worker_of(r) for r in rows], total


async def pin_policy(s: Services, caller: Caller) -> PinPolicy:
    async with s.uow(caller.tenant_id) as uow:
        return await pin_policy_of(uow)


async def stale_pins(
    s: Services, caller: Caller, offset: int = 0, limit: int = 100
) -> tuple[int | None, list[Worker], int]:
    """The tenant's PIN max age, a page of the workers (of the caller's sites) whose PIN is
    older, oldest first (ties by worker id), and how many there are in all. The stale PINs are
    found through ``worker_pins_tenant_set_at``."""
    async with _uow(s, caller) as uow:
        days = await uow.pins.max_age_days()
        if days is None:
            return None, [], 0
        args: list[object] = [caller.tenant_id, days]
        site_filter = ""
        sites = caller.site_scope()
        if sites is not None:
            args.append(list(sites))
            site_filter = " AND w.site_id = ANY($3::text[])"
        stale = (
            f"{WORKERS_WITH_PINS} WHERE w.tenant_id = $1"
            f" AND p.set_at < now() - make_interval(days => $2){site_filter}"
        )
        total = await uow.connection.fetchval(f"SELECT count(*) {stale}", *args)
        page = f" ORDER BY p.set_at, w.id OFFSET ${len(args) + 1} LIMIT ${len(args) + 2}"
        rows = await uow.connection.fetch(
            f"SELECT {WORKER_COLUMNS} {stale}{page}", *args, offset, limit
        )
    return days, [worker_of(r) for r in rows], total


async def clock_pin_counters(s: Services, caller: Caller, clock_id: str) -> tuple[int, int]:
    """(unknown Employee IDs, known workers' wrong PINs) counted at the clock in its window."""
    require_role(caller, "sysadmin", "manager")
    await require_clock(s, caller, clock_id)
    return await s.counters.clock_counts(caller.tenant_id, clock_id)
