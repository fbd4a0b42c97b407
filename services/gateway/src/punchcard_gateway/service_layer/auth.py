"""Login (e-mail and password → access + refresh token), refresh with rotation and reuse
detection, and the current admin."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from ..domain.model import (
    AdminUser,
    InvalidCredentials,
    InvalidRefreshToken,
    Principal,
    RefreshToken,
    Unauthenticated,
    normalise_email,
)
from .services import Services
from .tokens import hash_refresh_token, new_refresh_token
from .unit_of_work import UnitOfWork


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str = ""
    expires_in: int = 0
    refresh_token: str = ""
    user: AdminUser | None = None


async def login(s: Services, email: str, password: str) -> IssuedTokens:
    """Raises InvalidCredentials — one message whether the e-mail is unknown, the password
    wrong or the account inactive — after the same argon2 work in every case."""
    email = normalise_email(email)
    async with s.uow(None) as lookup:
        tenant_id = await lookup.directory.tenant_of_email(email)
    if tenant_id is None:
        await s.hasher.burn(password)
        raise InvalidCredentials()
    async with s.uow(tenant_id) as uow:
        user = await uow.users.get_by_email(email)
        if user is None:  # deleted between the two transactions
            await s.hasher.burn(password)
            raise InvalidCredentials(tenant_id)
        if not await s.hasher.verify(user.password_hash, password) or not user.active:
            raise InvalidCredentials(tenant_id, user.id)
        if s.hasher.needs_rehash(user.password_hash):
            await uow.users.update(user.changed(password_hash=await s.hasher.hash(password)))
        refresh = await _issue_refresh(s, uow, user, family_id=uuid.uuid4())
        await uow.commit()
    return _tokens(s, user, refresh)


async def refresh(s: Services, token: str) -> IssuedTokens:
    """Rotate: the presented token is spent and a new one of the same family is issued. A
    token presented a second time means it was copied: the whole family is revoked."""
    token_hash = hash_refresh_token(token)
    async with s.uow(None) as lookup:
        tenant_id = await lookup.directory.tenant_of_refresh_token(token_hash)
    if tenant_id is None:
        raise InvalidRefreshToken()
    now = s.now()
    async with s.uow(tenant_id) as uow:
        stored = await uow.refresh_tokens.get_by_hash_for_update(token_hash)
        if stored is None or stored.revoked_at is not None:
            raise InvalidRefreshToken(tenant_id)
        if stored.used_at is not None:
            await uow.refresh_tokens.revoke_family(stored.family_id, now)
            await uow.commit()
            raise InvalidRefreshToken(tenant_id, stored.user_id)
        if stored.expires_at <= now:
            raise InvalidRefreshToken(tenant_id, stored.user_id)
        user = await uow.users.get(stored.user_id)
        if user is None or not user.active:
            await uow.refresh_tokens.revoke_family(stored.family_id, now)
            await uow.commit()
            raise InvalidRefreshToken(tenant_id, stored.user_id)
        await uow.refresh_tokens.mark_used(stored.id, now)
        new = await _issue_refresh(s, uow, user, family_id=stored.family_id)
        await uow.commit()
    return _tokens(s, user, new)


async def current_user(s: Services, principal: Principal) -> AdminUser:
    async with s.uow(principal.tenant_id) as uow:
        user = await uow.users.get(principal.user_id)
    if user is None or not user.active:
        raise Unauthenticated("this account is no longer active")
    return user


async def _issue_refresh(
    s: Services, uow: UnitOfWork, user: AdminUser, family_id: uuid.UUID
) -> str:
    token, token_hash = new_refresh_token()
    now = s.now()
    await uow.refresh_tokens.add(
        RefreshToken(
            id=uuid.uuid4(),
            tenant_id=user.tenant_id,
            user_id=user.id,
            family_id=family_id,
            token_hash=token_hash,
            issued_at=now,
            expires_at=now + timedelta(seconds=s.refresh_ttl_s),
        )
    )
    return token


def _tokens(s: Services, user: AdminUser, refresh_token: str) -> IssuedTokens:
    return IssuedTokens(
        access_token=s.access_tokens.mint(user.principal()),
        expires_in=s.access_tokens.ttl_s,
        refresh_token=refresh_token,
        user=user,
    )
