"""The unparker: decides parked verdicts once punch knows their worker and clock (and, for a
verdict waiting for face-match's check of its photo, once the check arrived or the evidence wait
passed: ``domain/evidence.py``), and gives up
on (dead-letters) those still unknown after the parked-max-age setting. Runs every few seconds
in every punch process (``runtime.every``, ``main.py``); replicas take turns per tenant (the
claim's advisory lock), so one worker's verdicts are decided in order. See
``domain/parking.py`` for the rules."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from prometheus_client import Counter, Gauge
from punchcard_kit.logging import get_logger
from punchcard_kit.messaging import Message, decode_envelope
from punchcard_kit.messaging.consumer import dead_letter_record

from ..domain.parking import Parked, ready_or_expired
from .ingest import DecideVerdicts, Ingest, NotYetKnown
from .unit_of_work import ParkedVerdicts, UnitOfWork

log = get_logger(__name__)

PARKED = Gauge("punch_parked_verdicts", "Verdicts parked until punch knows their worker/clock")
OLDEST_PARKED = Gauge("punch_parked_oldest_seconds", "Age of the oldest parked verdict")
UNPARKED = Counter(
    "punch_unparked_verdicts_total", "Parked verdicts taken out, by outcome", ["outcome"]
)
_LETTERS = uuid.UUID("3d0f8a51-1f0e-4c55-a1de-7c1c4c2a9b60")


class Unparker:
    def __init__(
        self,
        parked: ParkedVerdicts,
        ingest: Ingest,
        group_id: str,
        max_age: timedelta,
        batch: int = 500,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.parked = parked
        self.ingest = ingest
        self.group_id = group_id  # the verdicts' consumer group: its dead-letter topic
        self.max_age = max_age
        self.batch = batch
        self.clock = clock

    async def run_once(self) -> int:
        """One pass over every tenant with parked verdicts; returns how many were taken out."""
        tenants = await self.parked.tenants_with_parked()
        done = 0
        for tenant_id in tenants:
            done += await self._tenant(tenant_id)
        count, oldest = await self.parked.count()
        PARKED.set(count)
        OLDEST_PARKED.set(oldest)
        return done

    async def _tenant(self, tenant_id: str) -> int:
        # Judged as of before the claim's transaction begins: the rows it writes are stamped
        # with that transaction's start (``now()``), never before a wait judged to have passed.
        now = self.clock()
        async with self.parked.claim(tenant_id, self.batch) as claim:
            if claim is None or not claim.rows:
                return 0  # another replica is on this tenant, or nothing left
            rows = claim.rows
            async with claim.uow as uow:
                known_workers = await uow.ledger.workers({r["worker_id"] for r in rows})
                known_clocks = await uow.ledger.clocks({r["clock_id"] for r in rows})
                # Verdicts waiting for their photo's check (the tenant's evidence policy).
                awaiting = [r["attempt_id"] for r in rows if r["evidence_due"] is not None]
                checked = set(await uow.ledger.evidence_checks(awaiting)) if awaiting else set()
                ready, expired = ready_or_expired(
                    [
                        Parked(
                            r["seq"],
                            r["worker_id"],
                            r["clock_id"],
                            r["parked_at"],
                            r["attempt_id"],
                            r["evidence_due"],
                        )
                        for r in rows
                    ],
                    set(known_workers),
                    set(known_clocks),
                    now,
                    self.max_age,
                    checked,
                )
                by_seq = {r["seq"]: r for r in rows}
                if expired:
                    await self._dead_letter(uow, tenant_id, [by_seq[p.seq] for p in expired])
                if ready:
                    await uow.parked.remove([p.seq for p in ready])
                    messages = [
                        Message(
                            r["topic"],
                            r["kafka_partition"],
                            r["kafka_offset"],
                            r["record_key"],
                            decode_envelope(r["envelope"]),
                        )
                        for r in (by_seq[p.seq] for p in ready)
                    ]
                    await self.ingest.decide(DecideVerdicts(tenant_id, messages, now), uow)
                    log.info("parked verdicts decided", tenant_id=tenant_id, count=len(ready))
                await uow.commit()
        UNPARKED.labels("decided").inc(len(ready))
        UNPARKED.labels("dead_lettered").inc(len(expired))
        return len(ready) + len(expired)

    async def _dead_letter(self, uow: UnitOfWork, tenant_id: str, rows) -> None:
        """Give up on verdicts parked too long: to the verdicts group's dead-letter topic,
        their event ids out of ``processed_events`` so that a redrive is decided."""
        letters = [
            dead_letter_record(
                self.group_id,
                r["topic"],
                r["kafka_partition"],
                r["kafka_offset"],
                r["record_key"],
                r["envelope"],
                NotYetKnown(f"parked since {r['parked_at'].isoformat()}: {r['reason']}"),
                1,
                str(uuid.uuid5(_LETTERS, f"{tenant_id}/{r['attempt_id']}/{r['seq']}")),
            )
            for r in rows
        ]
        await uow.parked.dead_letter(self.group_id, rows, letters)
        for r in rows:
            log.error(
                "parked verdict dead-lettered: its worker or clock never became known",
                attempt_id=r["attempt_id"],
                reason=r["reason"],
                dlq=letters[0].topic,
            )
