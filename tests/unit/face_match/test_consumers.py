"""The Kafka entry points only decode: a templates-topic record into a gallery change, and
identity's worker status (by name, unspecified = Pending)."""

from punchcard.v1 import common_pb2, face_pb2
from punchcard_face_match.domain.model import WorkerStatus
from punchcard_face_match.entrypoints import consumers
from punchcard_kit.messaging import Message, new_envelope

KEY = b"tenant-1/worker-1"


def _message(envelope=None, key=KEY) -> Message:
    return Message(
        topic=consumers.TEMPLATES_TOPIC, partition=0, offset=0, key=key, envelope=envelope
    )


def test_a_template_set_and_a_tombstone_become_gallery_changes():
    found = face_pb2.FaceTemplateSet(
        worker_id="worker-1", model_name="Dlib", embedding_dims=128, revision=3
    )
    found.templates.add(template_id="t", embedding=b"\0" * 512)
    envelope = new_envelope(found, tenant_id="tenant-1", producer="face-match")
    change = consumers.template_change(_message(envelope))
    assert (change.tenant_id, change.worker_id, change.model_name) == (
        "tenant-1",
        "worker-1",
        "Dlib",
    )
    assert (change.dims, change.revision, list(change.embeddings)) == (128, 3, [b"\0" * 512])
    tombstone = consumers.template_change(_message(None))
    assert (tombstone.tenant_id, tombstone.worker_id, tombstone.model_name) == (
        "tenant-1",
        "worker-1",
        None,
    )
    assert consumers.template_change(_message(None, key=None)) is None


def test_worker_statuses_by_name():
    assert consumers._status(common_pb2.WORKER_STATUS_ACTIVE) is WorkerStatus.ACTIVE
    assert consumers._status(common_pb2.WORKER_STATUS_INACTIVE) is WorkerStatus.INACTIVE
    assert consumers._status(common_pb2.WORKER_STATUS_UNSPECIFIED) is WorkerStatus.PENDING
