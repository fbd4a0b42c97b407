"""device-sync's internal admin API, reached through the gateway (which authenticates the
admin and attaches an internal caller token). Routes translate HTTP into one use case
(``service_layer.admin``) or one view (``views.py``)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Path, Query, Response
from punchcard_kit.bounds import (
    PAGE_MAX,
    TEXT_PATTERN,
    Limit,
    Offset,
    Text,
    TimeZoneName,
    Uuid,
)
from punchcard_kit.http_errors import error_responses
from punchcard_kit.patterns import described
from punchcard_kit.schemas import IsoTimestamp
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints
from pydantic.json_schema import WithJsonSchema

from ..domain.model import ClockRole
from ..domain.zk import COM_KEY_PATTERN
from ..service_layer import admin as uc
from ..service_layer import biometrics as bio
from ..service_layer import device_pins
from .deps import CallerDep, ContainerDep

# What an admin types from the clock's label (the same characters the ZK edge takes).
SERIAL_PATTERN = described(
    r"^[A-Za-z0-9_.:-]+$", "a serial number of letters, digits, '.', '_', ':' and '-'"
)
Serial = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=SERIAL_PATTERN),
]
Name = Text(200, min_length=1)
# Checked by the service (INVALID_COM_KEY); bounded here.
# Its format is stated in the OpenAPI; the service checks it (INVALID_COM_KEY, errors.py).
ComKey = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    WithJsonSchema({"type": "string", "pattern": COM_KEY_PATTERN.pattern}),
]
SiteId = Text(200)
Reason = Text(500)
Id = Uuid
SiteQuery = Annotated[str | None, Query(max_length=200, pattern=TEXT_PATTERN)]
SitePath = Annotated[str, Path(min_length=1, max_length=200, pattern=TEXT_PATTERN)]
SerialPath = Annotated[str, Path(min_length=1, max_length=64, pattern=SERIAL_PATTERN)]

# Examples for the OpenAPI (schema metadata only); each is valid for its model (a unit test
# checks them).
CLOCK_ID = "0b8e6a52-5d7c-4f3e-8a19-2c4d6e8f0a1b"
WORKER_ID = "6f1c2b1e-3a4d-4c5b-9e8f-1a2b3c4d5e6f"
CLOCK_EXAMPLE = {
    "id": CLOCK_ID,
    "serial_number": "ZK-4500-00123",
    "name": "Lobby clock",
    "site_id": "site-north",
    "time_zone": "Europe/London",
    "protocol": "KIOSK_APP",
    "device_verifies_pins": False,
    "com_key_set": False,
    "status": "online",
    "last_seen_at": "2026-03-02T08:14:30Z",
    "software_version": "2.4.1",
    "applied_sequence": 42,
    "last_sequence": 42,
    "pending_commands": 0,
    "in_sync": True,
    "roster_size": 57,
    "revoked_at": None,
    "revoked_reason": None,
    "created_at": "2026-02-20T10:00:00Z",
    "updated_at": "2026-03-02T08:14:30Z",
    "device": None,
}
DEVICE_EXAMPLE = {
    "firmware": "Ver 8.0.4.2-20230101",
    "users": 57,
    "fingerprints": 102,
    "faces": 40,
    "punches": 15234,
    "ip": "192.168.1.20",
    "last_poll_at": "2026-03-02T08:14:30+00:00",
    "skew_s": 1.5,
    "skew_flagged": False,
    "time_zone_offset": "+00:00",
    "attlog_stamp": "9999",
}
UNREGISTERED_EXAMPLE = {
    "serial_number": "CQZ7232960142",
    "first_seen_at": "2026-03-02T08:00:00+00:00",
    "last_seen_at": "2026-03-02T08:14:30+00:00",
    "requests": 87,
    "remote_addr": "203.0.113.7",
    "push_version": "2.4.1",
}
SYNC_EXAMPLE = {
    "kind": "UPSERT_WORKER",
    "sequence": 42,
    "state": "acknowledged",
    "queued_at": "2026-03-02T08:10:00Z",
    "acked_at": "2026-03-02T08:10:05Z",
    "result_code": 0,
    "detail": "",
}
COMMAND_EXAMPLE = {
    "command_id": "9d2f4b6a-1c3e-4a5b-8d7f-0e1a2b3c4d5e",
    "sequence": 43,
    "kind": "UPSERT_WORKER",
    "worker_id": WORKER_ID,
    "created_at": "2026-03-02T08:20:00Z",
    "acked_at": None,
    "result_code": None,
    "detail": None,
}
CLOCK_WORKER_EXAMPLE = {
    "worker_id": WORKER_ID,
    "employee_id": "E-1001",
    "display_name": "Ada Lovelace",
    "status": "Active",
    "sources": ["direct", "site_rule"],
    "assigned_at": "2026-03-01T09:05:00Z",
    "on_clock": True,
    "clock_role": "USER",
}
RESYNC_EXAMPLE = {"reason": "the clock was restored from a backup"}


def _examples(*examples: dict) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples)})


# Bulk assignments: up to 2 × 5,000 pairs of two ids (every other route: the kit's 64 KiB).
BULK_BODY_BYTES = 1024 * 1024


class ClockCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "serial_number": "ZK-4500-00123",
                    "name": "Lobby clock",
                    "site_id": "site-north",
                    "time_zone": "Europe/London",
                }
            ]
        },
    )
    serial_number: Serial
    name: Name
    site_id: SiteId = ""
    time_zone: TimeZoneName
    protocol: Literal["KIOSK_APP", "ZK_PUSH"] = Field(
        default="KIOSK_APP",
        description="KIOSK_APP (the Punchcard app) or ZK_PUSH (a hardware clock calling"
        " /iclock with this serial number, unique across tenants)",
    )
    com_key: ComKey | None = Field(
        default=None,
        description="ZK_PUSH only, optional: the Comm Key set on the device (1-64 letters,"
        " digits, _ . -). Never shown again; the clock then serves only requests that carry"
        " it, or that come from where its last handshake with it came from.",
    )


class ClockUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "Lobby clock (east door)", "time_zone": "Europe/London"}]
        },
    )
    name: Name | None = None
    site_id: SiteId | None = None
    time_zone: TimeZoneName | None = None
    device_verifies_pins: StrictBool | None = Field(
        default=None,
        description=(
            "ZK PUSH clocks only, sysadmin only: the clock stores the PINs of its workers"
            " (those whose PIN was set while the tenant lets hardware clocks verify PINs) and"
            " checks them itself. Anyone who can read the clock's memory can read them."
        ),
    )
    com_key: ComKey | None = Field(
        default=None,
        description="ZK PUSH clocks only, sysadmin only: the device's new Comm Key; null"
        " removes it (absent: unchanged). Never shown again.",
    )


class DevicePublic(BaseModel):
    """What a ZK PUSH clock says of itself (INFO, polls) and what the server measured."""

    model_config = _examples(DEVICE_EXAMPLE)

    firmware: str
    users: int | None
    fingerprints: int | None
    faces: int | None
    punches: int | None
    ip: str
    last_poll_at: IsoTimestamp | None
    skew_s: float | None = Field(description="Seconds the device is behind (negative: ahead)")
    skew_flagged: bool = Field(description="The skew exceeds ZK_MAX_SKEW_S: the clock is resynced")
    time_zone_offset: str | None = Field(description="The TimeZone the device was last told")
    attlog_stamp: str | None = Field(description="The ATTLOG Stamp the server holds")


class ClockPublic(BaseModel):
    model_config = _examples(CLOCK_EXAMPLE)

    id: str
    serial_number: str
    name: str
    site_id: str
    time_zone: str
    protocol: str
    device_verifies_pins: bool = Field(
        description="ZK PUSH clocks opted in to store workers' PINs and check them themselves"
        " (the tenant must let hardware clocks verify PINs in identity's PIN policy)"
    )
    com_key_set: bool = Field(
        description="ZK PUSH clocks: a Comm Key is set (the key itself is never shown)"
    )
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
    device: DevicePublic | None = Field(description="ZK PUSH clocks: the device; else null")


class ClockWithCredential(ClockPublic):
    model_config = _examples({**CLOCK_EXAMPLE, "credential": "pcc_9QhT2vXk4LmN8rWb6yZa1cDe"})

    credential: str = Field(
        description="Shown once: the clock's bearer credential (only its hash is stored)"
    )


class ClocksPublic(BaseModel):
    model_config = _examples({"data": [CLOCK_EXAMPLE], "count": 1})

    data: list[ClockPublic]
    count: int


class RevokeRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "stolen from the loading dock"}]}
    )
    reason: Reason = ""


class ResyncRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [RESYNC_EXAMPLE]},
    )
    reason: Reason = "admin request"


# The body is optional: the example is on the (nullable) body itself.
ResyncBody = Annotated[ResyncRequest | None, Body(examples=[RESYNC_EXAMPLE])]


class ResyncQueued(BaseModel):
    model_config = _examples({"commands_queued": 58})

    commands_queued: int = Field(description="FULL_RESYNC and one command per worker")


class CommandPublic(BaseModel):
    model_config = _examples(COMMAND_EXAMPLE)

    command_id: str
    sequence: int
    kind: str = Field(
        description="UPSERT_WORKER, REMOVE_WORKER or FULL_RESYNC; on a ZK clock also"
        " UPSERT_TEMPLATES and DELETE_TEMPLATES"
    )
    worker_id: str | None
    created_at: IsoTimestamp
    acked_at: IsoTimestamp | None
    result_code: int | None = Field(description="0 applied; negative: the clock's error")
    detail: str | None
    delivered_at: IsoTimestamp | None = Field(
        default=None,
        description="ZK PUSH: when last handed to the device (sent again if"
        " unacknowledged after ZK_REDELIVER_AFTER_S)",
    )
    deliveries: int = 0


class CommandsPublic(BaseModel):
    model_config = _examples({"data": [COMMAND_EXAMPLE], "count": 1})

    data: list[CommandPublic]
    count: int


class ClockWorkerPublic(BaseModel):
    model_config = _examples(CLOCK_WORKER_EXAMPLE)

    worker_id: str
    employee_id: str
    display_name: str
    status: str = Field(description="Pending, Active or Inactive")
    sources: list[str] = Field(description="Why the worker is on the clock: direct, site_rule")
    assigned_at: IsoTimestamp
    on_clock: bool = Field(description="Whether the clock holds the worker (not Inactive)")
    clock_role: ClockRole = Field(description="The worker's role on this clock")


class ClockWorkersPublic(BaseModel):
    model_config = _examples({"data": [CLOCK_WORKER_EXAMPLE], "count": 1})

    data: list[ClockWorkerPublic]
    count: int


class SyncPublic(BaseModel):
    """Where the worker's latest command on a clock stands."""

    model_config = _examples(SYNC_EXAMPLE)

    kind: str
    sequence: int
    state: str = Field(description="sent, waiting, acknowledged, failed or revoked")
    queued_at: IsoTimestamp
    acked_at: IsoTimestamp | None
    result_code: int | None
    detail: str


class WorkerClockPublic(BaseModel):
    clock_id: str
    name: str
    site_id: str
    serial_number: str
    sources: list[str]
    assigned_at: IsoTimestamp
    revoked: bool
    clock_status: str
    sync: SyncPublic | None
    clock_role: ClockRole = Field(description="The worker's role on this clock")


class RemovedClockPublic(BaseModel):
    clock_id: str
    name: str
    site_id: str
    clock_status: str
    sync: SyncPublic | None


class WorkerClocksPublic(BaseModel):
    model_config = _examples(
        {
            "data": [
                {
                    "clock_id": CLOCK_ID,
                    "name": "Lobby clock",
                    "site_id": "site-north",
                    "serial_number": "ZK-4500-00123",
                    "sources": ["site_rule"],
                    "assigned_at": "2026-03-01T09:05:00Z",
                    "revoked": False,
                    "clock_status": "online",
                    "sync": SYNC_EXAMPLE,
                    "clock_role": "MANAGER",
                }
            ],
            "count": 1,
            "removed": [],
        }
    )

    data: list[WorkerClockPublic]
    count: int
    removed: list[RemovedClockPublic] = Field(
        description="Clocks the worker was recently taken off, with their REMOVE_WORKER's state"
    )


CLOCK_ROLE_DESCRIPTION = (
    "The worker's role on the clock: USER (default), MANAGER (may enrol others),"
    " ADMINISTRATOR (may open the clock's settings; granted by sysadmins only)"
)


class UnregisteredDevicePublic(BaseModel):
    model_config = _examples(UNREGISTERED_EXAMPLE)

    serial_number: str
    first_seen_at: IsoTimestamp
    last_seen_at: IsoTimestamp
    requests: int
    remote_addr: str
    push_version: str


class UnregisteredDevicesPublic(BaseModel):
    model_config = _examples({"data": [UNREGISTERED_EXAMPLE], "count": 1})

    data: list[UnregisteredDevicePublic]
    count: int


class AdoptRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "Lobby clock", "site_id": "site-north", "time_zone": "Europe/London"}
            ]
        },
    )
    name: Name
    site_id: SiteId = ""
    time_zone: TimeZoneName


class Pair(BaseModel):
    model_config = ConfigDict(extra="forbid")
    clock_id: Id
    worker_id: Id


class AssignPair(Pair):
    """A pair to assign; ``clock_role`` absent: USER when new, unchanged when assigned."""

    clock_role: ClockRole | None = Field(default=None, description=CLOCK_ROLE_DESCRIPTION)


class AssignRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"clock_role": "MANAGER"}]}
    )
    clock_role: ClockRole | None = Field(default=None, description=CLOCK_ROLE_DESCRIPTION)


# The body is optional (no body: assign as USER, or keep the role of an assignment).
AssignBody = Annotated[AssignRequest | None, Body(examples=[{"clock_role": "MANAGER"}])]


class BulkAssignments(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "assign": [
                        {"clock_id": CLOCK_ID, "worker_id": WORKER_ID, "clock_role": "MANAGER"}
                    ],
                    "unassign": [],
                }
            ]
        },
    )
    assign: list[AssignPair] = Field(default_factory=list, max_length=uc.MAX_BULK_PAIRS)
    unassign: list[Pair] = Field(default_factory=list, max_length=uc.MAX_BULK_PAIRS)


class AssignmentResult(BaseModel):
    model_config = _examples(
        {"assigned": 1, "unassigned": 0, "commands_queued": 1, "roles_changed": 0}
    )

    assigned: int
    unassigned: int
    commands_queued: int
    roles_changed: int = Field(description="Assignments whose clock role changed")


class SiteRule(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"enabled": True}]})
    enabled: StrictBool


class SiteRulePublic(BaseModel):
    model_config = _examples({"site_id": "site-north", "enabled": True})

    site_id: str
    enabled: bool


class SiteRuleChanged(SiteRulePublic):
    model_config = _examples(
        {"site_id": "site-north", "enabled": True, "assigned": 12, "unassigned": 0}
    )

    assigned: int
    unassigned: int


BIOMETRICS_EXAMPLE = {
    "fingerprints": 2,
    "faces": 0,
    "palms": 0,
    "photos": 1,
    "updated_at": "2026-03-02T08:10:00Z",
    "clocks": [
        {
            "clock_id": CLOCK_ID,
            "name": "Lobby clock",
            "kind": "DELETE_TEMPLATES",
            "state": "acknowledged",
            "queued_at": "2026-03-02T08:20:00Z",
            "acked_at": "2026-03-02T08:20:04Z",
            "result_code": 0,
        }
    ],
}


class BiometricsClockPublic(BaseModel):
    clock_id: str
    name: str
    kind: str = Field(description="UPSERT_TEMPLATES (a push) or DELETE_TEMPLATES (a deletion)")
    state: str = Field(description="sent, waiting, acknowledged, failed or revoked")
    queued_at: IsoTimestamp
    acked_at: IsoTimestamp | None
    result_code: int | None


class BiometricsPublic(BaseModel):
    """The worker's biometric templates from hardware clocks: counts only, never a template."""

    model_config = _examples(BIOMETRICS_EXAMPLE)

    fingerprints: int
    faces: int
    palms: int
    photos: int
    updated_at: IsoTimestamp | None
    clocks: list[BiometricsClockPublic] = Field(
        description="Per ZK clock, the worker's latest template command (push or deletion)"
    )


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
        uc.RegisterClock(
            caller,
            body.serial_number,
            body.name,
            body.site_id,
            body.time_zone,
            body.protocol,
            body.com_key,
        ),
        c.uow,
    )
    clock = await c.views.clock(caller, registered.clock_id)
    return {**clock, "credential": registered.credential}


@router.get("/clocks", response_model=ClocksPublic, responses=error_responses(401))
async def list_clocks(
    c: ContainerDep,
    caller: CallerDep,
    site_id: SiteQuery = None,
    offset: Offset = 0,
    limit: Limit = 100,
    search: Annotated[str | None, Query(max_length=100, pattern=TEXT_PATTERN)] = None,
    clock_id: Annotated[list[Uuid] | None, Query(max_length=PAGE_MAX)] = None,
) -> dict:
    """The clocks (of a site, when ``site_id`` is given; whose name or serial number contains
    ``search``, case-insensitively; ``clock_id``, repeated, up to 500: those clocks only), by
    name, a page at a time; ``count`` is how many there are in all."""
    ids = [i.lower() for i in clock_id] if clock_id is not None else None
    clocks, count = await c.views.clocks(caller, site_id, offset, limit, search, ids)
    return {"data": clocks, "count": count}


class SitesPublic(BaseModel):
    model_config = _examples({"data": ["north-warehouse", "store-12"]})

    data: list[str]


@router.get("/sites", response_model=SitesPublic, responses=error_responses(401))
async def list_sites(
    c: ContainerDep,
    caller: CallerDep,
    starts_with: Annotated[str | None, Query(max_length=200, pattern=TEXT_PATTERN)] = None,
    limit: Limit = 50,
) -> dict:
    """The sites of the clocks (a manager's own), by name; those starting with
    ``starts_with``, in any case, when given."""
    return {"data": await c.views.sites(caller, starts_with, limit)}


@router.get("/clocks/{clock_id}", response_model=ClockPublic, responses=READ_ERRORS)
async def get_clock(clock_id: Id, c: ContainerDep, caller: CallerDep) -> dict:
    return await c.views.clock(caller, clock_id)


@router.patch("/clocks/{clock_id}", response_model=ClockPublic, responses=WRITE_ERRORS)
async def update_clock(clock_id: Id, body: ClockUpdate, c: ContainerDep, caller: CallerDep) -> dict:
    if body.device_verifies_pins is not None:
        await device_pins.set_clock_verifies_pins(
            caller, clock_id, body.device_verifies_pins, c.uow
        )
    com_key = "com_key" in body.model_fields_set
    if com_key:
        await uc.set_com_key(caller, clock_id, body.com_key, c.uow)
    others = (body.name, body.site_id, body.time_zone) != (None, None, None)
    if others or (body.device_verifies_pins is None and not com_key):
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
    clock_id: Id, c: ContainerDep, caller: CallerDep, body: ResyncBody = None
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
async def clock_workers(
    clock_id: Id, c: ContainerDep, caller: CallerDep, offset: Offset = 0, limit: Limit = 100
) -> dict:
    """Who may use the clock (directly or by a site rule), by name, a page at a time; ``count``
    is how many there are in all."""
    rows, count = await c.views.clock_workers(caller, clock_id, offset, limit)
    return {"data": rows, "count": count}


@router.put(
    "/clocks/{clock_id}/workers/{worker_id}",
    response_model=AssignmentResult,
    responses=WRITE_ERRORS,
)
async def assign(
    clock_id: Id, worker_id: Id, c: ContainerDep, caller: CallerDep, body: AssignBody = None
) -> dict:
    """Assign (idempotent). ``clock_role`` changes the worker's role on the clock (no body:
    USER for a new assignment, the role kept for an existing one)."""
    pair = (clock_id.lower(), worker_id.lower())
    roles = {pair: body.clock_role} if body and body.clock_role else {}
    changed = await uc.change_assignments(
        uc.ChangeAssignments(
            caller,
            assign=[pair],
            roles=roles,
            worker_wait_s=c.settings.projection_wait_s,
            from_path=True,
        ),
        c.uow,
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
        uc.ChangeAssignments(
            caller, unassign=[(clock_id.lower(), worker_id.lower())], from_path=True
        ),
        c.uow,
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
            roles={
                (p.clock_id.lower(), p.worker_id.lower()): p.clock_role
                for p in body.assign
                if p.clock_role is not None
            },
            worker_wait_s=c.settings.projection_wait_s,
        ),
        c.uow,
    )
    return asdict(changed)


@router.get("/workers/{worker_id}/clocks", response_model=WorkerClocksPublic, responses=READ_ERRORS)
async def worker_clocks(worker_id: Id, c: ContainerDep, caller: CallerDep) -> dict:
    """The worker's clocks with each one's sync state, and recent removals."""
    return await c.views.worker_clocks(caller, worker_id)


@router.get(
    "/workers/{worker_id}/biometrics", response_model=BiometricsPublic, responses=READ_ERRORS
)
async def worker_biometrics(worker_id: Id, c: ContainerDep, caller: CallerDep) -> dict:
    """Counts of the worker's templates from hardware clocks and each ZK clock's state."""
    return await c.views.worker_biometrics(caller, worker_id)


@router.delete(
    "/workers/{worker_id}/biometrics",
    response_model=BiometricsPublic,
    responses=error_responses(401, 403, 404),
)
async def delete_worker_biometrics(worker_id: Id, c: ContainerDep, caller: CallerDep) -> dict:
    """Delete the worker's stored templates and delete them from every ZK clock they are on
    (each clock's acknowledgement is shown in ``clocks``)."""
    await bio.delete_biometrics(bio.DeleteBiometrics(caller, worker_id.lower()), c.uow)
    return await c.views.worker_biometrics(caller, worker_id.lower())


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


@router.get(
    "/devices/unregistered",
    response_model=UnregisteredDevicesPublic,
    responses=error_responses(401, 403),
)
async def unregistered_devices(c: ContainerDep, caller: CallerDep) -> dict:
    """ZK devices trying to connect with a serial no clock has (sysadmin)."""
    rows = await c.views.unregistered(caller)
    return {"data": rows, "count": len(rows)}


@router.post(
    "/devices/unregistered/{serial_number}/adopt",
    status_code=201,
    response_model=ClockWithCredential,
    responses=error_responses(401, 403, 404, 409),
)
async def adopt_device(
    serial_number: SerialPath, body: AdoptRequest, c: ContainerDep, caller: CallerDep
) -> dict:
    """Register the device as a ZK PUSH clock of the caller's tenant (sysadmin)."""
    registered = await uc.adopt_device(
        uc.AdoptDevice(caller, serial_number, body.name, body.site_id, body.time_zone), c.uow
    )
    clock = await c.views.clock(caller, registered.clock_id)
    return {**clock, "credential": registered.credential}
