"""The unit of work: one transaction scoped to one tenant. It commits only when told to and
rolls back otherwise. The PostgreSQL implementation (adapters.postgres) also puts the
transaction under row-level security for that tenant; unit tests hand in fakes."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from ..domain.model import AdminUser, AuditEntry, RefreshToken, Tenant


class TenantsRepository(Protocol):
    async def add(self, tenant: Tenant) -> None: ...

    async def get(self, tenant_id: uuid.UUID) -> Tenant | None: ...


class UsersRepository(Protocol):
    async def add(self, user: AdminUser) -> None:
        """Raises Conflict (field ``email``) when the e-mail is taken."""

    async def get(self, user_id: uuid.UUID) -> AdminUser | None: ...

    async def get_by_email(self, email: str) -> AdminUser | None: ...

    async def list(self, offset: int, limit: int) -> tuple[Sequence[AdminUser], int]: ...

    async def update(self, user: AdminUser) -> None: ...


class RefreshTokensRepository(Protocol):
    async def add(self, token: RefreshToken) -> None: ...

    async def get_by_hash_for_update(self, token_hash: bytes) -> RefreshToken | None: ...

    async def mark_used(self, token_id: uuid.UUID, at: datetime) -> None: ...

    async def revoke_family(self, family_id: uuid.UUID, at: datetime) -> None: ...

    async def revoke_user(self, user_id: uuid.UUID, at: datetime) -> None: ...


class AuditRepository(Protocol):
    async def add(self, entry: AuditEntry) -> None: ...

    async def list(
        self, offset: int, limit: int, actor: uuid.UUID | None, action: str | None
    ) -> tuple[Sequence[AuditEntry], int]: ...


class Directory(Protocol):
    """The only reads that cross tenants: which tenant an e-mail or a refresh token belongs
    to (login and refresh must learn the tenant before they can open its transaction)."""

    async def tenant_of_email(self, email: str) -> uuid.UUID | None: ...

    async def tenant_of_refresh_token(self, token_hash: bytes) -> uuid.UUID | None: ...


class UnitOfWork(Protocol):
    tenants: TenantsRepository
    users: UsersRepository
    refresh_tokens: RefreshTokensRepository
    audit: AuditRepository
    directory: Directory

    async def __aenter__(self) -> UnitOfWork: ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def commit(self) -> None: ...


# Opens a unit of work for a tenant; ``None``: no tenant (lookups, anonymous audit rows).
UnitOfWorkFactory = Callable[[uuid.UUID | None], UnitOfWork]
