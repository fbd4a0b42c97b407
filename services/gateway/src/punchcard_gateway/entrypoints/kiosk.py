"""The kiosk-facing API (``/kiosk/v1``): a kiosk posts a punch attempt with its clock credential
and gets the outcome (service_layer.kiosk has the flow).

Order of work, so that a bad request changes nothing and a PIN goes nowhere:
1. the credential (``Authorization: Bearer pcc_…``) is checked by device-sync — before the body
   is even read;
2. the body is read up to a bound (the frames, ``KIOSK_MAX_FRAME_BYTES`` together, in base64,
   plus a little) and validated here, by hand: every error message is one of ours, naming the
   field, never echoing a value (pydantic's messages may quote input, and a PIN is input);
3. only then is anything sealed, claimed or published.

Neither the body nor the credential is logged anywhere.

The kiosk app (a browser, which can only talk to this origin) also reaches its clock API here:
``POST /kiosk/v1/sync``, ``POST /kiosk/v1/acks`` and ``GET /kiosk/v1/whoami`` are passed to
device-sync's ``/clock/v1/…`` with the kiosk's own ``Authorization`` (device-sync decides who
the clock is); bodies are bounded, the long-poll's timeout is the request's ``wait_s`` plus a
margin, and device-sync down is a 503 in the one error shape."""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from punchcard_kit import bounds, credentials
from punchcard_kit.http_errors import ErrorPublic
from punchcard_kit.logging import correlation
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    ValidationError,
    field_validator,
)

from ..adapters.edge_limits import EdgeLimiter
from ..adapters.upstream import UpstreamUnavailable
from ..domain.edge_limits import holds_poll
from ..domain.kiosk import Attempt, Clock, ClockUnauthorized
from ..domain.kiosk_roles import KioskAction, check_action, kiosk_actions
from ..domain.model import Invalid, NotFound, TooLarge, Unavailable
from ..service_layer.kiosk import KioskEdge
from ..service_layer.kiosk_elevation import KioskElevations
from .deps import container

JPEG_SOI = b"\xff\xd8\xff"
# Frames a face attempt may send after frame_jpeg (the kiosk's burst; face-match looks at no more).
MAX_BURST = 2
# Room for everything but the frame (ids, times, Employee ID, JSON punctuation).
BODY_OVERHEAD_BYTES = 16 * 1024
_CREDENTIAL_MAX = 512
# A signed-in Manager's / Administrator's elevation (POST /kiosk/v1/sign-in), sent back with
# what it opens.
ELEVATION_HEADER = "x-kiosk-elevation"
# The clock API passed through to device-sync: a sync carries at most 1,000 acks of ~600 bytes.
CLOCK_BODY_LIMIT = 1024 * 1024
CLOCK_MAX_WAIT_S = 55.0  # device-sync's cap on a long-poll
CLOCK_WAIT_MARGIN_S = 10.0  # on top of wait_s, for the answer to come back
CLOCK_DEFAULT_WAIT_S = 25.0
CLOCK_CALL_TIMEOUT_S = 10.0  # acks
_CREDENTIAL_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")

# Identity's rule (punchcard_kit.credentials): what the edge takes is what identity accepts.
EmployeeId = Annotated[
    str,
    StringConstraints(
        min_length=1,
        max_length=credentials.EMPLOYEE_ID_MAX_LENGTH,
        pattern=credentials.EMPLOYEE_ID_PATTERN,
    ),
]
Pin = Annotated[str, StringConstraints(pattern=credentials.PIN_PATTERN)]
CardNumber = Annotated[str, StringConstraints(pattern=credentials.CARD_NUMBER_PATTERN)]
# RFC 3339 date-time, offset required (pydantic alone would also take "1714550400").
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)


class KioskPunchIn(BaseModel):
    """A punch attempt as a kiosk sends it."""

    # Unknown fields are ignored (newer kiosk software may send more); strict types, so a PIN
    # sent as a number (leading zeros lost) is refused rather than guessed.
    model_config = ConfigDict(
        extra="ignore",
        strict=True,
        hide_input_in_errors=True,
        json_schema_extra={
            "examples": [
                {
                    "attempt_id": "4e6a8c0e-2b4d-4f6a-9c1e-3a5c7e9b1d3f",
                    "captured_at": "2026-03-02T08:01:10+00:00",
                    "offline": False,
                    "direction": "IN",
                    "method": "PIN",
                    "employee_id": "E-1001",
                    "pin": "4827",
                }
            ]
        },
    )

    attempt_id: uuid.UUID = Field(description="Made by the kiosk once per attempt (UUID)")
    captured_at: AwareDatetime = Field(
        description="RFC 3339 with an offset: the capture time (the years 2000-2999)",
        json_schema_extra={"pattern": bounds.INSTANT_PATTERN},
    )
    offline: StrictBool = Field(default=False, description="Captured offline, sent later")
    direction: Literal["IN", "OUT"] | None = None
    method: Literal["PIN", "FACE", "CARD"]
    employee_id: EmployeeId | None = None
    pin: Pin | None = Field(default=None, description="PIN only: 4-6 digits, as a string")
    card: CardNumber | None = Field(
        default=None, description="CARD only: the badge card's number, 1-20 digits, as a string"
    )
    frame_jpeg: str | None = Field(default=None, description="FACE only: one JPEG, base64")
    burst_jpeg: list[str] | None = Field(
        default=None,
        max_length=MAX_BURST,
        description="FACE only: the rest of the kiosk's burst, 0-2 more JPEG frames (base64) "
        "taken after frame_jpeg; every frame must show the same worker, and the server judges "
        "liveness across them",
    )
    aligned: StrictBool = Field(
        default=False,
        description="FACE only: the kiosk aligned the face itself; frame_jpeg and burst_jpeg "
        "are then aligned face chips (square JPEGs of 150-320 px, the kiosk app's 300, in "
        "dlib's face-chip geometry: the "
        "5 landmarks where dlib's get_face_chip puts them with padding 0.25), not camera "
        "frames, and the server runs no face detector on a whole frame",
    )
    evidence_jpeg: str | None = Field(
        default=None,
        description="PIN or CARD, optional: the camera frame at the punch, one JPEG, base64"
        " (kept as the punch's evidence photo when the tenant keeps them)",
    )

    @field_validator("captured_at", mode="before")
    @classmethod
    def _rfc3339(cls, value: object) -> object:
        if not isinstance(value, str) or not _RFC3339.match(value):
            raise ValueError("not an RFC 3339 date-time with an offset")
        # ValueError for 2024-13-01 and the like; and for the year 1 or 9999, which overflowed
        # when the attempt's key turned it to UTC (a 500).
        return bounds.within_years(datetime.fromisoformat(value.upper()))


# One message per field, never derived from the value.
_FIELD_MESSAGES = {
    "attempt_id": "attempt_id must be a UUID",
    "captured_at": "captured_at must be an RFC 3339 date-time with an offset",
    "offline": "offline must be true or false",
    "direction": 'direction must be "IN", "OUT" or null',
    "method": 'method must be "PIN", "FACE" or "CARD"',
    "employee_id": "employee_id must be 1-32 characters: letters, digits, '_' or '-'",
    "pin": "pin must be a string of 4 to 6 digits",
    "frame_jpeg": "frame_jpeg must be a base64 string",
    "burst_jpeg": "burst_jpeg must be a list of at most 2 base64 strings",
    "evidence_jpeg": "evidence_jpeg must be a base64 string",
    "card": "card must be a string of 1 to 20 digits",
    "consent": "consent must be true or false",
    "aligned": "aligned must be true or false",
}


class KioskSignInIn(BaseModel):
    """A Manager / Administrator signs in at the kiosk (no punch is made)."""

    model_config = ConfigDict(
        extra="ignore",
        strict=True,
        hide_input_in_errors=True,
        json_schema_extra={"examples": [{"employee_id": "E-1001", "pin": "4827"}]},
    )
    employee_id: EmployeeId
    pin: Pin = Field(description="4-6 digits, as a string")


class KioskSignInPublic(BaseModel):
    """The signed-in worker, their role on this clock, what it lets them do here, and the
    elevation to send back (header ``X-Kiosk-Elevation``) until ``expires_at``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "worker_id": "6f1c2b1e-3a4d-4c5b-9e8f-1a2b3c4d5e6f",
                    "employee_id": "E-1001",
                    "name": "Ada Lovelace",
                    "clock_role": "ADMINISTRATOR",
                    "may": ["ENROL_FACE", "OPEN_SETTINGS"],
                    "elevation": "eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl",
                    "expires_at": "2026-03-02T08:06:10+00:00",
                }
            ]
        }
    )
    worker_id: str
    employee_id: str
    name: str
    clock_role: Literal["MANAGER", "ADMINISTRATOR"]
    may: list[Literal["ENROL_FACE", "OPEN_SETTINGS"]]
    elevation: str
    expires_at: datetime


class KioskEnrolmentIn(BaseModel):
    """A Manager signed in at the kiosk enrols another worker's face (one camera frame)."""

    model_config = ConfigDict(
        extra="ignore",
        strict=True,
        hide_input_in_errors=True,
        json_schema_extra={
            "examples": [{"employee_id": "E-1002", "consent": True, "frame_jpeg": "/9j/4AAQ…"}]
        },
    )
    employee_id: EmployeeId = Field(description="The worker whose face is enrolled")
    consent: StrictBool = Field(description="The worker agreed on the kiosk's screen")
    frame_jpeg: str = Field(description="One JPEG, base64")


def parse_enrolment(body: bytes, max_frame_bytes: int) -> tuple[str, bool, bytes]:
    """(Employee ID, consent, the JPEG), or Invalid (422) / TooLarge (413) naming the field."""
    try:
        data = KioskEnrolmentIn.model_validate_json(body)
    except ValidationError as error:
        raise _invalid(
            error, "the body must be a JSON object with employee_id, consent and frame_jpeg"
        ) from None
    return data.employee_id, data.consent, _frame(data.frame_jpeg, max_frame_bytes)


def parse_sign_in(body: bytes) -> tuple[str, str]:
    """(Employee ID, PIN), or Invalid (422) naming the field, never echoing a value."""
    try:
        data = KioskSignInIn.model_validate_json(body)
    except ValidationError as error:
        raise _invalid(error, "the body must be a JSON object with employee_id and pin") from None
    return data.employee_id, data.pin


def _invalid(
    error: ValidationError, generic: str = "the body must be a JSON object of a punch attempt"
) -> Invalid:
    first = error.errors(include_input=False, include_url=False, include_context=False)[0]
    loc = [str(part) for part in first.get("loc", ())]
    field = loc[0] if loc else None
    if field not in _FIELD_MESSAGES:
        return Invalid(generic)
    if first.get("type") == "missing":
        return Invalid(f"{field} is required", field)
    return Invalid(_FIELD_MESSAGES[field], field)


def body_limit(max_frame_bytes: int) -> int:
    """A face attempt's frames (one, or a burst, together at most ``max_frame_bytes``) in
    base64, and the rest."""
    return (max_frame_bytes + 2) // 3 * 4 + BODY_OVERHEAD_BYTES


def parse_attempt(body: bytes, max_frame_bytes: int) -> Attempt:
    """The validated attempt, or Invalid (422) / TooLarge (413) naming the field."""
    try:
        data = KioskPunchIn.model_validate_json(body)
    except ValidationError as error:
        raise _invalid(error) from None
    if data.method != "CARD" and data.card is not None:
        raise Invalid(f"card is not sent with a {data.method} punch", "card")
    if data.method == "CARD":
        if data.card is None:
            raise Invalid("card is required for a CARD punch", "card")
        for field in ("employee_id", "pin", "frame_jpeg", "burst_jpeg"):
            if getattr(data, field) is not None:
                raise Invalid(f"{field} is not sent with a CARD punch", field)
        if data.aligned:
            raise Invalid("aligned is not sent with a CARD punch", "aligned")
        frame = None
        evidence = _evidence(data.evidence_jpeg, max_frame_bytes)
    elif data.method == "PIN":
        if data.employee_id is None:
            raise Invalid("employee_id is required for a PIN punch", "employee_id")
        if data.pin is None:
            raise Invalid("pin is required for a PIN punch", "pin")
        for field in ("frame_jpeg", "burst_jpeg"):
            if getattr(data, field) is not None:
                raise Invalid(f"{field} is not sent with a PIN punch", field)
        if data.aligned:
            raise Invalid("aligned is not sent with a PIN punch", "aligned")
        frame = None
        evidence = _evidence(data.evidence_jpeg, max_frame_bytes)
    else:
        if data.pin is not None:
            raise Invalid("pin is not sent with a FACE punch", "pin")
        if data.frame_jpeg is None:
            raise Invalid("frame_jpeg is required for a FACE punch", "frame_jpeg")
        if data.evidence_jpeg is not None:
            raise Invalid("evidence_jpeg is not sent with a FACE punch", "evidence_jpeg")
        frame = _frame(data.frame_jpeg, max_frame_bytes)
        evidence = None
        burst = tuple(_frame(text, max_frame_bytes, "burst_jpeg") for text in data.burst_jpeg or ())
        # The burst's frames share the one frame's bound, so the attempt event stays under the
        # topic's max.message.bytes (1 MiB) however many frames the kiosk sends.
        if len(frame) + sum(len(jpeg) for jpeg in burst) > max_frame_bytes:
            raise TooLarge(
                f"frame_jpeg and burst_jpeg together are larger than {max_frame_bytes} bytes",
                "burst_jpeg",
            )
    return Attempt(
        attempt_id=str(data.attempt_id),
        captured_at=data.captured_at,
        offline=data.offline,
        direction=data.direction,
        method=data.method,
        employee_id=data.employee_id,
        pin=data.pin,
        frame_jpeg=frame,
        card=data.card,
        burst_jpeg=burst if data.method == "FACE" else (),
        evidence_jpeg=evidence,
        aligned=data.aligned,
    )


def _evidence(text: str | None, max_frame_bytes: int) -> bytes | None:
    """A PIN or card punch's evidence photo: the same rules as a face frame."""
    return None if text is None else _frame(text, max_frame_bytes, "evidence_jpeg")


def _frame(text: str, max_frame_bytes: int, field: str = "frame_jpeg") -> bytes:
    too_large = TooLarge(f"{field} is larger than {max_frame_bytes} bytes", field)
    if len(text) // 4 * 3 - 2 > max_frame_bytes:  # decoded size, before decoding
        raise too_large
    try:
        frame = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid(
            f"{field} must be base64 strings" if field == "burst_jpeg" else _FIELD_MESSAGES[field],
            field,
        ) from None
    if len(frame) > max_frame_bytes:
        raise too_large
    if not frame.startswith(JPEG_SOI):
        raise Invalid(f"{field} is not a JPEG image", field)
    return frame


def credential_of(request: Request) -> str:
    """The bearer credential, if it has a clock credential's shape (else 401 at once, without
    asking device-sync)."""
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    credential = credential.strip()
    if (
        scheme.lower() != "bearer"
        or not credential.startswith("pcc_")
        or len(credential) > _CREDENTIAL_MAX
        or not set(credential) <= _CREDENTIAL_CHARS
    ):
        raise ClockUnauthorized()
    return credential


async def _read_body(request: Request, limit: int) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise TooLarge("the request body is too large")
    return bytes(body)


def _edge(request: Request) -> KioskEdge:
    return container(request).kiosk


def _limiter(request: Request) -> EdgeLimiter:
    return container(request).edge_limiter


def _elevations(request: Request) -> KioskElevations:
    elevations = container(request).elevations
    assert elevations is not None
    return elevations


def _json(status: int, body: dict) -> JSONResponse:
    # An answer names a worker: no cache may keep it.
    return JSONResponse(body, status_code=status, headers={"cache-control": "no-store"})


ERRORS = {
    401: {"model": ErrorPublic, "description": "CLOCK_UNAUTHORIZED"},
    409: {"model": ErrorPublic, "description": "ATTEMPT_ID_REUSED"},
    413: {"model": ErrorPublic, "description": "TOO_LARGE"},
    422: {"model": ErrorPublic, "description": "INVALID (field named, value never echoed)"},
    429: {"model": ErrorPublic, "description": "RATE_LIMITED (Retry-After); send it again then"},
    503: {"model": ErrorPublic, "description": "UNAVAILABLE (Retry-After); send it again"},
}


def build_router(max_frame_bytes: int) -> APIRouter:
    router = APIRouter(prefix="/kiosk/v1", tags=["kiosk"])
    limit = body_limit(max_frame_bytes)

    @router.post(
        "/punches",
        max_body_size=limit,
        responses={202: {"description": "pending: ask result_url later"}, **ERRORS},
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": KioskPunchIn.model_json_schema()}},
            }
        },
    )
    async def post_punch(request: Request) -> JSONResponse:
        """A punch attempt: 200 recorded / rejected, or 202 pending after the bounded wait.
        The same attempt sent again gets the same answer and never makes a second punch."""
        credential = credential_of(request)
        edge = _edge(request)
        clock: Clock = await edge.authenticate(credential)
        limiter = _limiter(request)
        # Before the body is read: a flooding clock costs no more than this.
        await limiter.spend("punch", clock.tenant_id, clock.clock_id)
        attempt = parse_attempt(await _read_body(request, limit), max_frame_bytes)
        # PIN attempts (argon2 in identity) and face frames (face-match) have budgets of their
        # own, per clock and per tenant; a card read is a credential guess like a PIN: the same.
        await limiter.spend(
            "face" if attempt.method == "FACE" else "pin", clock.tenant_id, clock.clock_id
        )
        with correlation(attempt.attempt_id, clock_id=clock.clock_id):
            status, body = await edge.punch(clock, attempt)
        return _json(status, body)

    @router.post(
        "/sign-in",
        max_body_size=BODY_OVERHEAD_BYTES,
        response_model=KioskSignInPublic,
        responses={
            **{k: ERRORS[k] for k in (401, 413, 422, 429, 503)},
            403: {
                "model": ErrorPublic,
                "description": "KIOSK_ROLE_REQUIRED (a USER), or the PIN check's reason:"
                " WRONG_PIN (with attempts_remaining), LOCKED_OUT (with locked_until),"
                " UNKNOWN_USER, PIN_NOT_SET, PIN_NOT_ALLOWED",
            },
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": KioskSignInIn.model_json_schema()}},
            }
        },
    )
    async def sign_in(request: Request) -> JSONResponse:
        """A Manager or Administrator of this clock signs in with Employee ID and PIN. The PIN
        is checked by identity as a PIN punch's is (same hash, counters and locks), but
        nothing is punched. A USER is refused (403 KIOSK_ROLE_REQUIRED)."""
        credential = credential_of(request)
        clock = await _edge(request).authenticate(credential)
        limiter = _limiter(request)
        # The PIN path's budgets: a sign-in is a PIN guess like a PIN punch.
        await limiter.spend("punch", clock.tenant_id, clock.clock_id)
        employee_id, pin = parse_sign_in(await _read_body(request, BODY_OVERHEAD_BYTES))
        await limiter.spend("pin", clock.tenant_id, clock.clock_id)
        with correlation(str(uuid.uuid4()), clock_id=clock.clock_id):
            elevation, token = await _elevations(request).sign_in(
                clock, credential, employee_id, pin
            )
        return _json(
            200,
            {
                "worker_id": elevation.worker_id,
                "employee_id": elevation.employee_id,
                "name": elevation.name,
                "clock_role": elevation.role.value,
                "may": sorted(a.value for a in kiosk_actions(elevation.role)),
                "elevation": token,
                "expires_at": elevation.expires_at.isoformat(),
            },
        )

    @router.post(
        "/roster/resync",
        status_code=202,
        responses={
            202: {"description": "FULL_RESYNC and the roster queued: {commands_queued}"},
            **{k: ERRORS[k] for k in (401, 429, 503)},
            403: {
                "model": ErrorPublic,
                "description": "KIOSK_ELEVATION_INVALID, KIOSK_ROLE_REQUIRED",
            },
        },
    )
    async def resync_roster(request: Request) -> Response:
        """ "Sync roster now" in the kiosk's settings (an Administrator signed in: header
        ``X-Kiosk-Elevation``): device-sync queues a full resync of this clock, which the
        kiosk's sync loop receives (device-sync checks the role again: it owns it)."""
        credential = credential_of(request)
        clock = await _edge(request).authenticate(credential)
        await _limiter(request).spend("sync", clock.tenant_id, clock.clock_id)
        elevation = _elevations(request).verify(
            request.headers.get(ELEVATION_HEADER), clock, credential
        )
        check_action(elevation.role, KioskAction.OPEN_SETTINGS)
        body = json.dumps({"requested_by": elevation.worker_id}).encode()
        return await _to_device_sync(
            request, "/clock/v1/resync", credential, body, CLOCK_CALL_TIMEOUT_S
        )

    @router.post(
        "/face-enrolments",
        max_body_size=limit,
        responses={
            200: {"description": "face-match's enrolment of the worker, with employee_id"},
            **{k: ERRORS[k] for k in (401, 413, 429, 503)},
            403: {
                "model": ErrorPublic,
                "description": "KIOSK_ELEVATION_INVALID, KIOSK_ROLE_REQUIRED, SELF_ENROLMENT",
            },
            404: {"model": ErrorPublic, "description": "WORKER_NOT_FOUND (not on this clock)"},
            409: {"model": ErrorPublic, "description": "FACE_ENROLLED_AS_OTHER, WORKER_INACTIVE"},
            422: {
                "model": ErrorPublic,
                "description": "INVALID, PHOTO_REFUSED (the photo's verdict in photos)",
            },
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": KioskEnrolmentIn.model_json_schema()}},
            }
        },
    )
    async def enrol_face(request: Request) -> JSONResponse:
        """A Manager (or Administrator) signed in here (header ``X-Kiosk-Elevation``) enrols
        another worker's face from one camera frame, after the worker agreed on screen: only a
        worker assigned to this clock, never themself. face-match applies the portal's
        enrolment rules; the enrolment is audited (who, whom, at which clock)."""
        credential = credential_of(request)
        clock = await _edge(request).authenticate(credential)
        limiter = _limiter(request)
        await limiter.spend("punch", clock.tenant_id, clock.clock_id)
        employee_id, consent, frame = parse_enrolment(
            await _read_body(request, limit), max_frame_bytes
        )
        await limiter.spend("face", clock.tenant_id, clock.clock_id)
        client = request.client
        answer = await _elevations(request).enrol_face(
            clock,
            credential,
            request.headers.get(ELEVATION_HEADER),
            employee_id,
            frame,
            consent,
            client_ip=client.host if client else None,
            request_id=request.headers.get("x-request-id"),
        )
        return _json(answer.status, answer.body)

    @router.get(
        "/punches/{attempt_id}",
        responses={202: {"description": "pending"}, 404: {"model": ErrorPublic}, **ERRORS},
    )
    async def get_punch(attempt_id: str, request: Request) -> JSONResponse:
        """The outcome of an attempt this clock sent (200), or 202 while it is pending."""
        credential = credential_of(request)
        edge = _edge(request)
        clock = await edge.authenticate(credential)
        await _limiter(request).spend("result", clock.tenant_id, clock.clock_id)
        try:
            canonical = str(uuid.UUID(attempt_id))
        except ValueError:
            raise NotFound("no punch attempt with this id from this clock", "attempt_id") from None
        with correlation(canonical, clock_id=clock.clock_id):
            status, body = await edge.result(clock, canonical)
        return _json(status, body)

    @router.get("/whoami", responses={k: ERRORS[k] for k in (401, 429, 503)})
    async def whoami(request: Request) -> JSONResponse:
        """The clock this credential belongs to (device-sync's answer): the kiosk app pairs
        with it and shows the clock's name; ``evidence_photos``: its tenant keeps a photo of
        every punch (face-match's policy), so the app captures one at PIN and card punches."""
        clock = await _edge(request).authenticate(credential_of(request))
        await _limiter(request).spend("sync", clock.tenant_id, clock.clock_id)
        policy = container(request).evidence_policy
        return _json(
            200,
            {
                "tenant_id": clock.tenant_id,
                "clock_id": clock.clock_id,
                "name": clock.name,
                "site_id": clock.site_id,
                "time_zone": clock.time_zone,
                # Capture a photo at every punch, PIN and card included (issue 17).
                "evidence_photos": await policy.keeps_photos(clock) if policy else False,
            },
        )

    @router.post("/sync", responses=CLOCK_ERRORS, max_body_size=CLOCK_BODY_LIMIT)
    async def sync(request: Request) -> Response:
        """device-sync's ``POST /clock/v1/sync`` (heartbeat, acks, long-poll for the clock's
        commands; docs/device-sync.md), for the kiosk app."""
        credential = credential_of(request)
        clock = await _edge(request).authenticate(credential)
        limiter = _limiter(request)
        await limiter.spend("sync", clock.tenant_id, clock.clock_id)
        body = await _read_body(request, CLOCK_BODY_LIMIT)
        wait_s = _wait_s(body)
        timeout = wait_s + CLOCK_WAIT_MARGIN_S
        if not holds_poll(wait_s):  # answered at once: never refused for the clock's polls
            return await _to_device_sync(request, "/clock/v1/sync", credential, body, timeout)
        # A held long-poll takes a slot of its clock's (2) and its tenant's: thousands of polls
        # from one credential never hold the edge's connections to device-sync.
        async with limiter.long_poll(clock.tenant_id, clock.clock_id, timeout):
            return await _to_device_sync(request, "/clock/v1/sync", credential, body, timeout)

    @router.post("/acks", responses=CLOCK_ERRORS, max_body_size=CLOCK_BODY_LIMIT)
    async def acks(request: Request) -> Response:
        """device-sync's ``POST /clock/v1/acks``: acknowledgements alone."""
        credential = credential_of(request)
        clock = await _edge(request).authenticate(credential)
        await _limiter(request).spend("sync", clock.tenant_id, clock.clock_id)
        body = await _read_body(request, CLOCK_BODY_LIMIT)
        return await _to_device_sync(
            request, "/clock/v1/acks", credential, body, CLOCK_CALL_TIMEOUT_S
        )

    return router


CLOCK_ERRORS = {k: ERRORS[k] for k in (401, 413, 422, 429, 503)}


def _wait_s(body: bytes) -> float:
    """The long-poll's ``wait_s`` (device-sync's default when absent; device-sync validates it,
    this only sizes the timeout)."""
    try:
        wait = json.loads(body).get("wait_s", CLOCK_DEFAULT_WAIT_S)
    except (ValueError, AttributeError, UnicodeDecodeError):
        return 0.0
    if isinstance(wait, bool) or not isinstance(wait, int | float):
        return 0.0
    return min(max(float(wait), 0.0), CLOCK_MAX_WAIT_S)


async def _to_device_sync(
    request: Request, path: str, credential: str, body: bytes, timeout: float
) -> Response:
    """The request passed to device-sync with the kiosk's own credential; its answer passed
    back (200, and 4xx in the one error shape); device-sync down or failing → 503."""
    upstream = container(request).clock_sync
    try:
        response = await upstream.call(
            "POST",
            path,
            headers={
                "authorization": f"Bearer {credential}",
                "content-type": "application/json",
                "accept": "application/json",
            },
            content=body,
            timeout=timeout,
        )
    except UpstreamUnavailable:
        raise Unavailable(upstream.unavailable_message) from None
    if response.status_code == 401:
        raise ClockUnauthorized()
    if response.status_code >= 500 or response.status_code < 200:
        raise Unavailable(upstream.unavailable_message)
    headers = {"cache-control": "no-store"}
    # device-sync's 429 says when to send again: the kiosk is told so too.
    retry_after = response.headers.get("retry-after")
    if retry_after is not None:
        headers["retry-after"] = retry_after
    return Response(
        response.content,
        status_code=response.status_code,
        media_type="application/json",
        headers=headers,
    )
