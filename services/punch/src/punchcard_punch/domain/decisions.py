"""How an identified attempt becomes a punch: the rules payroll relies on, as pure functions.

An attempt whose worker was identified is, in this order:
1. refused if its capture time is in the future (beyond the clock-skew allowance), or older
   than the online allowance when the kiosk did not mark it offline (an online punch is sent as
   it is taken: a tablet's credential cannot backdate one), or older than the offline maximum —
   all measured against the edge's receive time, so a consumer that lags never turns a good
   punch into a stale one;
2. refused ``INACTIVE`` unless the worker is Active;
3. refused ``NOT_ASSIGNED_TO_CLOCK`` unless the worker is assigned to the clock (the kiosk shows
   it as "Unknown User", as hardware clocks do);
   for 2 and 3 the verdict's producer counts too: what identity checked when the attempt was made
   (a PIN or card: the worker Active and assigned; face-match's search of the clock's workers:
   assigned) is not refused on punch's own copy of workers and assignments, which may still lag
   behind the same events for a worker activated or assigned a moment before (``checked_active``,
   ``checked_assigned`` of ``WorkerIdentified``);
4. refused ``FACE_CHECK_FAILED`` when the tenant's evidence policy refuses the punch's photo
   (``domain/evidence.py``: another face or none, on a PIN or card punch) — before the double
   tap, so a stranger's punch is never answered with the worker's own;
5. a **double tap** when another punch of the worker lies within the window (default 60 s) of
   its capture time, before or after it, and in the same direction (or the kiosk gave none):
   answered with that punch, nothing recorded;
6. otherwise recorded: IN or OUT as the kiosk said, else the opposite of the worker's last punch
   before it — IN when there is none, or when the last IN is older than the toggle reset (a
   forgotten OUT must not make the next morning's punch an OUT): ``toggled``. The direction
   is then a guess (``inferred``): what the kiosk told the worker; the timesheet guesses again
   with every punch it knows (a late upload, an admin's correction).

A recorded offline punch captured longer before its receipt than the review age is kept but
flagged for an admin's review (``needs_review``): it counts, and the portal marks it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .model import Direction, ledger_order


@dataclass(frozen=True)
class Policy:
    double_tap_window: timedelta = timedelta(seconds=60)
    clock_skew: timedelta = timedelta(seconds=120)
    # How long before its receipt an attempt not marked offline may have been captured.
    online_max_age: timedelta = timedelta(minutes=5)
    max_offline_age: timedelta = timedelta(days=7)
    # Offline punches captured longer than this before their receipt are flagged for review.
    offline_review_age: timedelta = timedelta(hours=24)
    # Longer than a shift, shorter than a night's rest (a day shift's is 14-16 h; the EU's
    # minimum 11 h): a toggle gone wrong by a forgotten punch is put right the next morning.
    toggle_reset: timedelta = timedelta(hours=12)


@dataclass(frozen=True)
class Nearby:
    """An effective (not voided) punch of the worker near the attempt's capture time."""

    punch_id: str
    direction: Direction
    at: datetime


@dataclass(frozen=True)
class Record:
    direction: Direction
    inferred: bool


@dataclass(frozen=True)
class Repeat:
    earlier: Nearby


@dataclass(frozen=True)
class Reject:
    reason: str  # a RejectReason name without its prefix, e.g. "INACTIVE"


Decision = Record | Repeat | Reject


def check_capture_time(
    captured_at: datetime, received_at: datetime, policy: Policy, *, offline: bool
) -> str | None:
    """The reason to refuse the attempt's capture time, or None when it is acceptable."""
    if captured_at > received_at + policy.clock_skew:
        return "CAPTURE_TIME_IN_FUTURE"
    oldest = policy.max_offline_age if offline else policy.online_max_age
    if captured_at < received_at - oldest:
        return "CAPTURE_TIME_TOO_OLD"
    return None


def check_correction_time(
    punched_at: datetime, now: datetime, policy: Policy = Policy()
) -> str | None:
    """The reason to refuse an admin's correction at ``punched_at``, or None: a punch is added
    or moved to a time that has come, give or take the clock-skew allowance (a missed punch
    is in the past; any age is allowed, a payroll period may be corrected after it closed)."""
    if punched_at > now + policy.clock_skew:
        return "PUNCHED_AT_IN_FUTURE"
    return None


def needs_review(
    captured_at: datetime, received_at: datetime, policy: Policy, *, offline: bool
) -> bool:
    """Whether a recorded punch is flagged for an admin's review: an offline punch captured
    longer than the review age before the edge received it."""
    return offline and received_at - captured_at > policy.offline_review_age


def neighbours(
    punches: list[Nearby], at: datetime, window: timedelta
) -> tuple[Nearby | None, Nearby | None]:
    """The last punch at or before ``at`` and the first one after it within ``window``, in
    ``ledger_order`` (at one instant the IN is the later)."""
    before = [p for p in punches if p.at <= at]
    after = [p for p in punches if at < p.at <= at + window]
    previous = max(before, key=_ledger_order) if before else None
    following = min(after, key=_ledger_order) if after else None
    return previous, following


def _ledger_order(punch: Nearby) -> tuple[datetime, bool, str]:
    return ledger_order(punch.at, punch.direction, punch.punch_id)


def decide(
    *,
    captured_at: datetime,
    received_at: datetime,
    offline: bool,
    requested: Direction | None,
    worker_active: bool,
    assigned: bool,
    previous: Nearby | None,
    following: Nearby | None,
    policy: Policy,
    face_check_failed: bool = False,
    checked_active: bool = False,
    checked_assigned: bool = False,
) -> Decision:
    """The decision for one identified attempt (see the module docstring for the rules).
    ``worker_active``, ``assigned``: punch's own copy says so; ``checked_active``,
    ``checked_assigned``: the verdict's producer checked it at the attempt.
    ``face_check_failed``: ``evidence.refuses`` for the attempt's photo."""
    reason = check_capture_time(captured_at, received_at, policy, offline=offline)
    if reason is not None:
        return Reject(reason)
    if not (worker_active or checked_active):
        return Reject("INACTIVE")
    if not (assigned or checked_assigned):
        return Reject("NOT_ASSIGNED_TO_CLOCK")
    if face_check_failed:
        return Reject("FACE_CHECK_FAILED")
    window = policy.double_tap_window
    for near in (previous, following):
        if near is None or abs(captured_at - near.at) > window:
            continue
        if requested is None or requested == near.direction:
            return Repeat(near)
    if requested is not None:
        return Record(requested, inferred=False)
    if previous is None:
        return Record(Direction.IN, inferred=True)
    return Record(
        toggled(previous.direction, previous.at, captured_at, policy.toggle_reset), inferred=True
    )


def toggled(
    previous_direction: str, previous_at: datetime, at: datetime, reset: timedelta
) -> Direction:
    """The IN/OUT toggle (rule 6), for a punch at ``at`` that came without a direction, after
    the worker's punch ``previous_direction`` at ``previous_at``: OUT after an IN at most
    ``reset`` before, else IN. A forgotten punch makes the next one the wrong way round; past
    the reset (longer than a shift, shorter than a night's rest) the next morning is an IN
    again, and the wrong one shows as a flagged shift instead of a rest paid as work.
    ``timesheet`` reads every such punch again by this rule, with the punches known by then."""
    if previous_direction == Direction.IN and at - previous_at <= reset:
        return Direction.OUT
    return Direction.IN
