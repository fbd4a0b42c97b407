"""Who is calling, between services: the gateway authenticates the admin (or the clock) and
attaches a short-lived token naming the caller; a service trusts only that token.

    Authorization: Bearer <JWT, EdDSA (Ed25519), iss "punchcard-gateway",
                           aud "punchcard-<target service>", exp <= 60 s>
    claims: sub (admin user id, or the clock id for role "clock"), tenant, role, sites, ip,
            rid (request id)

Only the gateway holds the signing (private) key, INTERNAL_TOKEN_PRIVATE_KEY; every service
verifies with the public key alone, INTERNAL_TOKEN_PUBLIC_KEY, so a compromised service (e.g.
face-match, which decodes untrusted images) cannot mint a token for any other service, nor for
itself. Each token names the one service it is for (its audience), and a service refuses a token
for another: a token the gateway sent to face-match is worth nothing at identity. Only EdDSA is
accepted (an HS256 token, or one signed by another key, is refused).

Services never see admins' own tokens or passwords. A service behind the gateway still checks
the tenant on every query (and PostgreSQL row-level security underneath)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key
from fastapi import HTTPException, Request

from .caller import Caller

ALGORITHM = "EdDSA"
ISSUER = "punchcard-gateway"
AUDIENCE_PREFIX = "punchcard-"
# Admins' roles, and "clock": the kiosk edge asking on a kiosk's behalf (sub = the clock id,
# tenant = the clock's tenant), e.g. for the outcome of the clock's own punch attempt. A
# service answers a clock caller only on the endpoints meant for it.
ROLES = ("sysadmin", "manager", "viewer", "clock")


def audience_of(service_name: str) -> str:
    """The audience of tokens for one service: ``punchcard-identity``, ``punchcard-punch``..."""
    return AUDIENCE_PREFIX + service_name


class InvalidInternalKey(ValueError):
    """A configured key is not an Ed25519 key of the expected kind (PEM)."""


def _pem(text: str) -> bytes:
    # An environment variable may carry the PEM's line breaks as literal "\n".
    return text.strip().replace("\\n", "\n").encode()


def load_signing_key(pem: str | Ed25519PrivateKey) -> Ed25519PrivateKey:
    """The gateway's private key (PKCS#8 PEM, Ed25519)."""
    if isinstance(pem, Ed25519PrivateKey):
        return pem
    try:
        key = load_pem_private_key(_pem(pem), password=None)
    except (ValueError, TypeError) as error:
        raise InvalidInternalKey(f"not a PEM private key: {error}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInternalKey("not an Ed25519 private key")
    return key


def load_verifying_key(pem: str | Ed25519PublicKey) -> Ed25519PublicKey:
    """The public key every service verifies with (SubjectPublicKeyInfo PEM, Ed25519)."""
    if isinstance(pem, Ed25519PublicKey):
        return pem
    try:
        key = load_pem_public_key(_pem(pem))
    except (ValueError, TypeError) as error:
        raise InvalidInternalKey(f"not a PEM public key: {error}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInternalKey("not an Ed25519 public key")
    return key


def same_key_pair(private: str | Ed25519PrivateKey, public: str | Ed25519PublicKey) -> bool:
    return load_signing_key(private).public_key() == load_verifying_key(public)


class InvalidInternalToken(Exception):
    pass


def mint_internal_token(
    caller: Caller,
    signing_key: str | Ed25519PrivateKey,
    audience: str | Sequence[str],
    ttl_s: int = 60,
) -> str:
    """A token for ``audience`` (``audience_of(<target service>)``), signed with the gateway's
    private key. Only the gateway (and tests) hold one: a public key cannot sign."""
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": audience if isinstance(audience, str) else list(audience),
        "iat": now,
        "exp": now + ttl_s,
        "sub": caller.user_id,
        "tenant": caller.tenant_id,
        "role": caller.role,
        "sites": list(caller.sites),
        "ip": caller.ip,
        "rid": caller.request_id,
    }
    return jwt.encode(claims, load_signing_key(signing_key), algorithm=ALGORITHM)


def verify_internal_token(
    token: str, verifying_key: str | Ed25519PublicKey, audience: str
) -> Caller:
    """The Caller a token for ``audience`` names; InvalidInternalToken for any other token
    (another audience, another key, another algorithm, expired, malformed)."""
    try:
        claims = jwt.decode(
            token,
            load_verifying_key(verifying_key),
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=ISSUER,
            options={"require": ["exp", "iss", "aud", "sub", "tenant", "role"]},
        )
    except jwt.PyJWTError as error:
        raise InvalidInternalToken(str(error)) from None
    if claims["role"] not in ROLES:
        raise InvalidInternalToken(f"unknown role {claims['role']!r}")
    try:
        uuid.UUID(claims["tenant"])
    except (ValueError, TypeError, AttributeError):
        raise InvalidInternalToken("tenant is not a UUID") from None
    return Caller(
        tenant_id=claims["tenant"],
        user_id=claims["sub"],
        role=claims["role"],
        sites=tuple(claims.get("sites") or ()),
        ip=claims.get("ip"),
        request_id=claims.get("rid") or str(uuid.uuid4()),
    )


@dataclass(frozen=True)
class InternalTokenVerifier:
    """What a service verifies with: the gateway's public key and its own audience."""

    key: Ed25519PublicKey
    audience: str

    @classmethod
    def for_service(cls, public_key_pem: str, service_name: str) -> InternalTokenVerifier:
        return cls(load_verifying_key(public_key_pem), audience_of(service_name))

    def verify(self, token: str) -> Caller:
        return verify_internal_token(token, self.key, self.audience)


ADMIN_ROLES = ("sysadmin", "manager", "viewer")


async def current_caller(request: Request) -> Caller:
    """FastAPI dependency for services built by create_service_app (which keeps the verifier on
    ``app.state``): the verified Caller — an admin; a clock caller is refused (403) here, so a
    clock token can never read an admin endpoint — or 401 with the error model."""
    return await caller_dependency(lambda: request.app.state.internal_token_verifier)(request)


async def current_caller_or_clock(request: Request) -> Caller:
    """As ``current_caller``, also accepting a clock caller: only for endpoints meant for
    clocks (which must then limit a clock to what is its own)."""
    dependency = caller_dependency(
        lambda: request.app.state.internal_token_verifier, allow_clock=True
    )
    return await dependency(request)


def caller_dependency(verifier: Callable[[], InternalTokenVerifier], *, allow_clock: bool = False):
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
            caller = verifier().verify(token)
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
