"""The audit log: written for every admin request that changes something (and every login or
refresh attempt), read by the tenant's sysadmins."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from ..domain.model import AuditEntry, Principal
from .services import Services


async def record(s: Services, entry: AuditEntry) -> None:
    async with s.uow(entry.tenant_id) as uow:
        await uow.audit.add(entry)
        await uow.commit()


async def list_entries(
    s: Services,
    caller: Principal,
    offset: int,
    limit: int,
    actor: uuid.UUID | None = None,
    action: str | None = None,
) -> tuple[Sequence[AuditEntry], int]:
    async with s.uow(caller.tenant_id) as uow:
        return await uow.audit.list(offset, limit, actor, action)
