"""The bodies punch's internal API takes and answers (``entrypoints/api.py``), as OpenAPI shows
them. The answers describe exactly what the read side (``views.py``) returns; times the ledger
holds are ISO 8601 with their UTC offset (``+00:00``), as they always were."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from punchcard_kit.bounds import UUID_PATTERN, Instant, Text
from punchcard_kit.schemas import IsoTimestamp
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    WithJsonSchema,
)

ID_PATTERN = UUID_PATTERN
Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
Reason = Text(500, min_length=3)
SiteId = Text(200)
Zone = Text(64, min_length=1)
Direction = Literal["IN", "OUT"]

# A time the read side already wrote as an ISO 8601 string (with its offset).
IsoTime = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]


# Examples for the OpenAPI (schema metadata only); each is valid for its model (a unit test
# checks them).
PUNCH_ID = "3c9a7e1d-2b4f-4d6a-8c0e-5f7a9b1c3d5e"
WORKER_ID = "6f1c2b1e-3a4d-4c5b-9e8f-1a2b3c4d5e6f"
CLOCK_ID = "0b8e6a52-5d7c-4f3e-8a19-2c4d6e8f0a1b"
PUNCH_EXAMPLE = {
    "id": PUNCH_ID,
    "kind": "RECORDED",
    "worker_id": WORKER_ID,
    "employee_id": "E-1001",
    "display_name": "Ada Lovelace",
    "clock_id": CLOCK_ID,
    "site_id": "site-north",
    "time_zone": "Europe/London",
    "direction": "IN",
    "direction_inferred": False,
    "method": "FACE",
    "face": {
        "distance": 0.21,
        "margin": 0.19,
        "threshold": 0.4,
        "model": "ArcFace",
        "one_to_one": True,
    },
    "punched_at": "2026-03-02T08:01:12+00:00",
    "local_time": "2026-03-02T08:01:12+00:00",
    "received_at": "2026-03-02T08:01:13+00:00",
    "recorded_at": "2026-03-02T08:01:13+00:00",
    "captured_offline": False,
    "needs_review": False,
    "device_verify_mode": None,
    "device_state": None,
    "attempt_id": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
    "replaces_punch_id": None,
    "reason": None,
    "admin_id": None,
    "voided": False,
    "voided_by": None,
    "void_reason": None,
    "voided_at": None,
}
SHIFT_PUNCH_IN = {
    "punch_id": PUNCH_ID,
    "at": "2026-03-02T08:01:12+00:00",
    "local": "2026-03-02T08:01:12+00:00",
    "time_zone": "Europe/London",
    "clock_id": CLOCK_ID,
    "site_id": "site-north",
    "method": "FACE",
}
SHIFT_EXAMPLE = {
    "date": "2026-03-02",
    "in": SHIFT_PUNCH_IN,
    "out": {
        **SHIFT_PUNCH_IN,
        "punch_id": "7e5d3c1b-9a8f-4e6d-b4c2-a0f1e2d3c4b5",
        "at": "2026-03-02T16:31:12+00:00",
        "local": "2026-03-02T16:31:12+00:00",
        "method": "PIN",
    },
    "duration_seconds": 30600,
    "hours": 8.5,
    "flag": None,
}
DAY_EXAMPLE = {
    "date": "2026-03-02",
    "total_seconds": 30600,
    "total_hours": 8.5,
    "flagged": False,
    "shifts": [SHIFT_EXAMPLE],
}
TIMESHEET_EXAMPLE = {
    "worker_id": WORKER_ID,
    "total_seconds": 30600,
    "total_hours": 8.5,
    "flagged_shifts": 0,
    "days": [DAY_EXAMPLE],
    "employee_id": "E-1001",
    "display_name": "Ada Lovelace",
}
SUSPICIOUS_EXAMPLE = {
    "punch_id": PUNCH_ID,
    "worker_id": WORKER_ID,
    "employee_id": "E-1001",
    "display_name": "Ada Lovelace",
    "clock_id": CLOCK_ID,
    "site_id": "site-north",
    "punched_at": "2026-03-02T03:12:40+00:00",
    "local_time": "2026-03-02T03:12:40+00:00",
    "reasons": ["UNUSUAL_HOUR"],
    "detail": "punched at 03:12, outside the worker's usual hours",
}


def _examples(*examples: dict) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples)})


# -- requests ------------------------------------------------------------------------------
class AddPunchBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "worker_id": WORKER_ID,
                    "direction": "IN",
                    "punched_at": "2026-03-02T08:00:00Z",
                    "reason": "forgot to punch in at the lobby clock",
                    "clock_id": CLOCK_ID,
                    "site_id": "site-north",
                    "time_zone": "Europe/London",
                }
            ]
        },
    )
    worker_id: Id
    direction: Direction
    punched_at: Instant
    reason: Reason
    clock_id: Id | None = None
    site_id: SiteId | None = None
    time_zone: Zone | None = None


class VoidPunchBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "duplicate punch"}]}
    )
    reason: Reason


class ReplacePunchBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "reason": "punched OUT by mistake; was an IN",
                    "direction": "IN",
                    "punched_at": "2026-03-02T08:05:00Z",
                }
            ]
        },
    )
    reason: Reason
    direction: Direction | None = None
    punched_at: Instant | None = None


class PunchPolicyUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"refuse_unmatched_photos": True}]}
    )
    refuse_unmatched_photos: StrictBool = Field(
        description="Refuse PIN and card punches whose photo is not the worker's face"
        " (face-match's check: another face, or none). Off by default."
    )


# -- answers -------------------------------------------------------------------------------
class PunchPolicyPublic(BaseModel):
    model_config = _examples({"refuse_unmatched_photos": True, "evidence_wait_s": 5.0})

    refuse_unmatched_photos: bool
    # How long punch waits for a photo's check before it records the punch without one.
    evidence_wait_s: float


class AttemptOutcome(BaseModel):
    """The event punch published for the attempt: ``type`` is ``punchcard.v1.PunchRecorded``,
    ``PunchRepeated`` or ``PunchRejected``; ``payload`` that event as proto JSON (field names
    as in ``proto/punchcard/v1/punch.proto``)."""

    type: str
    payload: dict[str, Any]


class FacePublic(BaseModel):
    model_config = _examples(PUNCH_EXAMPLE["face"])

    distance: float
    margin: float | None
    threshold: float | None
    model: str | None
    one_to_one: bool | None


class PunchPublic(BaseModel):
    """A ledger entry (``RECORDED`` kiosk punch or admin ``CORRECTION``), with its void if it
    was voided. ``punched_at`` is when it counts; ``local_time`` the same in its time zone."""

    model_config = _examples(PUNCH_EXAMPLE)

    id: str
    kind: str
    worker_id: str
    employee_id: str
    display_name: str
    clock_id: str | None
    site_id: str
    time_zone: str
    direction: str | None
    direction_inferred: bool
    method: str
    face: FacePublic | None
    punched_at: IsoTimestamp
    local_time: str
    received_at: IsoTimestamp | None
    recorded_at: IsoTimestamp
    captured_offline: bool
    needs_review: bool
    # A hardware clock's punch (method FINGERPRINT, CARD, or FACE/PIN verified on the device):
    # its raw VerifyMode and State as the device sent them; null for a kiosk app's punch.
    device_verify_mode: int | None = None
    device_state: int | None = None
    attempt_id: str | None
    replaces_punch_id: str | None
    reason: str | None
    admin_id: str | None
    voided: bool
    voided_by: str | None
    void_reason: str | None
    voided_at: IsoTimestamp | None


class PunchPage(BaseModel):
    model_config = _examples(
        {
            "data": [PUNCH_EXAMPLE],
            "next_cursor": (
                "MjAyNi0wMy0wMlQwODowMToxMiswMDowMHwzYzlhN2UxZC0y"
                "YjRmLTRkNmEtOGMwZS01ZjdhOWIxYzNkNWU="
            ),
        }
    )

    data: list[PunchPublic]
    next_cursor: str | None


class ShiftPunch(BaseModel):
    model_config = _examples(SHIFT_PUNCH_IN)

    punch_id: str
    at: IsoTime
    local: IsoTime
    time_zone: str
    clock_id: str | None
    site_id: str | None
    method: str | None


class ShiftPublic(BaseModel):
    """An IN/OUT pair; a flagged one (``MISSING_IN``, ``MISSING_OUT``, ``OPEN``) has no
    duration and counts 0."""

    model_config = ConfigDict(
        populate_by_name=True, json_schema_extra={"examples": [SHIFT_EXAMPLE]}
    )
    date: dt.date
    in_: ShiftPunch | None = Field(alias="in")
    out: ShiftPunch | None
    duration_seconds: int | None
    hours: float | None
    flag: str | None


class DayPublic(BaseModel):
    model_config = _examples(DAY_EXAMPLE)

    date: dt.date
    total_seconds: int
    total_hours: float
    flagged: bool
    shifts: list[ShiftPublic]


class WorkerTimesheet(BaseModel):
    model_config = _examples(TIMESHEET_EXAMPLE)

    worker_id: str
    total_seconds: int
    total_hours: float
    flagged_shifts: int
    days: list[DayPublic]
    employee_id: str
    display_name: str


class Timesheets(BaseModel):
    """``format=csv`` answers ``text/csv`` instead (one row per shift, a TOTAL per worker)."""

    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra={
            "examples": [{"from": "2026-03-02", "to": "2026-03-08", "data": [TIMESHEET_EXAMPLE]}]
        },
    )
    first: dt.date = Field(alias="from")
    last: dt.date = Field(alias="to")
    data: list[WorkerTimesheet]


class SuspiciousPunch(BaseModel):
    model_config = _examples(SUSPICIOUS_EXAMPLE)

    punch_id: str
    worker_id: str
    employee_id: str
    display_name: str
    clock_id: str
    site_id: str
    punched_at: IsoTimestamp
    local_time: str
    # Strongest first: FACE_NOT_WORKERS, NO_FACE, PIN_AFTER_FACE_FAILED, PIN_BURST,
    # FACE_ENROLLED, UNUSUAL_CLOCK, UNUSUAL_HOUR (the rows are ranked by the first).
    reasons: list[str]
    detail: str
    # The punch's attempt: its evidence photo is GET /api/v1/face/evidence/{attempt_id}.
    attempt_id: str | None = None
    # face-match's check of the punch's photo: FACE_MATCHED, FACE_NOT_WORKERS, NO_FACE,
    # NOT_ENROLLED; None: no photo was checked.
    evidence: str | None = None


class SuspiciousReport(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {"from": "2026-03-01", "to": "2026-03-31", "data": [SUSPICIOUS_EXAMPLE], "count": 1}
            ]
        },
    )
    first: dt.date = Field(alias="from")
    last: dt.date = Field(alias="to")
    data: list[SuspiciousPunch]
    count: int
