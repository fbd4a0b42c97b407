"""punch's internal API, reached through the gateway (admins: ``/api/v1/punches``,
``/api/v1/timesheets``, ``/api/v1/reports/suspicious-pin-punches``) and by the kiosk edge (an
attempt's outcome). The caller is the internal token's (tenant, role, sites); routes translate
HTTP into use-case calls."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from google.protobuf.json_format import MessageToDict
from punchcard.v1 import punch_pb2
from punchcard_kit.bounds import TEXT_PATTERN, Day, Instant, Text
from punchcard_kit.internal_auth import Caller, current_caller, current_caller_or_clock
from pydantic import BaseModel, ConfigDict, StringConstraints

from ..service_layer.admin import Correction, LedgerAdmin, PunchQuery

ID_PATTERN = r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$"
Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
PathId = Annotated[str, Path(pattern=ID_PATTERN)]
Reason = Text(500, min_length=3)
SiteId = Text(200)
Zone = Text(64, min_length=1)
EVENTS = {
    m.DESCRIPTOR.full_name: m
    for m in (punch_pb2.PunchRecorded, punch_pb2.PunchRepeated, punch_pb2.PunchRejected)
}


class AddPunch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    worker_id: Id
    direction: Literal["IN", "OUT"]
    punched_at: Instant
    reason: Reason
    clock_id: Id | None = None
    site_id: SiteId | None = None
    time_zone: Zone | None = None


class VoidPunch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason


class ReplacePunch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason
    direction: Literal["IN", "OUT"] | None = None
    punched_at: Instant | None = None


def _admin(request: Request) -> LedgerAdmin:
    return request.app.state.ledger_admin


AdminDep = Annotated[LedgerAdmin, Depends(_admin)]
CallerDep = Annotated[Caller, Depends(current_caller)]
# The kiosk edge asks for an attempt's outcome on a clock's behalf.
ClockOrAdminDep = Annotated[Caller, Depends(current_caller_or_clock)]


def build_router() -> APIRouter:
    router = APIRouter(prefix="/internal/v1")

    @router.get("/attempts/{attempt_id}", tags=["kiosk"])
    async def attempt_outcome(attempt_id: PathId, caller: ClockOrAdminDep, admin: AdminDep) -> dict:
        """The outcome of a kiosk attempt, as the event punch published for it."""
        event_type, event = await admin.attempt_outcome(caller, attempt_id.lower())
        message = EVENTS[event_type].FromString(event)
        return {
            "type": event_type,
            "payload": MessageToDict(message, preserving_proto_field_name=True),
        }

    @router.get("/punches", tags=["ledger"])
    async def list_punches(
        caller: CallerDep,
        admin: AdminDep,
        worker_id: Annotated[Id | None, Query()] = None,
        site_id: Annotated[SiteId | None, Query()] = None,
        clock_id: Annotated[Id | None, Query()] = None,
        start: Annotated[Instant | None, Query(alias="from")] = None,
        end: Annotated[Instant | None, Query(alias="to")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        cursor: Annotated[str | None, Query(max_length=200, pattern=TEXT_PATTERN)] = None,
    ) -> dict:
        """Punches (kiosk and corrections) in time order (the time they count at), paged;
        voided ones are listed with ``voided: true``. ``from`` inclusive, ``to`` exclusive."""
        return await admin.list_punches(
            caller,
            PunchQuery(worker_id, site_id, clock_id, start, end, limit, cursor),
        )

    @router.post("/punches", status_code=201, tags=["ledger"])
    async def add_punch(body: AddPunch, caller: CallerDep, admin: AdminDep) -> dict:
        """Add a punch the worker missed (a new ledger entry with the reason and your id)."""
        return await admin.add_punch(
            caller,
            Correction(
                worker_id=body.worker_id.lower(),
                direction=body.direction,
                punched_at=body.punched_at,
                reason=body.reason,
                clock_id=body.clock_id.lower() if body.clock_id else None,
                site_id=body.site_id,
                time_zone=body.time_zone,
            ),
        )

    @router.post("/punches/{punch_id}/void", tags=["ledger"])
    async def void_punch(
        punch_id: PathId,
        body: VoidPunch,
        caller: CallerDep,
        admin: AdminDep,
    ) -> dict:
        """Void a wrong punch: it stays in the ledger, marked voided, and stops counting."""
        return await admin.void_punch(caller, punch_id.lower(), body.reason)

    @router.post("/punches/{punch_id}/replace", status_code=201, tags=["ledger"])
    async def replace_punch(
        punch_id: PathId,
        body: ReplacePunch,
        caller: CallerDep,
        admin: AdminDep,
    ) -> dict:
        """Replace a wrong punch (void it and add the corrected one, in one transaction)."""
        return await admin.replace_punch(
            caller,
            punch_id.lower(),
            direction=body.direction,
            punched_at=body.punched_at,
            reason=body.reason,
        )

    @router.get("/timesheets", tags=["ledger"], response_model=None)
    async def timesheets(
        caller: CallerDep,
        admin: AdminDep,
        first: Annotated[Day, Query(alias="from")],
        last: Annotated[Day, Query(alias="to")],
        worker_id: Annotated[Id | None, Query()] = None,
        site_id: Annotated[SiteId | None, Query()] = None,
        format: Annotated[Literal["json", "csv"], Query()] = "json",
    ) -> dict | Response:
        """IN/OUT pairs per day in the time zone of the clock punched at, with totals; a
        missing IN or OUT is flagged, never guessed. ``format=csv`` for payroll export."""
        result = await admin.timesheets(
            caller,
            first,
            last,
            worker_id=worker_id.lower() if worker_id else None,
            site_id=site_id,
            as_csv=format == "csv",
        )
        if isinstance(result, str):
            return Response(
                result,
                media_type="text/csv; charset=utf-8",
                headers={
                    "content-disposition": f'attachment; filename="timesheets_{first}_{last}.csv"'
                },
            )
        return {"from": first, "to": last, "data": result}

    @router.get("/reports/suspicious-pin-punches", tags=["reports"])
    async def suspicious(
        caller: CallerDep,
        admin: AdminDep,
        first: Annotated[Day, Query(alias="from")],
        last: Annotated[Day, Query(alias="to")],
        site_id: Annotated[SiteId | None, Query()] = None,
    ) -> dict:
        """PIN punches that look like a shared PIN: at a clock the worker is not usually at,
        several workers by PIN at one kiosk within minutes, or at an unusual hour."""
        flags = await admin.suspicious_pin_punches(caller, first, last, site_id=site_id)
        return {"from": first, "to": last, "data": flags, "count": len(flags)}

    return router
