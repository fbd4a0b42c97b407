"""When a verdict names a worker or clock punch does not know yet: wait, park, or decide.

identity's and device-sync's events about a worker or clock usually reach punch's projections
before the first verdict that names them; sometimes a verdict overtakes them by a moment. So an
identified verdict is, in this order:

1. **parked** when an earlier verdict of the same worker is parked: one worker's verdicts are
   decided in the order they came (the IN/OUT toggle and the double-tap rule depend on it);
2. **decided** when punch knows both the worker and the clock — unless it waits for
   face-match's check of its photo (the tenant's evidence policy, ``domain/evidence.py``):
   then it is **parked** until the check arrives or the evidence wait has passed;
3. **waited for** (the consumer's batch retries with backoff) while the verdict is younger
   than the park-after setting (default 60 s): the projection is most likely on its way;
4. otherwise **parked**: kept durably aside so the partition, with every other tenant's
   verdicts on it, moves on. No record may block a partition for ever.

A parked verdict is decided as soon as both are known and it waits for no check
(``ready_or_expired``); one still unknown
after the parked-max-age setting goes to the dead-letter topic, from where an operator can
redrive it (``punchcard-dlq``).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence, Set
from dataclasses import dataclass
from datetime import datetime, timedelta


class Hold(enum.Enum):
    DECIDE = "decide"
    WAIT = "wait"
    PARK = "park"


def hold(
    *,
    worker_known: bool,
    clock_known: bool,
    earlier_parked: bool,
    age: timedelta,
    park_after: timedelta,
    awaits_check: bool = False,
) -> Hold:
    """What to do with one identified verdict now (the rules above, in their order).
    ``awaits_check``: ``evidence.awaits_check`` for the verdict."""
    if earlier_parked:
        return Hold.PARK
    if worker_known and clock_known:
        return Hold.PARK if awaits_check else Hold.DECIDE
    if age < park_after:
        return Hold.WAIT
    return Hold.PARK


@dataclass(frozen=True)
class Parked:
    """A parked verdict, as the unparker sees it."""

    seq: int
    worker_id: str
    clock_id: str
    parked_at: datetime
    attempt_id: str = ""
    # Until when it waits for face-match's check of its photo (None: it waits for none).
    evidence_due: datetime | None = None


def ready_or_expired(
    parked: Sequence[Parked],
    known_workers: set[str],
    known_clocks: set[str],
    now: datetime,
    max_age: timedelta,
    checked: Set[str] = frozenset(),
) -> tuple[list[Parked], list[Parked]]:
    """Which parked verdicts to decide now and which to give up on (dead-letter), keeping each
    worker's order: a worker's verdicts are taken oldest first, up to the first one that must
    still wait (its worker or clock unknown and not yet too old, or its photo's check neither
    arrived — ``checked``: the attempt ids with one — nor overdue)."""
    ready: list[Parked] = []
    expired: list[Parked] = []
    waiting: set[str] = set()
    for item in sorted(parked, key=lambda p: p.seq):
        if item.worker_id in waiting:
            continue
        if item.worker_id in known_workers and item.clock_id in known_clocks:
            if (
                item.evidence_due is not None
                and item.attempt_id not in checked
                and now < item.evidence_due
            ):
                waiting.add(item.worker_id)
                continue
            ready.append(item)
        elif now - item.parked_at > max_age:
            expired.append(item)
        else:
            waiting.add(item.worker_id)
    return ready, expired
