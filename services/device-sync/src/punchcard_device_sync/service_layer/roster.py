"""Keeping each clock's roster right: every change of a worker, of an assignment or of a site
rule ends here, and queues the commands of every affected clock in the same unit of work.
What each clock gets is the domain's one rule (``domain.roster``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from punchcard_kit.logging import get_logger

from ..domain.model import AssignmentSource, ClockRole, Queued, WorkerFacts, WorkerStatus
from ..domain.roster import (
    Holding,
    Pair,
    assignment_commands,
    clock_commands,
    resync_commands,
    role_commands,
    site_rule_changes,
)
from . import biometrics, events
from .unit_of_work import UnitOfWork

log = get_logger(__name__)

Pairs = list[Pair]


async def change_worker(
    uow: UnitOfWork,
    worker_id: str,
    update: Callable[[WorkerFacts | None], WorkerFacts | None],
    correlation_id: str | None = None,
) -> list[Queued]:
    """Apply ``update`` to the worker (None: nothing to do) and bring every clock in line:
    fresh profile where it changed, removal where the worker left (deactivated, or moved out
    of a site-rule site), the worker added where the site rule now takes them."""
    before, before_profile = await uow.workers.lock(worker_id)
    after = update(before)
    if after is None:
        return []
    # The sites whose rule decides where the worker is (left and joined), before reading it.
    await uow.site_rules.lock([before.site_id if before else "", after.site_id])
    roles = await uow.assignments.clocks_of_worker(worker_id)
    clocks_before = set(roles)
    added, removed = await _site_rule_for_worker(uow, after)  # new pairs: USER
    clocks_after = (clocks_before | {c for c, _ in added}) - {c for c, _ in removed}
    now = Holding.of(after, clocks_after, roles)
    assert now.profile is not None
    await uow.workers.save(after, now.profile)
    await events.assignment_events(
        uow, [(c, w, AssignmentSource.SITE_RULE) for c, w in added], removed, correlation_id
    )
    if before is not None and before.on_clocks and not after.on_clocks:
        await biometrics.forget_worker(uow, worker_id)
    was = Holding(before, before_profile, frozenset(clocks_before), roles)
    commands = clock_commands(was, now)
    queued = await uow.queue.enqueue(commands)
    return queued + await biometrics.follow_upserts(uow, queued)


async def _site_rule_for_worker(uow: UnitOfWork, worker: WorkerFacts) -> tuple[Pairs, Pairs]:
    """The site rule puts every Active worker of a site on every clock of that site."""
    current = await uow.assignments.site_rule_pairs(worker_id=worker.id)
    wanted: list[Pair] = []
    if worker.status == WorkerStatus.ACTIVE and await uow.site_rules.enabled(worker.site_id):
        wanted = [(c, worker.id) for c in await uow.clocks.live_of_site(worker.site_id)]
    assign, unassign = site_rule_changes(current, wanted)
    added = await uow.assignments.add(assign, site_rule=True)
    removed = await uow.assignments.remove(unassign, site_rule=True)
    return added, removed


async def change_assignments(
    uow: UnitOfWork,
    assign: Sequence[Pair],
    unassign: Sequence[Pair],
    *,
    site_rule: bool = False,
    correlation_id: str | None = None,
    workers: dict[str, tuple[WorkerFacts, str]] | None = None,
    roles: Mapping[Pair, ClockRole] | None = None,
) -> tuple[Pairs, Pairs, Pairs, list[Queued]]:
    """Assign and unassign (clock, worker) pairs (already validated) and queue the commands:
    the fresh profile to a clock that gains a worker, a removal to one that loses them.
    ``roles``: the role an admin gave an assigned pair (a new pair without one is USER; a pair
    assigned already keeps its role unless given one, and a changed role sends the clock the
    profile with it and republishes the assignment with it). ``workers``: the pairs' workers
    as ``uow.workers.lock_many`` returned them (already locked), read here when not given.
    Returns the pairs assigned, unassigned, whose role changed, and what was queued."""
    if workers is None:
        worker_ids = sorted({w for _, w in (*assign, *unassign)})
        workers = await uow.workers.lock_many(worker_ids)  # locks, in order
    assigning = set(assign)
    given = {p: r for p, r in (roles or {}).items() if p in assigning}
    current = await uow.assignments.roles_of(list(given)) if given else {}
    added = await uow.assignments.add(list(assign), site_rule=site_rule, roles=given)
    removed = await uow.assignments.remove(list(unassign), site_rule=site_rule)
    regraded = {p: r for p, r in given.items() if p in current and current[p] != r}
    if regraded:
        await uow.assignments.set_roles(regraded)
    holdings = {w: Holding(facts, profile) for w, (facts, profile) in workers.items()}
    commands = assignment_commands(holdings, added, removed, given)
    for (clock_id, worker_id), role in regraded.items():
        if worker_id in holdings:
            before = current[(clock_id, worker_id)]
            commands += role_commands(holdings[worker_id], clock_id, before, role)
    source = AssignmentSource.SITE_RULE if site_rule else AssignmentSource.DIRECT
    published = [*added, *regraded]
    await events.assignment_events(
        uow, [(c, w, source) for c, w in published], removed, correlation_id, roles=given
    )
    queued = await uow.queue.enqueue(commands)
    queued += await biometrics.follow_upserts(uow, queued)
    return added, removed, list(regraded), queued


async def apply_site_rule_to_clock(
    uow: UnitOfWork, clock_id: str, site_id: str, correlation_id: str | None, left: str = ""
) -> None:
    """After a clock was registered or moved (from ``left``): site-rule workers of other sites
    leave it, the Active workers of its site join it when the site has the rule."""
    await uow.site_rules.lock([site_id, left])
    current = await uow.assignments.site_rule_pairs(clock_id=clock_id)
    wanted: list[Pair] = []
    if await uow.site_rules.enabled(site_id):
        wanted = [(clock_id, w) for w in await uow.workers.active_of_site(site_id)]
    assign, unassign = site_rule_changes(current, wanted)
    await change_assignments(uow, assign, unassign, site_rule=True, correlation_id=correlation_id)


async def apply_site_rule(
    uow: UnitOfWork, site_id: str, enabled: bool, correlation_id: str | None
) -> tuple[Pairs, Pairs]:
    await uow.site_rules.lock([site_id])
    await uow.site_rules.set(site_id, enabled)
    current = await uow.assignments.site_rule_pairs(site_id=site_id)
    wanted: list[Pair] = []
    if enabled:
        clocks = await uow.clocks.live_of_site(site_id)
        workers = await uow.workers.active_of_site(site_id)
        wanted = [(c, w) for c in clocks for w in workers]
    assign, unassign = site_rule_changes(current, wanted)
    added, removed, _, _ = await change_assignments(
        uow, assign, unassign, site_rule=True, correlation_id=correlation_id
    )
    return added, removed


async def full_resync(
    uow: UnitOfWork, clock_id: str, reason: str, at_least: int = 0
) -> list[Queued]:
    """FULL_RESYNC, then the whole roster: the clock drops what it has and rebuilds it.
    ``at_least``: a sequence the clock claims to have applied (the new commands come after)."""
    if at_least:
        await uow.queue.raise_last_sequence(clock_id, at_least)
    roster = [
        Holding(facts, profile, frozenset(), {clock_id: role})
        for facts, profile, role in await uow.assignments.roster(clock_id)
    ]
    queued = await uow.queue.enqueue(resync_commands(clock_id, reason, roster))
    return queued + await biometrics.follow_upserts(uow, queued)
