"""What face-match publishes when a worker's templates change, written to the outbox in the
transaction of the change: the latest template set (or a tombstone) on the compacted templates
topic, and the enrolment flag (no biometric data) for device-sync and the portal."""

from __future__ import annotations

import uuid

import numpy as np
from punchcard.v1 import face_pb2
from punchcard_kit.messaging import catalogue, new_envelope, outbox_record, tombstone_record

from ..domain.model import TemplateSet
from .unit_of_work import UnitOfWork

TEMPLATES_TOPIC = catalogue.FACE_TEMPLATES.name
ENROLMENTS_TOPIC = catalogue.FACE_ENROLMENTS.name
PRODUCER = "face-match"


def template_set_message(found: TemplateSet) -> face_pb2.FaceTemplateSet:
    message = face_pb2.FaceTemplateSet(
        worker_id=found.worker_id,
        model_name=found.model_name,
        embedding_dims=found.dims,
        revision=found.revision,
        verify_one_to_one=found.verify_one_to_one,
    )
    for template in found.templates:
        item = message.templates.add(
            template_id=template.template_id,
            embedding=np.asarray(template.embedding, dtype="<f4").tobytes(),
            quality=template.quality,
        )
        item.created_at.FromDatetime(template.created_at)
    return message


async def publish_set(
    uow: UnitOfWork, tenant_id: str, found: TemplateSet, correlation_id: str | None
) -> None:
    key = catalogue.FACE_TEMPLATES.key(tenant_id=tenant_id, worker_id=found.worker_id)
    flag = face_pb2.FaceEnrolmentChanged(
        worker_id=found.worker_id,
        enrolled=True,
        template_count=len(found.templates),
        model_name=found.model_name,
    )
    await uow.publish(
        (
            TEMPLATES_TOPIC,
            key,
            new_envelope(
                template_set_message(found),
                tenant_id=tenant_id,
                producer=PRODUCER,
                correlation_id=correlation_id,
            ),
        ),
        (
            ENROLMENTS_TOPIC,
            key,
            new_envelope(
                flag, tenant_id=tenant_id, producer=PRODUCER, correlation_id=correlation_id
            ),
        ),
    )


async def publish_deleted(
    uow: UnitOfWork, tenant_id: str, worker_id: str, correlation_id: str | None
) -> None:
    key = catalogue.FACE_TEMPLATES.key(tenant_id=tenant_id, worker_id=worker_id)
    flag = face_pb2.FaceEnrolmentChanged(worker_id=worker_id, enrolled=False, template_count=0)
    await uow.publish_records(
        [
            tombstone_record(TEMPLATES_TOPIC, key, tenant_id=tenant_id, event_id=str(uuid.uuid4())),
            outbox_record(
                ENROLMENTS_TOPIC,
                key,
                new_envelope(
                    flag, tenant_id=tenant_id, producer=PRODUCER, correlation_id=correlation_id
                ),
            ),
        ]
    )
