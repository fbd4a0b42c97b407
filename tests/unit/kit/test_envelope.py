import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from google.protobuf import wrappers_pb2
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import given
from hypothesis import strategies as st
from punchcard.v1 import envelope_pb2
from punchcard_kit.messaging import decode_envelope, encode_envelope, new_envelope, unpack_payload
from punchcard_kit.messaging.envelope import (
    InvalidEnvelope,
    Message,
    is_canonical_uuid,
    random_uuid,
    set_timestamp,
    time_ordered_uuid,
    to_datetime,
)
from punchcard_kit.messaging.outbox import outbox_record

TENANT = "6f1c1b9e-3c1e-4f57-9d0a-0a4f3e0c2b11"


def _envelope(value="x", **kw):
    return new_envelope(
        wrappers_pb2.StringValue(value=value), tenant_id=TENANT, producer="unit", **kw
    )


def test_envelope_carries_ids_type_and_payload():
    env = _envelope(correlation_id="corr", causation_id="cause")
    uuid.UUID(env.event_id)
    assert env.type == "google.protobuf.StringValue"
    assert (env.tenant_id, env.correlation_id, env.causation_id) == (TENANT, "corr", "cause")
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


@pytest.mark.parametrize(
    "field, value",
    [
        ("event_id", "not-a-uuid"),
        ("event_id", ""),
        ("event_id", "6F1C1B9E-3C1E-4F57-9D0A-0A4F3E0C2B11"),  # upper case: non-canonical
        ("event_id", "6f1c1b9e3c1e4f579d0a0a4f3e0c2b11"),  # no hyphens
        ("event_id", "{6f1c1b9e-3c1e-4f57-9d0a-0a4f3e0c2b11}"),
        ("tenant_id", "t-1"),
        ("tenant_id", "6F1C1B9E-3C1E-4F57-9D0A-0A4F3E0C2B11"),
    ],
)
def test_malformed_or_non_canonical_ids_are_refused_at_the_envelope(field, value):
    """An id PostgreSQL would spell differently would be deduplicated as another event (and
    silently dropped) or fail the batch's insert forever: refused, so it is dead-lettered."""
    env = _envelope()
    setattr(env, field, value)
    with pytest.raises(InvalidEnvelope, match=field):
        decode_envelope(env.SerializeToString())


def test_tombstone_with_a_non_canonical_event_id_header_gets_a_stable_one():
    a = Message.tombstone("t", 1, 5, b"k", {"event-id": "ABC"})
    b = Message.tombstone("t", 1, 5, b"k", {"event-id": "ABC"})
    assert a.event_id == b.event_id and str(uuid.UUID(a.event_id)) == a.event_id


def test_type_must_match_payload():
    env = _envelope()
    env.type = "punchcard.v1.Something"
    with pytest.raises(InvalidEnvelope, match="does not match"):
        decode_envelope(env.SerializeToString())


def test_unknown_payload_type_is_invalid():
    env = envelope_pb2.Envelope(event_id=str(uuid.uuid4()), type="nope.Nothing", tenant_id=TENANT)
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
        "tenant-id": TENANT,
        "correlation-id": env.correlation_id,
    }
    assert a.shard == b.shard and 0 <= a.shard < 16
    assert decode_envelope(a.value).event_id == env.event_id


@given(
    st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.one_of(
            st.none(),
            st.just(UTC),
            st.builds(lambda m: timezone(timedelta(minutes=m)), st.integers(-14 * 60, 14 * 60)),
        ),
    )
)
def test_set_timestamp_is_from_datetime(when):
    expected, fast = Timestamp(), Timestamp()
    expected.FromDatetime(when)
    set_timestamp(fast, when)
    assert (fast.seconds, fast.nanos) == (expected.seconds, expected.nanos)


@given(st.integers(-62_135_596_800, 253_402_300_799), st.integers(0, 999_999_999))
def test_to_datetime_is_to_datetime_utc(seconds, nanos):
    ts = Timestamp(seconds=seconds, nanos=nanos)
    assert to_datetime(ts) == ts.ToDatetime(tzinfo=UTC)
    assert to_datetime(ts).tzinfo is not None


@given(
    st.one_of(
        st.uuids().map(str),
        st.uuids().map(lambda u: str(u).upper()),
        st.uuids().map(lambda u: u.hex),
        st.uuids().map(lambda u: "{" + str(u) + "}"),
        st.uuids().map(lambda u: str(u) + "\n"),
        st.text(max_size=40),
    )
)
def test_is_canonical_uuid_is_the_uuid_round_trip(value):
    try:
        expected = str(uuid.UUID(value)) == value
    except ValueError:
        expected = False
    assert is_canonical_uuid(value) is expected


def test_is_canonical_uuid_refuses_what_is_not_text():
    assert not is_canonical_uuid(None)
    assert not is_canonical_uuid(uuid.uuid4())


def test_new_envelope_with_payload_bytes_is_the_packed_one():
    payload = wrappers_pb2.StringValue(value="x" * 50)
    ids = {"event_id": str(uuid.uuid4()), "occurred_at": datetime(2024, 5, 1, tzinfo=UTC)}
    packed = new_envelope(payload, tenant_id=str(uuid.uuid4()), producer="test", **ids)
    tenant = packed.tenant_id
    given_bytes = new_envelope(
        payload,
        tenant_id=tenant,
        producer="test",
        payload_bytes=payload.SerializeToString(),
        **ids,
    )
    assert encode_envelope(given_bytes) == encode_envelope(packed)
    assert unpack_payload(given_bytes) == payload


@given(st.binary(min_size=16, max_size=16))
def test_random_uuid_is_uuid4_of_the_same_bytes(raw):
    import os
    from unittest import mock

    with mock.patch.object(os, "urandom", return_value=raw):
        made = random_uuid()
    assert made == str(uuid.UUID(bytes=raw, version=4))
    assert uuid.UUID(made).version == 4 and is_canonical_uuid(made)


def test_random_uuids_differ():
    assert len({random_uuid() for _ in range(1000)}) == 1000


def test_time_ordered_uuid_is_a_uuid7_of_the_time_and_the_random_bytes():
    import os
    import time
    from unittest import mock

    raw = bytes(range(10, 20))
    with (
        mock.patch.object(os, "urandom", return_value=raw),
        mock.patch.object(time, "time_ns", return_value=1_764_806_400_123_456_789),
    ):
        made = time_ordered_uuid()
    value = uuid.UUID(made)
    assert value.version == 7 and value.variant == uuid.RFC_4122 and is_canonical_uuid(made)
    assert int.from_bytes(value.bytes[:6], "big") == 1_764_806_400_123  # Unix milliseconds
    assert value.bytes[7] == raw[1] and value.bytes[9:] == raw[3:]  # the random bits kept


def test_time_ordered_uuids_differ_and_follow_the_clock():
    import time

    first = time_ordered_uuid()
    time.sleep(0.002)  # the next millisecond
    assert time_ordered_uuid() > first  # the canonical text sorts as the bytes do
    assert len({time_ordered_uuid() for _ in range(1000)}) == 1000
