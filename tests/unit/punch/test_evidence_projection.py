"""face-match's facts about faces, as punch records them (issue 17): an evidence check beside
the punch (once per attempt, a redelivery changes nothing), the enrolment flag per worker;
decoded from the events by the consumer's handler."""

from punchcard.v1 import common_pb2, evidence_pb2, face_pb2
from punchcard_kit.messaging import Message, catalogue, new_envelope
from punchcard_punch.entrypoints.consumers import _enrolment, _evidence_check
from punchcard_punch.service_layer import projection

from .fakes import FakeUnitOfWork, Store

TENANT = "6f1c2a3b-0000-4000-8000-0000000000e1"
WORKER = "1b2c3d4e-0000-4000-8000-0000000000e2"


def _message(payload, topic: str) -> Message:
    envelope = new_envelope(payload, tenant_id=TENANT, producer="face-match")
    return Message(topic, 0, 0, None, envelope)


async def test_a_check_is_recorded_once_and_the_enrolment_flag_follows():
    store = Store()
    checked = evidence_pb2.PunchEvidenceChecked(
        attempt_id="a-1",
        worker_id=WORKER,
        clock_id="c-1",
        method=common_pb2.PUNCH_METHOD_PIN,
        check=evidence_pb2.EVIDENCE_CHECK_FACE_NOT_WORKERS,
        distance=0.81,
        threshold=0.52,
    )
    command = _evidence_check(_message(checked, catalogue.FACE_EVIDENCE_CHECKS.name))
    assert command.check == "FACE_NOT_WORKERS" and command.method == "PIN"
    assert abs(command.distance - 0.81) < 1e-6
    await projection.record_evidence_check(command, FakeUnitOfWork(store, TENANT))
    again = projection.RecordEvidenceCheck(TENANT, "a-1", WORKER, "c-1", "PIN", "FACE_MATCHED")
    await projection.record_evidence_check(again, FakeUnitOfWork(store, TENANT))
    assert store.evidence[(TENANT, "a-1")]["evidence_check"] == "FACE_NOT_WORKERS"
    unknown = projection.RecordEvidenceCheck(TENANT, "a-2", WORKER, "", "PIN", "UNSPECIFIED")
    await projection.record_evidence_check(unknown, FakeUnitOfWork(store, TENANT))
    assert (TENANT, "a-2") not in store.evidence

    for enrolled in (True, False):
        flag = face_pb2.FaceEnrolmentChanged(worker_id=WORKER, enrolled=enrolled)
        command = _enrolment(_message(flag, catalogue.FACE_ENROLMENTS.name))
        await projection.change_face_enrolment(command, FakeUnitOfWork(store, TENANT))
        assert store.face_enrolled[(TENANT, WORKER)] is enrolled
