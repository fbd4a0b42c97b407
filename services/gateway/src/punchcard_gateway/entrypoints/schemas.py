"""Request and response models of the admin API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Form
from fastapi.security import OAuth2PasswordRequestForm
from punchcard_kit.bounds import TEXT_PATTERN, WHITE_SPACE, Text
from punchcard_kit.patterns import described
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, field_validator

from ..domain.model import AdminUser, AuditEntry, Role

# No @, white space or control character in a part, each named (bounds.WHITE_SPACE; the
# controls C0, DEL and C1; U+FEFF), not left to ``\s``: a JSON Schema client reads ``\s`` as
# ECMA-262 does (U+FEFF is one, U+0085 is not), the server's validator (pydantic's Rust regex)
# as Unicode does (the other way round); named, both refuse the same addresses.
_EMAIL_PART = rf"[^@{WHITE_SPACE}\x00-\x1f\x7f-\x9f\ufeff]+"
EMAIL_PATTERN = described(
    rf"^{_EMAIL_PART}@{_EMAIL_PART}\.{_EMAIL_PART}$", "an e-mail address (name@example.com)"
)
MIN_PASSWORD_LENGTH = 12

Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, max_length=254, pattern=EMAIL_PATTERN),
]
Name = Text(200, min_length=1)
Password = Text(256, min_length=MIN_PASSWORD_LENGTH, strip=False)
SiteId = Text(64, min_length=1)
SiteIds = Annotated[list[SiteId], Field(max_length=1000)]


# Examples for the OpenAPI (schema metadata only); each is valid for its model (a unit test
# checks them).
USER_EXAMPLE = {
    "id": "2d4f6a8c-0e1b-4c3d-9e5f-7a9b1c3d5e7f",
    "email": "grace.hopper@example.com",
    "name": "Grace Hopper",
    "role": "manager",
    "site_ids": ["site-north"],
    "active": True,
    "created_at": "2026-02-01T09:00:00Z",
    "updated_at": "2026-02-15T14:30:00Z",
    "locked_until": None,
}
AUDIT_EXAMPLE = {
    "id": "8f0a2c4e-6b8d-4f1a-a3c5-e7f9b1d3f5a7",
    "actor_id": USER_EXAMPLE["id"],
    "action": "PUT /api/v1/workers/{id}/pin",
    "target_id": "6f1c2b1e-3a4d-4c5b-9e8f-1a2b3c4d5e6f",
    "status_code": 200,
    "client_ip": "203.0.113.24",
    "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
    "request_id": "0f3a5c7e-9b1d-4f2a-8c4e-6a8b0d2f4a6c",
    "at": "2026-03-02T08:20:00Z",
    "clock_id": None,
    "repeated": False,
}


def _examples(*examples: dict) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples)})


def _unique(values: list[str] | None) -> list[str] | None:
    return None if values is None else list(dict.fromkeys(values))


class TenantCreate(BaseModel):
    """The bootstrap command line's input."""

    name: Name
    admin_email: Email
    admin_password: Password = Field(repr=False)
    admin_name: Name = "Administrator"


class UserCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "email": "grace.hopper@example.com",
                    "name": "Grace Hopper",
                    "role": "manager",
                    "password": "correct-horse-battery-staple",
                    "site_ids": ["site-north"],
                }
            ]
        },
    )
    email: Email
    name: Name
    role: Role
    password: Password = Field(repr=False)
    site_ids: SiteIds = Field(
        default_factory=list, description="For managers: the sites they manage"
    )

    _dedupe = field_validator("site_ids")(_unique)


class UserUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"role": "viewer", "site_ids": [], "active": True}]},
    )
    name: Name | None = None
    role: Role | None = None
    site_ids: SiteIds | None = None
    active: StrictBool | None = None

    _dedupe = field_validator("site_ids")(_unique)


class PasswordSet(BaseModel):
    """A sysadmin's new password for another admin."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"password": "a-new-long-passphrase"}]},
    )
    password: Password = Field(repr=False)


class PasswordChange(BaseModel):
    """An admin's own password, changed: the current one, then the new one."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"current_password": "correct-horse-battery", "new_password": "a-new-passphrase"}
            ]
        },
    )
    current_password: str = Field(
        repr=False, min_length=1, max_length=256, json_schema_extra={"format": "password"}
    )
    new_password: Password = Field(repr=False)


class UserPublic(BaseModel):
    model_config = _examples(USER_EXAMPLE)

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
    model_config = _examples({"data": [USER_EXAMPLE], "count": 1})

    data: list[UserPublic]
    count: int


class MePublic(UserPublic):
    model_config = _examples({**USER_EXAMPLE, "tenant_id": "1a3c5e7f-9b2d-4e6f-8a0c-2e4a6c8e0a2c"})

    tenant_id: uuid.UUID

    @classmethod
    def of(cls, user: AdminUser, now: datetime | None = None) -> MePublic:
        return cls(**UserPublic.of(user, now).model_dump(), tenant_id=user.tenant_id)


class TokenPublic(BaseModel):
    model_config = _examples(
        {
            "access_token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIyZDRmNmE4YyJ9.c2lnbmF0dXJl",
            "token_type": "bearer",
            "expires_in": 900,
            "refresh_token": "rt_Yx7Qk2Lm9Vb4Nw1Zc8Hd3Jf6",
        }
    )

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires")
    refresh_token: str = Field(description="Single use: each refresh returns a new one")


class LoginForm(OAuth2PasswordRequestForm):
    """The OAuth2 password form, bounded: ``username`` (the e-mail) is text a lookup can take
    (a NUL was a 500), the password at most as long as one can be set. As the OpenAPI says
    it: an empty field is a missing one to FastAPI's forms (so the password is at least one
    character), and ``grant_type`` is optional but never null (``str | None`` said a null,
    which a form can only send as the text "null", refused by its pattern)."""

    def __init__(
        self,
        *,
        grant_type: Annotated[str, Form(pattern="^password$")] = None,
        username: Annotated[str, Form(min_length=1, max_length=254, pattern=TEXT_PATTERN)],
        password: Annotated[
            str, Form(min_length=1, max_length=256, json_schema_extra={"format": "password"})
        ],
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
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"refresh_token": "rt_Yx7Qk2Lm9Vb4Nw1Zc8Hd3Jf6"}]},
    )
    refresh_token: str = Field(
        min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.~+/=-]+$", repr=False
    )


class AuditEntryPublic(BaseModel):
    model_config = _examples(AUDIT_EXAMPLE)

    id: uuid.UUID
    actor_id: uuid.UUID | None
    action: str
    target_id: str | None
    status_code: int
    client_ip: str | None
    user_agent: str | None
    request_id: str | None
    at: datetime | None
    clock_id: str | None = Field(
        default=None,
        description="An action at a kiosk app: its clock (the actor is then the worker signed"
        " in there)",
    )
    repeated: bool = Field(
        default=False,
        description="A correction sent again with its Idempotency-Key: answered as the first"
        " time, nothing changed (one correction, recorded twice)",
    )

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
            clock_id=entry.clock_id,
            repeated=entry.repeated,
        )


class AuditEntriesPublic(BaseModel):
    model_config = _examples({"data": [AUDIT_EXAMPLE], "count": 1})

    data: list[AuditEntryPublic]
    count: int
