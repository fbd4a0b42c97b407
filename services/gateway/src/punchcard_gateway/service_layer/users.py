"""Tenants and their admin users. Every call runs in the caller's tenant: another tenant's
user is simply not found (404), never forbidden (403)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from ..domain.login import account_key
from ..domain.model import (
    AdminUser,
    NotFound,
    Principal,
    Role,
    Tenant,
    normalise_email,
    own_account_refusal,
    sites_refusal,
)
from .services import Services


@dataclass(frozen=True)
class CreateTenant:
    name: str
    admin_email: str
    admin_password: str
    admin_name: str = "Administrator"


@dataclass(frozen=True)
class CreateUser:
    email: str
    name: str
    role: Role
    password: str
    site_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class UpdateUser:
    """Only the fields given change."""

    name: str | None = None
    role: Role | None = None
    site_ids: tuple[str, ...] | None = None
    active: bool | None = None


async def create_tenant(s: Services, command: CreateTenant) -> tuple[Tenant, AdminUser]:
    """A new tenant and its first sysadmin (the bootstrap command line)."""
    tenant = Tenant(id=uuid.uuid4(), name=command.name.strip())
    admin = AdminUser(
        id=uuid.uuid4(),
        tenant_id=tenant.id,
        email=normalise_email(command.admin_email),
        name=command.admin_name,
        role=Role.SYSADMIN,
        site_ids=(),
        password_hash=await s.hasher.hash(command.admin_password),
    )
    async with s.uow(tenant.id) as uow:
        await uow.tenants.add(tenant)
        await uow.users.add(admin)
        await uow.commit()
    return tenant, admin


async def create_user(s: Services, caller: Principal, command: CreateUser) -> AdminUser:
    if refusal := sites_refusal(command.role, command.site_ids):
        raise refusal
    user = AdminUser(
        id=uuid.uuid4(),
        tenant_id=caller.tenant_id,
        email=normalise_email(command.email),
        name=command.name,
        role=command.role,
        site_ids=command.site_ids,
        password_hash=await s.hasher.hash(command.password),
    )
    async with s.uow(caller.tenant_id) as uow:
        await uow.users.add(user)
        # As stored: its created_at and updated_at are the database's (the answer had none).
        stored = await uow.users.get(user.id)
        await uow.commit()
    assert stored is not None
    return stored


async def update_user(
    s: Services, caller: Principal, user_id: uuid.UUID, command: UpdateUser
) -> AdminUser:
    async with s.uow(caller.tenant_id) as uow:
        user = await uow.users.get(user_id)
        if user is None:
            raise NotFound("admin user not found")
        if user.id == caller.user_id and (
            refusal := own_account_refusal(
                changes_role=command.role is not None and command.role != user.role,
                deactivates=command.active is False,
            )
        ):
            raise refusal
        changes: dict[str, object] = {}
        for name in ("name", "role", "site_ids", "active"):
            value = getattr(command, name)
            if value is not None:
                changes[name] = value
        updated = user.changed(**changes)
        if refusal := sites_refusal(updated.role, updated.site_ids):
            raise refusal
        await uow.users.update(updated)
        if user.active and not updated.active:
            # Deactivated: no refresh token of theirs works any more.
            await uow.refresh_tokens.revoke_user(user.id, s.now())
        await uow.commit()
    return updated


async def set_password(
    s: Services, caller: Principal, user_id: uuid.UUID, password: str
) -> AdminUser:
    """A sysadmin gives another admin a new password (one who forgot theirs): their login
    lock and failed logins go, and every session of theirs ends (their refresh tokens are
    revoked), so only the new password signs them in. Their own is changed with the current
    one (``auth.change_own_password``)."""
    if refusal := own_account_refusal(sets_password=user_id == caller.user_id):
        raise refusal
    password_hash = await s.hasher.hash(password)
    async with s.uow(caller.tenant_id) as uow:
        user = await uow.users.get(user_id)
        if user is None:
            raise NotFound("admin user not found")
        updated = user.changed(password_hash=password_hash, failed_logins=0, locked_until=None)
        await uow.users.update(updated)
        await uow.refresh_tokens.revoke_user(user.id, s.now())
        await uow.commit()
    if s.throttle is not None:
        await s.throttle.clear(account_key(updated.email))
    return updated


async def unlock_user(s: Services, caller: Principal, user_id: uuid.UUID) -> AdminUser:
    """A sysadmin lifts a login lock at once: the lock and the failure count go, and so do
    the account's failed logins in the throttle's window (the client's stay)."""
    async with s.uow(caller.tenant_id) as uow:
        user = await uow.users.get(user_id)
        if user is None:
            raise NotFound("admin user not found")
        updated = user.changed(failed_logins=0, locked_until=None)
        await uow.users.update(updated)
        await uow.commit()
    if s.throttle is not None:
        await s.throttle.clear(account_key(user.email))
    return updated
