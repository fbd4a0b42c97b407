"""The reconciler of kiosk attempts: no attempt a worker was told "received" vanishes silently.

The edge claims an attempt and, in the same transaction, puts its event in the outbox and
*holds* a copy of that outbox record (the PIN sealed to identity's key, or the frame) until the
attempt's outcome is stored. The outcome normally comes within seconds and deletes the copy.
When it does not — identity or face-match down longer than the attempt topic keeps its records,
a record dead-lettered, a gateway replica restarted while the kiosk stopped asking — this job,
run every few seconds by every replica (``punchcard_kit.periodic``), looks at the held attempts
that are due (domain.kiosk.RepublishPolicy):

1. it asks punch whether it decided the attempt (the lookup the edge uses); if so the outcome
   is stored and the copy deleted — resolved;
2. otherwise, once the attempt is older than the hold, the copy is deleted and the loss logged
   and counted (``punchcard_kiosk_attempts_given_up_total``) — given up;
3. otherwise the same record (same bytes, same event id) goes to the outbox again and the next
   look is scheduled — republished. A consumer that processed it already drops it as a
   duplicate; punch decides each attempt id once. Two replicas never republish one attempt
   twice in one turn (a row lock and the publish count).

Gauges (refreshed each turn, the same in every replica): attempts held without an outcome, the
age of the oldest of them, and claims without an outcome that are held no longer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from prometheus_client import Counter, Gauge
from punchcard_kit.logging import get_logger

from ..domain.kiosk import (
    Clock,
    HeldAttempt,
    Outcome,
    RepublishPolicy,
    next_check_at,
    should_give_up,
)
from .kiosk import OutcomeLookup, utc_now

log = get_logger(__name__)

UNRESOLVED = Gauge(
    "punchcard_kiosk_unresolved_attempts",
    "Kiosk attempts claimed and held without an outcome yet (every tenant)",
)
OLDEST_AGE = Gauge(
    "punchcard_kiosk_unresolved_oldest_age_seconds",
    "Age of the oldest kiosk attempt held without an outcome (0 when none)",
)
ABANDONED = Gauge(
    "punchcard_kiosk_abandoned_attempts",
    "Kiosk attempt claims without an outcome that are no longer held (given up), until pruned",
)
RECONCILED = Counter(
    "punchcard_kiosk_attempts_reconciled_total",
    "Held kiosk attempts the reconciler looked at, by what it did"
    " (resolved, republished, given_up)",
    ["action"],
)


class HeldAttempts(Protocol):
    async def due(self, limit: int) -> list[tuple[str, str]]:
        """(tenant id, attempt id) of held attempts due for a look, every tenant."""

    async def held(self, tenant_id: str, attempt_id: str) -> HeldAttempt | None:
        """The held attempt, None when it has an outcome or is held no longer."""

    async def save_outcome(self, tenant_id: str, attempt_id: str, event: Outcome) -> None:
        """Store the outcome with the claim and delete the held attempt."""

    async def republish(
        self, tenant_id: str, attempt_id: str, published: int, next_check_at: datetime
    ) -> bool:
        """Put the held record in the outbox again if it was published ``published`` times
        and no one holds it now; schedule the next look. False: someone else did."""

    async def give_up(self, tenant_id: str, attempt_id: str) -> bool:
        """Delete the held attempt; False when it was gone already."""

    async def held_stats(self) -> tuple[int, datetime | None, int]:
        """(held, earliest arrival among them or None, claims without outcome not held)."""


@dataclass
class Turn:
    """What one turn did."""

    resolved: int = 0
    republished: int = 0
    given_up: int = 0
    failed: int = 0


class AttemptReconciler:
    def __init__(
        self,
        *,
        store: HeldAttempts,
        lookup: OutcomeLookup,
        policy: RepublishPolicy,
        batch: int = 200,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.lookup = lookup
        self.policy = policy
        self.batch = batch
        self.now = now
        self._oldest: datetime | None = None
        OLDEST_AGE.set_function(self._oldest_age)

    async def run_once(self) -> Turn:
        turn = Turn()
        for tenant_id, attempt_id in await self.store.due(self.batch):
            try:
                await self._look_at(tenant_id, attempt_id, turn)
            except Exception as error:  # noqa: BLE001 - the next turn looks again
                turn.failed += 1
                log.warning(
                    "reconciling a kiosk attempt failed; looking again next turn",
                    tenant_id=tenant_id,
                    attempt_id=attempt_id,
                    error=type(error).__name__,
                )
        await self.refresh_gauges()
        if turn.resolved or turn.republished or turn.given_up:
            log.info(
                "kiosk attempts reconciled",
                resolved=turn.resolved,
                republished=turn.republished,
                given_up=turn.given_up,
            )
        return turn

    async def refresh_gauges(self) -> None:
        held, oldest, abandoned = await self.store.held_stats()
        UNRESOLVED.set(held)
        ABANDONED.set(abandoned)
        self._oldest = oldest

    def _oldest_age(self) -> float:
        if self._oldest is None:
            return 0.0
        return max((self.now() - self._oldest).total_seconds(), 0.0)

    async def _look_at(self, tenant_id: str, attempt_id: str, turn: Turn) -> None:
        held = await self.store.held(tenant_id, attempt_id)
        if held is None:
            return  # resolved meanwhile
        clock = Clock(tenant_id=tenant_id, clock_id=held.clock_id)
        outcome = await self.lookup.outcome(clock, attempt_id)
        if outcome is not None:
            await self.store.save_outcome(tenant_id, attempt_id, outcome)
            turn.resolved += 1
            RECONCILED.labels("resolved").inc()
            return
        now = self.now()
        if should_give_up(held.received_at, now, self.policy):
            if await self.store.give_up(tenant_id, attempt_id):
                turn.given_up += 1
                RECONCILED.labels("given_up").inc()
                log.error(
                    "kiosk attempt given up: no outcome within the hold; its record is deleted",
                    tenant_id=tenant_id,
                    attempt_id=attempt_id,
                    clock_id=held.clock_id,
                    received_at=held.received_at.isoformat(),
                    published=held.published,
                )
            return
        following = next_check_at(held.received_at, held.published + 1, now, self.policy)
        if await self.store.republish(tenant_id, attempt_id, held.published, following):
            turn.republished += 1
            RECONCILED.labels("republished").inc()
            log.warning(
                "kiosk attempt without an outcome published again",
                tenant_id=tenant_id,
                attempt_id=attempt_id,
                clock_id=held.clock_id,
                published=held.published + 1,
                next_check_at=following.isoformat(),
            )
