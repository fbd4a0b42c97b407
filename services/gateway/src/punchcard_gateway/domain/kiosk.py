"""The kiosk edge's rules: what an attempt is, when two requests are the same attempt, and what a
kiosk is told about a punch outcome.

A kiosk (a clock registered in device-sync) posts a punch attempt with an id of its own; the
edge publishes it once and answers with the outcome punch publishes for that attempt id. The
answer is a pure function of the outcome event, whichever way the edge learnt it (followed on
Kafka, stored with the claim, or asked of the punch service), so the same attempt always gets
the same answer."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from google.protobuf.message import Message as ProtoMessage
from punchcard.v1 import common_pb2, device_pb2, punch_pb2

from .model import Conflict, Unauthenticated

Method = Literal["PIN", "FACE", "CARD"]
Direction = Literal["IN", "OUT"]

# The punch outcome events, by their full name (Envelope.type and the punch service's
# "type" field).
OUTCOME_TYPES: dict[str, type[ProtoMessage]] = {
    cls.DESCRIPTOR.full_name: cls
    for cls in (punch_pb2.PunchRecorded, punch_pb2.PunchRepeated, punch_pb2.PunchRejected)
}
Outcome = punch_pb2.PunchRecorded | punch_pb2.PunchRepeated | punch_pb2.PunchRejected

# --- errors -------------------------------------------------------------------------------


class ClockUnauthorized(Unauthenticated):
    """No credential, or one device-sync does not know (forged, rotated, revoked)."""

    code = "CLOCK_UNAUTHORIZED"

    def __init__(self) -> None:
        super().__init__("unknown, rotated or revoked clock credential")


class AttemptIdReused(Conflict):
    """The attempt id was claimed before with other content (or by another clock)."""

    code = "ATTEMPT_ID_REUSED"

    def __init__(self) -> None:
        super().__init__(
            "this attempt id was already used for a different punch attempt", "attempt_id"
        )


# A server the edge needs is down: ``Unavailable`` (the kit's, 503 with Retry-After); nothing
# was written, the kiosk keeps the attempt and sends it again (same attempt id) after it.


# --- the attempt --------------------------------------------------------------------------


@dataclass(frozen=True)
class Clock:
    """The clock a credential belongs to, as device-sync says (never as a request claims)."""

    tenant_id: str
    clock_id: str
    name: str = ""
    site_id: str = ""
    time_zone: str = ""

    @property
    def tz(self) -> tzinfo:
        try:
            return ZoneInfo(self.time_zone) if self.time_zone else UTC
        except (ZoneInfoNotFoundError, ValueError):
            return UTC


@dataclass(frozen=True)
class Attempt:
    """A validated punch attempt. The clear PIN (or badge card number, ``card``) is here only
    until it is sealed; it is kept out of ``repr`` and out of the fingerprint."""

    attempt_id: str  # canonical UUID text
    captured_at: datetime  # aware
    offline: bool
    direction: Direction | None
    method: Method
    employee_id: str | None
    pin: str | None = None
    frame_jpeg: bytes | None = None
    card: str | None = None
    # FACE only: the rest of the kiosk's burst (0-2 more JPEG frames after frame_jpeg).
    burst_jpeg: tuple[bytes, ...] = ()
    # A PIN or card punch's camera frame (issue 17): published for face-match to keep as the
    # punch's evidence photo; not part of the fingerprint (a resend may carry another frame).
    evidence_jpeg: bytes | None = None
    # FACE only: the frames are aligned face chips made by the kiosk (proto FacePunchAttempted).
    aligned: bool = False

    def __repr__(self) -> str:
        return (
            f"Attempt(attempt_id={self.attempt_id!r}, method={self.method!r},"
            f" employee_id={self.employee_id!r}, captured_at={self.captured_at.isoformat()!r})"
        )

    @property
    def fingerprint(self) -> bytes:
        """What makes two requests with one attempt id the same attempt: method, Employee ID,
        capture instant (whatever offset it was written with) and, for a face, the frame's
        hash. Never the PIN nor the card number: a claim stored for 30 days must not become a
        PIN oracle (a short digit string's hash is no secret)."""
        frame = hashlib.sha256(self.frame_jpeg).hexdigest() if self.frame_jpeg else ""
        captured = self.captured_at.astimezone(UTC).isoformat(timespec="microseconds")
        parts = (self.method, self.employee_id or "", captured, frame)
        if self.burst_jpeg:  # unchanged for a single frame (claims made before bursts)
            parts += tuple(hashlib.sha256(jpeg).hexdigest() for jpeg in self.burst_jpeg)
        if self.aligned:  # unchanged for frames (claims made before aligned chips)
            parts += ("aligned",)
        return hashlib.sha256("\x1f".join(parts).encode()).digest()


@dataclass(frozen=True)
class Claim:
    """An attempt id taken by a clock: the attempt is published once, with the claim."""

    tenant_id: str
    attempt_id: str
    clock_id: str
    method: Method
    fingerprint: bytes
    received_at: datetime


@dataclass(frozen=True)
class HeldAttempt:
    """A claimed attempt without an outcome yet, as the reconciler sees it (its record stays in
    the store, never here): when it arrived and how many times it was published."""

    tenant_id: str
    attempt_id: str
    clock_id: str
    received_at: datetime
    published: int


@dataclass(frozen=True)
class StoredClaim:
    clock_id: str
    fingerprint: bytes
    outcome: Outcome | None


# --- who a credential is, kept for a while ------------------------------------------------

# The clock events after which what the edge was told of a clock (who its credential is, its
# name, site and time zone) may be wrong: the clock was updated, revoked or given a new
# credential. The edge forgets the clock's answers on them.
CLOCK_CHANGES = frozenset(
    cls.DESCRIPTOR.full_name
    for cls in (
        device_pb2.ClockUpdated,
        device_pb2.ClockRevoked,
        device_pb2.ClockCredentialRotated,
    )
)
# The admin requests (proxied to device-sync, by their route template) that make those events:
# the replica that forwarded one forgets the clock at once, before the event arrives.
CLOCK_CHANGE_REQUESTS = frozenset(
    {
        ("PATCH", "/api/v1/clocks/{id}"),
        ("POST", "/api/v1/clocks/{id}/revoke"),
        ("POST", "/api/v1/clocks/{id}/credential"),
    }
)


def ends_clock_answers(event_type: str) -> bool:
    """An event of this type on the clocks topic makes the edge forget its clock's answers."""
    return event_type in CLOCK_CHANGES


def request_changes_clock(method: str, template: str, status: int) -> bool:
    """An admin request that changed a clock (a 2xx of one of CLOCK_CHANGE_REQUESTS)."""
    return 200 <= status < 300 and (method, template) in CLOCK_CHANGE_REQUESTS


# --- attempts without an outcome: republish, or give up -----------------------------------


@dataclass(frozen=True)
class RepublishPolicy:
    """When the reconciler looks again at a claimed attempt that has no outcome.

    ``after``: the first look, that long after the attempt arrived (longer than any normal
    processing lag, so a healthy system never republishes). Each look asks punch for the
    outcome, and republishes the attempt when punch has none; the next look comes ``after``,
    then twice, four times … as long later, at most ``max_interval`` (which must stay below the
    attempt topics' retention, so a copy of the attempt is always on its topic for a consumer
    that comes back). At ``hold`` after arrival the attempt is given up: its record is deleted
    (a frame is biometric, a sealed PIN a secret) and the loss is logged and counted."""

    after: timedelta
    max_interval: timedelta
    hold: timedelta


def first_check_at(received_at: datetime, policy: RepublishPolicy) -> datetime:
    """When the reconciler first looks at an attempt claimed at ``received_at``."""
    return min(received_at + policy.after, received_at + policy.hold)


def should_give_up(received_at: datetime, now: datetime, policy: RepublishPolicy) -> bool:
    """True when the attempt is held no longer: it arrived ``hold`` or more ago."""
    return now - received_at >= policy.hold


def next_check_at(
    received_at: datetime, published: int, now: datetime, policy: RepublishPolicy
) -> datetime:
    """After the attempt was published for the ``published``-th time (at ``now``): the next
    look, ``after`` × 2^(published-2) later (so ``after`` after the first republish), capped
    at ``max_interval``, and never later than the give-up time."""
    steps = min(max(published - 2, 0), 60)
    seconds = policy.after.total_seconds() * 2.0**steps
    interval = min(timedelta(seconds=min(seconds, 1e9)), policy.max_interval)
    return min(now + interval, received_at + policy.hold)


def proto_direction(direction: Direction | None) -> int:
    if direction == "IN":
        return common_pb2.PUNCH_DIRECTION_IN
    if direction == "OUT":
        return common_pb2.PUNCH_DIRECTION_OUT
    return common_pb2.PUNCH_DIRECTION_UNSPECIFIED


# --- outcomes → the kiosk's answer --------------------------------------------------------


def parse_outcome(type_name: str, data: bytes) -> Outcome | None:
    """A stored outcome (its type name and serialised bytes); None for a type not known."""
    cls = OUTCOME_TYPES.get(type_name)
    if cls is None:
        return None
    event = cls()
    event.ParseFromString(data)
    return event


# Every reason as the kiosk names it. UNKNOWN_USER, NOT_ASSIGNED_TO_CLOCK and INACTIVE are all
# "Unknown User", as hardware clocks answer: a kiosk never tells a stranger which Employee IDs
# exist, nor who is inactive or assigned elsewhere.
_KIOSK_REASON = {
    common_pb2.REJECT_REASON_UNKNOWN_USER: "UNKNOWN_USER",
    common_pb2.REJECT_REASON_NOT_ASSIGNED_TO_CLOCK: "UNKNOWN_USER",
    common_pb2.REJECT_REASON_INACTIVE: "UNKNOWN_USER",
    common_pb2.REJECT_REASON_WRONG_PIN: "WRONG_PIN",
    common_pb2.REJECT_REASON_LOCKED_OUT: "LOCKED_OUT",
    common_pb2.REJECT_REASON_PIN_NOT_SET: "PIN_NOT_SET",
    common_pb2.REJECT_REASON_PIN_NOT_ALLOWED: "PIN_NOT_ALLOWED",
    common_pb2.REJECT_REASON_CAPTURE_TIME_IN_FUTURE: "CAPTURE_TIME_IN_FUTURE",
    common_pb2.REJECT_REASON_CAPTURE_TIME_TOO_OLD: "CAPTURE_TIME_TOO_OLD",
    common_pb2.REJECT_REASON_NO_FACE: "NO_FACE",
    common_pb2.REJECT_REASON_MULTIPLE_FACES: "MULTIPLE_FACES",
    common_pb2.REJECT_REASON_NO_MATCH: "NO_MATCH",
    common_pb2.REJECT_REASON_AMBIGUOUS: "AMBIGUOUS",
    common_pb2.REJECT_REASON_INVALID_FRAME: "INVALID_FRAME",
    # The clock verifies faces 1:1 (its gallery is too large for a safe 1:N search): the kiosk
    # asks for the Employee ID, then sends the face again with it.
    common_pb2.REJECT_REASON_EMPLOYEE_ID_REQUIRED: "EMPLOYEE_ID_REQUIRED",
    # face-match's liveness check refused the frames (a photo or a screen held up, or a still
    # image): the worker is asked to look at the camera, and the PIN is offered.
    common_pb2.REJECT_REASON_SPOOF_SUSPECTED: "SPOOF_SUSPECTED",
    # The tenant refuses PIN and card punches whose photo is not the worker's face, and this
    # one's showed another face or none (punch's evidence policy, issue 17).
    common_pb2.REJECT_REASON_FACE_CHECK_FAILED: "FACE_CHECK_FAILED",
}
# A reason added to the enum later (or none at all): not recorded, nothing more said.
NOT_RECORDED = "NOT_RECORDED"

_MESSAGES = {
    "UNKNOWN_USER": "Unknown User",
    "WRONG_PIN": "Wrong PIN",
    "LOCKED_OUT": "PIN locked — ask your manager",
    "PIN_NOT_SET": "No PIN set — ask your manager",
    "PIN_NOT_ALLOWED": "PIN punching is not allowed for you — ask your manager",
    "CAPTURE_TIME_IN_FUTURE": "This clock's time is wrong — punch not recorded",
    "CAPTURE_TIME_TOO_OLD": "This punch is too old — not recorded",
    "NO_FACE": "No face found — please try again",
    "MULTIPLE_FACES": "More than one face — one person at a time, please",
    "NO_MATCH": "Face not recognised — try again or use your PIN",
    "AMBIGUOUS": "Face not recognised — try again or use your PIN",
    "INVALID_FRAME": "The camera image could not be used — please try again",
    "EMPLOYEE_ID_REQUIRED": "Enter your Employee ID, then look at the camera",
    "SPOOF_SUSPECTED": "Please look at the camera — or use your PIN",
    "FACE_CHECK_FAILED": "Please look at the camera",
    NOT_RECORDED: "Punch not recorded",
}


def kiosk_reason(reason: int) -> str:
    return _KIOSK_REASON.get(reason, NOT_RECORDED)


def _direction_name(direction: int) -> str:
    return {common_pb2.PUNCH_DIRECTION_IN: "IN", common_pb2.PUNCH_DIRECTION_OUT: "OUT"}.get(
        direction, "UNSPECIFIED"
    )


def _method_name(method: int) -> str:
    return {
        common_pb2.PUNCH_METHOD_PIN: "PIN",
        common_pb2.PUNCH_METHOD_FACE: "FACE",
        common_pb2.PUNCH_METHOD_CARD: "CARD",
    }.get(method, "UNSPECIFIED")


def _iso(timestamp) -> str:
    return timestamp.ToDatetime(tzinfo=UTC).isoformat()


def answer(attempt_id: str, event: Outcome, tz: tzinfo = UTC) -> dict:
    """The kiosk's answer (the JSON body of a 200) for ``attempt_id``'s outcome; ``tz`` is the
    clock's time zone, for the time in the message."""
    if isinstance(event, punch_pb2.PunchRepeated):
        return _recorded(attempt_id, event.earlier, tz, repeat=True)
    if isinstance(event, punch_pb2.PunchRecorded):
        return _recorded(attempt_id, event, tz, repeat=False)
    return _rejected(attempt_id, event)


def _recorded(attempt_id: str, punch: punch_pb2.PunchRecorded, tz: tzinfo, repeat: bool) -> dict:
    direction = _direction_name(punch.direction)
    name = punch.worker_display_name or punch.employee_id
    at = punch.captured_at.ToDatetime(tzinfo=UTC).astimezone(tz).strftime("%H:%M")
    message = f"{name}: {direction} at {at}"
    if repeat:
        message += " (already recorded)"
    return {
        "attempt_id": attempt_id,
        "status": "recorded",
        "punch": {
            "punch_id": punch.punch_id,
            "worker_id": punch.worker_id,
            "employee_id": punch.employee_id,
            "display_name": punch.worker_display_name,
            "direction": direction,
            "direction_inferred": punch.direction_inferred,
            "punched_at": _iso(punch.captured_at),
            "method": _method_name(punch.method),
            "repeat": repeat,
        },
        "message": message,
    }


def _rejected(attempt_id: str, event: punch_pb2.PunchRejected) -> dict:
    reason = kiosk_reason(event.reason)
    body: dict = {"attempt_id": attempt_id, "status": "rejected", "reason": reason}
    message = _MESSAGES[reason]
    if reason == "WRONG_PIN":
        left = event.attempts_remaining
        body["attempts_remaining"] = left
        message += f" — {left} {'try' if left == 1 else 'tries'} left"
    elif reason == "LOCKED_OUT":
        body["locked_until"] = _iso(event.locked_until) if event.HasField("locked_until") else None
    body["message"] = message
    return body


def pending(attempt_id: str) -> dict:
    """The answer when the outcome is not known yet: the kiosk asks again at ``result_url``."""
    return {
        "attempt_id": attempt_id,
        "status": "pending",
        "result_url": f"/kiosk/v1/punches/{attempt_id}",
    }
