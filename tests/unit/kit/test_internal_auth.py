"""Internal caller tokens: signed by the gateway's Ed25519 private key alone, verified by each
service with the public key, each for one service (its audience)."""

import hashlib
import hmac
import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from punchcard_kit.internal_auth import (
    Caller,
    InternalTokenVerifier,
    InvalidInternalKey,
    InvalidInternalToken,
    audience_of,
    mint_internal_token,
    verify_internal_token,
)

IDENTITY = audience_of("identity")
PRIVATE = Ed25519PrivateKey.generate()
PRIVATE_PEM = PRIVATE.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
PUBLIC_PEM = PRIVATE.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
PUBLIC_PEM = PUBLIC_PEM.decode()


def _caller(**kw):
    return Caller(tenant_id=str(uuid.uuid4()), user_id="u1", role="manager", sites=("A",), **kw)


def _claims(tenant_id: str, **changes) -> dict:
    now = int(time.time())
    claims = {
        "iss": "punchcard-gateway",
        "aud": IDENTITY,
        "iat": now,
        "exp": now + 60,
        "sub": "u",
        "tenant": tenant_id,
        "role": "sysadmin",
    }
    return {**claims, **changes}


def test_round_trip_with_pem_keys():
    caller = _caller(ip="10.1.2.3")
    token = mint_internal_token(caller, PRIVATE_PEM, IDENTITY)
    assert verify_internal_token(token, PUBLIC_PEM, IDENTITY) == caller
    assert InternalTokenVerifier.for_service(PUBLIC_PEM, "identity").verify(token) == caller


def test_a_pem_with_escaped_line_breaks_is_read():
    """An environment variable may carry the PEM on one line, its breaks written as \\n."""
    one_line = PUBLIC_PEM.replace("\n", "\\n")
    token = mint_internal_token(_caller(), PRIVATE_PEM.replace("\n", "\\n"), IDENTITY)
    assert verify_internal_token(token, one_line, IDENTITY).role == "manager"


def test_a_token_for_another_service_is_refused():
    """A token the gateway sent to face-match (which decodes untrusted images) is worth
    nothing at identity."""
    token = mint_internal_token(_caller(), PRIVATE, audience_of("face-match"))
    with pytest.raises(InvalidInternalToken):
        verify_internal_token(token, PUBLIC_PEM, IDENTITY)
    verifier = InternalTokenVerifier.for_service(PUBLIC_PEM, "identity")
    with pytest.raises(InvalidInternalToken):
        verifier.verify(token)
    old_style = jwt.encode(
        _claims(str(uuid.uuid4()), aud="punchcard-internal"), PRIVATE, algorithm="EdDSA"
    )
    with pytest.raises(InvalidInternalToken):
        verifier.verify(old_style)


def test_an_hs256_token_is_refused_whatever_its_secret():
    """The old shared-secret tokens, and the algorithm-confusion forgery that signs HS256 with
    the (public) verification key as the HMAC secret, are both refused."""
    tenant = str(uuid.uuid4())
    verifier = InternalTokenVerifier.for_service(PUBLIC_PEM, "identity")
    shared = jwt.encode(_claims(tenant), "s" * 40, algorithm="HS256")
    with pytest.raises(InvalidInternalToken):
        verifier.verify(shared)
    header = jwt.utils.base64url_encode(b'{"alg":"HS256","typ":"JWT"}')
    payload = jwt.utils.base64url_encode(json.dumps(_claims(tenant)).encode())
    signing_input = header + b"." + payload
    mac = hmac.new(PUBLIC_PEM.encode(), signing_input, hashlib.sha256).digest()
    forged = (signing_input + b"." + jwt.utils.base64url_encode(mac)).decode()
    with pytest.raises(InvalidInternalToken):
        verifier.verify(forged)


def test_a_token_signed_by_another_key_is_refused():
    other = Ed25519PrivateKey.generate()
    with pytest.raises(InvalidInternalToken):
        verify_internal_token(mint_internal_token(_caller(), other, IDENTITY), PUBLIC_PEM, IDENTITY)
    unsigned = jwt.encode(_claims(str(uuid.uuid4())), None, algorithm="none")
    with pytest.raises(InvalidInternalToken):
        verify_internal_token(unsigned, PUBLIC_PEM, IDENTITY)


def test_a_service_holding_only_the_public_key_cannot_mint():
    with pytest.raises(InvalidInternalKey):
        mint_internal_token(_caller(), PUBLIC_PEM, IDENTITY)
    with pytest.raises((InvalidInternalKey, TypeError, AttributeError)):
        mint_internal_token(_caller(), PRIVATE.public_key(), IDENTITY)  # type: ignore[arg-type]


def test_expired_unknown_issuer_and_unknown_role_are_refused():
    tenant = str(uuid.uuid4())
    with pytest.raises(InvalidInternalToken):
        token = mint_internal_token(_caller(), PRIVATE, IDENTITY, ttl_s=-1)
        verify_internal_token(token, PUBLIC_PEM, IDENTITY)
    for changes in ({"iss": "face-match"}, {"role": "root"}, {"tenant": "not-a-uuid"}):
        token = jwt.encode(_claims(tenant, **changes), PRIVATE, algorithm="EdDSA")
        with pytest.raises(InvalidInternalToken):
            verify_internal_token(token, PUBLIC_PEM, IDENTITY)
    no_issuer = _claims(tenant)
    del no_issuer["iss"]
    with pytest.raises(InvalidInternalToken):
        verify_internal_token(
            jwt.encode(no_issuer, PRIVATE, algorithm="EdDSA"), PUBLIC_PEM, IDENTITY
        )


def test_the_clock_role_names_a_clock_of_a_tenant():
    """The kiosk edge asks on a clock's behalf: role "clock", sub = the clock id."""
    tenant, clock = str(uuid.uuid4()), str(uuid.uuid4())
    token = mint_internal_token(
        Caller(tenant_id=tenant, user_id=clock, role="clock"), PRIVATE, IDENTITY
    )
    caller = verify_internal_token(token, PUBLIC_PEM, IDENTITY)
    assert (caller.tenant_id, caller.user_id, caller.role) == (tenant, clock, "clock")
    assert caller.can("clock") and not caller.can("sysadmin", "manager", "viewer")


def test_keys_that_are_not_ed25519_pem_are_refused():
    from punchcard_kit.internal_auth import load_signing_key, load_verifying_key

    for bad in ("", "not a key", "s" * 40, PRIVATE_PEM):
        with pytest.raises(InvalidInternalKey):
            load_verifying_key(bad)
    for bad in ("", "s" * 40, PUBLIC_PEM):
        with pytest.raises(InvalidInternalKey):
            load_signing_key(bad)


async def test_a_clock_caller_is_refused_unless_the_endpoint_accepts_clocks():
    """A clock token can never read an admin endpoint (403); one meant for clocks accepts it."""
    from fastapi import FastAPI, HTTPException
    from punchcard_kit.internal_auth import caller_dependency
    from starlette.requests import Request

    token = mint_internal_token(
        Caller(tenant_id=str(uuid.uuid4()), user_id=str(uuid.uuid4()), role="clock"),
        PRIVATE,
        audience_of("punch"),
    )
    verifier = InternalTokenVerifier.for_service(PUBLIC_PEM, "punch")
    scope = {
        "type": "http",
        "app": FastAPI(),
        "headers": [(b"authorization", f"Bearer {token}".encode())],
    }
    with pytest.raises(HTTPException) as refused:
        await caller_dependency(lambda: verifier)(Request(scope))
    assert refused.value.status_code == 403
    caller = await caller_dependency(lambda: verifier, allow_clock=True)(Request(scope))
    assert caller.role == "clock"
    elsewhere = InternalTokenVerifier.for_service(PUBLIC_PEM, "device-sync")
    with pytest.raises(HTTPException) as refused:
        await caller_dependency(lambda: elsewhere, allow_clock=True)(Request(scope))
    assert refused.value.status_code == 401
