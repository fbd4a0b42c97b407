"""Identification of kiosk face attempts (consumer group ``face-match`` on
``punchcard.kiosk.face-attempts.v1``).

The replicas share the group, so each attempt is answered by one replica. All the attempts of
one poll are micro-batched through the model (decode, detect and align per frame; one
embedding call for all faces), then each is decided against its tenant's gallery:

- frame not decodable -> INVALID_FRAME; no face -> NO_FACE; several faces -> MULTIPLE_FACES;
- with an Employee ID (1:1): unknown -> UNKNOWN_USER, inactive -> INACTIVE, otherwise the frame
  must be within the threshold of that worker's templates (NO_MATCH if not);
- without (1:N): the nearest worker within the threshold and the runner-up at least the margin
  farther (AMBIGUOUS if not: never a guess), optionally among the clock's workers only;
- a burst (``burst_jpeg``: up to 2 more frames): every frame must have one face and identify
  the same worker by the same rule (NO_MATCH / AMBIGUOUS if not); and before any search, the
  tenant's liveness policy judges the frames (``domain.liveness``: a re-captured screen or
  print, or a still image): SPOOF_SUSPECTED when it refuses, ``FaceMatch.spoof_suspected``
  when it only flags.

The threshold depends on what is searched (``domain.calibration``): a 1:N search over n
templates gets the threshold that keeps the false-positive identification rate at the
tenant's target; when none is usable at that size the attempt is refused with
EMPLOYEE_ID_REQUIRED (the clock verifies faces 1:1: the kiosk asks for the Employee ID first).
A 1:1 check is the same rule over the claimed worker's own templates.

The verdict goes to the outbox in the consumer's transaction (exactly one per attempt event,
however often Kafka delivers it). Neither the frame nor the embedding is kept, logged or put in
an event; a rejection names no candidate.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

from prometheus_client import Counter, Histogram
from punchcard.v1 import common_pb2, identification_pb2, kiosk_pb2
from punchcard_kit.logging import get_logger
from punchcard_kit.messaging import catalogue, new_envelope

from ..domain import calibration, decision, liveness
from ..domain.calibration import FmrModel, SearchPlan
from ..domain.decision import Decision, MatchPolicy
from ..domain.gallery import Galleries
from ..domain.model import Face, FaceOutcome, WorkerStatus
from .unit_of_work import FaceAnalyser, UnitOfWork

log = get_logger(__name__)

ATTEMPTS_TOPIC = catalogue.KIOSK_FACE_ATTEMPTS.name
VERDICTS_TOPIC = catalogue.IDENTIFICATION_VERDICTS.name
R = common_pb2
ATTEMPT_TYPE = kiosk_pb2.FacePunchAttempted.DESCRIPTOR.full_name

VERDICTS = Counter("face_verdicts_total", "Face attempt verdicts", ["outcome"])
STAGE_SECONDS = Histogram(
    "face_stage_seconds",
    "Time per frame in each stage of the face pipeline",
    ["stage"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
SPOOF_SIGNS = Counter(
    "face_spoof_suspected_total",
    "Face attempts with presentation-attack signs, by sign and by the tenant's policy",
    ["sign", "mode"],
)
# Frames of the burst beyond frame_jpeg that are looked at (the edge refuses more).
MAX_BURST = 2
BATCH_SIZE = Histogram(
    "face_batch_size", "Frames per micro-batch", buckets=(1, 2, 4, 8, 16, 32, 64, 128)
)

_FRAME_REASONS = {
    FaceOutcome.INVALID_FRAME: R.REJECT_REASON_INVALID_FRAME,
    FaceOutcome.NO_FACE: R.REJECT_REASON_NO_FACE,
    FaceOutcome.MULTIPLE_FACES: R.REJECT_REASON_MULTIPLE_FACES,
}


class GalleryNotReady(Exception):
    """The replica's galleries are still loading: the batch waits (declared transient by its
    subscription), never guesses."""


@dataclass(frozen=True)
class IdentifyFace:
    """One kiosk face attempt (a ``FacePunchAttempted`` event)."""

    tenant_id: str
    attempt: kiosk_pb2.FacePunchAttempted
    correlation_id: str | None = None
    event_id: str | None = None


class Identifier:
    def __init__(
        self,
        engine: FaceAnalyser,
        galleries: Galleries,
        policy: MatchPolicy,
        ready: asyncio.Event,
        *,
        fmr_model: FmrModel | None = None,
        ready_timeout_s: float = 30.0,
    ) -> None:
        """``policy``: the margin, and the fixed threshold used where the recognition model
        has no calibration (``fmr_model`` None); with one, each search's threshold is
        derived from its size (``plan``)."""
        self.engine = engine
        self.galleries = galleries
        self.policy = policy
        self.fmr_model = fmr_model
        self.ready = ready
        self.ready_timeout_s = ready_timeout_s
        # (unit of work, attempt, identified worker id): keeps an identified attempt's frame
        # as the punch's evidence photo (service_layer.evidence); None: never.
        self.keep_evidence: Callable[..., Awaitable[None]] | None = None

    def plan(self, gallery, restrict, fpir_target: float) -> SearchPlan:
        """How a 1:N search over ``restrict`` (None: the whole gallery) runs."""
        workers, templates = gallery.size(restrict) if gallery is not None else (0, 0)
        return calibration.search_plan(
            workers, templates, fpir_target, self.fmr_model, self.policy.threshold
        )

    async def identify(
        self, attempts: Sequence[IdentifyFace], uow: Callable[[str], UnitOfWork]
    ) -> None:
        """A micro-batch: every frame through the model at once, then each attempt decided
        and its verdict put in the outbox (``uow``: the consumer's transaction, per tenant)."""
        if not attempts:
            return
        if not self.ready.is_set():
            try:
                await asyncio.wait_for(self.ready.wait(), self.ready_timeout_s)
            except TimeoutError:
                raise GalleryNotReady("the face galleries are still loading") from None
        BATCH_SIZE.observe(len(attempts))
        frames: list[bytes] = []
        aligned: list[bool] = []
        spans: list[tuple[int, int]] = []
        for a in attempts:
            start = len(frames)
            frames.append(a.attempt.frame_jpeg)
            frames.extend(a.attempt.burst_jpeg[:MAX_BURST])
            aligned.extend([a.attempt.aligned] * (len(frames) - start))
            spans.append((start, len(frames)))
        faces = await self.engine.analyse(frames, aligned)
        for command, (start, end) in zip(attempts, spans, strict=True):
            for face in faces[start:end]:
                for stage, ms in face.timings.items():
                    STAGE_SECONDS.labels(stage).observe(ms / 1000.0)
            async with uow(command.tenant_id) as unit:
                verdict = await self.answer(unit, command, faces[start], faces[start + 1 : end])
                identified = isinstance(verdict, identification_pb2.WorkerIdentified)
                if identified and self.keep_evidence is not None:
                    # The tenant may keep a photo of every punch (service_layer.evidence).
                    await self.keep_evidence(unit, command, verdict.worker_id)
                await unit.commit()

    async def answer(
        self, uow: UnitOfWork, command: IdentifyFace, face: Face, burst: Sequence[Face] = ()
    ):
        context = command.attempt.context
        tenant = command.tenant_id
        verdict = await self._decide(uow, tenant, context, face, burst)
        envelope = new_envelope(
            verdict,
            tenant_id=tenant,
            producer="face-match",
            correlation_id=command.correlation_id,
            causation_id=command.event_id,
        )
        key = catalogue.verdict_key(tenant, getattr(verdict, "worker_id", ""), context.attempt_id)
        await uow.publish((VERDICTS_TOPIC, key, envelope))
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
            aligned=command.attempt.aligned,
            distance=round(verdict.face.distance, 4) if verdict.HasField("face") else None,
            ms=round(sum(face.timings.values()), 1),
        )
        return verdict

    async def _decide(self, uow: UnitOfWork, tenant: str, context, face: Face, burst=()):
        frames = [face, *burst]
        for frame in frames:
            reason = _FRAME_REASONS.get(frame.outcome)
            if reason is not None:
                return self._rejected(context, reason)
        gallery = self.galleries.get(tenant, self.engine.model_name)
        settings = await uow.settings.get()
        live = liveness.assess(
            [liveness.FrameSigns(f.screen) for f in frames],
            liveness.burst_motion([f.grey_chip for f in frames]),
            settings.liveness,
        )
        if live.suspected:
            for sign in live.reasons:
                SPOOF_SIGNS.labels(sign, str(settings.liveness_mode)).inc()
            log.info(
                "face attempt looks like a presentation attack",
                attempt_id=context.attempt_id,
                clock_id=context.clock_id,
                signs=list(live.reasons),
                screen=[f.screen for f in frames],
                refused=live.refuse,
            )
        if live.refuse:
            return self._rejected(context, R.REJECT_REASON_SPOOF_SUSPECTED)
        checked_assigned = False  # 1:1: the claimed worker, wherever assigned
        if context.claimed_employee_id:
            worker = await uow.workers.by_employee_id(context.claimed_employee_id)
            if worker is None:
                return self._rejected(context, R.REJECT_REASON_UNKNOWN_USER)
            worker_id = worker.id
            if worker.status is WorkerStatus.INACTIVE:
                return self._rejected(context, R.REJECT_REASON_INACTIVE, worker_id=worker_id)
            _, templates = gallery.size([worker_id]) if gallery else (0, 0)
            threshold = calibration.verification_threshold(
                templates, settings.face_fpir_target, self.fmr_model, self.policy.threshold
            )
            policy = replace(self.policy, threshold=threshold)

            def judge(f: Face) -> Decision:
                distance = gallery.distance_to(worker_id, f.embedding) if gallery else None
                return decision.verify(worker_id, distance, policy)
        else:
            restrict = None
            checked_assigned = settings.search_assigned_only  # only the clock's workers
            if settings.search_assigned_only:
                restrict = await uow.assignments.workers_of(context.clock_id)
            plan = self.plan(gallery, restrict, settings.face_fpir_target)
            if plan.threshold is None:
                # Too many templates for a 1:N search at the tenant's target: this clock
                # verifies faces 1:1 (the kiosk asks for the Employee ID first).
                return self._rejected(context, R.REJECT_REASON_EMPLOYEE_ID_REQUIRED)
            policy = replace(self.policy, threshold=plan.threshold)

            def judge(f: Face) -> Decision:
                candidates = gallery.search(f.embedding, restrict=restrict) if gallery else []
                return decision.decide(candidates, policy)

            candidates = gallery.search(face.embedding, restrict=restrict) if gallery else []
            result = decision.decide(candidates, policy)
            if gallery is not None and decision.needs_one_to_one(
                result, candidates, gallery.one_to_one_only
            ):
                # A confirmed lookalike (twin) of another worker: Employee ID, then 1:1.
                return self._rejected(context, R.REJECT_REASON_EMPLOYEE_ID_REQUIRED)
        if context.claimed_employee_id:
            result = judge(face)
        match = self._face_match(result, policy)
        if match is not None and live.suspected:
            match.spoof_suspected = True
        if result.outcome == decision.MATCH:
            # The burst must agree: every frame the same worker, by the same rule.
            others = [judge(f) for f in burst]
            if not liveness.burst_agrees([result.worker_id, *(d.worker_id for d in others)]):
                differs = any(
                    d.outcome == decision.MATCH and d.worker_id != result.worker_id for d in others
                )
                ambiguous = differs or any(d.outcome == decision.AMBIGUOUS for d in others)
                reason = R.REJECT_REASON_AMBIGUOUS if ambiguous else R.REJECT_REASON_NO_MATCH
                return self._rejected(context, reason, match=match)
            return identification_pb2.WorkerIdentified(
                context=context,
                worker_id=result.worker_id,
                method=R.PUNCH_METHOD_FACE,
                face=match,
                checked_assigned=checked_assigned,
            )
        reason = (
            R.REJECT_REASON_AMBIGUOUS
            if result.outcome == decision.AMBIGUOUS
            else R.REJECT_REASON_NO_MATCH
        )
        return self._rejected(context, reason, match=match)

    def _face_match(self, result: Decision, policy: MatchPolicy) -> R.FaceMatch | None:
        if result.distance is None and not result.one_to_one:
            return None
        match = R.FaceMatch(
            model_name=self.engine.model_name,
            metric=policy.metric,
            distance=result.distance if result.distance is not None else 0.0,
            threshold=policy.threshold,
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
