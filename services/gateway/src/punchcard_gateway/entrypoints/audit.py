"""The tenant's audit log (sysadmins only), newest first."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from punchcard_kit.bounds import TEXT_PATTERN, Offset
from punchcard_kit.http_errors import ErrorPublic

from .. import views
from .deps import ServicesDep, SysadminDep
from .schemas import AuditEntriesPublic, AuditEntryPublic

router = APIRouter(
    prefix="/api/v1/audit-log",
    tags=["audit"],
    responses={401: {"model": ErrorPublic}, 403: {"model": ErrorPublic}},
)


@router.get("", response_model=AuditEntriesPublic)
async def list_audit_log(
    caller: SysadminDep,
    s: ServicesDep,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    actor: Annotated[uuid.UUID | None, Query(description="Admin user id")] = None,
    action: Annotated[
        str | None,
        Query(
            max_length=300,
            pattern=TEXT_PATTERN,
            description="Exact action, e.g. 'PATCH /api/v1/users/{id}'",
        ),
    ] = None,
) -> AuditEntriesPublic:
    rows, count = await views.list_audit_entries(s, caller, offset, limit, actor, action)
    return AuditEntriesPublic(data=[AuditEntryPublic.of(e) for e in rows], count=count)
