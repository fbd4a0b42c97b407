"""Request and response models of the admin API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Form
from fastapi.security import OAuth2PasswordRequestForm
from punchcard_kit.bounds import TEXT_PATTERN, Text
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from ..domain.model import AdminUser, AuditEntry, Role

EMAIL_PATTERN = r"^[^@\s\x00-\x1f]+@[^@\s\x00-\x1f]+\.[^@\s\x00-\x1f]+$"
MIN_PASSWORD_LENGTH = 12

Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, max_length=254, pattern=EMAIL_PATTERN),
]
Name = Text(200, min_length=1)
Password = Text(256, min_length=MIN_PASSWORD_LENGTH, strip=False)
SiteId = Text(64, min_length=1)
SiteIds = Annotated[list[SiteId], Field(max_length=1000)]


def _unique(values: list[str] | None) -> list[str] | None:
    return None if values is None else list(dict.fromkeys(values))


class TenantCreate(BaseModel):
    """The bootstrap command line's input."""

    name: Name
    admin_email: Email
    admin_password: Password = Field(repr=False)
    admin_name: Name = "Administrator"


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Email
    name: Name
    role: Role
    password: Password = Field(repr=False)
    site_ids: SiteIds = Field(
        default_factory=list, description="For managers: the sites they manage"
    )

    _dedupe = field_validator("site_ids")(_unique)


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    role: Role | None = None
    site_ids: SiteIds | None = None
    active: bool | None = None

    _dedupe = field_validator("site_ids")(_unique)


class UserPublic(BaseModel):
    id: uuid.UUID
    email: str
    name: str
    role: Role
    site_ids: list[str]
    active: bool
    created_at: datetime | None
    updated_at: datetime | None
    # Set while the account is locked after repeated failed logins (null otherwise).
    locked_until: datetime | None = None

    @classmethod
    def of(cls, user: AdminUser, now: datetime | None = None) -> UserPublic:
        locked = user.locked_until
        if locked is not None and now is not None and locked <= now:
            locked = None
        return cls(
            locked_until=locked,
            id=user.id,
            email=user.email,
            name=user.name,
            role=user.role,
            site_ids=list(user.site_ids),
            active=user.active,
            created_at=user.created_at,
            updated_at=user.updated_at,
        )


class UsersPublic(BaseModel):
    data: list[UserPublic]
    count: int


class MePublic(UserPublic):
    tenant_id: uuid.UUID

    @classmethod
    def of(cls, user: AdminUser, now: datetime | None = None) -> MePublic:
        return cls(**UserPublic.of(user, now).model_dump(), tenant_id=user.tenant_id)


class TokenPublic(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires")
    refresh_token: str = Field(description="Single use: each refresh returns a new one")


class LoginForm(OAuth2PasswordRequestForm):
    """The OAuth2 password form, bounded: ``username`` (the e-mail) is text a lookup can take
    (a NUL was a 500), the password at most as long as one can be set."""

    def __init__(
        self,
        *,
        grant_type: Annotated[str | None, Form(pattern="^password$")] = None,
        username: Annotated[str, Form(min_length=1, max_length=254, pattern=TEXT_PATTERN)],
        password: Annotated[str, Form(max_length=256, json_schema_extra={"format": "password"})],
        scope: Annotated[str, Form(max_length=1000)] = "",
        client_id: Annotated[str | None, Form(max_length=200)] = None,
        client_secret: Annotated[str | None, Form(max_length=200)] = None,
    ) -> None:
        super().__init__(
            grant_type=grant_type,
            username=username,
            password=password,
            scope=scope,
            client_id=client_id,
            client_secret=client_secret,
        )


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refresh_token: str = Field(
        min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.~+/=-]+$", repr=False
    )


class AuditEntryPublic(BaseModel):
    id: uuid.UUID
    actor_id: uuid.UUID | None
    action: str
    target_id: str | None
    status_code: int
    client_ip: str | None
    user_agent: str | None
    request_id: str | None
    at: datetime | None

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryPublic:
        return cls(
            id=entry.id,
            actor_id=entry.actor_id,
            action=entry.action,
            target_id=entry.target_id,
            status_code=entry.status_code,
            client_ip=entry.client_ip,
            user_agent=entry.user_agent,
            request_id=entry.request_id,
            at=entry.at,
        )


class AuditEntriesPublic(BaseModel):
    data: list[AuditEntryPublic]
    count: int
