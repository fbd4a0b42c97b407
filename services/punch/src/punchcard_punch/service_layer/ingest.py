"""Verdicts in, ledger out (consumer of punchcard.identification.verdicts.v1).

One consumer batch (up to CONSUMER_MAX_BATCH verdicts, across tenants) is decided in the
consumer's one transaction with a fixed number of statements per tenant, whatever the batch
size: the attempts already decided, the workers, clocks and assignments involved, each
worker's neighbouring punches, then one insert into the ledger, one into the decided attempts,
one into the outbox. Verdicts of one worker come in order (the topic is keyed by worker), and
punches decided earlier in the same batch count as neighbours of later ones.

Exactly once: the ledger's unique attempt id and the ``attempts`` table mean a verdict seen
again (redelivered, or a second verdict for the same attempt) decides nothing new; the kit's
consumer commits the Kafka offset only after this transaction.

A verdict naming a worker or clock that punch's projections do not know yet (identity's or
device-sync's event is still on its way) is not decided: while it is young, ``NotYetKnown``
(transient) makes the batch wait with backoff until the projection has caught up; once it is
older than ``park_after`` it is parked (``domain/parking.py``, ``service_layer/parking.py``)
and the partition moves on — no verdict blocks a partition for ever.

A tenant with the evidence policy on (``domain/evidence.py``) has its PIN and card verdicts
whose attempt carries a photo parked the same way until face-match's check of the photo has
arrived (``punch_evidence``) or the evidence wait has passed; the unparker then decides them
with the check, or without one (fail open).

The use case (``Ingest.decide``) takes one tenant's verdicts (``DecideVerdicts``) and a unit of
work; ``entrypoints/consumers.py`` splits a consumer batch by tenant and opens each tenant's
unit of work on the batch's connection (``TenantUnitOfWork.on_connection``)."""

from __future__ import annotations

import uuid
from collections import Counter as Tally
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from prometheus_client import Counter
from punchcard.v1 import identification_pb2, punch_pb2
from punchcard_kit.contract_enums import message_type
from punchcard_kit.logging import get_logger
from punchcard_kit.messaging import Message, catalogue, new_envelope, outbox_record
from punchcard_kit.messaging.consumer import Unprocessable
from punchcard_kit.messaging.envelope import is_canonical_uuid, time_ordered_uuid, to_datetime

from ..domain.decisions import (
    Nearby,
    Policy,
    Record,
    Reject,
    Repeat,
    decide,
    needs_review,
    neighbours,
)
from ..domain.evidence import awaits_check, has_photo, refuses
from ..domain.parking import Hold, hold
from ..domain.workers import WorkerStatus
from .events import (
    DIRECTION_NAMES,
    PUNCHES_TOPIC,
    method_of,
    reason_name,
    reason_value,
    recorded_event,
)
from .unit_of_work import UnitOfWork

log = get_logger(__name__)

VERDICTS_TOPIC = catalogue.IDENTIFICATION_VERDICTS.name
IDENTIFIED = message_type(identification_pb2.WorkerIdentified)
REJECTED = message_type(identification_pb2.IdentificationRejected)
VERDICT_TYPES = (IDENTIFIED, REJECTED)


# Attempts punch decided: recorded, repeated (a double tap answered with the earlier punch) or
# rejected, with the RejectReason's name (empty unless rejected).
DECIDED = Counter(
    "punch_attempts_decided_total",
    "Punch attempts decided, by outcome (recorded, repeated, rejected) and reject reason",
    ["outcome", "reason"],
)

WAITING_FOR_CHECK = "waiting for face-match's check of its photo"


class NotYetKnown(Exception):
    """A verdict names a worker or clock punch has not learned of yet: wait, then retry."""


def _checked(message: Message) -> str:
    """The verdict's attempt id; a verdict whose ids or capture time are malformed can never be
    decided: it goes to the dead-letter topic at once (the edge never sends one)."""
    verdict = message.payload
    context = verdict.context
    attempt_id = context.attempt_id
    try:
        # The canonical spelling (what the edge sends) is checked by a pattern; any other
        # is parsed (and the attempt id written canonically).
        if not is_canonical_uuid(attempt_id):
            attempt_id = str(uuid.UUID(attempt_id))
        if not is_canonical_uuid(context.clock_id):
            uuid.UUID(context.clock_id)
        if verdict.worker_id and not is_canonical_uuid(verdict.worker_id):
            uuid.UUID(verdict.worker_id)
    except ValueError:
        raise Unprocessable(f"verdict {message.event_id} has a malformed id") from None
    if message.type == IDENTIFIED and not context.HasField("captured_at"):
        raise Unprocessable(f"verdict {message.event_id} has no capture time")
    if message.type == IDENTIFIED and method_of(verdict.method) is None:
        raise Unprocessable(f"verdict {message.event_id} has an unknown method {verdict.method}")
    return attempt_id


def recorded_row(
    tenant_id: str,
    attempt_id: str,
    verdict: identification_pb2.WorkerIdentified,
    worker,
    clock,
    decision: Record,
    captured_at: datetime,
    received_at: datetime,
    review: bool = False,
) -> dict[str, Any]:
    """The ledger row of a recorded punch (with the worker's and clock's facts now): a kiosk
    app's, or a hardware clock's with the device's raw VerifyMode and State beside it."""
    context = verdict.context
    face = verdict.face if verdict.HasField("face") else None
    return {
        "id": time_ordered_uuid(),  # appended at the primary key's right edge
        "tenant_id": tenant_id,
        "kind": "RECORDED",
        "worker_id": verdict.worker_id,
        "employee_id": worker["employee_id"],
        "display_name": worker["display_name"],
        "clock_id": context.clock_id,
        "site_id": clock["site_id"],
        "time_zone": clock["time_zone"],
        "direction": decision.direction,
        "direction_inferred": decision.inferred,
        "method": method_of(verdict.method),
        "face_distance": face.distance if face else None,
        "face_margin": face.margin if face and face.HasField("margin") else None,
        "face_threshold": face.threshold if face else None,
        "face_model": face.model_name if face else None,
        "face_one_to_one": face.one_to_one if face else None,
        "punched_at": captured_at,
        "received_at": received_at,
        "captured_offline": context.captured_offline,
        "needs_review": review,
        "attempt_id": attempt_id,
        "device_verify_mode": (
            context.device_verify_mode if context.HasField("device_verify_mode") else None
        ),
        "device_state": context.device_state if context.HasField("device_state") else None,
    }


def _time(ts) -> datetime | None:
    return to_datetime(ts) if ts.seconds or ts.nanos else None


class _Identified(NamedTuple):
    """An identified verdict's fields ingest reads more than once, read out of it once."""

    attempt_id: str
    message: Message
    verdict: identification_pb2.WorkerIdentified
    worker_id: str
    clock_id: str
    captured_at: datetime | None


def _identified(attempt_id: str, message: Message) -> _Identified:
    verdict = message.payload
    context = verdict.context
    return _Identified(
        attempt_id,
        message,
        verdict,
        verdict.worker_id,
        context.clock_id,
        _time(context.captured_at),
    )


@dataclass
class _Outcome:
    message: Message
    attempt_id: str
    clock_id: str
    worker_id: str = ""
    kind: str = "REJECTED"  # RECORDED | REPEATED | REJECTED
    reason: str = ""
    row: dict[str, Any] | None = None  # the new ledger row (RECORDED)
    earlier_id: str = ""  # REPEATED: the punch answered with


@dataclass(frozen=True)
class DecideVerdicts:
    """One tenant's verdicts (``WorkerIdentified`` / ``IdentificationRejected`` envelopes, in
    the order they came). ``as_of``: the time their waits are judged against (None: now). The
    unparker passes one taken before its transaction began, so no row of the batch is stamped
    (``now()``, the transaction's start) before a wait it was judged to have passed."""

    tenant_id: str
    verdicts: Sequence[Message]
    as_of: datetime | None = None


class Ingest:
    def __init__(
        self,
        policy: Policy,
        park_after: timedelta = timedelta(seconds=60),
        punches_topic: str = PUNCHES_TOPIC,
        evidence_wait: timedelta = timedelta(seconds=5),
    ) -> None:
        self.policy = policy
        self.park_after = park_after
        # How long a verdict waits for its photo's check (the tenant's evidence policy).
        self.evidence_wait = evidence_wait
        self.punches_topic = punches_topic  # what punch publishes to (a bench's own topic)

    async def decide(self, command: DecideVerdicts, uow: UnitOfWork) -> None:
        """Decide one tenant's verdicts (in its unit of work, which the caller commits): the
        consumer's handler, and the unparker's for verdicts whose worker and clock became
        known."""
        tenant_id = command.tenant_id
        fresh: dict[str, Message] = {}
        for message in command.verdicts:
            attempt_id = _checked(message)
            fresh.setdefault(attempt_id, message)  # a second verdict for one attempt: ignored
        decided = await uow.ledger.decided_attempts(list(fresh))
        todo = [(a, m) for a, m in fresh.items() if a not in decided]
        if not todo:
            return
        # Each identified verdict's fields, read out of its message once.
        identified = [_identified(a, m) for a, m in todo if m.type == IDENTIFIED]
        workers = await uow.ledger.workers({v.worker_id for v in identified})
        clocks = await uow.ledger.clocks({v.clock_id for v in identified})
        # The evidence policy: read only when a PIN or card attempt of the batch has a photo.
        with_photo = [
            v.attempt_id
            for v in identified
            if has_photo(method=method_of(v.verdict.method), photo=v.verdict.context.evidence_photo)
        ]
        policy_on = bool(with_photo) and await uow.settings.refuse_unmatched_photos()
        checks = await uow.ledger.evidence_checks(with_photo) if policy_on else {}
        now = command.as_of or datetime.now(UTC)
        to_park = await self._to_park(uow, identified, workers, clocks, policy_on, checks, now)
        if to_park:
            await uow.parked.park(to_park)
            parked_ids = {item[0] for item in to_park}
            todo = [(a, m) for a, m in todo if a not in parked_ids]
            identified = [v for v in identified if v.attempt_id not in parked_ids]
            for attempt_id, message, reason, due in to_park:
                if reason == WAITING_FOR_CHECK:
                    log.info(
                        "verdict held for its photo's check",
                        attempt_id=attempt_id,
                        worker_id=message.payload.worker_id,
                        until=due.isoformat(),
                    )
                    continue
                log.warning(
                    "verdict parked; decided when punch knows its worker and clock",
                    attempt_id=attempt_id,
                    worker_id=message.payload.worker_id,
                    clock_id=message.payload.context.clock_id,
                    reason=reason,
                )
            if not todo:
                return
        assigned = await uow.ledger.assigned_pairs({(v.clock_id, v.worker_id) for v in identified})
        found = await uow.ledger.nearby(
            [(v.worker_id, v.captured_at) for v in identified], self.policy.double_tap_window
        )
        near_db = {v.attempt_id: n for v, n in zip(identified, found, strict=True)}
        by_attempt = {v.attempt_id: v for v in identified}
        refused = {a for a, check in checks.items() if refuses(policy_on=policy_on, check=check)}
        in_batch: dict[str, list[Nearby]] = {}
        outcomes: list[_Outcome] = []
        for attempt_id, message in todo:
            if message.type == REJECTED:
                outcomes.append(self._passed_on(attempt_id, message))
            else:
                outcome = self._decide(
                    tenant_id,
                    by_attempt[attempt_id],
                    workers,
                    clocks,
                    assigned,
                    near_db,
                    in_batch,
                    face_check_failed=attempt_id in refused,
                )
                outcomes.append(outcome)
        new_rows = {o.row["id"]: o.row for o in outcomes if o.row is not None}  # once: O(n)
        earlier_ids = {o.earlier_id for o in outcomes if o.kind == "REPEATED"} - new_rows.keys()
        earlier = await uow.ledger.punches_by_id(earlier_ids)
        earlier.update(new_rows)
        await self._write(uow, tenant_id, outcomes, earlier)

    async def _to_park(
        self, uow: UnitOfWork, identified, workers, clocks, policy_on: bool, checks, now: datetime
    ) -> list[tuple[str, Message, str, datetime | None]]:
        """The verdicts to park now (with why, and until when each waits for its photo's
        check); raises ``NotYetKnown`` while one must still be waited for
        (``domain.parking.hold``, ``domain.evidence.awaits_check``)."""
        # One round trip per tenant and batch, whatever its size.
        held = await uow.parked.workers_with_parked({v.worker_id for v in identified})
        to_park: list[tuple[str, Message, str, datetime | None]] = []
        waiting: list[str] = []
        for attempt_id, message, verdict, worker_id, clock_id, _ in identified:
            worker_known = worker_id in workers
            clock_known = clock_id in clocks
            occurred_at = to_datetime(message.envelope.occurred_at)
            awaits = awaits_check(
                policy_on=policy_on,
                method=method_of(verdict.method),
                photo=verdict.context.evidence_photo,
                checked=attempt_id in checks,
                age=now - occurred_at,
                wait=self.evidence_wait,
            )
            earlier_parked = worker_id in held
            what = hold(
                worker_known=worker_known,
                clock_known=clock_known,
                earlier_parked=earlier_parked,
                age=now - occurred_at,
                park_after=self.park_after,
                awaits_check=awaits,
            )
            if what is Hold.WAIT:
                waiting.append(attempt_id)
            elif what is Hold.PARK:
                held.add(worker_id)
                due = occurred_at + self.evidence_wait if awaits else None
                if worker_known and clock_known and not earlier_parked:
                    reason = WAITING_FOR_CHECK
                elif worker_known and clock_known:
                    reason = "an earlier verdict of the worker is parked"
                else:
                    unknown = [] if worker_known else [f"worker {worker_id}"]
                    unknown += [] if clock_known else [f"clock {clock_id}"]
                    reason = "not known to punch: " + ", ".join(unknown)
                to_park.append((attempt_id, message, reason, due))
        if waiting:
            raise NotYetKnown(
                f"verdicts naming a worker or clock not in punch's projections yet: {waiting}"
            )
        return to_park

    def _passed_on(self, attempt_id: str, message: Message) -> _Outcome:
        verdict: identification_pb2.IdentificationRejected = message.payload
        return _Outcome(
            message,
            attempt_id,
            verdict.context.clock_id,
            worker_id=verdict.worker_id,
            reason=reason_name(verdict.reason),
        )

    def _decide(
        self,
        tenant_id,
        identified: _Identified,
        workers,
        clocks,
        assigned,
        near_db,
        in_batch,
        face_check_failed: bool = False,
    ) -> _Outcome:
        attempt_id, message, verdict, worker_id, clock_id, captured_at = identified
        context = verdict.context
        worker = workers[worker_id]
        clock = clocks[clock_id]
        received_at = _time(context.received_at) or datetime.now(UTC)
        previous, following = neighbours(
            near_db[attempt_id] + in_batch.get(worker_id, []),
            captured_at,
            self.policy.double_tap_window,
        )
        decision = decide(
            captured_at=captured_at,
            received_at=received_at,
            offline=context.captured_offline,
            requested=DIRECTION_NAMES.get(context.requested_direction),
            worker_active=worker["status"] == WorkerStatus.ACTIVE,
            assigned=(clock_id, worker_id) in assigned,
            previous=previous,
            following=following,
            policy=self.policy,
            face_check_failed=face_check_failed,
            checked_active=verdict.checked_active,
            checked_assigned=verdict.checked_assigned,
        )
        outcome = _Outcome(message, attempt_id, clock_id, worker_id=worker_id)
        if isinstance(decision, Reject):
            outcome.reason = decision.reason
        elif isinstance(decision, Repeat):
            outcome.kind = "REPEATED"
            outcome.earlier_id = decision.earlier.punch_id
        else:
            assert isinstance(decision, Record)
            review = needs_review(
                captured_at, received_at, self.policy, offline=context.captured_offline
            )
            row = recorded_row(
                tenant_id,
                attempt_id,
                verdict,
                worker,
                clock,
                decision,
                captured_at,
                received_at,
                review,
            )
            outcome.kind = "RECORDED"
            outcome.row = row
            in_batch.setdefault(worker_id, []).append(
                Nearby(row["id"], decision.direction, captured_at)
            )
        return outcome

    async def _write(
        self, uow: UnitOfWork, tenant_id: str, outcomes: list[_Outcome], punches: dict
    ) -> None:
        rows = [o.row for o in outcomes if o.row is not None]
        await uow.ledger.insert_punches(rows)
        attempts, records = [], []
        decided_at = datetime.now(UTC)  # the batch's events are decided together, now
        topic = self.punches_topic
        for o in outcomes:
            if o.kind == "RECORDED":
                event = recorded_event(o.row)
                punch_id = o.row["id"]
            elif o.kind == "REPEATED":
                event = punch_pb2.PunchRepeated(
                    attempt_id=o.attempt_id,
                    clock_id=o.clock_id,
                    earlier=recorded_event(punches[o.earlier_id]),
                )
                punch_id = o.earlier_id
            else:
                event = self._rejected_event(o)
                punch_id = None
            data = event.SerializeToString()  # once: the attempts row and the envelope
            attempts.append(
                {
                    "tenant_id": tenant_id,
                    "attempt_id": o.attempt_id,
                    "clock_id": o.clock_id or None,
                    "outcome": o.kind,
                    "punch_id": punch_id,
                    "reason": o.reason or None,
                    "event_type": event.DESCRIPTOR.full_name,
                    "event": data,
                }
            )
            # Keyed by worker (an attempt that names nobody: by its attempt).
            key = catalogue.PUNCH_PUNCHES.key(
                tenant_id=tenant_id, worker_id=o.worker_id or o.attempt_id
            )
            envelope = new_envelope(
                event,
                tenant_id=tenant_id,
                producer="punch",
                correlation_id=o.message.envelope.correlation_id
                or o.message.payload.context.attempt_id,
                causation_id=o.message.event_id,
                occurred_at=decided_at,
                payload_bytes=data,
            )
            records.append(outbox_record(topic, key, envelope))
        await uow.ledger.insert_attempts(attempts)
        await uow.publish_records(records)
        # A RejectReason's name (bounded); a batch retried after a failed commit counts again.
        # One labelled child per outcome and reason in the batch, not one lookup per attempt.
        tally = Tally((o.kind, o.reason if o.kind == "REJECTED" else "") for o in outcomes)
        for (kind, reason), count in tally.items():
            DECIDED.labels(kind.lower(), reason).inc(count)
        recorded = sum(1 for o in outcomes if o.kind == "RECORDED")
        if len(outcomes) <= 20:
            for o in outcomes:
                log.info(
                    "attempt decided",
                    attempt_id=o.attempt_id,
                    clock_id=o.clock_id,
                    worker_id=o.worker_id or None,
                    outcome=o.kind,
                    reason=o.reason or None,
                )
        else:
            log.info("attempts decided", count=len(outcomes), recorded=recorded)

    @staticmethod
    def _rejected_event(o: _Outcome) -> punch_pb2.PunchRejected:
        verdict = o.message.payload
        context = verdict.context
        event = punch_pb2.PunchRejected(
            attempt_id=o.attempt_id,
            clock_id=o.clock_id,
            method=verdict.method,
            reason=reason_value(o.reason),
            worker_id=o.worker_id,
            captured_offline=context.captured_offline,
        )
        if isinstance(verdict, identification_pb2.IdentificationRejected):
            event.attempts_remaining = verdict.attempts_remaining
            if verdict.HasField("locked_until"):
                event.locked_until.CopyFrom(verdict.locked_until)
        if context.HasField("captured_at"):
            event.captured_at.CopyFrom(context.captured_at)
        if context.HasField("received_at"):
            event.received_at.CopyFrom(context.received_at)
        return event
