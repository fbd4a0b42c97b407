"""The audit log: written for every admin request that changes something (and every login or
refresh attempt) (read by the tenant's sysadmins: ``views.list_audit_entries``)."""

from __future__ import annotations

from ..domain.model import AuditEntry
from .services import Services


async def record(s: Services, entry: AuditEntry) -> None:
    async with s.uow(entry.tenant_id) as uow:
        await uow.audit.add(entry)
        await uow.commit()
