import uuid

import jwt
import pytest
from punchcard_kit.internal_auth import (
    Caller,
    InvalidInternalToken,
    mint_internal_token,
    verify_internal_token,
)

SECRET = "s" * 40


def _caller(**kw):
    return Caller(tenant_id=str(uuid.uuid4()), user_id="u1", role="manager", sites=("A",), **kw)


def test_round_trip():
    caller = _caller(ip="10.1.2.3")
    assert verify_internal_token(mint_internal_token(caller, SECRET), SECRET) == caller


def test_expired_wrong_key_and_wrong_audience_are_refused():
    caller = _caller()
    with pytest.raises(InvalidInternalToken):
        verify_internal_token(mint_internal_token(caller, SECRET, ttl_s=-1), SECRET)
    with pytest.raises(InvalidInternalToken):
        verify_internal_token(mint_internal_token(caller, SECRET), "t" * 40)
    forged = jwt.encode(
        {
            "aud": "elsewhere",
            "exp": 2**31,
            "sub": "u",
            "tenant": caller.tenant_id,
            "role": "sysadmin",
        },
        SECRET,
        algorithm="HS256",
    )
    with pytest.raises(InvalidInternalToken):
        verify_internal_token(forged, SECRET)


def test_unknown_role_is_refused():
    token = mint_internal_token(_caller(), SECRET)
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience="punchcard-internal")
    claims["role"] = "root"
    with pytest.raises(InvalidInternalToken):
        verify_internal_token(jwt.encode(claims, SECRET, algorithm="HS256"), SECRET)


def test_the_clock_role_names_a_clock_of_a_tenant():
    """The kiosk edge asks on a clock's behalf: role "clock", sub = the clock id."""
    tenant, clock = str(uuid.uuid4()), str(uuid.uuid4())
    token = mint_internal_token(Caller(tenant_id=tenant, user_id=clock, role="clock"), SECRET)
    caller = verify_internal_token(token, SECRET)
    assert (caller.tenant_id, caller.user_id, caller.role) == (tenant, clock, "clock")
    assert caller.can("clock") and not caller.can("sysadmin", "manager", "viewer")


def test_production_refuses_the_development_secret(monkeypatch, capsys):
    from punchcard_kit.settings import DEVELOPMENT_INTERNAL_SECRET, ServiceSettings, load_settings

    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://x/y")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "k:9092")
    monkeypatch.setenv("INTERNAL_TOKEN_SECRET", DEVELOPMENT_INTERNAL_SECRET)
    with pytest.raises(SystemExit):
        load_settings(ServiceSettings)
    assert "INTERNAL_TOKEN_SECRET" in capsys.readouterr().err


async def test_a_clock_caller_is_refused_unless_the_endpoint_accepts_clocks():
    """A clock token can never read an admin endpoint (403); one meant for clocks accepts it."""
    from fastapi import FastAPI, HTTPException
    from punchcard_kit.internal_auth import caller_dependency
    from starlette.requests import Request

    token = mint_internal_token(
        Caller(tenant_id=str(uuid.uuid4()), user_id=str(uuid.uuid4()), role="clock"), SECRET
    )
    scope = {
        "type": "http",
        "app": FastAPI(),
        "headers": [(b"authorization", f"Bearer {token}".encode())],
    }
    with pytest.raises(HTTPException) as refused:
        await caller_dependency(lambda: SECRET)(Request(scope))
    assert refused.value.status_code == 403
    caller = await caller_dependency(lambda: SECRET, allow_clock=True)(Request(scope))
    assert caller.role == "clock"
