"""Keeping each clock's roster right: every change of a worker, of an assignment or of a site
rule ends here, and queues the commands of every affected clock in the same transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import asyncpg
from punchcard_kit.logging import get_logger

from ..adapters import repository as repo
from ..domain.model import Command, WorkerFacts, canonical, worker_commands
from . import events

log = get_logger(__name__)

Pairs = list[tuple[str, str]]  # (clock id, worker id)


async def change_worker(
    conn: asyncpg.Connection,
    tenant_id: str,
    worker_id: str,
    update: Callable[[WorkerFacts | None], WorkerFacts | None],
    correlation_id: str | None = None,
) -> list[repo.Queued]:
    """Apply ``update`` to the worker (None: nothing to do) and bring every clock in line:
    fresh profile where it changed, removal where the worker left (deactivated, or moved out
    of a site-rule site), the worker added where the site rule now takes them."""
    before, before_profile = await repo.lock_worker(conn, tenant_id, worker_id)
    after = update(before)
    if after is None:
        return []
    clocks_before = set(await repo.clocks_of_worker(conn, tenant_id, worker_id))
    added, removed = await _site_rule_for_worker(conn, tenant_id, after)
    clocks_after = (clocks_before | {c for c, _ in added}) - {c for c, _ in removed}
    await repo.save_worker(conn, tenant_id, after, canonical(after.profile()))
    await events.assignment_events(
        conn,
        tenant_id,
        [(c, w, events.SITE_RULE) for c, w in added],
        removed,
        correlation_id,
    )
    commands = worker_commands(before, before_profile, after, clocks_before, clocks_after)
    return await repo.enqueue(conn, tenant_id, commands)


async def _site_rule_for_worker(
    conn: asyncpg.Connection, tenant_id: str, worker: WorkerFacts
) -> tuple[Pairs, Pairs]:
    """The site rule puts every Active worker of a site on every clock of that site."""
    current = await repo.site_rule_pairs(conn, tenant_id, worker_id=worker.id)
    wanted: set[str] = set()
    if worker.status == "Active" and await repo.site_rule_enabled(conn, tenant_id, worker.site_id):
        wanted = set(await repo.live_clocks_of_site(conn, tenant_id, worker.site_id))
    have = {c for c, _ in current}
    added = await repo.add_assignments(
        conn, tenant_id, [(c, worker.id) for c in sorted(wanted - have)], site_rule=True
    )
    removed = await repo.remove_assignments(
        conn, tenant_id, [(c, worker.id) for c in sorted(have - wanted)], site_rule=True
    )
    return added, removed


async def change_assignments(
    conn: asyncpg.Connection,
    tenant_id: str,
    assign: Sequence[tuple[str, str]],
    unassign: Sequence[tuple[str, str]],
    *,
    site_rule: bool = False,
    correlation_id: str | None = None,
    workers: dict[str, tuple[WorkerFacts, str]] | None = None,
) -> tuple[Pairs, Pairs, list[repo.Queued]]:
    """Assign and unassign (clock, worker) pairs (already validated) and queue the commands:
    the fresh profile to a clock that gains a worker, a removal to one that loses them.
    ``workers``: the pairs' workers as ``repo.workers_by_id`` returned them (already locked),
    read here when not given. Returns the pairs that changed and what was queued."""
    if workers is None:
        worker_ids = sorted({w for _, w in (*assign, *unassign)})
        workers = await repo.workers_by_id(conn, tenant_id, worker_ids)  # locks, in order
    added = await repo.add_assignments(conn, tenant_id, list(assign), site_rule=site_rule)
    removed = await repo.remove_assignments(conn, tenant_id, list(unassign), site_rule=site_rule)
    commands: list[tuple[str, Command]] = []
    for clock_id, worker_id in added:
        facts, profile = workers[worker_id]
        if facts.on_clocks:
            commands.append((clock_id, Command.upsert(profile, worker_id)))
    for clock_id, worker_id in removed:
        known = workers.get(worker_id)
        if known is not None and known[0].on_clocks:
            commands.append((clock_id, Command.remove(worker_id, known[0].employee_id)))
    source = events.SITE_RULE if site_rule else events.DIRECT
    await events.assignment_events(
        conn, tenant_id, [(c, w, source) for c, w in added], removed, correlation_id
    )
    queued = await repo.enqueue(conn, tenant_id, commands)
    return added, removed, queued


async def apply_site_rule_to_clock(
    conn: asyncpg.Connection,
    tenant_id: str,
    clock_id: str,
    site_id: str,
    correlation_id: str | None,
) -> None:
    """After a clock was registered or moved: site-rule workers of other sites leave it, the
    Active workers of its site join it when the site has the rule."""
    current = {w for _, w in await repo.site_rule_pairs(conn, tenant_id, clock_id=clock_id)}
    wanted: set[str] = set()
    if await repo.site_rule_enabled(conn, tenant_id, site_id):
        wanted = set(await repo.active_workers_of_site(conn, tenant_id, site_id))
    await change_assignments(
        conn,
        tenant_id,
        [(clock_id, w) for w in sorted(wanted - current)],
        [(clock_id, w) for w in sorted(current - wanted)],
        site_rule=True,
        correlation_id=correlation_id,
    )


async def apply_site_rule(
    conn: asyncpg.Connection,
    tenant_id: str,
    site_id: str,
    enabled: bool,
    correlation_id: str | None,
) -> tuple[Pairs, Pairs]:
    await repo.set_site_rule(conn, tenant_id, site_id, enabled)
    current = set(await repo.site_rule_pairs(conn, tenant_id, site_id=site_id))
    wanted: set[tuple[str, str]] = set()
    if enabled:
        clocks = await repo.live_clocks_of_site(conn, tenant_id, site_id)
        workers = await repo.active_workers_of_site(conn, tenant_id, site_id)
        wanted = {(c, w) for c in clocks for w in workers}
    added, removed, _ = await change_assignments(
        conn,
        tenant_id,
        sorted(wanted - current),
        sorted(current - wanted),
        site_rule=True,
        correlation_id=correlation_id,
    )
    return added, removed


async def full_resync(
    conn: asyncpg.Connection, tenant_id: str, clock_id: str, reason: str, at_least: int = 0
) -> list[repo.Queued]:
    """FULL_RESYNC, then the whole roster: the clock drops what it has and rebuilds it.
    ``at_least``: a sequence the clock claims to have applied (the new commands come after)."""
    if at_least:
        await conn.execute(
            "UPDATE clocks SET last_sequence = greatest(last_sequence, $3)"
            " WHERE tenant_id = $1 AND id = $2",
            tenant_id,
            clock_id,
            at_least,
        )
    profiles = await repo.roster_profiles(conn, tenant_id, clock_id)
    commands = [(clock_id, Command.resync(reason))]
    commands += [(clock_id, Command.upsert(profile, worker_id)) for worker_id, profile in profiles]
    return await repo.enqueue(conn, tenant_id, commands)
