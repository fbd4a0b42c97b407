"""Who is calling, between services: the gateway authenticates the admin (or the clock) and
attaches a short-lived token naming the caller; a service trusts only that token.

    Authorization: Bearer <JWT, HS256, aud "punchcard-internal", exp ≤ 60 s>
    claims: sub (admin user id, or the clock id for role "clock"), tenant, role, sites, ip,
            rid (request id)

Services never see admins' own tokens or passwords. A service behind the gateway still checks
the tenant on every query (and PostgreSQL row-level security underneath)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import jwt
from fastapi import HTTPException, Request

AUDIENCE = "punchcard-internal"
# Admins' roles, and "clock": the kiosk edge asking on a kiosk's behalf (sub = the clock id,
# tenant = the clock's tenant), e.g. for the outcome of the clock's own punch attempt. A
# service answers a clock caller only on the endpoints meant for it.
ROLES = ("sysadmin", "manager", "viewer", "clock")


class InvalidInternalToken(Exception):
    pass


@dataclass(frozen=True)
class Caller:
    tenant_id: str
    user_id: str
    role: str
    sites: tuple[str, ...] = ()
    ip: str | None = None
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def can(self, *roles: str) -> bool:
        return self.role in roles

    def site_scope(self) -> tuple[str, ...] | None:
        """The one site-scoping rule, applied by every service that owns data: the sites this
        caller may act on — None for every site of the tenant (a sysadmin; a viewer, who only
        reads), a manager's own sites, and none at all for any other caller (a clock)."""
        if self.role in ("sysadmin", "viewer"):
            return None
        return self.sites if self.role == "manager" else ()

    def may_act_on_site(self, site_id: str | None) -> bool:
        """Whether the caller may see or act on what belongs to ``site_id`` (a worker, a clock,
        a punch); an unknown site (None or empty) only for a caller of every site."""
        scope = self.site_scope()
        return scope is None or (bool(site_id) and site_id in scope)


def mint_internal_token(caller: Caller, secret: str, ttl_s: int = 60) -> str:
    now = int(time.time())
    claims = {
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + ttl_s,
        "sub": caller.user_id,
        "tenant": caller.tenant_id,
        "role": caller.role,
        "sites": list(caller.sites),
        "ip": caller.ip,
        "rid": caller.request_id,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def verify_internal_token(token: str, secret: str) -> Caller:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=AUDIENCE,
            options={"require": ["exp", "aud", "sub", "tenant", "role"]},
        )
    except jwt.PyJWTError as error:
        raise InvalidInternalToken(str(error)) from None
    if claims["role"] not in ROLES:
        raise InvalidInternalToken(f"unknown role {claims['role']!r}")
    try:
        uuid.UUID(claims["tenant"])
    except ValueError:
        raise InvalidInternalToken("tenant is not a UUID") from None
    return Caller(
        tenant_id=claims["tenant"],
        user_id=claims["sub"],
        role=claims["role"],
        sites=tuple(claims.get("sites") or ()),
        ip=claims.get("ip"),
        request_id=claims.get("rid") or str(uuid.uuid4()),
    )


ADMIN_ROLES = ("sysadmin", "manager", "viewer")


async def current_caller(request: Request) -> Caller:
    """FastAPI dependency for services built by create_service_app (which keeps the secret on
    ``app.state``): the verified Caller — an admin; a clock caller is refused (403) here, so a
    clock token can never read an admin endpoint — or 401 with the error model."""
    return await caller_dependency(lambda: request.app.state.internal_token_secret)(request)


async def current_caller_or_clock(request: Request) -> Caller:
    """As ``current_caller``, also accepting a clock caller: only for endpoints meant for
    clocks (which must then limit a clock to what is its own)."""
    dependency = caller_dependency(
        lambda: request.app.state.internal_token_secret, allow_clock=True
    )
    return await dependency(request)


def caller_dependency(secret: Callable[[], str], *, allow_clock: bool = False):
    """A FastAPI dependency: the verified Caller, or 401 with the error model (403 for a
    clock caller unless ``allow_clock``)."""

    async def current_caller(request: Request) -> Caller:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise HTTPException(
                401, {"code": "UNAUTHENTICATED", "message": "missing credentials", "field": None}
            )
        try:
            caller = verify_internal_token(token, secret())
        except InvalidInternalToken:
            raise HTTPException(
                401, {"code": "UNAUTHENTICATED", "message": "invalid credentials", "field": None}
            ) from None
        if caller.role not in ADMIN_ROLES and not allow_clock:
            raise HTTPException(
                403, {"code": "FORBIDDEN", "message": "not for clock callers", "field": None}
            )
        return caller

    return current_caller
