import uuid

import pytest
from google.protobuf import wrappers_pb2
from hypothesis import given
from hypothesis import strategies as st
from punchcard.v1 import envelope_pb2
from punchcard_kit.messaging import decode_envelope, encode_envelope, new_envelope, unpack_payload
from punchcard_kit.messaging.envelope import InvalidEnvelope
from punchcard_kit.messaging.outbox import outbox_record


def _envelope(value="x", **kw):
    return new_envelope(
        wrappers_pb2.StringValue(value=value), tenant_id="t-1", producer="unit", **kw
    )


def test_envelope_carries_ids_type_and_payload():
    env = _envelope(correlation_id="corr", causation_id="cause")
    uuid.UUID(env.event_id)
    assert env.type == "google.protobuf.StringValue"
    assert (env.tenant_id, env.correlation_id, env.causation_id) == ("t-1", "corr", "cause")
    assert env.schema_version == 1 and env.producer == "unit"
    assert env.occurred_at.seconds > 0


def test_root_event_is_its_own_correlation():
    env = _envelope()
    assert env.correlation_id == env.event_id and env.causation_id == ""


@given(st.text(max_size=200))
def test_round_trip(value):
    decoded = decode_envelope(encode_envelope(_envelope(value)))
    assert unpack_payload(decoded).value == value


@pytest.mark.parametrize("raw", [None, b"\xff\xff\xff", b""])
def test_garbage_is_an_invalid_envelope(raw):
    with pytest.raises(InvalidEnvelope):
        decode_envelope(raw)


def test_type_must_match_payload():
    env = _envelope()
    env.type = "punchcard.v1.Something"
    with pytest.raises(InvalidEnvelope, match="does not match"):
        decode_envelope(env.SerializeToString())


def test_unknown_payload_type_is_invalid():
    env = envelope_pb2.Envelope(event_id=str(uuid.uuid4()), type="nope.Nothing", tenant_id="t")
    env.payload.type_url = "type.googleapis.com/nope.Nothing"
    with pytest.raises(InvalidEnvelope):
        unpack_payload(decode_envelope(env.SerializeToString()))


def test_outbox_record_headers_and_stable_shard():
    env = _envelope()
    a = outbox_record("topic", "tenant/worker-1", env)
    b = outbox_record("topic", b"tenant/worker-1", _envelope())
    assert dict(a.headers) == {
        "event-type": env.type,
        "event-id": env.event_id,
        "tenant-id": "t-1",
        "correlation-id": env.correlation_id,
    }
    assert a.shard == b.shard and 0 <= a.shard < 16
    assert decode_envelope(a.value).event_id == env.event_id
