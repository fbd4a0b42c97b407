"""Tenants, admin users, the authenticated principal, refresh tokens, and the errors of the
admin API (the kit's family, each with a stable code; the kit maps them to HTTP statuses)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

# The kit's error family, re-exported: the domain and service layers import them from here.
from punchcard_kit.errors import Conflict as Conflict
from punchcard_kit.errors import DomainError as DomainError
from punchcard_kit.errors import Forbidden as Forbidden
from punchcard_kit.errors import Invalid as Invalid
from punchcard_kit.errors import NotFound as NotFound
from punchcard_kit.errors import TooLarge as TooLarge
from punchcard_kit.errors import TooManyRequests as TooManyRequests
from punchcard_kit.errors import Unauthenticated as Unauthenticated
from punchcard_kit.errors import Unavailable as Unavailable


class Role(StrEnum):
    SYSADMIN = "sysadmin"  # everything, including PINs, clocks and admin users
    MANAGER = "manager"  # workers and reports of the sites they manage
    VIEWER = "viewer"  # read-only


ANY_ROLE: frozenset[Role] = frozenset(Role)
MANAGERS: frozenset[Role] = frozenset({Role.SYSADMIN, Role.MANAGER})
SYSADMIN_ONLY: frozenset[Role] = frozenset({Role.SYSADMIN})


@dataclass(frozen=True)
class Tenant:
    id: uuid.UUID
    name: str


@dataclass(frozen=True)
class AdminUser:
    id: uuid.UUID
    tenant_id: uuid.UUID
    email: str
    name: str
    role: Role
    site_ids: tuple[str, ...]
    password_hash: str = field(repr=False)
    active: bool = True
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # Consecutive wrong passwords since the last success or lock (domain.login).
    failed_logins: int = 0
    locked_until: datetime | None = None

    def principal(self) -> Principal:
        return Principal(
            user_id=self.id, tenant_id=self.tenant_id, role=self.role, sites=self.site_ids
        )

    def changed(self, **changes: object) -> AdminUser:
        return replace(self, **changes)


@dataclass(frozen=True)
class Principal:
    """Who is calling the admin API: read from a verified access token."""

    user_id: uuid.UUID
    tenant_id: uuid.UUID
    role: Role
    sites: tuple[str, ...] = ()

    def is_one_of(self, roles: frozenset[Role]) -> bool:
        return self.role in roles


@dataclass(frozen=True)
class RefreshToken:
    """One link of a refresh-token family. Only the SHA-256 of the token is ever stored."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    family_id: uuid.UUID
    token_hash: bytes = field(repr=False)
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class AuditEntry:
    """One admin action: who, what (method and route template, and the target's id), the
    outcome, from where, when. Never a request body: PINs and passwords travel in bodies."""

    tenant_id: uuid.UUID | None
    actor_id: uuid.UUID | None
    action: str
    target_id: str | None
    status_code: int
    client_ip: str | None
    user_agent: str | None
    request_id: str | None
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    at: datetime | None = None
    # An action taken at a kiosk app (a face enrolled there): its clock; the actor is then the
    # worker signed in at it (a Manager or Administrator of that clock), not an admin user.
    clock_id: str | None = None
    # A keyed request (Idempotency-Key) made before and sent again: the service answered as the
    # first time and changed nothing (its Idempotent-Replayed header), so it is one action.
    repeated: bool = False


def own_account_refusal(
    *, changes_role: bool = False, deactivates: bool = False, sets_password: bool = False
) -> Forbidden | None:
    """What a sysadmin may not do to their own account, or None: change their role or
    deactivate themselves, which could lock them (and maybe the tenant) out, or set their
    password without the current one (``POST /api/v1/me/password`` asks it: an access token
    alone must not take the account over). Another sysadmin may; so the answer is 403
    ``OWN_ACCOUNT`` (not a 422: the request itself is valid)."""
    if sets_password:
        return Forbidden(
            "change your own password with your current one (POST /api/v1/me/password)",
            "password",
            code="OWN_ACCOUNT",
        )
    if changes_role:
        return Forbidden("you cannot change your own role", "role", code="OWN_ACCOUNT")
    if deactivates:
        return Forbidden("you cannot deactivate yourself", "active", code="OWN_ACCOUNT")
    return None


def sites_refusal(role: Role, site_ids: tuple[str, ...] | list[str]) -> Invalid | None:
    """A manager acts on their sites only (every service scopes them by ``site_ids``): one of no
    site could sign in and see nothing, and change nothing. So a manager (made, or changed to)
    has at least one site: 422 ``INVALID``, field ``site_ids``."""
    if role is Role.MANAGER and not site_ids:
        return Invalid("a manager needs at least one site", "site_ids")
    return None


def normalise_email(email: str) -> str:
    return email.strip().lower()


# --- errors ---------------------------------------------------------------------------------
# The kit's family (punchcard_kit.errors): the kit's HTTP layer maps each to its status once.
# The gateway's own are subclasses with their own codes.


class InvalidCredentials(Unauthenticated):
    """Wrong e-mail or password: one message for both, so no e-mail can be enumerated.
    Carries what the audit log may know about the attempt (never the e-mail or password)."""

    MESSAGE = "incorrect email or password"

    def __init__(
        self, tenant_id: uuid.UUID | None = None, user_id: uuid.UUID | None = None
    ) -> None:
        super().__init__(self.MESSAGE)
        self.tenant_id = tenant_id
        self.user_id = user_id


class WrongPassword(Forbidden):
    """A password change whose current password is not the account's (403: the caller is
    signed in, and may not make this change)."""

    code = "WRONG_PASSWORD"

    def __init__(self) -> None:
        super().__init__("the current password is not right", "current_password")


class InvalidRefreshToken(Unauthenticated):
    MESSAGE = "invalid or expired refresh token"

    def __init__(
        self, tenant_id: uuid.UUID | None = None, user_id: uuid.UUID | None = None
    ) -> None:
        super().__init__(self.MESSAGE)
        self.tenant_id = tenant_id
        self.user_id = user_id
