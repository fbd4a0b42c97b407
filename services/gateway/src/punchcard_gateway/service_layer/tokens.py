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


def decode_hs256(
    token: str,
    secret: str,
    *,
    audience: str,
    required: tuple[str, ...],
    now: float,
    verify_iat: bool = True,
) -> dict:
    """The claims of one of our HS256 tokens for ``audience`` with every ``required`` claim;
    its expiry checked against ``now`` (our clock, injected in tests), not PyJWT's. Raises
    ``jwt.ExpiredSignatureError`` when expired, another ``jwt.PyJWTError`` when not ours."""
    claims = jwt.decode(
        token,
        secret,
        algorithms=["HS256"],
        audience=audience,
        options={"require": list(required), "verify_exp": False, "verify_iat": verify_iat},
    )
    if not isinstance(claims["exp"], int) or claims["exp"] <= now:
        raise jwt.ExpiredSignatureError("expired")
    return claims


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
            claims = decode_hs256(
                token,
                self.secret,
                audience=AUDIENCE,
                required=("exp", "iat", "aud", "sub", "tenant", "role"),
                now=self.clock(),
                verify_iat=False,
            )
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
