"""The API clocks call (directly, not through the gateway): one ``sync`` request carries the
clock's heartbeat and acknowledgements and long-polls for its next commands
(docs/device-sync.md). ``whoami`` tells which clock a credential is: the gateway's kiosk edge
asks it on every punch, passing the kiosk's credential through."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response
from punchcard_kit.bounds import JSON_INTEGER
from punchcard_kit.http_errors import error_responses
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ..domain.model import (
    MAX_ACKS_PER_REQUEST,
    MAX_DETAIL_LENGTH,
    MAX_RESULT_CODE,
    MAX_SEQUENCE,
    MAX_SOFTWARE_VERSION_LENGTH,
    Ack,
)
from ..service_layer.admin import ClockAsksResync, resync_by_clock
from .deps import ClockDep, ContainerDep

MAX_WAIT_S = 55.0
# Every number and text a clock sends is bounded here (422 with the field, nothing changed):
# nothing a clock says can fail a batch shared with other clocks (docs/device-sync.md).
# A sync or acks body: up to 1,000 acks of ~600 bytes (every other route: the kit's 64 KiB).
MAX_BODY_BYTES = 1024 * 1024
Digest = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
CommandId = Annotated[
    str, StringConstraints(pattern=r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
]
NO_NUL = r"^[^\x00]*$"


class AckIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    command_id: CommandId
    sequence: Annotated[int, Field(ge=1, le=MAX_SEQUENCE), JSON_INTEGER]
    result_code: Annotated[int, Field(ge=-MAX_RESULT_CODE, le=MAX_RESULT_CODE), JSON_INTEGER]
    detail: Annotated[str, StringConstraints(max_length=MAX_DETAIL_LENGTH, pattern=NO_NUL)] = ""


ACK_EXAMPLE = {
    "command_id": "7d9f4c2a-1b3e-4f5a-9c8d-2e6f1a0b3c4d",
    "sequence": 41,
    "result_code": 0,
    "detail": "",
}


class SyncRequest(BaseModel):
    # Unknown fields are ignored: newer clock software may send more.
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "applied_sequence": 41,
                    "roster_digest": "0" * 64,
                    "software_version": "kiosk-app 3.2.0",
                    "acks": [ACK_EXAMPLE],
                    "wait_s": 25,
                }
            ]
        },
    )
    applied_sequence: Annotated[int, Field(ge=0, le=MAX_SEQUENCE), JSON_INTEGER] = 0
    roster_digest: Digest | None = None
    software_version: Annotated[
        str, StringConstraints(max_length=MAX_SOFTWARE_VERSION_LENGTH, pattern=NO_NUL)
    ] = ""
    acks: list[AckIn] = Field(default_factory=list, max_length=MAX_ACKS_PER_REQUEST)
    wait_s: float = Field(default=25.0, ge=0, le=MAX_WAIT_S, allow_inf_nan=False, strict=True)


class AcksRequest(BaseModel):
    model_config = ConfigDict(
        extra="ignore", json_schema_extra={"examples": [{"acks": [ACK_EXAMPLE]}]}
    )
    acks: list[AckIn] = Field(max_length=MAX_ACKS_PER_REQUEST)


class WorkerOnClock(BaseModel):
    """A worker as a clock holds it (no PIN, no PIN hash, no face template)."""

    worker_id: str
    employee_id: str
    display_name: str | None = None
    status: str | None = None
    allowed_methods: list[str] | None = Field(default=None, description="FACE, PIN")
    pin_set: bool | None = None


class ClockCommand(BaseModel):
    command_id: str
    sequence: int
    kind: str = Field(description="UPSERT_WORKER, REMOVE_WORKER or FULL_RESYNC")
    worker: WorkerOnClock | None = Field(
        default=None, description="UPSERT_WORKER: the profile; REMOVE_WORKER: ids only"
    )
    reason: str | None = Field(default=None, description="FULL_RESYNC")


class SyncAnswer(BaseModel):
    clock_id: str
    last_sequence: int = Field(description="The last sequence queued for the clock")
    commands: list[ClockCommand] = Field(description="After applied_sequence, in order")


class AcksRecorded(BaseModel):
    recorded: int


class WhoAmI(BaseModel):
    tenant_id: str
    clock_id: str
    name: str
    site_id: str
    time_zone: str


def _acks(items: list[AckIn]) -> list[Ack]:
    return [Ack(a.command_id.lower(), a.sequence, a.result_code, a.detail) for a in items]


router = APIRouter(prefix="/clock/v1", tags=["clock"])


@router.post(
    "/sync",
    response_model=SyncAnswer,
    max_body_size=MAX_BODY_BYTES,
    responses=error_responses(401, 429),
)
async def sync(body: SyncRequest, clock: ClockDep, c: ContainerDep) -> Response:
    """Record acknowledgements and heartbeat; answer the commands after
    ``applied_sequence``, waiting up to ``wait_s`` for one to be queued. (The answer is
    written as the commands were queued, not re-serialised.)"""
    c.sync.heartbeat(clock, body.applied_sequence, body.roster_digest, body.software_version)
    answer = await c.sync.sync(
        clock, body.applied_sequence, _acks(body.acks), body.roster_digest, body.wait_s
    )
    return Response(answer, media_type="application/json")


@router.post(
    "/acks",
    response_model=AcksRecorded,
    max_body_size=MAX_BODY_BYTES,
    responses=error_responses(401),
)
async def acks(body: AcksRequest, clock: ClockDep, c: ContainerDep) -> AcksRecorded:
    """Acknowledgements alone (they normally ride on the next sync)."""
    return AcksRecorded(recorded=await c.sync.acknowledge(clock, _acks(body.acks)))


@router.get("/whoami", response_model=WhoAmI, responses=error_responses(401))
async def whoami(clock: ClockDep, c: ContainerDep) -> dict:
    """The clock this credential belongs to (tenant and clock come from the credential
    alone), with its name, site and time zone. No heartbeat: a kiosk's punch is not the
    clock's sync. A revoked or rotated credential is a 401 at once, as for ``sync``."""
    return await c.views.whoami(clock)


class ClockResyncRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"requested_by": "6f1c2b1e-3a4d-4c5b-9e8f-1a2b3c4d5e6f"}]},
    )
    requested_by: CommandId = Field(
        description="The worker signed in at the clock (an Administrator of it)"
    )


class ClockResyncQueued(BaseModel):
    commands_queued: int = Field(description="FULL_RESYNC and one command per worker")


@router.post(
    "/resync",
    status_code=202,
    response_model=ClockResyncQueued,
    responses=error_responses(401, 403, 422),
)
async def resync(body: ClockResyncRequest, clock: ClockDep, c: ContainerDep) -> ClockResyncQueued:
    """The clock asks for its own full resync (the kiosk app's settings, "Sync roster now",
    through the gateway's kiosk edge): FULL_RESYNC and the whole roster are queued, as an
    admin's resync queues them; 403 unless ``requested_by`` is this clock's Administrator."""
    command = ClockAsksResync(clock.tenant_id, clock.clock_id, body.requested_by.lower())
    return ClockResyncQueued(commands_queued=await resync_by_clock(command, c.uow))
