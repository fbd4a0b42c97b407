"""device-sync's internal admin API, reached through the gateway (which authenticates the
admin and attaches an internal caller token). Routes translate HTTP into one use case
(``service_layer.admin``) or one view (``views.py``)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from punchcard_kit.bounds import TEXT_PATTERN, Text, Uuid
from punchcard_kit.http_errors import error_responses
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ..service_layer import admin as uc
from .deps import CallerDep, ContainerDep

Serial = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$"
    ),
]
Name = Text(200, min_length=1)
SiteId = Text(200)
TimeZone = Text(64, min_length=1)
Reason = Text(500)
Id = Uuid
SiteQuery = Annotated[str | None, Query(max_length=200, pattern=TEXT_PATTERN)]
SitePath = Annotated[str, Path(min_length=1, max_length=200, pattern=TEXT_PATTERN)]

# Bulk assignments: up to 2 × 5,000 pairs of two ids (every other route: the kit's 64 KiB).
BULK_BODY_BYTES = 1024 * 1024


class ClockCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    serial_number: Serial
    name: Name
    site_id: SiteId = ""
    time_zone: TimeZone


class ClockUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    site_id: SiteId | None = None
    time_zone: TimeZone | None = None


class ClockPublic(BaseModel):
    id: str
    serial_number: str
    name: str
    site_id: str
    time_zone: str
    protocol: str
    status: str = Field(description="online, offline, never_seen or revoked")
    last_seen_at: datetime | None
    software_version: str
    applied_sequence: int = Field(description="The last command sequence the clock applied")
    last_sequence: int = Field(description="The last command sequence queued for the clock")
    pending_commands: int
    in_sync: bool
    roster_size: int
    revoked_at: datetime | None
    revoked_reason: str | None
    created_at: datetime
    updated_at: datetime


class ClockWithCredential(ClockPublic):
    credential: str = Field(
        description="Shown once: the clock's bearer credential (only its hash is stored)"
    )


class ClocksPublic(BaseModel):
    data: list[ClockPublic]
    count: int


class RevokeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason = ""


class ResyncRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason = "admin request"


class ResyncQueued(BaseModel):
    commands_queued: int = Field(description="FULL_RESYNC and one command per worker")


class CommandPublic(BaseModel):
    command_id: str
    sequence: int
    kind: str = Field(description="UPSERT_WORKER, REMOVE_WORKER or FULL_RESYNC")
    worker_id: str | None
    created_at: datetime
    acked_at: datetime | None
    result_code: int | None
    detail: str | None


class CommandsPublic(BaseModel):
    data: list[CommandPublic]
    count: int


class ClockWorkerPublic(BaseModel):
    worker_id: str
    employee_id: str
    display_name: str
    status: str = Field(description="Pending, Active or Inactive")
    sources: list[str] = Field(description="Why the worker is on the clock: direct, site_rule")
    assigned_at: datetime
    on_clock: bool = Field(description="Whether the clock holds the worker (not Inactive)")


class ClockWorkersPublic(BaseModel):
    data: list[ClockWorkerPublic]
    count: int


class SyncPublic(BaseModel):
    """Where the worker's latest command on a clock stands."""

    kind: str
    sequence: int
    state: str = Field(description="sent, waiting, acknowledged, failed or revoked")
    queued_at: datetime
    acked_at: datetime | None
    result_code: int | None
    detail: str


class WorkerClockPublic(BaseModel):
    clock_id: str
    name: str
    site_id: str
    serial_number: str
    sources: list[str]
    assigned_at: datetime
    revoked: bool
    clock_status: str
    sync: SyncPublic | None


class RemovedClockPublic(BaseModel):
    clock_id: str
    name: str
    site_id: str
    clock_status: str
    sync: SyncPublic | None


class WorkerClocksPublic(BaseModel):
    data: list[WorkerClockPublic]
    count: int
    removed: list[RemovedClockPublic] = Field(
        description="Clocks the worker was recently taken off, with their REMOVE_WORKER's state"
    )


class Pair(BaseModel):
    model_config = ConfigDict(extra="forbid")
    clock_id: Id
    worker_id: Id


class BulkAssignments(BaseModel):
    model_config = ConfigDict(extra="forbid")
    assign: list[Pair] = Field(default_factory=list, max_length=uc.MAX_BULK_PAIRS)
    unassign: list[Pair] = Field(default_factory=list, max_length=uc.MAX_BULK_PAIRS)


class AssignmentResult(BaseModel):
    assigned: int
    unassigned: int
    commands_queued: int


class SiteRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool


class SiteRulePublic(BaseModel):
    site_id: str
    enabled: bool


class SiteRuleChanged(SiteRulePublic):
    assigned: int
    unassigned: int


router = APIRouter(prefix="/internal/v1", tags=["clocks"])
READ_ERRORS = error_responses(401, 404)
WRITE_ERRORS = error_responses(401, 403, 404, 409)


@router.post(
    "/clocks",
    status_code=201,
    response_model=ClockWithCredential,
    responses=error_responses(401, 403, 409),
)
async def register_clock(body: ClockCreate, c: ContainerDep, caller: CallerDep) -> dict:
    registered = await uc.register_clock(
        uc.RegisterClock(caller, body.serial_number, body.name, body.site_id, body.time_zone),
        c.uow,
    )
    clock = await c.views.clock(caller, registered.clock_id)
    return {**clock, "credential": registered.credential}


@router.get("/clocks", response_model=ClocksPublic, responses=error_responses(401))
async def list_clocks(c: ContainerDep, caller: CallerDep, site_id: SiteQuery = None) -> dict:
    clocks = await c.views.clocks(caller, site_id)
    return {"data": clocks, "count": len(clocks)}


@router.get("/clocks/{clock_id}", response_model=ClockPublic, responses=READ_ERRORS)
async def get_clock(clock_id: Id, c: ContainerDep, caller: CallerDep) -> dict:
    return await c.views.clock(caller, clock_id)


@router.patch("/clocks/{clock_id}", response_model=ClockPublic, responses=WRITE_ERRORS)
async def update_clock(clock_id: Id, body: ClockUpdate, c: ContainerDep, caller: CallerDep) -> dict:
    await uc.update_clock(
        uc.UpdateClock(caller, clock_id, body.name, body.site_id, body.time_zone), c.uow
    )
    return await c.views.clock(caller, clock_id)


@router.post("/clocks/{clock_id}/revoke", response_model=ClockPublic, responses=WRITE_ERRORS)
async def revoke_clock(
    clock_id: Id, body: RevokeRequest, c: ContainerDep, caller: CallerDep
) -> dict:
    await uc.revoke_clock(uc.RevokeClock(caller, clock_id, body.reason), c.uow)
    return await c.views.clock(caller, clock_id)


@router.post(
    "/clocks/{clock_id}/credential", response_model=ClockWithCredential, responses=WRITE_ERRORS
)
async def rotate_credential(clock_id: Id, c: ContainerDep, caller: CallerDep) -> dict:
    credential = await uc.rotate_credential(uc.RotateCredential(caller, clock_id), c.uow)
    return {**await c.views.clock(caller, clock_id), "credential": credential}


@router.post(
    "/clocks/{clock_id}/resync",
    status_code=202,
    response_model=ResyncQueued,
    responses=WRITE_ERRORS,
)
async def resync(
    clock_id: Id, c: ContainerDep, caller: CallerDep, body: ResyncRequest | None = None
) -> ResyncQueued:
    reason = body.reason if body else "admin request"
    queued = await uc.request_resync(uc.RequestResync(caller, clock_id, reason), c.uow)
    return ResyncQueued(commands_queued=queued)


@router.get("/clocks/{clock_id}/commands", response_model=CommandsPublic, responses=READ_ERRORS)
async def commands(
    clock_id: Id,
    c: ContainerDep,
    caller: CallerDep,
    pending: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict:
    rows = await c.views.clock_commands(caller, clock_id, pending, limit)
    return {"data": rows, "count": len(rows)}


@router.get("/clocks/{clock_id}/workers", response_model=ClockWorkersPublic, responses=READ_ERRORS)
async def clock_workers(clock_id: Id, c: ContainerDep, caller: CallerDep) -> dict:
    rows = await c.views.clock_workers(caller, clock_id)
    return {"data": rows, "count": len(rows)}


@router.put(
    "/clocks/{clock_id}/workers/{worker_id}",
    response_model=AssignmentResult,
    responses=WRITE_ERRORS,
)
async def assign(clock_id: Id, worker_id: Id, c: ContainerDep, caller: CallerDep) -> dict:
    changed = await uc.change_assignments(
        uc.ChangeAssignments(caller, assign=[(clock_id, worker_id)]), c.uow
    )
    return asdict(changed)


@router.delete(
    "/clocks/{clock_id}/workers/{worker_id}",
    status_code=204,
    response_class=Response,
    response_model=None,
    responses=WRITE_ERRORS,
)
async def unassign(clock_id: Id, worker_id: Id, c: ContainerDep, caller: CallerDep) -> Response:
    await uc.change_assignments(
        uc.ChangeAssignments(caller, unassign=[(clock_id, worker_id)]), c.uow
    )
    return Response(status_code=204)


@router.post(
    "/assignments",
    response_model=AssignmentResult,
    max_body_size=BULK_BODY_BYTES,
    responses=WRITE_ERRORS,
)
async def bulk(body: BulkAssignments, c: ContainerDep, caller: CallerDep) -> dict:
    changed = await uc.change_assignments(
        uc.ChangeAssignments(
            caller,
            assign=[(p.clock_id.lower(), p.worker_id.lower()) for p in body.assign],
            unassign=[(p.clock_id.lower(), p.worker_id.lower()) for p in body.unassign],
        ),
        c.uow,
    )
    return asdict(changed)


@router.get("/workers/{worker_id}/clocks", response_model=WorkerClocksPublic, responses=READ_ERRORS)
async def worker_clocks(worker_id: Id, c: ContainerDep, caller: CallerDep) -> dict:
    """The worker's clocks with each one's sync state, and recent removals."""
    return await c.views.worker_clocks(caller, worker_id)


@router.put(
    "/sites/{site_id}/clock-rule",
    response_model=SiteRuleChanged,
    responses=error_responses(401, 403),
)
async def set_site_rule(
    site_id: SitePath, body: SiteRule, c: ContainerDep, caller: CallerDep
) -> dict:
    changed = await uc.set_site_rule(uc.SetSiteRule(caller, site_id, body.enabled), c.uow)
    return asdict(changed)


@router.get(
    "/sites/{site_id}/clock-rule", response_model=SiteRulePublic, responses=error_responses(401)
)
async def get_site_rule(site_id: SitePath, c: ContainerDep, caller: CallerDep) -> dict:
    return await c.views.site_rule(caller, site_id)
