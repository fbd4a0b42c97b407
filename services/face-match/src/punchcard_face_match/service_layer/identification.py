"""Identification of kiosk face attempts (consumer group ``face-match`` on
``punchcard.kiosk.face-attempts.v1``).

The replicas share the group, so each attempt is answered by one replica. All the attempts of
one poll are micro-batched through the model (decode, detect and align per frame; one
embedding call for all faces), then each is decided against its tenant's gallery:

- frame not decodable -> INVALID_FRAME; no face -> NO_FACE; several faces -> MULTIPLE_FACES;
- with an Employee ID (1:1): unknown -> UNKNOWN_USER, inactive -> INACTIVE, otherwise the frame
  must be within the threshold of that worker's templates (NO_MATCH if not);
- without (1:N): the nearest worker within the threshold and the runner-up at least the margin
  farther (AMBIGUOUS if not: never a guess), optionally among the clock's workers only.

The verdict goes to the outbox in the consumer's transaction (exactly one per attempt event,
however often Kafka delivers it). Neither the frame nor the embedding is kept, logged or put in
an event; a rejection names no candidate.
"""

from __future__ import annotations

import asyncio

import asyncpg
from prometheus_client import Counter, Histogram
from punchcard.v1 import common_pb2, identification_pb2, kiosk_pb2
from punchcard_kit.logging import get_logger
from punchcard_kit.messaging import Message, add_to_outbox, new_envelope
from punchcard_kit.tenancy import enter_tenant

from ..adapters import pipeline
from ..adapters import repository as repo
from ..adapters.engine import FaceEngine
from ..adapters.pipeline import Face
from ..domain import decision
from ..domain.decision import Decision, MatchPolicy
from ..domain.gallery import Galleries

log = get_logger(__name__)

ATTEMPTS_TOPIC = "punchcard.kiosk.face-attempts.v1"
VERDICTS_TOPIC = "punchcard.identification.verdicts.v1"
R = common_pb2
ATTEMPT_TYPE = kiosk_pb2.FacePunchAttempted.DESCRIPTOR.full_name

VERDICTS = Counter("face_verdicts_total", "Face attempt verdicts", ["outcome"])
STAGE_SECONDS = Histogram(
    "face_stage_seconds",
    "Time per frame in each stage of the face pipeline",
    ["stage"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
BATCH_SIZE = Histogram(
    "face_batch_size", "Frames per micro-batch", buckets=(1, 2, 4, 8, 16, 32, 64, 128)
)

_FRAME_REASONS = {
    pipeline.INVALID_FRAME: R.REJECT_REASON_INVALID_FRAME,
    pipeline.NO_FACE: R.REJECT_REASON_NO_FACE,
    pipeline.MULTIPLE_FACES: R.REJECT_REASON_MULTIPLE_FACES,
}


class GalleryNotReady(ConnectionError):
    """The replica's galleries are still loading: the batch waits (transient), never guesses."""


class Identifier:
    def __init__(
        self,
        engine: FaceEngine,
        galleries: Galleries,
        policy: MatchPolicy,
        ready: asyncio.Event,
        *,
        ready_timeout_s: float = 30.0,
    ) -> None:
        self.engine = engine
        self.galleries = galleries
        self.policy = policy
        self.ready = ready
        self.ready_timeout_s = ready_timeout_s

    async def handle(self, conn: asyncpg.Connection, messages) -> None:
        attempts = [m for m in messages if m.type == ATTEMPT_TYPE]
        if not attempts:
            return
        if not self.ready.is_set():
            try:
                await asyncio.wait_for(self.ready.wait(), self.ready_timeout_s)
            except TimeoutError:
                raise GalleryNotReady("the face galleries are still loading") from None
        BATCH_SIZE.observe(len(attempts))
        faces = await self.engine.analyse([m.payload.frame_jpeg for m in attempts])
        for message, face in zip(attempts, faces, strict=True):
            for stage, ms in face.timings.items():
                STAGE_SECONDS.labels(stage).observe(ms / 1000.0)
            await self.answer(conn, message, face)

    async def answer(self, conn: asyncpg.Connection, message: Message, face: Face) -> None:
        attempt: kiosk_pb2.FacePunchAttempted = message.payload
        context = attempt.context
        tenant = message.tenant_id
        await enter_tenant(conn, repo.APP_ROLE, tenant)
        verdict = await self._decide(conn, tenant, context, face)
        envelope = new_envelope(
            verdict,
            tenant_id=tenant,
            producer="face-match",
            correlation_id=message.envelope.correlation_id,
            causation_id=message.event_id,
        )
        worker_id = getattr(verdict, "worker_id", "")
        key = f"{tenant}/{worker_id}" if worker_id else f"{tenant}/{context.attempt_id}"
        await add_to_outbox(conn, [(VERDICTS_TOPIC, key, envelope)])
        outcome = (
            "identified"
            if isinstance(verdict, identification_pb2.WorkerIdentified)
            else R.RejectReason.Name(verdict.reason).removeprefix("REJECT_REASON_")
        )
        VERDICTS.labels(outcome).inc()
        log.info(
            "face attempt decided",
            attempt_id=context.attempt_id,
            clock_id=context.clock_id,
            outcome=outcome,
            distance=round(verdict.face.distance, 4) if verdict.HasField("face") else None,
            ms=round(sum(face.timings.values()), 1),
        )

    async def _decide(self, conn, tenant: str, context, face: Face):
        reason = _FRAME_REASONS.get(face.outcome)
        if reason is not None:
            return self._rejected(context, reason)
        gallery = self.galleries.get(tenant, self.engine.model_name)
        if context.claimed_employee_id:
            worker = await repo.worker_by_employee_id(conn, tenant, context.claimed_employee_id)
            if worker is None:
                return self._rejected(context, R.REJECT_REASON_UNKNOWN_USER)
            worker_id = str(worker["id"])
            if worker["status"] == "Inactive":
                return self._rejected(context, R.REJECT_REASON_INACTIVE, worker_id=worker_id)
            distance = gallery.distance_to(worker_id, face.embedding) if gallery else None
            result = decision.verify(worker_id, distance, self.policy)
        else:
            restrict = None
            if (await repo.get_settings(conn, tenant)).search_assigned_only:
                restrict = await repo.assigned_workers(conn, tenant, context.clock_id)
            candidates = gallery.search(face.embedding, restrict=restrict) if gallery else []
            result = decision.decide(candidates, self.policy)
        match = self._face_match(result)
        if result.outcome == decision.MATCH:
            return identification_pb2.WorkerIdentified(
                context=context,
                worker_id=result.worker_id,
                method=R.PUNCH_METHOD_FACE,
                face=match,
            )
        reason = (
            R.REJECT_REASON_AMBIGUOUS
            if result.outcome == decision.AMBIGUOUS
            else R.REJECT_REASON_NO_MATCH
        )
        return self._rejected(context, reason, match=match)

    def _face_match(self, result: Decision) -> R.FaceMatch | None:
        if result.distance is None and not result.one_to_one:
            return None
        match = R.FaceMatch(
            model_name=self.engine.model_name,
            metric=self.policy.metric,
            distance=result.distance if result.distance is not None else 0.0,
            threshold=self.policy.threshold,
            one_to_one=result.one_to_one,
        )
        if result.margin is not None:
            match.margin = result.margin
        return match

    @staticmethod
    def _rejected(context, reason, *, worker_id: str = "", match=None):
        verdict = identification_pb2.IdentificationRejected(
            context=context, method=R.PUNCH_METHOD_FACE, reason=reason, worker_id=worker_id
        )
        if match is not None:
            verdict.face.CopyFrom(match)
        return verdict
