"""The rule for one kiosk PIN attempt: what is checked, in which order, what is counted and what
is locked. One pure function, ``decide_pin_attempt``; the service layer only gathers the facts
(database, Redis counters, the argon2 check) and carries out the decision.

The function is called up to three times for one attempt, each time with more facts:

1. without ``pin_matches``: either a rejection that needs no argon2 work, or ``VerifyPin``;
2. with ``pin_matches=True``: ``Identified``;
   with ``pin_matches=False`` and no failure counts yet: ``RecordFailure``;
3. with ``pin_matches=False`` and the failure counts after recording this one: the rejection,
   and any lock it causes.

Order of checks (the first that applies decides):

- the Employee ID is unknown in the clock's tenant, the PIN cannot be opened, or the worker is
  not assigned to the clock → ``UNKNOWN_USER``, counted with the *unknown IDs* of the clock, no
  argon2 work. Unknown IDs are counted apart from known workers: a flood of bogus IDs at a clock
  throttles nothing a known worker needs. A correct and a wrong PIN at a clock the worker is not
  assigned to get the same answer (no PIN is checked there), so the kiosk is no PIN oracle;
- the worker is not Active → ``INACTIVE`` (the kiosk shows "Unknown User" for it as well);
- no PIN set / PIN not allowed → ``PIN_NOT_SET`` / ``PIN_NOT_ALLOWED``;
- the worker is locked everywhere (``locked_until`` in the database), or locked at this clock,
  or the clock has seen too many wrong PINs of known workers (someone trying PINs of many
  workers) → ``LOCKED_OUT``, nothing counted, no argon2 work: a lock is never extended by the
  attempts made while it holds;
- otherwise the PIN is checked. A wrong PIN counts against the worker *at this clock* and
  against the worker overall. ``worker_clock_threshold`` failures at one clock lock the worker
  at that clock only (an attacker at one tablet cannot stop the worker punching elsewhere);
  ``worker_total_threshold`` failures across clocks lock the worker everywhere. Each lock lasts
  ``lock_minutes`` and its counter starts again after it, so one attacker can keep a worker
  locked at most at the clocks they stand at, for ``lock_minutes`` per round of guesses.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from .model import WorkerStatus


class Reason(enum.StrEnum):
    """Why an attempt is rejected (the verdict's ``RejectReason``, by name)."""

    UNKNOWN_USER = "UNKNOWN_USER"
    INACTIVE = "INACTIVE"
    PIN_NOT_SET = "PIN_NOT_SET"
    PIN_NOT_ALLOWED = "PIN_NOT_ALLOWED"
    LOCKED_OUT = "LOCKED_OUT"
    WRONG_PIN = "WRONG_PIN"


UNKNOWN_USER = Reason.UNKNOWN_USER
INACTIVE = Reason.INACTIVE
PIN_NOT_SET = Reason.PIN_NOT_SET
PIN_NOT_ALLOWED = Reason.PIN_NOT_ALLOWED
LOCKED_OUT = Reason.LOCKED_OUT
WRONG_PIN = Reason.WRONG_PIN


class UnsealError(Exception):
    """The sealed PIN cannot be opened, or does not belong to this attempt (the fact
    ``pin_opened=False``)."""


@dataclass(frozen=True)
class PinLimits:
    worker_clock_threshold: int = 5  # wrong PINs of a worker at one clock: locked at that clock
    worker_total_threshold: int = 15  # wrong PINs of a worker at all clocks: locked everywhere
    lock_minutes: int = 15  # how long either lock lasts (never extended while it holds)
    clock_failure_limit: int = 30  # wrong PINs of known workers at one clock: no PIN checked
    # Unknown Employee IDs at one clock answered after the time a PIN check takes (no CPU
    # spent: a wait), so the answer's timing is a known worker's; beyond it, at once.
    unknown_paced_per_clock: int = 30


@dataclass(frozen=True)
class PinAttemptFacts:
    """What is known about one attempt when the rule is asked."""

    now: datetime
    pin_opened: bool  # the sealed PIN could be opened (bound to this attempt)
    found: bool  # the Employee ID is a worker of the clock's tenant
    assigned: bool = False  # that worker is assigned to the clock
    status: WorkerStatus | None = None
    pin_set: bool = False
    pin_allowed: bool = False
    locked_until: datetime | None = None  # locked everywhere (database)
    clock_locked_until: datetime | None = None  # locked at this clock (Redis)
    clock_failures: int = 0  # wrong PINs of known workers at this clock, in its window
    worker_failures: bool = False  # the worker has wrong PINs counted (here or anywhere)
    pin_matches: bool | None = None  # None: not checked yet
    # After recording this wrong PIN: the worker's failures at this clock and at all clocks.
    worker_clock_failures: int | None = None
    worker_total_failures: int | None = None


@dataclass(frozen=True)
class Reject:
    reason: Reason
    count_unknown: bool = False  # count with the clock's unknown Employee IDs
    locked_until: datetime | None = None  # shown to the worker with LOCKED_OUT
    attempts_remaining: int = 0  # with WRONG_PIN
    lock_at_clock_until: datetime | None = None  # lock the worker at this clock until then
    lock_worker_until: datetime | None = None  # lock the worker everywhere until then


@dataclass(frozen=True)
class VerifyPin:
    """Check the PIN against the stored hash (argon2), then ask again with ``pin_matches``."""


@dataclass(frozen=True)
class RecordFailure:
    """Count the wrong PIN, then ask again with the worker's failure counts."""


@dataclass(frozen=True)
class Identified:
    """The credential is right. ``forget_failures``: the worker's wrong PINs counted so far are
    forgotten (a correct PIN ends a run of mistakes; with none counted there is nothing to
    forget, and nothing to write)."""

    forget_failures: bool = False


Decision = Reject | VerifyPin | RecordFailure | Identified


def identify_at_clock(
    *, opened: bool, found: bool, assigned: bool, status: WorkerStatus | None
) -> Reject | None:
    """The checks every kiosk credential (a PIN's Employee ID, a badge card) passes first; None
    when the worker may go on. A credential that cannot be opened, names nobody of the tenant,
    or a worker not assigned to the clock → ``UNKNOWN_USER``, counted with the clock's unknown
    IDs (so none of the three can be told apart); a worker not Active → ``INACTIVE``."""
    if not opened or not found or not assigned:
        return Reject(UNKNOWN_USER, count_unknown=True)
    if status != WorkerStatus.ACTIVE:
        return Reject(INACTIVE)
    return None


def decide_pin_attempt(facts: PinAttemptFacts, limits: PinLimits) -> Decision:
    """The decision for one attempt, given what is known so far (see the module docstring)."""
    who = identify_at_clock(
        opened=facts.pin_opened, found=facts.found, assigned=facts.assigned, status=facts.status
    )
    if who is not None:
        return who
    if not facts.pin_set:
        return Reject(PIN_NOT_SET)
    if not facts.pin_allowed:
        return Reject(PIN_NOT_ALLOWED)
    locks = [until for until in (facts.locked_until, facts.clock_locked_until) if until is not None]
    if locks and max(locks) > facts.now:
        return Reject(LOCKED_OUT, locked_until=max(locks))
    if facts.clock_failures >= limits.clock_failure_limit:
        # Someone is trying PINs of many workers at this clock: none is checked there for now
        # (an admin can reset the clock's counters).
        return Reject(LOCKED_OUT)
    if facts.pin_matches is None:
        return VerifyPin()
    if facts.pin_matches:
        return Identified(forget_failures=facts.worker_failures)
    if facts.worker_clock_failures is None or facts.worker_total_failures is None:
        return RecordFailure()
    until = facts.now + timedelta(minutes=limits.lock_minutes)
    if facts.worker_total_failures >= limits.worker_total_threshold:
        return Reject(LOCKED_OUT, locked_until=until, lock_worker_until=until)
    if facts.worker_clock_failures >= limits.worker_clock_threshold:
        return Reject(LOCKED_OUT, locked_until=until, lock_at_clock_until=until)
    return Reject(
        WRONG_PIN, attempts_remaining=limits.worker_clock_threshold - facts.worker_clock_failures
    )


def look_again_for_assignment(*, opened: bool, found: bool, assigned: bool) -> bool:
    """Whether an attempt refused ``UNKNOWN_USER`` only because its worker is not assigned to the
    clock is looked at again before it is answered: the credential opened and named a worker of
    the tenant, so the assignment may have been made a moment ago and still be on its way to
    identity's copy of device-sync's assignments (a worker's first punch just after an admin
    assigned them). An unknown ID or a credential that did not open is answered as it is."""
    return opened and found and not assigned


def unknown_answer_wait(hash_s: float, assignment_grace_s: float) -> float:
    """How long a paced ``UNKNOWN_USER`` waits before it is answered (whoever it names, so its
    timing tells an unknown ID from an unassigned worker no more than its answer does): as long
    as a PIN check takes here, and at least the assignment grace, at whose end an unassigned
    worker is looked up again (``look_again_for_assignment``)."""
    return max(hash_s, assignment_grace_s)


def pace_unknown(unknown_at_clock: int, limits: PinLimits) -> bool:
    """Whether the answer to an unknown Employee ID (the clock's ``unknown_at_clock``-th in its
    window) waits as long as a PIN check: yes, up to the clock's limit; a flood of bogus IDs is
    answered at once (it learns nothing the first ones did not) and holds nothing up."""
    return unknown_at_clock <= limits.unknown_paced_per_clock
