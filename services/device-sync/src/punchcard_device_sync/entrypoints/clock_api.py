"""The API clocks call (directly, not through the gateway): one ``sync`` request carries the
clock's heartbeat and acknowledgements and long-polls for its next commands
(docs/device-sync.md). ``whoami`` tells which clock a credential is: the gateway's kiosk edge
asks it on every punch, passing the kiosk's credential through."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from punchcard_kit.tenancy import tenant_transaction
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ..adapters import repository as repo
from ..domain.model import (
    MAX_ACKS_PER_REQUEST,
    MAX_DETAIL_LENGTH,
    MAX_RESULT_CODE,
    MAX_SEQUENCE,
    MAX_SOFTWARE_VERSION_LENGTH,
)
from ..service_layer.sync import Ack, AuthenticatedClock, ClockSync, unauthorized

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
    sequence: int = Field(ge=1, le=MAX_SEQUENCE, strict=True)
    result_code: int = Field(ge=-MAX_RESULT_CODE, le=MAX_RESULT_CODE, strict=True)
    detail: Annotated[str, StringConstraints(max_length=MAX_DETAIL_LENGTH, pattern=NO_NUL)] = ""


class SyncRequest(BaseModel):
    # Unknown fields are ignored: newer clock software may send more.
    model_config = ConfigDict(extra="ignore")
    applied_sequence: int = Field(default=0, ge=0, le=MAX_SEQUENCE, strict=True)
    roster_digest: Digest | None = None
    software_version: Annotated[
        str, StringConstraints(max_length=MAX_SOFTWARE_VERSION_LENGTH, pattern=NO_NUL)
    ] = ""
    acks: list[AckIn] = Field(default_factory=list, max_length=MAX_ACKS_PER_REQUEST)
    wait_s: float = Field(default=25.0, ge=0, le=MAX_WAIT_S, allow_inf_nan=False)


class AcksRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    acks: list[AckIn] = Field(max_length=MAX_ACKS_PER_REQUEST)


def _sync(request: Request) -> ClockSync:
    return request.app.state.clock_sync


SyncDep = Annotated[ClockSync, Depends(_sync)]


async def current_clock(request: Request, sync: SyncDep) -> AuthenticatedClock:
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credential:
        raise unauthorized()
    return await sync.authenticate(credential.strip())


ClockDep = Annotated[AuthenticatedClock, Depends(current_clock)]


def _acks(items: list[AckIn]) -> list[Ack]:
    return [Ack(a.command_id.lower(), a.sequence, a.result_code, a.detail) for a in items]


def build_router() -> APIRouter:
    router = APIRouter(prefix="/clock/v1", tags=["clock"])

    @router.post("/sync", max_body_size=MAX_BODY_BYTES)
    async def sync(body: SyncRequest, clock: ClockDep, service: SyncDep) -> Response:
        """Record acknowledgements and heartbeat; answer the commands after
        ``applied_sequence``, waiting up to ``wait_s`` for one to be queued."""
        service.heartbeat(clock, body.applied_sequence, body.roster_digest, body.software_version)
        answer = await service.sync(
            clock, body.applied_sequence, _acks(body.acks), body.roster_digest, body.wait_s
        )
        return Response(answer, media_type="application/json")

    @router.post("/acks", max_body_size=MAX_BODY_BYTES)
    async def acks(body: AcksRequest, clock: ClockDep, service: SyncDep) -> dict:
        """Acknowledgements alone (they normally ride on the next sync)."""
        return {"recorded": await service.acknowledge(clock, _acks(body.acks))}

    @router.get("/whoami")
    async def whoami(clock: ClockDep, request: Request) -> dict:
        """The clock this credential belongs to (tenant and clock come from the credential
        alone), with its name, site and time zone. No heartbeat: a kiosk's punch is not the
        clock's sync. A revoked or rotated credential is a 401 at once, as for ``sync``."""
        pool = request.app.state.runtime.pool
        async with tenant_transaction(pool, repo.APP_ROLE, clock.tenant_id) as conn:
            row = await repo.get_clock(conn, clock.tenant_id, clock.clock_id)
        if row is None or row.revoked_at is not None:
            raise unauthorized()
        return {
            "tenant_id": clock.tenant_id,
            "clock_id": clock.clock_id,
            "name": row.name,
            "site_id": row.site_id,
            "time_zone": row.time_zone,
        }

    return router
