"""What a kiosk is told: punch's outcome events → the answer body (one converter for every way
the edge learns an outcome), the reason mapping ("Unknown User" for three reasons), the
attempt's fingerprint, and the request validation that never echoes a value."""

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from google.protobuf.json_format import MessageToDict
from punchcard.v1 import common_pb2, punch_pb2
from punchcard_gateway.domain.kiosk import (
    NOT_RECORDED,
    Attempt,
    Clock,
    answer,
    kiosk_reason,
    parse_outcome,
    pending,
)
from punchcard_gateway.domain.model import Invalid, TooLarge
from punchcard_gateway.entrypoints.kiosk import body_limit, parse_attempt
from punchcard_gateway.service_layer.kiosk import attempt_event
from punchcard_kit import credentials
from punchcard_kit.messaging import unpack_payload

R = common_pb2
ATTEMPT = "0b7c2f4e-8a51-4c1e-9d0a-5e2f3b4c6d7e"
CAPTURED = datetime(2026, 1, 12, 7, 1, 30, tzinfo=UTC)


def recorded(**fields) -> punch_pb2.PunchRecorded:
    event = punch_pb2.PunchRecorded(
        punch_id="p-1",
        attempt_id=fields.pop("attempt_id", ATTEMPT),
        worker_id="w-1",
        employee_id="E100",
        worker_display_name="Ana Pérez",
        clock_id="c-1",
        direction=fields.pop("direction", R.PUNCH_DIRECTION_IN),
        direction_inferred=fields.pop("direction_inferred", False),
        method=fields.pop("method", R.PUNCH_METHOD_PIN),
        **fields,
    )
    event.captured_at.FromDatetime(CAPTURED)
    return event


def test_recorded_answer_names_the_worker_in_the_clocks_time_zone():
    body = answer(ATTEMPT, recorded(), ZoneInfo("Europe/Madrid"))
    assert body == {
        "attempt_id": ATTEMPT,
        "status": "recorded",
        "punch": {
            "punch_id": "p-1",
            "worker_id": "w-1",
            "employee_id": "E100",
            "display_name": "Ana Pérez",
            "direction": "IN",
            "direction_inferred": False,
            "punched_at": "2026-01-12T07:01:30+00:00",
            "method": "PIN",
            "repeat": False,
        },
        "message": "Ana Pérez: IN at 08:01",
    }
    assert answer(ATTEMPT, recorded())["message"] == "Ana Pérez: IN at 07:01"  # UTC by default


def test_a_repeat_is_answered_like_the_earlier_punch():
    earlier = recorded(
        attempt_id="earlier-attempt",
        direction=R.PUNCH_DIRECTION_OUT,
        direction_inferred=True,
        method=R.PUNCH_METHOD_FACE,
    )
    event = punch_pb2.PunchRepeated(attempt_id=ATTEMPT, clock_id="c-1", earlier=earlier)
    body = answer(ATTEMPT, event)
    assert body["attempt_id"] == ATTEMPT  # the new attempt, answered with the earlier punch
    assert body["status"] == "recorded"
    assert body["punch"]["punch_id"] == "p-1" and body["punch"]["repeat"] is True
    assert body["punch"]["direction"] == "OUT" and body["punch"]["direction_inferred"] is True
    assert body["punch"]["method"] == "FACE"
    assert body["message"] == "Ana Pérez: OUT at 07:01 (already recorded)"


@pytest.mark.parametrize(
    ("reason", "shown"),
    [
        (R.REJECT_REASON_UNKNOWN_USER, "UNKNOWN_USER"),
        (R.REJECT_REASON_NOT_ASSIGNED_TO_CLOCK, "UNKNOWN_USER"),
        (R.REJECT_REASON_INACTIVE, "UNKNOWN_USER"),
        (R.REJECT_REASON_WRONG_PIN, "WRONG_PIN"),
        (R.REJECT_REASON_LOCKED_OUT, "LOCKED_OUT"),
        (R.REJECT_REASON_PIN_NOT_SET, "PIN_NOT_SET"),
        (R.REJECT_REASON_PIN_NOT_ALLOWED, "PIN_NOT_ALLOWED"),
        (R.REJECT_REASON_CAPTURE_TIME_IN_FUTURE, "CAPTURE_TIME_IN_FUTURE"),
        (R.REJECT_REASON_CAPTURE_TIME_TOO_OLD, "CAPTURE_TIME_TOO_OLD"),
        (R.REJECT_REASON_NO_FACE, "NO_FACE"),
        (R.REJECT_REASON_MULTIPLE_FACES, "MULTIPLE_FACES"),
        (R.REJECT_REASON_NO_MATCH, "NO_MATCH"),
        (R.REJECT_REASON_AMBIGUOUS, "AMBIGUOUS"),
        (R.REJECT_REASON_INVALID_FRAME, "INVALID_FRAME"),
        (R.REJECT_REASON_EMPLOYEE_ID_REQUIRED, "EMPLOYEE_ID_REQUIRED"),
        (R.REJECT_REASON_SPOOF_SUSPECTED, "SPOOF_SUSPECTED"),
        (R.REJECT_REASON_FACE_CHECK_FAILED, "FACE_CHECK_FAILED"),
        (R.REJECT_REASON_UNSPECIFIED, NOT_RECORDED),
        (999, NOT_RECORDED),  # a reason added to the enum later
    ],
)
def test_reasons_as_the_kiosk_shows_them(reason, shown):
    assert kiosk_reason(reason) == shown
    event = punch_pb2.PunchRejected(attempt_id=ATTEMPT, reason=reason, worker_id="w-secret")
    body = answer(ATTEMPT, event)
    assert body["status"] == "rejected" and body["reason"] == shown
    assert body["message"]
    assert "w-secret" not in json.dumps(body)  # never who it was
    if shown == "UNKNOWN_USER":
        assert body["message"] == "Unknown User"
    if shown == "FACE_CHECK_FAILED":
        assert body["message"] == "Please look at the camera"


def test_every_reason_of_the_enum_has_a_kiosk_name():
    for name, number in R.RejectReason.items():
        if number:
            assert kiosk_reason(number) != NOT_RECORDED, name


def test_the_readme_lists_every_reason_a_kiosk_may_be_told():
    """A kiosk developer codes the reasons from the README's "200 rejected": every one the edge
    answers is there (EMPLOYEE_ID_REQUIRED, SPOOF_SUSPECTED and FACE_CHECK_FAILED were not)."""
    readme = (Path(__file__).parents[3] / "services/gateway/README.md").read_text()
    rejected = readme.split("- **200 rejected**", 1)[1].split("\n- **", 1)[0]
    told = {kiosk_reason(number) for _, number in R.RejectReason.items()}
    missing = sorted(reason for reason in told if f"`{reason}`" not in rejected)
    assert missing == []


def test_wrong_pin_tells_the_tries_left_and_locked_out_until_when():
    wrong = punch_pb2.PunchRejected(
        attempt_id=ATTEMPT, reason=R.REJECT_REASON_WRONG_PIN, attempts_remaining=2
    )
    assert answer(ATTEMPT, wrong) == {
        "attempt_id": ATTEMPT,
        "status": "rejected",
        "reason": "WRONG_PIN",
        "attempts_remaining": 2,
        "message": "Wrong PIN — 2 tries left",
    }
    locked = punch_pb2.PunchRejected(attempt_id=ATTEMPT, reason=R.REJECT_REASON_LOCKED_OUT)
    locked.locked_until.FromDatetime(CAPTURED + timedelta(minutes=15))
    body = answer(ATTEMPT, locked)
    assert body["locked_until"] == "2026-01-12T07:16:30+00:00"
    assert "attempts_remaining" not in body
    unknown = answer(ATTEMPT, punch_pb2.PunchRejected(reason=R.REJECT_REASON_UNKNOWN_USER))
    assert set(unknown) == {"attempt_id", "status", "reason", "message"}


def test_stored_and_looked_up_outcomes_convert_the_same():
    event = recorded()
    stored = parse_outcome("punchcard.v1.PunchRecorded", event.SerializeToString())
    assert answer(ATTEMPT, stored) == answer(ATTEMPT, event)
    assert parse_outcome("punchcard.v1.PunchCorrected", b"") is None
    as_json = MessageToDict(event, preserving_proto_field_name=True)
    assert as_json["worker_display_name"] == "Ana Pérez"  # the punch service's lookup shape


def test_pending_points_at_the_result():
    assert pending(ATTEMPT) == {
        "attempt_id": ATTEMPT,
        "status": "pending",
        "result_url": f"/kiosk/v1/punches/{ATTEMPT}",
    }


def test_a_clock_without_a_known_time_zone_answers_in_utc():
    assert str(Clock("t", "c", time_zone="Nowhere/Else").tz) == "UTC"
    assert str(Clock("t", "c").tz) == "UTC"


# --- the attempt ---------------------------------------------------------------------------


def attempt(**fields) -> Attempt:
    values = dict(
        attempt_id=ATTEMPT,
        captured_at=CAPTURED,
        offline=False,
        direction=None,
        method="PIN",
        employee_id="E100",
        pin="482913",
    )
    values.update(fields)
    return Attempt(**values)


def test_the_fingerprint_is_the_attempt_not_the_pin():
    base = attempt()
    assert attempt(pin="000000").fingerprint == base.fingerprint
    # The same instant written with another offset is the same capture.
    same_instant = CAPTURED.astimezone(timezone(timedelta(hours=-5)))
    assert attempt(captured_at=same_instant).fingerprint == base.fingerprint
    assert attempt(employee_id="E101").fingerprint != base.fingerprint
    assert attempt(captured_at=CAPTURED + timedelta(seconds=1)).fingerprint != base.fingerprint
    face = attempt(method="FACE", pin=None, employee_id=None, frame_jpeg=b"\xff\xd8\xff1")
    assert (
        face.fingerprint
        != attempt(method="FACE", pin=None, frame_jpeg=b"\xff\xd8\xff2").fingerprint
    )
    assert len(base.fingerprint) == 32
    assert "482913" not in repr(base)


def test_the_pin_attempt_event_holds_only_the_sealed_box():
    box = common_pb2.SealedBox(ciphertext=b"\x01" * 80, recipient_key_id="dev-1")
    clock = Clock(tenant_id=str(uuid.uuid4()), clock_id=str(uuid.uuid4()))
    received = CAPTURED + timedelta(seconds=2)
    topic, key, envelope = attempt_event(clock, attempt(direction="OUT"), received, box)
    assert topic == "punchcard.kiosk.pin-attempts.v1"
    assert key == f"{clock.tenant_id}/E100"
    assert b"482913" not in envelope.SerializeToString()
    assert envelope.correlation_id == ATTEMPT and envelope.producer == "gateway"
    assert envelope.occurred_at.ToDatetime(tzinfo=UTC) == received


def test_the_face_attempt_event_is_keyed_by_the_clock():
    clock = Clock(tenant_id=str(uuid.uuid4()), clock_id=str(uuid.uuid4()))
    face = attempt(method="FACE", pin=None, employee_id=None, frame_jpeg=b"\xff\xd8\xffabc")
    topic, key, _ = attempt_event(clock, face, CAPTURED, None)
    assert topic == "punchcard.kiosk.face-attempts.v1"
    assert key == f"{clock.tenant_id}/{clock.clock_id}"


# --- validation ----------------------------------------------------------------------------


def body(**fields) -> bytes:
    values = {
        "attempt_id": ATTEMPT,
        "captured_at": "2026-01-12T08:01:30+01:00",
        "method": "PIN",
        "employee_id": "E100",
        "pin": "048291",
    }
    values.update(fields)
    return json.dumps({k: v for k, v in values.items() if v is not ...}).encode()


def test_a_good_pin_attempt():
    parsed = parse_attempt(body(direction="IN", offline=True, extra="ignored"), 1024)
    assert parsed.captured_at == CAPTURED and parsed.pin == "048291"
    assert parsed.direction == "IN" and parsed.offline is True and parsed.frame_jpeg is None


PIN = "048291"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"attempt_id": ...}, "attempt_id"),
        ({"attempt_id": PIN}, "attempt_id"),
        ({"captured_at": PIN}, "captured_at"),
        ({"captured_at": "2026-01-12T08:01:30"}, "captured_at"),  # no offset
        ({"captured_at": 1768204890}, "captured_at"),
        # Years the OpenAPI's pattern refuses; the year 1 with an offset overflowed (a 500).
        ({"captured_at": "0001-01-01T00:00:00+05:00"}, "captured_at"),
        ({"captured_at": "9999-12-31T23:59:59-05:00"}, "captured_at"),
        ({"captured_at": "1999-12-31T23:59:59Z"}, "captured_at"),
        ({"offline": "yes"}, "offline"),
        ({"direction": "in"}, "direction"),
        ({"method": PIN}, "method"),
        ({"employee_id": ""}, "employee_id"),
        ({"employee_id": "E 1"}, "employee_id"),
        ({"employee_id": "x" * 33}, "employee_id"),
        ({"employee_id": ...}, "employee_id"),
        ({"pin": ...}, "pin"),
        ({"pin": int(PIN)}, "pin"),
        ({"pin": PIN + "1"}, "pin"),
        ({"pin": PIN[:3]}, "pin"),
        ({"pin": "٠٤٨٢"}, "pin"),  # digits, but not ASCII ones
        ({"frame_jpeg": "/9j/"}, "frame_jpeg"),
        ({"method": "FACE"}, "pin"),
        ({"method": "FACE", "pin": ...}, "frame_jpeg"),
    ],
)
def test_bad_attempts_name_the_field_and_never_echo_a_value(fields, field):
    with pytest.raises(Invalid) as refused:
        parse_attempt(body(**fields), 1024)
    assert refused.value.field == field
    assert PIN not in refused.value.message and PIN[:3] not in refused.value.message


@pytest.mark.parametrize("employee_id", ["E.100", ".", "E100."])
def test_the_edge_refuses_an_employee_id_identity_refuses(employee_id):
    # One rule (punchcard_kit.credentials, identity's): a "." is no Employee ID at the edge
    # either, so an attempt identity could never match is refused before it is published.
    assert not credentials.is_employee_id(employee_id)
    with pytest.raises(Invalid) as refused:
        parse_attempt(body(employee_id=employee_id), 1024)
    assert refused.value.field == "employee_id"
    assert refused.value.message == (
        "employee_id must be 1-32 characters: letters, digits, '_' or '-'"
    )


def test_the_edge_takes_every_employee_id_identity_takes():
    for employee_id in ("E100", "a_b-C", "x" * credentials.EMPLOYEE_ID_MAX_LENGTH):
        assert credentials.is_employee_id(employee_id)
        assert parse_attempt(body(employee_id=employee_id), 1024).employee_id == employee_id


def test_frames_must_be_jpeg_and_bounded():
    face = {"method": "FACE", "pin": ..., "employee_id": ...}
    good = b"\xff\xd8\xff\xe0" + b"0" * 100
    parsed = parse_attempt(body(frame_jpeg=base64.b64encode(good).decode(), **face), 1024)
    assert parsed.frame_jpeg == good and parsed.employee_id is None
    with pytest.raises(Invalid) as not_jpeg:
        parse_attempt(body(frame_jpeg=base64.b64encode(b"GIF89a...").decode(), **face), 1024)
    assert not_jpeg.value.message == "frame_jpeg is not a JPEG image"
    from punchcard_gateway.domain.model import TooLarge

    big = base64.b64encode(b"\xff\xd8\xff" + b"0" * 1100).decode()
    with pytest.raises(TooLarge) as too_large:
        parse_attempt(body(frame_jpeg=big, **face), 1024)
    assert too_large.value.field == "frame_jpeg"
    assert body_limit(512 * 1024) > 512 * 1024 * 4 // 3


def test_a_face_burst_is_jpeg_frames_of_a_face_attempt_within_the_one_bound():
    face = {"method": "FACE", "pin": ..., "employee_id": ...}
    frames = [b"\xff\xd8\xff\xe0" + bytes([n]) * 300 for n in range(3)]
    b64 = [base64.b64encode(f).decode() for f in frames]
    parsed = parse_attempt(body(frame_jpeg=b64[0], burst_jpeg=b64[1:], **face), 1024)
    assert parsed.frame_jpeg == frames[0] and parsed.burst_jpeg == tuple(frames[1:])
    # The burst changes what the attempt is (its fingerprint); a single frame's is unchanged.
    single = parse_attempt(body(frame_jpeg=b64[0], **face), 1024)
    assert single.burst_jpeg == () and single.fingerprint != parsed.fingerprint
    clock = Clock(tenant_id=str(uuid.uuid4()), clock_id=str(uuid.uuid4()))
    _, _, envelope = attempt_event(clock, parsed, CAPTURED, None)
    payload = unpack_payload(envelope)
    assert list(payload.burst_jpeg) == frames[1:] and payload.frame_jpeg == frames[0]

    from punchcard_gateway.domain.model import TooLarge

    for bad, message in (
        ([b64[1], b64[2], b64[1]], "burst_jpeg must be a list of at most 2 base64 strings"),
        ([base64.b64encode(b"GIF89a...").decode()], "burst_jpeg is not a JPEG image"),
        (["%%%"], "burst_jpeg must be base64 strings"),
    ):
        with pytest.raises(Invalid) as refused:
            parse_attempt(body(frame_jpeg=b64[0], burst_jpeg=bad, **face), 1024)
        assert (refused.value.message, refused.value.field) == (message, "burst_jpeg")
    with pytest.raises(TooLarge) as too_large:  # each frame within 800 bytes, not 3 together
        parse_attempt(body(frame_jpeg=b64[0], burst_jpeg=b64[1:], **face), 800)
    assert too_large.value.field == "burst_jpeg"
    for method in ("PIN", "CARD"):
        extra = {"card": "1234", "employee_id": ..., "pin": ...} if method == "CARD" else {}
        with pytest.raises(Invalid) as refused:
            parse_attempt(body(method=method, burst_jpeg=b64[1:], **extra), 1024)
        assert refused.value.field == "burst_jpeg"


def test_a_face_attempt_of_aligned_chips_says_so_on_its_event():
    face = {"method": "FACE", "pin": ..., "employee_id": ...}
    chip = base64.b64encode(b"\xff\xd8\xff\xe0" + b"1" * 200).decode()
    parsed = parse_attempt(body(frame_jpeg=chip, burst_jpeg=[chip], aligned=True, **face), 1024)
    assert parsed.aligned
    frames = parse_attempt(body(frame_jpeg=chip, burst_jpeg=[chip], **face), 1024)
    assert not frames.aligned and frames.fingerprint != parsed.fingerprint
    clock = Clock(tenant_id=str(uuid.uuid4()), clock_id=str(uuid.uuid4()))
    assert unpack_payload(attempt_event(clock, parsed, CAPTURED, None)[2]).aligned
    assert not unpack_payload(attempt_event(clock, frames, CAPTURED, None)[2]).aligned

    for bad in ("yes", 1, None):  # strictly true or false
        with pytest.raises(Invalid) as refused:
            parse_attempt(body(frame_jpeg=chip, aligned=bad, **face), 1024)
        assert refused.value.field == "aligned"
        assert refused.value.message == "aligned must be true or false"
    for method in ("PIN", "CARD"):
        extra = {"card": "1234", "employee_id": ..., "pin": ...} if method == "CARD" else {}
        with pytest.raises(Invalid) as refused:
            parse_attempt(body(method=method, aligned=True, **extra), 1024)
        assert refused.value.field == "aligned"
        assert parse_attempt(body(method=method, aligned=False, **extra), 1024).aligned is False


@pytest.mark.parametrize("raw", [b"", b"[]", b"null", b'{"pin": "048291"', b"048291"])
def test_a_body_that_is_no_attempt(raw):
    with pytest.raises(Invalid) as refused:
        parse_attempt(raw, 1024)
    assert PIN not in refused.value.message


def test_a_pin_or_card_punch_may_carry_its_evidence_photo_bounded_like_a_frame():
    good = b"\xff\xd8\xff\xe0" + b"0" * 100
    parsed = parse_attempt(body(evidence_jpeg=base64.b64encode(good).decode()), 1024)
    assert parsed.evidence_jpeg == good and parsed.frame_jpeg is None
    assert parse_attempt(body(), 1024).evidence_jpeg is None
    # Not part of the fingerprint: a resend with another frame is the same attempt.
    assert parsed.fingerprint == parse_attempt(body(), 1024).fingerprint
    card = {"method": "CARD", "card": "12345", "pin": ..., "employee_id": ...}
    encoded = base64.b64encode(good).decode()
    assert parse_attempt(body(evidence_jpeg=encoded, **card), 1024).evidence_jpeg == good
    for bad, error in (
        (base64.b64encode(b"GIF89a" + b"0" * 10).decode(), Invalid),
        ("not base64!", Invalid),
        (base64.b64encode(b"\xff\xd8" + b"0" * 2000).decode(), TooLarge),
    ):
        with pytest.raises(error) as refused:
            parse_attempt(body(evidence_jpeg=bad), 1024)
        assert refused.value.field == "evidence_jpeg"
    face = {"method": "FACE", "pin": ..., "employee_id": ..., "frame_jpeg": encoded}
    with pytest.raises(Invalid) as refused:
        parse_attempt(body(evidence_jpeg=encoded, **face), 1024)
    assert refused.value.field == "evidence_jpeg"
