"""face-match's Kafka entry points: each decodes a message into a command and hands it to its
use case, in the consumer's batch transaction (a unit of work on its connection).

- ``face-match.projections``: identity's workers and device-sync's clock assignments;
- ``face-match``: kiosk face attempts (micro-batched through the model, one verdict each);
- the templates topic, followed by every replica without a group (``GalleryFollower``), into
  this replica's galleries."""

from __future__ import annotations

import asyncio

import asyncpg
from punchcard.v1 import (
    common_pb2,
    device_pb2,
    evidence_pb2,
    face_pb2,
    identification_pb2,
    identity_pb2,
    kiosk_pb2,
)
from punchcard_kit.assignments import assignment_change
from punchcard_kit.contract_enums import from_proto, message_type
from punchcard_kit.messaging import Message, catalogue
from punchcard_kit.messaging.dispatch import TOMBSTONE, dispatch
from punchcard_kit.messaging.follower import TopicFollower
from punchcard_kit.service import Subscription

from ..domain.model import WorkerStatus
from ..service_layer import projection
from ..service_layer.evidence import EvidenceChecker, KeepEvidencePhoto, NoteEvidenceWorker
from ..service_layer.gallery_sync import GallerySync, TemplateSetChanged
from ..service_layer.identification import GalleryNotReady, Identifier, IdentifyFace
from ..service_layer.unit_of_work import ConnectionUnitOfWork

PROJECTION_TOPICS = (catalogue.IDENTITY_WORKERS.name, catalogue.DEVICE_CLOCK_ASSIGNMENTS.name)
ATTEMPTS_TOPIC = catalogue.KIOSK_FACE_ATTEMPTS.name
TEMPLATES_TOPIC = catalogue.FACE_TEMPLATES.name
ATTEMPT_TYPE = message_type(kiosk_pb2.FacePunchAttempted)
TEMPLATE_SET_TYPE = message_type(face_pb2.FaceTemplateSet)
EVIDENCE_TOPICS = (catalogue.KIOSK_EVIDENCE_PHOTOS.name, catalogue.IDENTIFICATION_VERDICTS.name)


def _status(value: int) -> WorkerStatus:
    return from_proto(common_pb2.WorkerStatus, value, WorkerStatus) or WorkerStatus.PENDING


def projections(uow_on: ConnectionUnitOfWork):
    """The batch handler of ``face-match.projections``."""

    async def on_registered(conn: asyncpg.Connection, message: Message) -> None:
        event: identity_pb2.WorkerRegistered = message.payload
        command = projection.RegisterWorker(
            tenant_id=message.tenant_id,
            worker_id=event.worker_id,
            employee_id=event.details.employee_id,
            status=_status(event.status),
            site_id=event.details.site_id,
        )
        await projection.register_worker(command, uow_on(conn, message.tenant_id))

    async def on_updated(conn: asyncpg.Connection, message: Message) -> None:
        event: identity_pb2.WorkerUpdated = message.payload
        command = projection.UpdateWorker(
            tenant_id=message.tenant_id,
            worker_id=event.worker_id,
            employee_id=event.details.employee_id,
            site_id=event.details.site_id,
        )
        await projection.update_worker(command, uow_on(conn, message.tenant_id))

    async def on_status(conn: asyncpg.Connection, message: Message) -> None:
        event: identity_pb2.WorkerStatusChanged = message.payload
        command = projection.ChangeWorkerStatus(
            tenant_id=message.tenant_id,
            worker_id=event.worker_id,
            status=_status(event.status),
            correlation_id=message.envelope.correlation_id,
        )
        await projection.change_worker_status(command, uow_on(conn, message.tenant_id))

    async def on_assignment(conn: asyncpg.Connection, message: Message) -> None:
        change = assignment_change(message)
        if change is None:
            return
        await projection.record_assignment(change, uow_on(conn, change.tenant_id))

    return dispatch(
        {
            message_type(identity_pb2.WorkerRegistered): on_registered,
            message_type(identity_pb2.WorkerUpdated): on_updated,
            message_type(identity_pb2.WorkerStatusChanged): on_status,
            message_type(device_pb2.ClockAssignment): on_assignment,
            TOMBSTONE: on_assignment,
        }
    )


def identification(identifier: Identifier, uow_on: ConnectionUnitOfWork):
    """The batch handler of ``face-match``: the poll's attempts, one micro-batch."""

    async def handle(conn: asyncpg.Connection, messages) -> None:
        attempts = [
            IdentifyFace(
                tenant_id=m.tenant_id,
                attempt=m.payload,
                correlation_id=m.envelope.correlation_id,
                event_id=m.event_id,
            )
            for m in messages
            if m.type == ATTEMPT_TYPE
        ]
        await identifier.identify(attempts, lambda tenant_id: uow_on(conn, tenant_id))

    return handle


def _method(value: int) -> str:
    return common_pb2.PunchMethod.Name(value).removeprefix("PUNCH_METHOD_")


def evidence(checker: EvidenceChecker, uow_on: ConnectionUnitOfWork):
    """The batch handler of ``face-match.evidence``: kiosk evidence photos, and the verdicts
    that name a PIN or card punch's worker (every other verdict is skipped)."""

    async def on_photo(conn: asyncpg.Connection, message: Message) -> None:
        event: evidence_pb2.EvidencePhotoCaptured = message.payload
        command = KeepEvidencePhoto(
            tenant_id=message.tenant_id,
            attempt_id=event.context.attempt_id,
            clock_id=event.context.clock_id,
            method=_method(event.method),
            photo=event.frame_jpeg,
            correlation_id=message.envelope.correlation_id,
        )
        await checker.keep_photo(command, uow_on(conn, message.tenant_id))

    async def on_identified(conn: asyncpg.Connection, message: Message) -> None:
        event: identification_pb2.WorkerIdentified = message.payload
        method = _method(event.method)
        if method not in ("PIN", "CARD") or event.context.HasField("device_verify_mode"):
            return  # a face punch was the comparison; a hardware clock sends no photo
        command = NoteEvidenceWorker(
            tenant_id=message.tenant_id,
            attempt_id=event.context.attempt_id,
            worker_id=event.worker_id,
            method=method,
            clock_id=event.context.clock_id,
            correlation_id=message.envelope.correlation_id,
        )
        await checker.note_worker(command, uow_on(conn, message.tenant_id))

    return dispatch(
        {
            message_type(evidence_pb2.EvidencePhotoCaptured): on_photo,
            message_type(identification_pb2.WorkerIdentified): on_identified,
        }
    )


def subscriptions(
    identifier: Identifier, uow_on: ConnectionUnitOfWork, checker: EvidenceChecker | None = None
) -> list[Subscription]:
    found = [
        Subscription("face-match.projections", PROJECTION_TOPICS, projections(uow_on)),
        # Face frames are biometric: a dead-lettered attempt is kept 7 days (deploy/topics.yaml's
        # dead_letters), time for someone to redrive it; docs/events.md argues it.
        # Galleries still loading: the batch waits, never dead-lettered.
        Subscription(
            "face-match",
            [ATTEMPTS_TOPIC],
            identification(identifier, uow_on),
            transient=(GalleryNotReady,),
        ),
    ]
    if checker is not None:
        # Evidence photos are biometric: a dead-lettered one is kept no longer than a frame
        # (1 day: deploy/topics.yaml's dead_letters).
        found.append(
            Subscription(
                "face-match.evidence",
                EVIDENCE_TOPICS,
                evidence(checker, uow_on),
                transient=(GalleryNotReady,),
            )
        )
    return found


def template_change(message: Message) -> TemplateSetChanged | None:
    """A templates-topic record as a change of the galleries (None: not one)."""
    if message.key is None:
        return None
    tenant_id, _, worker_id = message.key.decode().partition("/")
    if message.is_tombstone:
        return TemplateSetChanged(tenant_id, worker_id)
    if message.type != TEMPLATE_SET_TYPE:
        return None
    found: face_pb2.FaceTemplateSet = message.payload
    return TemplateSetChanged(
        tenant_id,
        worker_id,
        model_name=found.model_name,
        dims=found.embedding_dims,
        revision=found.revision,
        embeddings=[t.embedding for t in found.templates],
        verify_one_to_one=found.verify_one_to_one,
    )


class GalleryFollower:
    """Follows the compacted templates topic from its beginning, without a consumer group
    (every replica holds every gallery), into ``GallerySync``. ``ready`` is set once the
    records present at start are in memory: before that a replica answers no attempt."""

    def __init__(self, sync: GallerySync, bootstrap_servers: str) -> None:
        self.sync = sync
        self.follower = TopicFollower(
            topics=[TEMPLATES_TOPIC],
            handler=self.handle,
            bootstrap_servers=bootstrap_servers,
            name="face-gallery",
            from_beginning=True,
        )

    @property
    def ready(self) -> asyncio.Event:
        return self.follower.caught_up

    @property
    def healthy(self) -> bool:
        return self.follower.healthy and self.follower.caught_up.is_set()

    async def handle(self, message: Message) -> None:
        change = template_change(message)
        if change is not None:
            self.sync.apply(change)

    async def run(self) -> None:
        await self.follower.run()

    def stop(self) -> None:
        self.follower.stop()
