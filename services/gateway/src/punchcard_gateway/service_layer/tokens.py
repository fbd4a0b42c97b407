"""Admin access tokens (JWT, HS256, short-lived) and refresh tokens (opaque, random, stored
only as their SHA-256)."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import jwt

from ..domain.model import Principal, Role, Unauthenticated

AUDIENCE = "punchcard-admin"
ACCESS_TOKEN_TTL_S = 15 * 60
REFRESH_TOKEN_TTL_S = 14 * 24 * 3600


@dataclass(frozen=True)
class AccessTokens:
    """Mints and verifies the admin's bearer token. Claims: sub (admin user id), tenant, role,
    sites, iat, exp, aud ``punchcard-admin`` (so no other token of ours passes for one)."""

    secret: str
    ttl_s: int = ACCESS_TOKEN_TTL_S
    clock: Callable[[], float] = time.time

    def mint(self, principal: Principal) -> str:
        now = int(self.clock())
        claims = {
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + self.ttl_s,
            "sub": str(principal.user_id),
            "tenant": str(principal.tenant_id),
            "role": principal.role.value,
            "sites": list(principal.sites),
        }
        return jwt.encode(claims, self.secret, algorithm="HS256")

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=["HS256"],
                audience=AUDIENCE,
                # Expiry is checked below against our clock (injected in tests).
                options={
                    "require": ["exp", "iat", "aud", "sub", "tenant", "role"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
            if not isinstance(claims["exp"], int) or claims["exp"] <= self.clock():
                raise jwt.ExpiredSignatureError("expired")
            return Principal(
                user_id=uuid.UUID(claims["sub"]),
                tenant_id=uuid.UUID(claims["tenant"]),
                role=Role(claims["role"]),
                sites=tuple(str(s) for s in claims.get("sites") or ()),
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("access token expired") from None
        except (jwt.PyJWTError, ValueError, TypeError):
            raise Unauthenticated("invalid access token") from None


def new_refresh_token() -> tuple[str, bytes]:
    """A fresh opaque token (256 random bits, URL-safe) and the hash that is stored."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
