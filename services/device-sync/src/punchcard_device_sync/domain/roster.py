"""What a clock receives: the one rule, for every change.

A clock holds a worker when the worker is assigned to it (directly or by its site's rule) and
is on clocks at all (not Inactive). Whatever changes — the worker (details, status, PIN, face
enrolment), the worker's clocks (an assignment, a site rule, a clock moved to another site), or
a clock's whole roster (a resync) — is one worker going from one :class:`Holding` to another,
and :func:`clock_commands` says what each clock gets:

- a clock that now holds the worker gets ``UPSERT_WORKER`` with the worker's profile on that
  clock (the worker's profile with the clock's ``clock_role``), when it did not hold the
  worker before or that profile changed (the worker's details, or their role there);
- a clock that held the worker and no longer does gets ``REMOVE_WORKER``;
- every other clock gets nothing.

Pure: no I/O here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .model import DEFAULT_CLOCK_ROLE, ClockRole, Command, WorkerFacts, canonical, clock_profile

Pair = tuple[str, str]  # (clock id, worker id)


@dataclass(frozen=True)
class Holding:
    """One worker as clocks see it at one moment: what device-sync knows of the worker (None
    until identity registered them), the profile every clock gets before its own role
    (``canonical(worker.profile())``, as stored), the live clocks the worker is assigned to,
    and the worker's role on each of them (a clock not in ``roles``: USER)."""

    worker: WorkerFacts | None
    profile: str | None
    clocks: frozenset[str] = frozenset()
    roles: Mapping[str, ClockRole] = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def of(
        cls,
        worker: WorkerFacts | None,
        clocks: Iterable[str] = (),
        roles: Mapping[str, ClockRole] | None = None,
    ) -> Holding:
        """The worker with their current profile (None: not registered)."""
        profile = canonical(worker.profile()) if worker is not None else None
        return cls(worker, profile, frozenset(clocks), dict(roles or {}))

    def on(self, clocks: Iterable[str], roles: Mapping[str, ClockRole] | None = None) -> Holding:
        """The same worker and profile, assigned to ``clocks`` instead (with ``roles`` there,
        or the roles it had)."""
        return Holding(
            self.worker, self.profile, frozenset(clocks), self.roles if roles is None else roles
        )

    def role_on(self, clock_id: str) -> ClockRole:
        return self.roles.get(clock_id, DEFAULT_CLOCK_ROLE)

    def profile_on(self, clock_id: str) -> str | None:
        """The profile the clock receives: the worker's, with the worker's role there."""
        if self.profile is None:
            return None
        return clock_profile(self.profile, self.role_on(clock_id))

    def held_by(self, clock_id: str) -> bool:
        """Whether the clock holds the worker in this state."""
        return self.worker is not None and self.worker.on_clocks and clock_id in self.clocks


def clock_commands(before: Holding, after: Holding) -> list[tuple[str, Command]]:
    """THE rule (module doc): each affected clock's command, in clock id order, when one worker
    goes from ``before`` to ``after``."""
    commands: list[tuple[str, Command]] = []
    for clock_id in sorted(before.clocks | after.clocks):
        had, has = before.held_by(clock_id), after.held_by(clock_id)
        profile = after.profile_on(clock_id)
        if has and (not had or profile != before.profile_on(clock_id)):
            assert after.worker is not None and profile is not None
            commands.append((clock_id, Command.upsert(profile, after.worker.id)))
        elif had and not has:
            assert before.worker is not None
            commands.append((clock_id, Command.remove(before.worker.id, before.worker.employee_id)))
    return commands


def both_ways(assign: Sequence[Pair], unassign: Sequence[Pair]) -> Pair | None:
    """The first pair a change would both assign and unassign, if any: such a change says
    two things about one pair, and is refused rather than read in either order."""
    unassigning = set(unassign)
    return next((pair for pair in assign if pair in unassigning), None)


def assignment_commands(
    workers: Mapping[str, Holding],
    assigned: Sequence[Pair],
    unassigned: Sequence[Pair],
    roles: Mapping[Pair, ClockRole] | None = None,
) -> list[tuple[str, Command]]:
    """The commands of pairs assigned, then of pairs unassigned (in that order, as they were
    changed), the workers themselves unchanged: each pair is its worker going from not held
    to held by that clock (or back), by :func:`clock_commands`. ``workers``: each worker as
    it is (a worker device-sync does not know gets nothing); ``roles``: an assigned pair's
    role on its clock (USER when not given)."""
    unknown = Holding(None, None)
    roles = roles or {}
    commands: list[tuple[str, Command]] = []
    for pairs, assigning in ((assigned, True), (unassigned, False)):
        for clock_id, worker_id in pairs:
            worker = workers.get(worker_id, unknown)
            role = roles.get((clock_id, worker_id), DEFAULT_CLOCK_ROLE)
            off, on = worker.on(()), worker.on((clock_id,), {clock_id: role})
            commands += clock_commands(off, on) if assigning else clock_commands(on, off)
    return commands


def role_commands(
    worker: Holding, clock_id: str, before: ClockRole, after: ClockRole
) -> list[tuple[str, Command]]:
    """The worker's role on a clock they are assigned to changed: the clock gets the profile
    with the new role (nothing when the role is the same, or the clock does not hold the
    worker: an Inactive worker gets the role with their next UPSERT_WORKER)."""
    return clock_commands(
        worker.on((clock_id,), {clock_id: before}), worker.on((clock_id,), {clock_id: after})
    )


def resync_commands(
    clock_id: str, reason: str, roster: Iterable[Holding]
) -> list[tuple[str, Command]]:
    """``FULL_RESYNC`` (the clock drops everything it holds), then every worker of its roster
    as held from nothing, by :func:`clock_commands`."""
    commands = [(clock_id, Command.resync(reason))]
    for worker in roster:
        commands += clock_commands(worker.on(()), worker.on((clock_id,)))
    return commands


def site_rule_changes(
    current: Iterable[Pair], wanted: Iterable[Pair]
) -> tuple[list[Pair], list[Pair]]:
    """What a site rule must assign and unassign to go from ``current`` to ``wanted`` (sorted)."""
    have, want = set(current), set(wanted)
    return sorted(want - have), sorted(have - want)
