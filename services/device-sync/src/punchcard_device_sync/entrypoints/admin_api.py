"""device-sync's internal admin API, reached through the gateway (which authenticates the
admin and attaches an internal caller token). Routes translate HTTP into use-case calls."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from punchcard_kit.bounds import TEXT_PATTERN, Text, Uuid
from punchcard_kit.internal_auth import Caller, current_caller
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ..service_layer import admin as uc
from ..service_layer.admin import Admin

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


def _admin(request: Request) -> Admin:
    return request.app.state.admin


AdminDep = Annotated[Admin, Depends(_admin)]
CallerDep = Annotated[Caller, Depends(current_caller)]


def build_router() -> APIRouter:
    router = APIRouter(prefix="/internal/v1", tags=["clocks"])

    @router.post("/clocks", status_code=201, response_model=ClockWithCredential)
    async def register_clock(body: ClockCreate, admin: AdminDep, caller: CallerDep) -> dict:
        clock, credential = await uc.register_clock(
            admin, caller, body.serial_number, body.name, body.site_id, body.time_zone
        )
        return {**clock, "credential": credential}

    @router.get("/clocks", response_model=ClocksPublic)
    async def list_clocks(admin: AdminDep, caller: CallerDep, site_id: SiteQuery = None) -> dict:
        clocks = await uc.list_clocks(admin, caller, site_id)
        return {"data": clocks, "count": len(clocks)}

    @router.get("/clocks/{clock_id}", response_model=ClockPublic)
    async def get_clock(clock_id: Id, admin: AdminDep, caller: CallerDep) -> dict:
        return await uc.get_clock(admin, caller, clock_id)

    @router.patch("/clocks/{clock_id}", response_model=ClockPublic)
    async def update_clock(
        clock_id: Id, body: ClockUpdate, admin: AdminDep, caller: CallerDep
    ) -> dict:
        return await uc.update_clock(
            admin, caller, clock_id, body.name, body.site_id, body.time_zone
        )

    @router.post("/clocks/{clock_id}/revoke", response_model=ClockPublic)
    async def revoke_clock(
        clock_id: Id, body: RevokeRequest, admin: AdminDep, caller: CallerDep
    ) -> dict:
        return await uc.revoke_clock(admin, caller, clock_id, body.reason)

    @router.post("/clocks/{clock_id}/credential", response_model=ClockWithCredential)
    async def rotate_credential(clock_id: Id, admin: AdminDep, caller: CallerDep) -> dict:
        clock, credential = await uc.rotate_credential(admin, caller, clock_id)
        return {**clock, "credential": credential}

    @router.post("/clocks/{clock_id}/resync", status_code=202)
    async def resync(
        clock_id: Id, admin: AdminDep, caller: CallerDep, body: ResyncRequest | None = None
    ) -> dict:
        reason = body.reason if body else "admin request"
        return {"commands_queued": await uc.request_resync(admin, caller, clock_id, reason)}

    @router.get("/clocks/{clock_id}/commands")
    async def commands(
        clock_id: Id,
        admin: AdminDep,
        caller: CallerDep,
        pending: bool = False,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> dict:
        rows = await uc.clock_commands(admin, caller, clock_id, pending, limit)
        return {"data": rows, "count": len(rows)}

    @router.get("/clocks/{clock_id}/workers")
    async def clock_workers(clock_id: Id, admin: AdminDep, caller: CallerDep) -> dict:
        rows = await uc.clock_workers(admin, caller, clock_id)
        return {"data": rows, "count": len(rows)}

    @router.put("/clocks/{clock_id}/workers/{worker_id}", response_model=AssignmentResult)
    async def assign(clock_id: Id, worker_id: Id, admin: AdminDep, caller: CallerDep) -> dict:
        return await uc.change_assignments(admin, caller, [(clock_id, worker_id)], [])

    @router.delete("/clocks/{clock_id}/workers/{worker_id}", status_code=204)
    async def unassign(clock_id: Id, worker_id: Id, admin: AdminDep, caller: CallerDep) -> Response:
        await uc.change_assignments(admin, caller, [], [(clock_id, worker_id)])
        return Response(status_code=204)

    @router.post("/assignments", response_model=AssignmentResult, max_body_size=BULK_BODY_BYTES)
    async def bulk(body: BulkAssignments, admin: AdminDep, caller: CallerDep) -> dict:
        return await uc.change_assignments(
            admin,
            caller,
            [(p.clock_id.lower(), p.worker_id.lower()) for p in body.assign],
            [(p.clock_id.lower(), p.worker_id.lower()) for p in body.unassign],
        )

    @router.get("/workers/{worker_id}/clocks")
    async def worker_clocks(worker_id: Id, admin: AdminDep, caller: CallerDep) -> dict:
        """The worker's clocks with each one's sync state, and recent removals."""
        return await uc.worker_clocks(admin, caller, worker_id)

    @router.put("/sites/{site_id}/clock-rule")
    async def set_site_rule(
        site_id: SitePath, body: SiteRule, admin: AdminDep, caller: CallerDep
    ) -> dict:
        return await uc.set_site_rule(admin, caller, site_id, body.enabled)

    @router.get("/sites/{site_id}/clock-rule")
    async def get_site_rule(site_id: SitePath, admin: AdminDep, caller: CallerDep) -> dict:
        return await uc.get_site_rule(admin, caller, site_id)

    return router
