"""The bodies punch's internal API takes and answers (``entrypoints/api.py``), as OpenAPI shows
them. The answers describe exactly what the read side (``views.py``) returns; times the ledger
holds are ISO 8601 with their UTC offset (``+00:00``), as they always were."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from punchcard_kit.bounds import Instant, Text
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)

ID_PATTERN = r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$"
Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
Reason = Text(500, min_length=3)
SiteId = Text(200)
Zone = Text(64, min_length=1)
Direction = Literal["IN", "OUT"]

# A time as ``datetime.isoformat()`` writes it (pydantic would write "Z" for UTC).
Timestamp = Annotated[
    dt.datetime,
    PlainSerializer(lambda value: value.isoformat(), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
# A time the read side already wrote as an ISO 8601 string (with its offset).
IsoTime = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]


# -- requests ------------------------------------------------------------------------------
class AddPunchBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    worker_id: Id
    direction: Direction
    punched_at: Instant
    reason: Reason
    clock_id: Id | None = None
    site_id: SiteId | None = None
    time_zone: Zone | None = None


class VoidPunchBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason


class ReplacePunchBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason
    direction: Direction | None = None
    punched_at: Instant | None = None


# -- answers -------------------------------------------------------------------------------
class AttemptOutcome(BaseModel):
    """The event punch published for the attempt: ``type`` is ``punchcard.v1.PunchRecorded``,
    ``PunchRepeated`` or ``PunchRejected``; ``payload`` that event as proto JSON (field names
    as in ``proto/punchcard/v1/punch.proto``)."""

    type: str
    payload: dict[str, Any]


class FacePublic(BaseModel):
    distance: float
    margin: float | None
    threshold: float | None
    model: str | None
    one_to_one: bool | None


class PunchPublic(BaseModel):
    """A ledger entry (``RECORDED`` kiosk punch or admin ``CORRECTION``), with its void if it
    was voided. ``punched_at`` is when it counts; ``local_time`` the same in its time zone."""

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
    punched_at: Timestamp
    local_time: str
    received_at: Timestamp | None
    recorded_at: Timestamp
    captured_offline: bool
    needs_review: bool
    attempt_id: str | None
    replaces_punch_id: str | None
    reason: str | None
    admin_id: str | None
    voided: bool
    voided_by: str | None
    void_reason: str | None
    voided_at: Timestamp | None


class PunchPage(BaseModel):
    data: list[PunchPublic]
    next_cursor: str | None


class ShiftPunch(BaseModel):
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

    model_config = ConfigDict(populate_by_name=True)
    date: dt.date
    in_: ShiftPunch | None = Field(alias="in")
    out: ShiftPunch | None
    duration_seconds: int | None
    hours: float | None
    flag: str | None


class DayPublic(BaseModel):
    date: dt.date
    total_seconds: int
    total_hours: float
    flagged: bool
    shifts: list[ShiftPublic]


class WorkerTimesheet(BaseModel):
    worker_id: str
    total_seconds: int
    total_hours: float
    flagged_shifts: int
    days: list[DayPublic]
    employee_id: str
    display_name: str


class Timesheets(BaseModel):
    """``format=csv`` answers ``text/csv`` instead (one row per shift, a TOTAL per worker)."""

    model_config = ConfigDict(populate_by_name=True)
    first: dt.date = Field(alias="from")
    last: dt.date = Field(alias="to")
    data: list[WorkerTimesheet]


class SuspiciousPunch(BaseModel):
    punch_id: str
    worker_id: str
    employee_id: str
    display_name: str
    clock_id: str
    site_id: str
    punched_at: Timestamp
    local_time: str
    reasons: list[str]
    detail: str


class SuspiciousReport(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    first: dt.date = Field(alias="from")
    last: dt.date = Field(alias="to")
    data: list[SuspiciousPunch]
    count: int
