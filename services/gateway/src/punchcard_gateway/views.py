"""The read side (cosmicpython's views): the tenant's admin users and its audit log, read in
the caller's tenant (another tenant's user is simply not found), apart from the write use
cases in ``service_layer``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from .domain.model import AdminUser, AuditEntry, NotFound, Principal
from .service_layer.services import Services


async def list_users(
    s: Services, caller: Principal, offset: int, limit: int
) -> tuple[Sequence[AdminUser], int]:
    async with s.uow(caller.tenant_id) as uow:
        return await uow.users.list(offset, limit)


async def get_user(s: Services, caller: Principal, user_id: uuid.UUID) -> AdminUser:
    async with s.uow(caller.tenant_id) as uow:
        user = await uow.users.get(user_id)
    if user is None:
        raise NotFound("admin user not found")
    return user


async def list_audit_entries(
    s: Services,
    caller: Principal,
    offset: int,
    limit: int,
    actor: uuid.UUID | None = None,
    action: str | None = None,
) -> tuple[Sequence[AuditEntry], int]:
    async with s.uow(caller.tenant_id) as uow:
        return await uow.audit.list(offset, limit, actor, action)
