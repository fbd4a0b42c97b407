"""Login (e-mail and password → access + refresh token), refresh with rotation and reuse
detection, and the current admin."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..domain.login import Busy, TooManyAttempts, after_failure, is_locked, throttle_keys
from ..domain.model import (
    AdminUser,
    AuditEntry,
    InvalidCredentials,
    InvalidRefreshToken,
    Principal,
    RefreshToken,
    Unauthenticated,
    WrongPassword,
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


@dataclass(frozen=True)
class Client:
    """Where a request came from (the real client: uvicorn applies ``FORWARDED_ALLOW_IPS``),
    for the throttle and the audit rows the use case writes itself."""

    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


LOCK_ACTION = "LOCK /api/v1/users/{id}"


async def login(s: Services, email: str, password: str, client: Client = Client()) -> IssuedTokens:
    """Raises TooManyAttempts (429) when the account's or the client's failed logins fill
    their window — before any password work; otherwise InvalidCredentials — one message
    whether the e-mail is unknown, the password wrong, the account inactive or locked —
    after the same argon2 work in every case."""
    assert s.throttle is not None, "login needs the failed-login throttle"
    email = normalise_email(email)
    policy = s.login_policy
    keys = throttle_keys(email, client.ip, policy)
    wait_s, slot = await s.throttle.take(keys, policy.window_s)
    if wait_s:
        raise TooManyAttempts(wait_s)
    try:
        issued = await _login(s, email, password, client)
    except Busy:
        # No password was checked: this attempt was no guess.
        await s.throttle.give_back(keys, slot)
        raise
    # Only failures count: a success gives its slot back.
    await s.throttle.give_back(keys, slot)
    return issued


async def _login(s: Services, email: str, password: str, client: Client) -> IssuedTokens:
    async with s.uow(None) as lookup:
        tenant_id = await lookup.directory.tenant_of_email(email)
    if tenant_id is None:
        await s.hasher.burn(password)
        raise InvalidCredentials()
    now = s.now()
    async with s.uow(tenant_id) as uow:
        user = await uow.users.get_by_email(email)
        if user is None:  # deleted between the two transactions
            await s.hasher.burn(password)
            raise InvalidCredentials(tenant_id)
        if is_locked(user.locked_until, now):
            # Refused even with the right password, after the same work as a check.
            await s.hasher.burn(password)
            raise InvalidCredentials(tenant_id, user.id)
        if not await s.hasher.verify(user.password_hash, password):
            if user.active:
                await _count_failure(s, uow, user, now, client)
            raise InvalidCredentials(tenant_id, user.id)
        if not user.active:
            raise InvalidCredentials(tenant_id, user.id)
        changes: dict[str, object] = {}
        if s.hasher.needs_rehash(user.password_hash):
            changes["password_hash"] = await s.hasher.hash(password)
        if user.failed_logins or user.locked_until is not None:
            changes.update(failed_logins=0, locked_until=None)
        if changes:
            user = user.changed(**changes)
            await uow.users.update(user)
        refresh = await _issue_refresh(s, uow, user, family_id=uuid.uuid4())
        await uow.commit()
    return _tokens(s, user, refresh)


async def _count_failure(
    s: Services, uow: UnitOfWork, user: AdminUser, now: datetime, client: Client
) -> None:
    """One more consecutive failure; the one that locks the account writes its own audit
    row (actor none, target the account, 423) in the same transaction."""
    outcome = after_failure(user.failed_logins, user.locked_until, now, s.login_policy)
    await uow.users.update(
        user.changed(failed_logins=outcome.failed_logins, locked_until=outcome.locked_until)
    )
    if outcome.locked_now:
        await uow.audit.add(
            AuditEntry(
                tenant_id=user.tenant_id,
                actor_id=None,
                action=LOCK_ACTION,
                target_id=str(user.id),
                status_code=423,
                client_ip=client.ip,
                user_agent=client.user_agent,
                request_id=client.request_id,
            )
        )
    await uow.commit()


async def logout(s: Services, token: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    """Sign-out: the whole family of the presented refresh token (this login) is revoked.
    Answers (tenant, user) of a known token, None for an unknown one (nothing to do)."""
    token_hash = hash_refresh_token(token)
    async with s.uow(None) as lookup:
        tenant_id = await lookup.directory.tenant_of_refresh_token(token_hash)
    if tenant_id is None:
        return None
    async with s.uow(tenant_id) as uow:
        stored = await uow.refresh_tokens.get_by_hash_for_update(token_hash)
        if stored is None:
            return None
        await uow.refresh_tokens.revoke_family(stored.family_id, s.now())
        await uow.commit()
    return tenant_id, stored.user_id


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


async def change_own_password(
    s: Services, principal: Principal, current: str, new: str, client: Client = Client()
) -> IssuedTokens:
    """An admin changes their own password, giving the current one: a wrong one is 403
    ``WRONG_PASSWORD`` and counts as a failed login (it is the same guess, and a locked
    account is refused as at login). Every session of theirs ends (their refresh tokens are
    revoked: one signed in elsewhere with the old password is signed out), and this one goes
    on with the tokens answered."""
    now = s.now()
    async with s.uow(principal.tenant_id) as uow:
        user = await uow.users.get(principal.user_id)
        if user is None or not user.active:
            raise Unauthenticated("this account is no longer active")
        if is_locked(user.locked_until, now):
            await s.hasher.burn(current)
            raise WrongPassword()
        if not await s.hasher.verify(user.password_hash, current):
            await _count_failure(s, uow, user, now, client)
            raise WrongPassword()
        user = user.changed(
            password_hash=await s.hasher.hash(new), failed_logins=0, locked_until=None
        )
        await uow.users.update(user)
        await uow.refresh_tokens.revoke_user(user.id, now)
        refresh = await _issue_refresh(s, uow, user, family_id=uuid.uuid4())
        await uow.commit()
    return _tokens(s, user, refresh)


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
