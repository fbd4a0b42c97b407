"""Admin access tokens: claims, expiry against an injected clock, and what is refused."""

import uuid

import jwt
import pytest
from punchcard_gateway.domain.model import Principal, Role, Unauthenticated
from punchcard_gateway.service_layer.tokens import (
    AccessTokens,
    hash_refresh_token,
    new_refresh_token,
)
from punchcard_kit.internal_auth import Caller, audience_of, mint_internal_token
from punchcard_kit.settings import DEVELOPMENT_INTERNAL_PRIVATE_KEY

SECRET = "a" * 40


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _principal(**kw) -> Principal:
    return Principal(
        user_id=uuid.uuid4(),
        tenant_id=uuid.uuid4(),
        role=kw.pop("role", Role.MANAGER),
        sites=kw.pop("sites", ("north",)),
    )


def test_round_trip_and_claims():
    clock = Clock()
    tokens = AccessTokens(SECRET, clock=clock)
    principal = _principal()
    token = tokens.mint(principal)
    assert tokens.verify(token) == principal
    claims = jwt.decode(
        token,
        SECRET,
        algorithms=["HS256"],
        audience="punchcard-admin",
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert claims["iat"] == int(clock.now)
    assert (claims["sub"], claims["tenant"], claims["role"], claims["sites"]) == (
        str(principal.user_id),
        str(principal.tenant_id),
        "manager",
        ["north"],
    )


def test_expires_after_fifteen_minutes():
    clock = Clock()
    tokens = AccessTokens(SECRET, clock=clock)
    token = tokens.mint(_principal())
    clock.now += 15 * 60 - 1
    tokens.verify(token)
    clock.now += 1
    with pytest.raises(Unauthenticated, match="expired"):
        tokens.verify(token)


def test_wrong_key_tampering_and_internal_tokens_are_refused():
    clock = Clock()
    tokens = AccessTokens(SECRET, clock=clock)
    token = tokens.mint(_principal())
    with pytest.raises(Unauthenticated):
        AccessTokens("b" * 40, clock=clock).verify(token)
    header, payload, signature = token.split(".")
    with pytest.raises(Unauthenticated):
        tokens.verify(f"{header}.{payload}x.{signature}")
    # An internal caller token (EdDSA, another audience) never passes for an admin's.
    caller = Caller(tenant_id=str(uuid.uuid4()), user_id=str(uuid.uuid4()), role="sysadmin")
    internal = mint_internal_token(
        caller, DEVELOPMENT_INTERNAL_PRIVATE_KEY, audience_of("identity")
    )
    with pytest.raises(Unauthenticated):
        tokens.verify(internal)
    # Unknown role, none algorithm.
    forged = jwt.encode(
        {
            "aud": "punchcard-admin",
            "iat": int(clock.now),
            "exp": int(clock.now) + 60,
            "sub": str(uuid.uuid4()),
            "tenant": str(uuid.uuid4()),
            "role": "owner",
        },
        SECRET,
        algorithm="HS256",
    )
    with pytest.raises(Unauthenticated):
        tokens.verify(forged)
    unsigned = jwt.encode({"aud": "punchcard-admin"}, None, algorithm="none")
    with pytest.raises(Unauthenticated):
        tokens.verify(unsigned)


def test_refresh_tokens_are_random_and_stored_only_as_their_hash():
    token, token_hash = new_refresh_token()
    other, _ = new_refresh_token()
    assert token != other and len(token) >= 43
    assert token_hash == hash_refresh_token(token) and len(token_hash) == 32
    assert token.encode() not in token_hash
