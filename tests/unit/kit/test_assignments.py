import uuid

from punchcard.v1 import device_pb2
from punchcard_kit.assignments import ASSIGNMENTS_TOPIC, AssignmentChange, assignment_change
from punchcard_kit.messaging import Message, new_envelope

TENANT = str(uuid.uuid4())


def _event(payload) -> Message:
    return Message(
        ASSIGNMENTS_TOPIC, 0, 1, b"k", new_envelope(payload, tenant_id=TENANT, producer="t")
    )


def test_an_assignment_event_assigns():
    message = _event(device_pb2.ClockAssignment(clock_id="c", worker_id="w"))
    # No role said (an event of a producer before roles): USER.
    assert assignment_change(message) == AssignmentChange(
        TENANT, "c", "w", assigned=True, clock_role="USER"
    )


def test_an_assignment_event_carries_the_role_by_name():
    message = _event(
        device_pb2.ClockAssignment(
            clock_id="c", worker_id="w", clock_role=device_pb2.CLOCK_ROLE_ADMINISTRATOR
        )
    )
    assert assignment_change(message).clock_role == "ADMINISTRATOR"


def test_a_tombstone_unassigns_by_its_key():
    tomb = Message.tombstone(ASSIGNMENTS_TOPIC, 0, 2, f"{TENANT}/c/w".encode(), {})
    assert assignment_change(tomb) == AssignmentChange(TENANT, "c", "w", assigned=False)


def test_other_topics_types_and_malformed_keys_change_nothing():
    assert assignment_change(Message.tombstone("other", 0, 2, b"a/b/c", {})) is None
    assert assignment_change(Message.tombstone(ASSIGNMENTS_TOPIC, 0, 2, b"a/b", {})) is None
    assert assignment_change(_event(device_pb2.ClockRevoked(clock_id="c"))) is None
